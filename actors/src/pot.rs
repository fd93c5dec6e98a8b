//! The `PotActor`: one per (node, pot), the one owner of that pot — its lifecycle and history,
//! its restart policy's memory (budget, backoff, give-up, operator hold), its desired state and
//! how the reported state differs from it, and the silence watch. The registry routes what
//! concerns the pot to it as [`Input`]s; [`decide`] answers what to do, and the actor does it:
//! commands go back through the registry (which tracks them and writes them to the node's
//! session), store writes go straight to the store's queue, alerts and its view go to the
//! registry. Its state is stored with every change, so a crashed actor is started again from
//! the store.
//!
//! What happens when a pot reports `Failed`: `decide.rs`, `Pot::reported`, from the top.

mod decide;
pub(crate) mod lifecycle;
mod state;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use honeybee_protocol::NodeId;
use honeybee_store::WriterHandle;

pub(crate) use decide::{Effect, Input, Report, decide, install_of};
use lifecycle::Transition;
pub(crate) use state::{PotState, transition_row};

use crate::settings::PotSettings;

use crate::commands::Now;
use crate::limited_log;
use crate::log_limit::LogLimiter;
use crate::registry::{PotAlert, PotExited, PotSubmit, PotViewChanged, Registry, queued};
use crate::supervise::ExitNotice;

/// Something for the pot to decide about.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Feed(pub Input);

/// The pot's transitions, oldest first (the last 100).
#[derive(Debug, Message)]
#[rtype(result = "Vec<Transition>")]
pub struct GetHistory;

/// The Core is shutting down: stop, once everything sent before this is done (the answer
/// says so: every store write of the pot is queued by then).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Stop;

/// Test-only fault hook: panic inside the handler.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// Who a pot actor is; fixed for its life.
#[derive(Debug, Clone)]
pub struct PotIdentity {
    pub node_id: NodeId,
    pub pot_id: String,
    /// Bumped at every restart, so that late messages of an old actor are recognised.
    pub generation: u64,
}

/// What a pot actor needs besides its state.
#[derive(Debug, Clone)]
pub struct PotContext {
    pub registry: Addr<Registry>,
    pub store: WriterHandle,
    pub settings: Arc<PotSettings>,
}

#[derive(Debug)]
pub struct PotActor {
    id: PotIdentity,
    context: PotContext,
    state: PotState,
    /// Started again after a crash: count it among the pot's restarts once started.
    restarted: bool,
    stopping: bool,
    /// Unexpected transitions are logged through this: a node can flip a pot at any rate.
    log: LogLimiter,
    exit: ExitNotice<PotExited>,
}

impl PotActor {
    /// A pot actor owning `state`; `restarted` when it replaces one that crashed.
    pub fn new(id: PotIdentity, context: PotContext, state: PotState, restarted: bool) -> Self {
        let fallback = PotExited {
            node_id: id.node_id,
            pot_id: id.pot_id.clone(),
            generation: id.generation,
            crashed: true,
        };
        PotActor {
            exit: ExitNotice::new(context.registry.clone().recipient(), fallback),
            id,
            context,
            state,
            restarted,
            stopping: false,
            log: LogLimiter::new(3, Duration::from_secs(60)),
        }
    }

    fn feed(&mut self, input: Input, ctx: &mut Context<Self>) {
        let now = Now::current();
        let effects = decide(&mut self.state, input, now, &self.context.settings);
        for effect in effects {
            self.carry_out(effect, now, ctx);
        }
    }

    fn carry_out(&mut self, effect: Effect, now: Now, ctx: &mut Context<Self>) {
        let (node_id, pot_id) = (self.id.node_id, &self.id.pot_id);
        let store = &self.context.store;
        match effect {
            Effect::Submit { command, origin } => self.context.registry.do_send(PotSubmit {
                node_id,
                pot_id: pot_id.clone(),
                generation: self.id.generation,
                command,
                origin,
            }),
            Effect::AttemptAfter(after) => {
                ctx.run_later(after, |act, ctx| act.feed(Input::AttemptDue, ctx));
            }
            Effect::CheckSilenceAfter(after) => {
                ctx.run_later(after, |act, ctx| act.feed(Input::SilenceCheck, ctx));
            }
            Effect::StoreRow => {
                if let Some(row) = self.state.row(now) {
                    queued(store.upsert_pot(row));
                }
            }
            Effect::StoreTransition(t) => {
                queued(store.append_pot_transition(transition_row(node_id, pot_id, &t)));
            }
            Effect::StoreHold(held) => queued(store.set_hold(node_id, pot_id.clone(), held)),
            Effect::Alert(kind, message) => self.context.registry.do_send(PotAlert {
                node_id,
                pot_id: pot_id.clone(),
                kind,
                message,
            }),
            Effect::ViewChanged => {
                if let Some(view) = self.state.view() {
                    self.context.registry.do_send(PotViewChanged {
                        generation: self.id.generation,
                        view,
                    });
                }
            }
            Effect::Note(line) => log::info!("Node {node_id} pot {pot_id}: {line}."),
            Effect::Unexpected(t) => limited_log!(
                self.log,
                warn,
                "Node {node_id} pot {} went {:?} -> {}, outside the pot lifecycle; recorded as \
                 reported.",
                honeybee_protocol::error::sanitize(pot_id, 64),
                t.from,
                t.to
            ),
        }
    }
}

impl Actor for PotActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.restarted {
            self.state.guard.count_actor_restart();
            let now = Now::current();
            self.carry_out(Effect::StoreRow, now, ctx);
            self.carry_out(Effect::ViewChanged, now, ctx);
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.exit.send(PotExited {
            node_id: self.id.node_id,
            pot_id: self.id.pot_id.clone(),
            generation: self.id.generation,
            crashed: !self.stopping,
        });
    }
}

impl Handler<Feed> for PotActor {
    type Result = ();

    fn handle(&mut self, msg: Feed, ctx: &mut Context<Self>) {
        self.feed(msg.0, ctx);
    }
}

impl Handler<GetHistory> for PotActor {
    type Result = MessageResult<GetHistory>;

    fn handle(&mut self, _: GetHistory, _: &mut Context<Self>) -> Self::Result {
        let history = self.state.reported.as_ref().map(|r| r.lifecycle.history());
        MessageResult(history.into_iter().flatten().cloned().collect())
    }
}

impl Handler<Stop> for PotActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        self.stopping = true;
        ctx.stop();
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<InjectPanic> for PotActor {
    type Result = ();

    #[allow(clippy::panic)]
    fn handle(&mut self, _: InjectPanic, _: &mut Context<Self>) {
        panic!(
            "fault injection: pot actor {}/{} panics on purpose",
            self.id.node_id, self.id.pot_id
        );
    }
}
