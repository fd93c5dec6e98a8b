//! The `Pot` actor: one per (node, pot), holding that pot's lifecycle. The registry routes the
//! node's reports to it and keeps a mirror of what it records, so that a crashed pot actor is
//! restarted from its last known state.

pub mod lifecycle;

use std::time::SystemTime;

use actix::prelude::*;
use honeybee_protocol::{NodeId, PotStatus};

use crate::registry::Registry;
use crate::supervise::ExitNotice;
use lifecycle::{Lifecycle, Transition};

/// A status report for this pot, routed by the registry.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PotReport {
    pub pot_type: String,
    pub status: PotStatus,
    pub message: Option<String>,
    pub at: SystemTime,
}

impl PotReport {
    /// Applies the report to a pot's type and lifecycle; the transition it made, if any. (The
    /// pot's actor does this, and the registry on its mirror while no actor runs.)
    pub fn apply_to(self, pot_type: &mut String, lifecycle: &mut Lifecycle) -> Option<Transition> {
        if !self.pot_type.is_empty() {
            *pot_type = self.pot_type;
        }
        lifecycle.apply(self.status, self.message, self.at).cloned()
    }
}

/// Stop this actor on purpose (no restart).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Retire;

/// Test-only fault hook: panic inside the handler.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// From a pot actor to the registry: what a report changed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PotChanged {
    pub node_id: NodeId,
    pub pot_id: String,
    pub generation: u64,
    pub pot_type: String,
    pub status: PotStatus,
    pub message: Option<String>,
    pub updated_at: SystemTime,
    pub transition: Option<Transition>,
}

/// From a pot actor to the registry: it ended. `crashed` is false only for a [`Retire`].
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PotExited {
    pub node_id: NodeId,
    pub pot_id: String,
    pub generation: u64,
    pub crashed: bool,
}

/// Who a pot actor is; fixed for its life.
#[derive(Debug, Clone)]
pub struct PotIdentity {
    pub node_id: NodeId,
    pub pot_id: String,
    /// Bumped at every restart, so that late messages of an old actor are recognised.
    pub generation: u64,
}

#[derive(Debug)]
pub struct PotActor {
    id: PotIdentity,
    registry: Addr<Registry>,
    pot_type: String,
    lifecycle: Lifecycle,
    retiring: bool,
    /// Unexpected transitions are logged through this: a node can flip a pot at any rate.
    log: crate::log_limit::LogLimiter,
    exit: ExitNotice<PotExited>,
}

impl PotActor {
    /// A pot actor starting from `lifecycle` (first report, or the last known state).
    pub fn new(
        id: PotIdentity,
        registry: Addr<Registry>,
        pot_type: String,
        lifecycle: Lifecycle,
    ) -> Self {
        let fallback = PotExited {
            node_id: id.node_id,
            pot_id: id.pot_id.clone(),
            generation: id.generation,
            crashed: true,
        };
        PotActor {
            exit: ExitNotice::new(registry.clone().recipient(), fallback),
            id,
            registry,
            pot_type,
            lifecycle,
            retiring: false,
            log: crate::log_limit::LogLimiter::new(3, std::time::Duration::from_secs(60)),
        }
    }
}

impl Actor for PotActor {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        self.exit.send(PotExited {
            node_id: self.id.node_id,
            pot_id: self.id.pot_id.clone(),
            generation: self.id.generation,
            crashed: !self.retiring,
        });
    }
}

impl Handler<PotReport> for PotActor {
    type Result = ();

    fn handle(&mut self, report: PotReport, _: &mut Context<Self>) {
        let transition = report.apply_to(&mut self.pot_type, &mut self.lifecycle);
        if let Some(t) = transition.as_ref().filter(|t| !t.expected) {
            crate::limited_log!(
                self.log,
                warn,
                "Node {} pot {} went {:?} -> {}, outside the pot lifecycle; recorded as reported.",
                self.id.node_id,
                honeybee_protocol::error::sanitize(&self.id.pot_id, 64),
                t.from,
                t.to
            );
        }
        self.registry.do_send(PotChanged {
            node_id: self.id.node_id,
            pot_id: self.id.pot_id.clone(),
            generation: self.id.generation,
            pot_type: self.pot_type.clone(),
            status: self.lifecycle.status(),
            message: self.lifecycle.message().map(str::to_owned),
            updated_at: self.lifecycle.updated_at(),
            transition,
        });
    }
}

impl Handler<Retire> for PotActor {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        self.retiring = true;
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
