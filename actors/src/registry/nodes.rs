//! The node policy (`nodes.*`) in the registry: a node that reports `Failed` is sent
//! `Restart`, within its budget (the decisions are `crate::policy::NodeGuard`'s; its state is
//! kept on the node's record, which outlives connections).

use actix::prelude::*;
use honeybee_protocol::{Command, NodeId, NodeStatus};

use super::Registry;
use crate::commands::{CommandRecord, Origin, Place};
use crate::policy::{NodeAction, NodeGuard};

impl Registry {
    /// The node's status, as reported (heartbeats included), and `Connected`/`Unknown` as it
    /// comes and goes.
    pub(super) fn node_policy_on_status(
        &mut self,
        node_id: NodeId,
        status: NodeStatus,
        ctx: &mut Context<Self>,
    ) {
        let settings = &self.settings.nodes;
        let (policy, max, window) = (settings.policy, settings.max_restarts, settings.window);
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return;
        };
        let action = node
            .guard
            .get_or_insert_with(|| NodeGuard::new(policy, max, window))
            .on_status(status, std::time::Instant::now());
        self.node_policy_act(node_id, action, ctx);
    }

    /// A command reached its final status: a `Restart` the policy ordered that the node did
    /// not carry out counts as a failed attempt.
    pub(super) fn node_policy_on_final(
        &mut self,
        node_id: NodeId,
        record: &CommandRecord,
        ctx: &mut Context<Self>,
    ) {
        if record.origin != Origin::NodePolicy || !record.unanswered() {
            return;
        }
        let action = self
            .nodes
            .get_mut(&node_id)
            .and_then(|n| n.guard.as_mut())
            .map(|g| g.on_attempt_failed(std::time::Instant::now()));
        if let Some(action) = action {
            self.node_policy_act(node_id, action, ctx);
        }
    }

    fn node_policy_act(&mut self, node_id: NodeId, action: NodeAction, ctx: &mut Context<Self>) {
        match action {
            NodeAction::Restart => {
                log::warn!("Node {node_id} reports Failed; sending it Restart (nodes.restart).");
                let order = (Origin::NodePolicy, Place::Back);
                if let Err(e) = self.submit_tracked(node_id, Command::Restart, order, true, ctx) {
                    log::warn!("Node {node_id}: cannot send a command the Core decided on: {e}.");
                }
            }
            NodeAction::GaveUp { reason } => log::error!("Node {node_id}: {reason}"),
            NodeAction::None => {}
        }
    }
}
