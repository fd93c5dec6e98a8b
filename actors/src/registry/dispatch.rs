//! Command tracking in the registry: every command the Core sends a node goes through a
//! [`CommandBook`] per node (kept only while the node has commands that are not final), every
//! status change is queued to the store and published, and one timer waits for the earliest
//! deadline of all sent commands (nothing runs while no command is in flight).
//!
//! The registry's handlers call the `commands_on_*` hooks below with what nodes report; the
//! messages here are how operators (the API) submit and look up commands.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use actix::prelude::*;
use honeybee_protocol::{
    Command, CoreToNode, NodeCommand, NodeEventKind, NodeId, NodeStatus, PROTOCOL_VERSION,
    PotStatusUpdate,
};
use honeybee_store::CommandRow;

use super::{NodeRecord, Registry, SubmitError, Submitted, queued};
use crate::commands::{
    Changes, CommandBook, CommandRecord, CommandStatus, Now, Order, Origin, Place,
};
use crate::counters::Outcome;
use crate::feed::Change;
use crate::pot::Input;
use crate::session::Deliver;
use crate::timer::EarliestTimer;

/// The registry's command state.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    /// The last command id handed out (ids continue after the stored ones).
    last_id: u64,
    /// The books of nodes with commands that are not final, by node record id.
    pub(super) books: HashMap<NodeId, CommandBook>,
    /// The node of every command that is not final.
    pub(super) live: HashMap<u64, NodeId>,
    /// Every sent command's deadline; the timer waits for the first.
    deadlines: BTreeSet<(Instant, u64, NodeId)>,
    timer: EarliestTimer,
}

const V1_REFUSAL: &str = "the node connected again speaking protocol version 1, which carries \
                          no commands";
const SHUTDOWN_REFUSAL: &str = "the Core shut down before it could send this command";

impl Registry {
    /// Continues command ids after `last_command_id` (the store's largest), so that ids stay
    /// unique across restarts.
    pub fn with_command_ids_after(mut self, last_command_id: u64) -> Self {
        self.commands.last_id = last_command_id;
        self
    }

    /// Tracks a new command for node `node_id` (a record id) and sends it if it may go now.
    pub(super) fn submit_tracked(
        &mut self,
        node_id: NodeId,
        command: Command,
        (origin, place): (Origin, Place),
        connected: bool,
        ctx: &mut Context<Self>,
    ) -> Result<Submitted, SubmitError> {
        let id = self.commands.last_id + 1;
        let book = self.commands.books.entry(node_id).or_default();
        let order = Order {
            id,
            command,
            origin,
            place,
        };
        let submitted = book.submit(order, connected, Now::current(), &self.settings.commands);
        let changes = match submitted {
            Ok(changes) => changes,
            Err(full) => {
                log::warn!("Node {node_id}: command refused, {full}.");
                return Err(SubmitError::QueueFull);
            }
        };
        self.commands.last_id = id;
        let status = changes
            .first()
            .filter(|r| r.id == id)
            .map_or(CommandStatus::Pending, |r| r.status);
        self.apply_command_changes(node_id, changes, ctx);
        Ok(Submitted {
            command_id: id,
            status,
        })
    }

    /// Stores and publishes every change, sends what became `sent`, counts what became final,
    /// and keeps the deadlines in step. A record is queued to the store before its frame.
    fn apply_command_changes(
        &mut self,
        node_id: NodeId,
        changes: Changes,
        ctx: &mut Context<Self>,
    ) {
        if changes.is_empty() {
            return;
        }
        let mut finished = Vec::new();
        for record in changes {
            queued(self.store.upsert_command(command_row(node_id, &record)));
            log::debug!(
                "Node {node_id}: command {} ({}) is {}.",
                record.id,
                record.command.name(),
                record.status.as_str()
            );
            match (record.status, record.deadline) {
                (CommandStatus::Pending, _) => {
                    self.commands.live.insert(record.id, node_id);
                }
                (CommandStatus::Sent, deadline) => {
                    self.commands.live.insert(record.id, node_id);
                    if let Some(at) = deadline {
                        self.commands.deadlines.insert((at, record.id, node_id));
                    }
                    deliver(self.nodes.get(&node_id).map(|n| &**n), &record.command);
                }
                (status, deadline) => {
                    self.commands.live.remove(&record.id);
                    if let Some(at) = deadline {
                        self.commands.deadlines.remove(&(at, record.id, node_id));
                    }
                    if let Some(outcome) = outcome(status) {
                        self.counters.command(outcome);
                    }
                    if matches!(status, CommandStatus::Failed | CommandStatus::TimedOut) {
                        log::info!(
                            "Node {node_id}: command {} ({}) {}.",
                            record.id,
                            record.command.name(),
                            status.as_str()
                        );
                    }
                }
            }
            if self.feed.listened() {
                self.feed.publish(Change::Command(record.view(node_id)));
            }
            if record.status.is_final() {
                finished.push(record);
            }
        }
        if self
            .commands
            .books
            .get(&node_id)
            .is_some_and(CommandBook::is_idle)
        {
            self.commands.books.remove(&node_id);
        }
        self.arm_command_timer(ctx);
        for record in finished {
            self.command_final(node_id, &record, ctx);
        }
    }

    /// A command reached its final status: its pot hears how it went (a failed attempt its
    /// policy ordered counts against it), the node policy likewise, and a finished pot listing
    /// lets the node's pots converge.
    fn command_final(&mut self, node_id: NodeId, record: &CommandRecord, ctx: &mut Context<Self>) {
        self.node_policy_on_final(node_id, record, ctx);
        if let Some(pot_id) = record.command.pot_id() {
            let settled = Input::Settled {
                origin: record.origin,
                unanswered: record.unanswered(),
                busy: self.pot_busy(node_id, pot_id),
            };
            self.feed_linked_pot(node_id, pot_id, settled);
        }
        if matches!(record.command, Command::GetInstalledPots)
            && record.status == CommandStatus::Completed
        {
            self.converge_node(node_id, ctx);
        }
    }

