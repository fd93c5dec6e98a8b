//! The node policy (`nodes.restart`, `nodes.max_restarts`, `nodes.restart_window_secs`): a node
//! that reports `Failed` is sent `Restart`, at most `max_restarts` times within a sliding
//! window, then given up on. There is no backoff: the node restarts itself, and the window
//! bounds how often.
//!
//! A node repeats its status in every heartbeat (about every 30 s), so only a transition into
//! `Failed` orders a restart; a node still `Failed` after it is retried only if the `Restart`
//! was refused ([`NodeGuard::on_attempt_failed`]) or once it reports something else first.

use std::time::{Duration, Instant};

use honeybee_protocol::NodeStatus;

use super::{RestartPolicy, gave_up_reason};
use crate::supervise::RestartBudget;

/// What the registry should do about a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAction {
    /// Nothing.
    None,
    /// Send the node `Restart`.
    Restart,
    /// Too many failures within the window: stop restarting it, and raise an alert.
    GaveUp { reason: String },
}

/// One node's domain supervisor.
#[derive(Debug, Clone)]
pub struct NodeGuard {
    policy: RestartPolicy,
    max_restarts: u32,
    window: Duration,
    budget: RestartBudget,
    gave_up: Option<String>,
    restarts: u32,
    /// The last status fed in, to tell a new failure from a repeated heartbeat.
    last: Option<NodeStatus>,
}

impl NodeGuard {
    pub fn new(policy: RestartPolicy, max_restarts: u32, window: Duration) -> Self {
        NodeGuard {
            policy,
            max_restarts,
            window,
            budget: RestartBudget::new(max_restarts, window, Duration::ZERO, Duration::ZERO),
            gave_up: None,
            restarts: 0,
            last: None,
        }
    }

    /// Changes the policy from the next status on; a give-up stays.
    pub fn set_policy(&mut self, policy: RestartPolicy) {
        self.policy = policy;
    }

    /// The node's status, as reported (feed every one, heartbeats included, and `Unknown` when
    /// it disconnects). `Failed` after anything else orders a `Restart` unless the policy is
    /// `never`, within the budget; `always` and `on-failure` act alike for nodes.
    pub fn on_status(&mut self, status: NodeStatus, now: Instant) -> NodeAction {
        let previous = self.last.replace(status);
        if status != NodeStatus::Failed || previous == Some(NodeStatus::Failed) {
            return NodeAction::None;
        }
        self.attempt(now)
    }

    /// The `Restart` this guard ordered was answered by `NodeEvent` `Error`: try again, within
    /// the budget.
    pub fn on_attempt_failed(&mut self, now: Instant) -> NodeAction {
        self.attempt(now)
    }

    /// An operator acted on the node: forget the give-up and past restarts.
    pub fn release(&mut self) {
        self.gave_up = None;
        self.budget.reset();
    }

    /// The reason, when given up.
    pub fn gave_up(&self) -> Option<&str> {
        self.gave_up.as_deref()
    }

    /// Restarts the guard has ordered, in total.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    fn attempt(&mut self, now: Instant) -> NodeAction {
        if self.policy == RestartPolicy::Never || self.gave_up.is_some() {
            return NodeAction::None;
        }
        if self.budget.next_restart(now).is_some() {
            self.restarts = self.restarts.saturating_add(1);
            return NodeAction::Restart;
        }
        let failures = self.budget.recent() + 1;
        let reason = gave_up_reason(failures, self.window, self.max_restarts);
        self.gave_up = Some(reason.clone());
        NodeAction::GaveUp { reason }
    }
}
