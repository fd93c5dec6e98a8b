//! The pot actors as the registry supervises them: started from the store when the registry
//! starts, or when a node first reports a pot (or the Core first wants or holds one); fed
//! what concerns their pot, in order; restarted from the store — after what they queued is
//! durable, with backoff, within the software restart budget — when they crash. What they ask
//! of the registry comes back here: a command to track and send, an alert, their new view.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use honeybee_protocol::{NodeId, PotStatusUpdate};
use honeybee_store::FleetPot;

use super::{MAX_POTS_PER_NODE, PotExited, PotLink, Registry, RegistrySettings};
use crate::commands::Now;
use crate::limited_log;
use crate::pot::{Feed, Input, PotActor, PotContext, PotIdentity, PotState, Report};
use crate::settings::{PotSettings, SupervisionSettings};
use crate::supervise::RestartBudget;
use crate::text::{clip, clip_message};

/// Longest pot type kept, in bytes.
const MAX_POT_TYPE_BYTES: usize = 64;

/// Inputs kept for a pot whose actor is being restarted; past it the oldest are dropped.
const WAITING_INPUTS: usize = 1024;

/// The registry's side of its pot actors.
#[derive(Debug)]
pub(super) struct PotSupervision {
    settings: Arc<PotSettings>,
    restarts: SupervisionSettings,
    /// The stored pots, until the registry starts their actors.
    stored: Vec<FleetPot>,
}

impl PotSupervision {
    pub(super) fn new(settings: &RegistrySettings, stored: Vec<FleetPot>) -> Self {
        PotSupervision {
            settings: Arc::new(settings.pots.clone()),
            restarts: settings.supervision.clone(),
            stored,
        }
    }

    fn budget(&self) -> RestartBudget {
        let s = &self.restarts;
        RestartBudget::new(s.max_restarts, s.window, s.backoff_initial, s.backoff_max)
    }
}

/// A crashed pot actor's state, read back from the store: start its successor.
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct Restore {
    node_id: NodeId,
    pot_id: String,
    generation: u64,
    stored: (Option<FleetPot>, bool),
}

impl Registry {
    /// At start: every stored pot gets its actor back (but those whose actor kept crashing),
    /// as do pots held stopped that were never reported.
    pub(super) fn start_pots(&mut self, ctx: &mut Context<Self>) {
        let now = Now::current();
        let held = self.take_holds();
        for stored in std::mem::take(&mut self.pots.stored) {
            let (node_id, pot_id) = (stored.pot.node_id, stored.pot.pot_id.clone());
            let is_held = held.contains(&(node_id, pot_id.clone()));
            let entry = self.desired_entry(node_id, &pot_id);
            let state = PotState::restore(
                node_id,
                &pot_id,
                (Some(stored), is_held),
                entry,
                &self.pots.settings,
                now,
            );
            self.adopt(node_id, &pot_id, state, false, ctx);
        }
        for (node_id, pot_id) in held {
            if self
                .nodes
                .get(&node_id)
                .is_some_and(|n| !n.pots.contains_key(&pot_id))
            {
                let entry = self.desired_entry(node_id, &pot_id);
                let state = PotState::restore(
                    node_id,
                    &pot_id,
                    (None, true),
                    entry,
                    &self.pots.settings,
                    now,
                );
                self.adopt(node_id, &pot_id, state, false, ctx);
            }
        }
    }