    /// Makes sure the timer fires at the earliest deadline.
    fn arm_command_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(&(first, ..)) = self.commands.deadlines.first() {
            self.commands.timer.arm(first, ctx, |registry, ctx| {
                registry.commands.timer.fired();
                registry.expire_commands(ctx);
            });
        }
    }

    /// Settles every command whose deadline has passed.
    fn expire_commands(&mut self, ctx: &mut Context<Self>) {
        let now = Now::current();
        while let Some(&(at, id, node_id)) = self.commands.deadlines.first() {
            if at > now.instant {
                break;
            }
            self.commands.deadlines.pop_first();
            if let Some(book) = self.commands.books.get_mut(&node_id) {
                let changes = book.expire(id, now, &self.settings.commands);
                self.apply_command_changes(node_id, changes, ctx);
            }
        }
        self.arm_command_timer(ctx);
    }

    /// Runs `step` on the node's book, if it has one, and applies what changed.
    fn with_book(
        &mut self,
        node_id: NodeId,
        ctx: &mut Context<Self>,
        step: impl FnOnce(&mut CommandBook, Now, &crate::settings::CommandSettings) -> Changes,
    ) {
        let Some(book) = self.commands.books.get_mut(&node_id) else {
            return;
        };
        let changes = step(book, Now::current(), &self.settings.commands);
        self.apply_command_changes(node_id, changes, ctx);
    }

    /// A node registered: what was in flight on an older connection fails, the Core asks for
    /// its pots (first), and what waited for it is sent. A v1 node takes no commands: what
    /// waited for it fails.
    pub(super) fn commands_on_register(&mut self, node_id: NodeId, ctx: &mut Context<Self>) {
        self.with_book(node_id, ctx, |book, now, _| book.connection_lost(now));
        let v2 = self
            .nodes
            .get(&node_id)
            .is_some_and(|n| n.protocol_version >= PROTOCOL_VERSION);
        if !v2 {
            self.with_book(node_id, ctx, |book, now, _| {
                book.refuse_waiting(V1_REFUSAL, now)
            });
            return;
        }
        let listed = self.submit_tracked(
            node_id,
            Command::GetInstalledPots,
            (Origin::Core, Place::Front),
            true,
            ctx,
        );
        debug_assert!(listed.is_ok(), "a command at the front is never refused");
        self.with_book(node_id, ctx, CommandBook::dispatch_all);
    }

    /// A node's session ended: its answers to what was in flight can no longer arrive.
    pub(super) fn commands_on_session_end(&mut self, node_id: NodeId, ctx: &mut Context<Self>) {
        self.with_book(node_id, ctx, |book, now, _| book.connection_lost(now));
    }

    pub(super) fn commands_on_pot_report(
        &mut self,
        node_id: NodeId,
        update: &PotStatusUpdate,
        ctx: &mut Context<Self>,
    ) {
        self.with_book(node_id, ctx, |book, now, settings| {
            book.pot_report(
                &update.pot_id,
                &update.pot_type,
                update.status,
                update.message.as_deref(),
                now,
                settings,
            )
        });
    }

    pub(super) fn commands_on_node_event(
        &mut self,
        node_id: NodeId,
        kind: NodeEventKind,
        message: Option<&str>,
        ctx: &mut Context<Self>,
    ) {
        self.with_book(node_id, ctx, |book, now, settings| {
            book.node_event(kind, message, now, settings)
        });
    }

    pub(super) fn commands_on_node_status(
        &mut self,
        node_id: NodeId,
        status: NodeStatus,
        ctx: &mut Context<Self>,
    ) {
        self.with_book(node_id, ctx, |book, now, settings| {
            book.node_status(status, now, settings)
        });
    }

    /// The Core is shutting down: what still waits will not be sent by this Core.
    pub(super) fn commands_on_shutdown(&mut self, ctx: &mut Context<Self>) {
        let nodes: Vec<NodeId> = self.commands.books.keys().copied().collect();
        for node_id in nodes {
            self.with_book(node_id, ctx, |book, now, _| {
                book.refuse_waiting(SHUTDOWN_REFUSAL, now)
            });
        }
    }
}

/// Sends a command to the node's live session (under the id it registered this session with).
fn deliver(node: Option<&NodeRecord>, command: &Command) {
    if let Some(session) = node.and_then(|n| n.session.as_ref()) {
        session
            .addr
            .do_send(Deliver(CoreToNode::NodeCommand(NodeCommand {
                node_id: session.node_id,
                command: command.clone(),
            })));
    }
}

fn outcome(status: CommandStatus) -> Option<Outcome> {
    match status {
        CommandStatus::Completed => Some(Outcome::Completed),
        CommandStatus::Failed => Some(Outcome::Failed),
        CommandStatus::TimedOut => Some(Outcome::TimedOut),
        CommandStatus::Pending | CommandStatus::Sent => None,
    }
}

fn command_row(node_id: NodeId, record: &CommandRecord) -> CommandRow {
    CommandRow {
        id: record.id,
        node_id,
        // Invariant: a `Command` always serialises (string keys, no failing impls).
        command: serde_json::to_string(&record.command).unwrap_or_default(),
        status: record.status.as_str().to_owned(),
        created_at: record.created_at,
        updated_at: record.updated_at,
        result: record.result.as_ref().map(serde_json::Value::to_string),
    }
}
