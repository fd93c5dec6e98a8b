//! Commands operators submit (to one node, or a broadcast) and look up, as the registry takes
//! them: validated, told to the pot they name first, then tracked like every command.

use actix::prelude::*;
use honeybee_protocol::{Command, CommandError, NodeId, PROTOCOL_VERSION, validate};

use super::{Broadcast, Registry};
use crate::commands::{CommandStatus, CommandView, Origin, Place};
use crate::pot::Input;

/// Submit a command for a node: it is sent at once when its slot is free, or waits
/// (`pending`) behind the command in flight for the same pot (or node). With `queue`, a
/// command for a node that is not connected waits for its next registration.
#[derive(Debug, Message)]
#[rtype(result = "Result<Submitted, SubmitError>")]
pub struct SubmitCommand {
    /// Any id the node is known by.
    pub node_id: NodeId,
    pub command: Command,
    pub queue: bool,
}

/// A command was accepted and is tracked under `command_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub command_id: u64,
    /// `Sent`, or `Pending` when it waits.
    pub status: CommandStatus,
}

/// Why a command was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("no such node")]
    UnknownNode,
    /// It fails `validate::command` (a malformed field, or a `git_url` outside
    /// `pots.allowed_sources`): nothing reaches the wire without passing it.
    #[error(transparent)]
    Invalid(#[from] CommandError),
    #[error("the node is not connected")]
    Offline,
    #[error("the node speaks protocol version 1, which carries no commands")]
    LegacyProtocol,
    #[error("too many commands already wait for this node; try again when some are done")]
    QueueFull,
}

/// A command the registry still tracks (`pending` or `sent`); `None` once it is final (the
/// store has it) or if it never existed.
#[derive(Debug, Message)]
#[rtype(result = "Option<CommandView>")]
pub struct GetCommand {
    pub command_id: u64,
}

impl Handler<SubmitCommand> for Registry {
    type Result = Result<Submitted, SubmitError>;

    fn handle(&mut self, msg: SubmitCommand, ctx: &mut Context<Self>) -> Self::Result {
        let node_id = self.resolve(msg.node_id);
        let node = self.nodes.get(&node_id).ok_or(SubmitError::UnknownNode)?;
        validate::command(&msg.command, &self.settings.commands.allowed_sources)?;
        if node.protocol_version < PROTOCOL_VERSION {
            return Err(SubmitError::LegacyProtocol);
        }
        let connected = node.session.is_some();
        if !connected && !msg.queue {
            return Err(SubmitError::Offline);
        }
        self.operator_command(node_id, &msg.command, ctx);
        self.submit_tracked(
            node_id,
            msg.command,
            (Origin::Operator, Place::Back),
            connected,
            ctx,
        )
    }
}

impl Handler<Broadcast> for Registry {
    type Result = Vec<(NodeId, u64)>;

    fn handle(&mut self, msg: Broadcast, ctx: &mut Context<Self>) -> Self::Result {
        if let Err(e) = validate::command(&msg.command, &self.settings.commands.allowed_sources) {
            log::warn!("Broadcast refused: {e}.");
            return Vec::new();
        }
        let mut targets: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| {
                n.session.is_some()
                    && n.protocol_version >= PROTOCOL_VERSION
                    && msg.filter.node_type.is_none_or(|t| t == n.node_type)
                    && msg.filter.status.is_none_or(|s| s == n.status)
            })
            .map(|n| n.node_id)
            .collect();
        targets.sort_unstable();
        targets
            .into_iter()
            .filter_map(|node_id| {
                self.operator_command(node_id, &msg.command, ctx);
                self.submit_tracked(
                    node_id,
                    msg.command.clone(),
                    (Origin::Operator, Place::Back),
                    true,
                    ctx,
                )
                .ok()
                .map(|s| (node_id, s.command_id))
            })
            .collect()
    }
}

impl Handler<GetCommand> for Registry {
    type Result = Option<CommandView>;

    fn handle(&mut self, msg: GetCommand, _: &mut Context<Self>) -> Self::Result {
        let node_id = *self.commands.live.get(&msg.command_id)?;
        let record = self.commands.books.get(&node_id)?.get(msg.command_id)?;
        Some(record.view(node_id))
    }
}

impl Registry {
    /// An operator's command for a pot reaches the pot first (a stop holds it before any
    /// status it causes arrives; a start releases it).
    fn operator_command(&mut self, node_id: NodeId, command: &Command, ctx: &mut Context<Self>) {
        if let Some(pot_id) = command.pot_id() {
            let pot_id = pot_id.to_owned();
            self.feed_pot(node_id, &pot_id, Input::Operator(command.clone()), ctx);
        }
    }
}
