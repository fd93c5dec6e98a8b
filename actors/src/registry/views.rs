//! Read-only snapshots the registry answers fleet queries with. Plain data: the HTTP layer
//! decides their JSON shapes.

use std::net::SocketAddr;
use std::time::SystemTime;

use honeybee_protocol::{NodeEventKind, NodeId, NodeStatus, NodeType, PotStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub node_id: NodeId,
    pub node_name: String,
    pub node_type: NodeType,
    pub address: String,
    pub port: u16,
    pub status: NodeStatus,
    pub connected: bool,
    pub protocol_version: u64,
    pub remote_addr: Option<SocketAddr>,
    pub last_seen: SystemTime,
    pub registered_at: SystemTime,
    pub pot_count: usize,
    /// Sessions of this node keep replacing each other from different addresses.
    pub possible_clone: bool,
    /// Other ids it registered under, oldest first.
    pub previous_ids: Vec<NodeId>,
    /// Its identity's state (`None`: no identity, e.g. `auth.totp = false`).
    pub enrollment: Option<honeybee_store::IdentityState>,
    /// Its identity shares its name with another identity.
    pub name_shared: bool,
    /// Kinds of the alerts open about it.
    pub alerts: Vec<crate::alerts::AlertKind>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PotView {
    pub node_id: NodeId,
    pub pot_id: String,
    pub pot_type: String,
    pub status: PotStatus,
    pub message: Option<String>,
    pub updated_at: SystemTime,
    /// Times the Core restarted it: its actor after a crash, or the pot on its node (restart
    /// policy).
    pub restarts: u32,
    /// What it should be, when the desired state names it.
    pub desired: Option<crate::policy::DesiredPot>,
    /// Why the Core gave up restarting it, when it did.
    pub gave_up: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub at: SystemTime,
    pub from: Option<NodeStatus>,
    pub to: NodeStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEventRecord {
    pub at: SystemTime,
    pub kind: NodeEventKind,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDetail {
    pub node: NodeView,
    pub pots: Vec<PotView>,
    /// Oldest first; the last 100.
    pub status_history: Vec<StatusChange>,
    /// Oldest first; the last 100.
    pub node_events: Vec<NodeEventRecord>,
    /// How the node's pots differ from its desired state.
    pub drift: Vec<crate::policy::Drift>,
}