    /// Links a pot's state into its node's record and starts its actor (unless the state says
    /// its actor kept crashing before).
    fn adopt(
        &mut self,
        node_id: NodeId,
        pot_id: &str,
        state: PotState,
        restarted: bool,
        ctx: &mut Context<Self>,
    ) {
        let budget = self.pots.budget();
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return;
        };
        let link = node
            .pots
            .entry(pot_id.to_owned())
            .or_insert_with(|| PotLink {
                actor: None,
                generation: 0,
                view: None,
                waiting: Vec::new(),
                budget,
                abandoned: false,
            });
        link.view = state.view();
        link.abandoned = state.abandoned;
        if link.abandoned {
            return;
        }
        link.generation += 1;
        let id = PotIdentity {
            node_id,
            pot_id: pot_id.to_owned(),
            generation: link.generation,
        };
        let context = PotContext {
            registry: ctx.address(),
            store: self.store.clone(),
            settings: Arc::clone(&self.pots.settings),
        };
        let actor = PotActor::new(id, context, state, restarted).start();
        for input in link.waiting.drain(..) {
            actor.do_send(Feed(input));
        }
        link.actor = Some(actor);
    }

    /// The pot's link, its actor started first if the registry has none for it yet (`None`
    /// for an unknown node, or past [`MAX_POTS_PER_NODE`]).
    fn pot_link(
        &mut self,
        node_id: NodeId,
        pot_id: &str,
        ctx: &mut Context<Self>,
    ) -> Option<&mut PotLink> {
        let node = self.nodes.get_mut(&node_id)?;
        if !node.pots.contains_key(pot_id) {
            if node.pots.len() >= MAX_POTS_PER_NODE {
                limited_log!(
                    node.log,
                    warn,
                    "Node {node_id} has more than {MAX_POTS_PER_NODE} pots; ignoring new ones."
                );
                return None;
            }
            let mut state = PotState::new(
                node_id,
                pot_id,
                node.desired.entry(pot_id),
                &self.pots.settings,
            );
            state.connected = node.session.is_some();
            state.listed = node.listed;
            self.adopt(node_id, pot_id, state, false, ctx);
        }
        self.nodes.get_mut(&node_id)?.pots.get_mut(pot_id)
    }

    /// Feeds the pot (starting its actor if it has none yet).
    pub(super) fn feed_pot(
        &mut self,
        node_id: NodeId,
        pot_id: &str,
        input: Input,
        ctx: &mut Context<Self>,
    ) {
        if let Some(link) = self.pot_link(node_id, pot_id, ctx) {
            deliver(link, input);
        }
    }

    /// Feeds a pot the node reported (events never create pots).
    pub(super) fn feed_reported_pot(&mut self, node_id: NodeId, pot_id: &str, input: Input) {
        if let Some(link) = self
            .nodes
            .get_mut(&node_id)
            .and_then(|n| n.pots.get_mut(pot_id))
            .filter(|l| l.view.is_some())
        {
            deliver(link, input);
        }
    }

    /// Feeds a pot the registry has an actor for (creating none).
    pub(super) fn feed_linked_pot(&mut self, node_id: NodeId, pot_id: &str, input: Input) {
        if let Some(link) = self
            .nodes
            .get_mut(&node_id)
            .and_then(|n| n.pots.get_mut(pot_id))
        {
            deliver(link, input);
        }
    }

    /// Feeds every pot of the node what `input` makes of its id.
    pub(super) fn feed_node_pots(&mut self, node_id: NodeId, input: impl Fn(&str) -> Input) {
        if let Some(node) = self.nodes.get_mut(&node_id) {
            for (pot_id, link) in &mut node.pots {
                deliver(link, input(pot_id));
            }
        }
    }

    /// Whether a command for the pot is in flight or waiting.
    pub(super) fn pot_busy(&self, node_id: NodeId, pot_id: &str) -> bool {
        self.commands
            .books
            .get(&node_id)
            .is_some_and(|b| b.pot_busy(pot_id))
    }

    /// A pot report: first the command it may answer, then the pot.
    pub(super) fn route_pot_report(
        &mut self,
        node_id: NodeId,
        update: PotStatusUpdate,
        ctx: &mut Context<Self>,
    ) {
        let answer = self
            .commands
            .books
            .get(&node_id)
            .is_some_and(|b| b.in_flight_for(&update.pot_id).is_some());
        self.commands_on_pot_report(node_id, &update, ctx);
        let busy = self.pot_busy(node_id, &update.pot_id);
        let input = Input::Report(Report {
            status: update.status,
            pot_type: clip(&update.pot_type, MAX_POT_TYPE_BYTES),
            message: clip_message(update.message),
            at: crate::clock::now(),
            answer,
            busy,
        });
        self.feed_pot(node_id, &update.pot_id, input, ctx);
    }
}

/// Sends an input to the pot's actor, or keeps it for the actor being restarted.
fn deliver(link: &mut PotLink, input: Input) {
    match &link.actor {
        Some(actor) if actor.connected() => actor.do_send(Feed(input)),
        _ if link.abandoned => {}
        _ => {
            if link.waiting.len() == WAITING_INPUTS {
                link.waiting.remove(0);
            }
            link.waiting.push(input);
        }
    }
}

