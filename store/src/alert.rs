//! Alerts as the store keeps them: one row per alert ([`AlertRow`]: opened, then maybe
//! cleared), and the alert-change log ([`AlertChange`]) that a follower reads in order.
//!
//! # The change log and its followers
//!
//! Every open and every clear appends one row to `alert_changes`, whose `seq` (SQLite
//! `AUTOINCREMENT`: never reused, even after pruning) is assigned by the one writer in queue
//! order, inside the transaction that stores the change. Commits therefore make changes
//! visible in `seq` order with no gaps appearing later, and a follower (an output sink: "one
//! message when an alert opens and one when it clears") keeps the last `seq` it handled as its
//! durable position and reads on with [`crate::Store::alert_changes`]. An alert opened and
//! cleared between two reads still yields both changes.
//!
//! # Bounds
//!
//! Open alerts are never pruned. Cleared alerts are kept up to [`CLEARED_ALERTS_KEPT`] (the
//! newest by clearing order); older ones and their changes are deleted now and then by the
//! writer, so a follower that falls that far behind skips them (it sees a gap in `seq`).

use std::time::SystemTime;

use honeybee_protocol::NodeId;

/// Cleared alerts kept (the most recently cleared).
pub const CLEARED_ALERTS_KEPT: usize = 10_000;

/// Whether an alert is open or cleared (the API's `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    Open,
    Cleared,
}

impl AlertState {
    /// `"open"` or `"cleared"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Cleared => "cleared",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(AlertState::Open),
            "cleared" => Some(AlertState::Cleared),
            _ => None,
        }
    }
}

/// One alert. `kind` is its type (`node_unknown`, `pot_gave_up`, ...): the store keeps it as
/// text and does not interpret it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Unique, never reused (the registry continues after [`crate::Store::last_alert_id`]).
    pub alert_id: u64,
    pub kind: String,
    pub node_id: Option<NodeId>,
    /// The node's name when the alert opened.
    pub node_name: Option<String>,
    pub pot_id: Option<String>,
    pub message: String,
    pub opened_at: SystemTime,
    /// `None` while open.
    pub cleared_at: Option<SystemTime>,
}

impl AlertRow {
    pub fn state(&self) -> AlertState {
        if self.cleared_at.is_some() {
            AlertState::Cleared
        } else {
            AlertState::Open
        }
    }
}

/// One entry of the alert-change log: the alert as it was after that change (an `Open`
/// change shows the alert open, even if it has been cleared since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertChange {
    /// Increasing in commit order; a follower's position.
    pub seq: u64,
    pub state: AlertState,
    pub at: SystemTime,
    pub alert: AlertRow,
}
