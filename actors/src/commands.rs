//! Command tracking: every command the Core sends a node is a tracked record that goes
//! `pending` → `sent` → `completed` | `failed` | `timed_out` (CORE.md's lifecycle and
//! correlation table).

use std::time::SystemTime;

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
