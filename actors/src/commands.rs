//! Command tracking: every command the Core sends a node is a tracked record that goes
//! `pending` → `sent` → `completed` | `failed` | `timed_out` (CORE.md's lifecycle and
//! correlation table). [`CommandBook`] is one node's commands as a pure state machine; the
//! registry keeps one per node with commands, stores and publishes every change it reports,
//! and sends the commands it releases.

mod correlate;
mod ledger;
#[cfg(test)]
mod tests;

use std::time::SystemTime;

pub use correlate::{Verdict, names_pot, pot_verdict, timeout_of};
pub use ledger::{
    Changes, CommandBook, CommandRecord, MAX_LISTED_POTS, Now, Order, Origin, Place, QueueFull,
    Settlement, Slot,
};

use honeybee_protocol::{Command, NodeId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandStatus {
    Pending,
    Sent,
    Completed,
    Failed,
    TimedOut,
}

impl CommandStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Pending => "pending",
            CommandStatus::Sent => "sent",
            CommandStatus::Completed => "completed",
            CommandStatus::Failed => "failed",
            CommandStatus::TimedOut => "timed_out",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            CommandStatus::Pending,
            CommandStatus::Sent,
            CommandStatus::Completed,
            CommandStatus::Failed,
            CommandStatus::TimedOut,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub const fn is_final(self) -> bool {
        matches!(
            self,
            CommandStatus::Completed | CommandStatus::Failed | CommandStatus::TimedOut
        )
    }
}

/// A tracked command as the API and the stream show it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandView {
    pub command_id: u64,
    pub node_id: NodeId,
    pub command: Command,
    pub status: CommandStatus,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    /// `{"status": .., "message": .., "pots": [..]}` with what applies, once there is one.
    pub result: Option<serde_json::Value>,
}

impl CommandRecord {
    /// The API's and the stream's view of this record, for the node with record id `node_id`.
    pub fn view(&self, node_id: NodeId) -> CommandView {
        CommandView {
            command_id: self.id,
            node_id,
            command: self.command.clone(),
            status: self.status,
            created_at: self.created_at,
            updated_at: self.updated_at,
            result: self.result.clone(),
        }
    }
}
