//! What the pot actors ask of the registry: a command to track and send (`PotSubmit`), an
//! alert opened or cleared (`PotAlert`), their new view (`PotViewChanged`). Messages of an
//! actor that was replaced since are ignored.

use actix::prelude::*;
use honeybee_protocol::PROTOCOL_VERSION;

use super::pots::current;
use super::{PotAlert, PotSubmit, PotViewChanged, Registry};
use crate::alerts::AlertKey;
use crate::commands::Place;
use crate::feed::Change;

impl Handler<PotViewChanged> for Registry {
    type Result = ();

    fn handle(&mut self, msg: PotViewChanged, _: &mut Context<Self>) {
        let view = msg.view;
        let Some(link) = current(self, view.node_id, &view.pot_id, msg.generation) else {
            return;
        };
        link.view = Some(view.clone());
        if self.feed.listened() {
            self.feed.publish(Change::Pot(view));
        }
    }
}

impl Handler<PotSubmit> for Registry {
    type Result = ();

    /// A command the pot decided on: tracked and sent unless the pot already has a command
    /// in flight or waiting, or its node is offline or speaks v1 (then the pot's next input
    /// tells it how things stand).
    fn handle(&mut self, msg: PotSubmit, ctx: &mut Context<Self>) {
        if current(self, msg.node_id, &msg.pot_id, msg.generation).is_none() {
            return;
        }
        let reachable = self
            .nodes
            .get(&msg.node_id)
            .is_some_and(|n| n.session.is_some() && n.protocol_version >= PROTOCOL_VERSION);
        if !reachable || self.pot_busy(msg.node_id, &msg.pot_id) {
            log::debug!(
                "Node {} pot {}: {} not sent (node offline, or the pot is busy).",
                msg.node_id,
                msg.pot_id,
                msg.command.name()
            );
            return;
        }
        let submitted = self.submit_tracked(
            msg.node_id,
            msg.command,
            (msg.origin, Place::Back),
            true,
            ctx,
        );
        if let Err(e) = submitted {
            log::warn!(
                "Node {}: cannot send a command the Core decided on: {e}.",
                msg.node_id
            );
        }
    }
}

impl Handler<PotAlert> for Registry {
    type Result = ();

    fn handle(&mut self, msg: PotAlert, _: &mut Context<Self>) {
        let key = AlertKey::pot(msg.kind, msg.node_id, &msg.pot_id);
        match msg.message {
            Some(message) => self.open_alert(key, message),
            None => self.close_alert(&key),
        }
    }
}
