//! Shutting down, explicitly: `BeginShutdown` refuses registrations and closes every
//! registered session; `FinishShutdown`, once the sessions are gone, tells every pot actor to
//! stop and answers when each has answered (their store writes are queued by then).

use actix::prelude::*;
use futures_util::future::join_all;

use super::{BeginShutdown, FinishShutdown, Registry};
use crate::pot::Stop;
use crate::session::{CloseSession, EndReason};

impl Handler<BeginShutdown> for Registry {
    type Result = usize;

    fn handle(&mut self, _: BeginShutdown, ctx: &mut Context<Self>) -> usize {
        self.shutting_down = true;
        self.commands_on_shutdown(ctx);
        // Registered sessions are closed from here (only unregistered ones watch for the
        // shutdown themselves); no registration is accepted from now on.
        let sessions: Vec<_> = self
            .nodes
            .values()
            .filter_map(|n| n.session.as_ref().map(|s| s.addr.clone()))
            .collect();
        for session in &sessions {
            session.do_send(CloseSession(EndReason::Shutdown));
        }
        sessions.len()
    }
}

impl Handler<FinishShutdown> for Registry {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: FinishShutdown, _: &mut Context<Self>) -> Self::Result {
        let stops: Vec<_> = self
            .nodes
            .values()
            .flat_map(|n| n.pots.values())
            .filter_map(|p| p.actor.as_ref())
            .filter(|a| a.connected())
            .map(|a| a.send(Stop))
            .collect();
        Box::pin(async move {
            join_all(stops).await;
        })
    }
}
