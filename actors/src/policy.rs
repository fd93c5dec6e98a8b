//! The Core's domain policies, as pure state machines with an injected clock (no actix, no
//! I/O): what to do when a pot or a node reports a status, what the desired state of a node
//! is, what to send to bring a node to it, and when a pot has gone silent. The registry feeds
//! them what it observes and carries out what they answer.
//!
//! - [`guard`]: one pot's domain supervisor (restart policy, budget, backoff, give-up, hold).
//! - [`node`]: the node policy (`nodes.*`): `Restart` a node that reports `Failed`.
//! - [`desired`]: a node's desired pots, from the fleet file with API overrides on top.
//! - [`reconcile`]: the steps that bring a node's pots to the desired state, and the drift.
//! - [`silence`]: whether a `Running` pot has been silent too long.

use std::fmt;

pub mod desired;
pub mod guard;
pub mod node;
pub mod reconcile;
pub mod silence;

#[cfg(test)]
mod tests;

pub use desired::{Desired, DesiredEntry, DesiredPot, FileNode, FleetFile, Override, effective};
pub use guard::{Action, Cause, GuardMemory, PotGuard, RestartLimits};
pub use node::{NodeAction, NodeGuard};
pub use reconcile::{Drift, DriftKind, Observed, Step, drift, plan, step};
pub use silence::silent;

/// When a pot (`pots.restart`) or a node (`nodes.restart`) is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestartPolicy {
    /// After it fails, and also after it stops without an operator asking (pots).
    Always,
    /// Only after it fails.
    OnFailure,
    /// Never: a failure is recorded and reported, nothing more.
    Never,
}

impl RestartPolicy {
    /// Every policy, in declaration order.
    pub const ALL: &'static [RestartPolicy] = &[
        RestartPolicy::Always,
        RestartPolicy::OnFailure,
        RestartPolicy::Never,
    ];

    /// The config and API name: `always`, `on-failure` or `never`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "always",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Never => "never",
        }
    }

    /// Parses the config and API name (case-sensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a guard gave up: `failures` within `window`, past `max_restarts`.
fn gave_up_reason(failures: usize, window: std::time::Duration, max_restarts: u32) -> String {
    format!(
        "failed {failures} {} within {} s; the Core gave up restarting it \
         (at most {max_restarts} restarts per window)",
        if failures == 1 { "time" } else { "times" },
        window.as_secs_f64(),
    )
}