/// The link of the pot's current actor (late messages of an older one find none).
pub(super) fn current<'a>(
    registry: &'a mut Registry,
    node_id: NodeId,
    pot_id: &str,
    generation: u64,
) -> Option<&'a mut PotLink> {
    registry
        .nodes
        .get_mut(&node_id)
        .and_then(|n| n.pots.get_mut(pot_id))
        .filter(|l| l.generation == generation)
}

impl Handler<PotExited> for Registry {
    type Result = ();

    fn handle(&mut self, msg: PotExited, ctx: &mut Context<Self>) {
        let Some(link) = current(self, msg.node_id, &msg.pot_id, msg.generation) else {
            return;
        };
        link.actor = None;
        if !msg.crashed {
            return;
        }
        match link.budget.next_restart(Instant::now()) {
            Some(delay) => {
                log::warn!(
                    "Node {} pot {}: actor crashed; restarting it from the store in {delay:?}.",
                    msg.node_id,
                    msg.pot_id
                );
                let (node_id, pot_id, generation) = (msg.node_id, msg.pot_id, msg.generation);
                ctx.run_later(delay, move |act, ctx| {
                    act.restore_pot(node_id, pot_id, generation, ctx);
                });
            }
            None => {
                link.abandoned = true;
                link.waiting.clear();
                let recent = link.budget.recent();
                // Stored, so the next start leaves it alone too.
                super::queued(self.store.abandon_pot(msg.node_id, msg.pot_id.clone()));
                log::error!(
                    "Node {} pot {}: actor crashed {recent} times within the restart window; \
                     giving up on it.",
                    msg.node_id,
                    msg.pot_id,
                );
            }
        }
    }
}

impl Registry {
    /// Reads a crashed pot actor's state back once everything it queued is durable (off the
    /// registry's thread), then starts its successor from it.
    fn restore_pot(
        &mut self,
        node_id: NodeId,
        pot_id: String,
        generation: u64,
        ctx: &mut Context<Self>,
    ) {
        let (reader, registry) = (self.reader.clone(), ctx.address());
        let (durable, stored) = tokio::sync::oneshot::channel();
        if let Err(e) = self.store.when_durable(move || {
            let _ = durable.send(());
        }) {
            log::error!("Node {node_id} pot {pot_id}: cannot restart its actor: {e}.");
            return;
        }
        actix_rt::spawn(async move {
            if stored.await.is_err() {
                return;
            }
            let read = {
                let pot_id = pot_id.clone();
                actix_rt::task::spawn_blocking(move || reader.load_pot(node_id, &pot_id)).await
            };
            match read {
                Ok(Ok(stored)) => registry.do_send(Restore {
                    node_id,
                    pot_id,
                    generation,
                    stored,
                }),
                Ok(Err(e)) => log::error!(
                    "Node {node_id} pot {pot_id}: cannot read its state to restart its actor \
                     ({e})."
                ),
                Err(e) => log::error!("Node {node_id} pot {pot_id}: restarting failed ({e})."),
            }
        });
    }
}

impl Handler<Restore> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Restore, ctx: &mut Context<Self>) {
        let Some(node) = self.nodes.get(&msg.node_id) else {
            return;
        };
        let still = node
            .pots
            .get(&msg.pot_id)
            .is_some_and(|l| l.generation == msg.generation && l.actor.is_none());
        if !still {
            return;
        }
        let mut state = PotState::restore(
            msg.node_id,
            &msg.pot_id,
            msg.stored,
            node.desired.entry(&msg.pot_id),
            &self.pots.settings,
            Now::current(),
        );
        state.connected = node.session.is_some();
        state.listed = node.listed;
        self.adopt(msg.node_id, &msg.pot_id, state, true, ctx);
        log::info!(
            "Node {} pot {}: actor restarted from its stored state.",
            msg.node_id,
            msg.pot_id
        );
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<super::InjectFault> for Registry {
    type Result = bool;

    fn handle(&mut self, msg: super::InjectFault, _: &mut Context<Self>) -> bool {
        let Some(node) = self.nodes.get(&self.resolve(msg.node_id)) else {
            return false;
        };
        match msg.target {
            super::FaultTarget::Session => node.session.as_ref().map(|s| {
                s.addr.do_send(crate::session::InjectPanic);
            }),
            super::FaultTarget::Pot(pot_id) => node
                .pots
                .get(&pot_id)
                .and_then(|p| p.actor.as_ref())
                .map(|a| a.do_send(crate::pot::InjectPanic)),
        }
        .is_some()
    }
}
