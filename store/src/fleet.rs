//! Fleet records as the store keeps them: nodes (with every id they have used), pots, and their
//! histories. Plain rows; the registry maps them to and from its own records.

use std::time::SystemTime;

use honeybee_protocol::{NodeEventKind, NodeId, NodeStatus, NodeType, PotStatus, SecretString};

/// Histories (node status changes, node events, pot transitions) `load_fleet` returns per node
/// or pot: the newest this many. Node status changes and node events beyond it are deleted as
/// new ones arrive; pot transitions are all kept (`Store::pot_history`).
pub const HISTORY_LOADED: usize = 100;

/// A node's record. `node_id` is its primary id; other ids it used are linked with
/// `link_node_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub node_id: NodeId,
    pub node_name: String,
    pub node_type: NodeType,
    pub address: String,
    pub port: u16,
    pub status: NodeStatus,
    pub protocol_version: u64,
    pub remote_addr: Option<String>,
    pub last_seen: SystemTime,
    pub registered_at: SystemTime,
    /// The Core waits for this node: it is connected, or it was lost less than
    /// `alerts.reconnect_grace_secs` ago (its `node_unknown` alert not yet open). A restarted
    /// Core gives such nodes the grace again.
    pub awaited: bool,
}

/// A pot's last known state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PotRow {
    pub node_id: NodeId,
    pub pot_id: String,
    pub pot_type: String,
    pub status: PotStatus,
    pub message: Option<String>,
    pub updated_at: SystemTime,
    pub restarts: u32,
    /// Its actor kept crashing and the registry stopped restarting it.
    pub gave_up: bool,
    /// The pot's restart state as its actor keeps it (budget, give-up, hold, how it was last
    /// installed), serialised by the actor: opaque to the store.
    pub supervision: Option<String>,
}

/// One stored pot transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRow {
    pub node_id: NodeId,
    pub pot_id: String,
    pub at: SystemTime,
    /// `None` for the state a pot was first learned in.
    pub from: Option<PotStatus>,
    pub to: PotStatus,
    pub message: Option<String>,
    /// `false` when the transition is outside CORE.md's lifecycle table.
    pub expected: bool,
}

/// One node status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatusRow {
    pub at: SystemTime,
    pub from: Option<NodeStatus>,
    pub to: NodeStatus,
}

/// One `NodeEvent` a node sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEventRow {
    pub at: SystemTime,
    pub kind: NodeEventKind,
    pub message: Option<String>,
}

/// Everything stored about the fleet, for a restarted Core to start from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fleet {
    /// In primary-id order (as i64 bit patterns, i.e. ids above 2^63 first).
    pub nodes: Vec<FleetNode>,
}

/// One node with everything attached to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetNode {
    pub node: NodeRow,
    /// Every id the node is known by, its primary id included, ascending.
    pub ids: Vec<NodeId>,
    /// In `pot_id` order.
    pub pots: Vec<FleetPot>,
    /// Oldest first; the last [`HISTORY_LOADED`].
    pub status_history: Vec<NodeStatusRow>,
    /// Oldest first; the last [`HISTORY_LOADED`].
    pub node_events: Vec<NodeEventRow>,
}

/// A pot with its recent transitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetPot {
    pub pot: PotRow,
    /// Oldest first (newest last); the last [`HISTORY_LOADED`].
    pub transitions: Vec<TransitionRow>,
}

/// Where an identity stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityState {
    /// Waits for an operator's approval.
    Pending,
    Active,
    /// A tombstone: refused in every mode until enrolled again.
    Revoked,
}

impl IdentityState {
    pub const fn as_str(self) -> &'static str {
        match self {
            IdentityState::Pending => "pending",
            IdentityState::Active => "active",
            IdentityState::Revoked => "revoked",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(IdentityState::Pending),
            "active" => Some(IdentityState::Active),
            "revoked" => Some(IdentityState::Revoked),
            _ => None,
        }
    }
}

/// A node identity: a secret plus the node ids and the name used with it. The secret is kept
/// only here and by the node; it never leaves the store except to be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    pub key: NodeId,
    pub name: Option<String>,
    pub node_ids: Vec<NodeId>,
    pub secret: Option<SecretString>,
    pub state: IdentityState,
    /// The last TOTP step accepted (the replay guard).
    pub last_step: Option<u64>,
    pub key_delivered: bool,
    pub name_shared: bool,
}

/// A command sent (or queued) to a node and its outcome. `command` and `result` are JSON text
/// (the API's shapes); `status` is `pending`, `sent`, `completed`, `failed` or `timed_out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRow {
    pub id: u64,
    pub node_id: NodeId,
    pub command: String,
    pub status: String,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub result: Option<String>,
}

/// One state-changing request: who (token name), from where, what, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub at: SystemTime,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
}

/// An operator's override of one pot's desired state: `desired` is the JSON of the desired pot
/// (`None`: not desired), `file_fingerprint` that of the fleet file's entry when it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideRow {
    pub node_id: NodeId,
    pub pot_id: String,
    pub desired: Option<String>,
    pub file_fingerprint: Option<u64>,
    pub set_at: SystemTime,
}

/// A fleet change, queued to the writer in order with the events.
#[derive(Debug)]
pub(crate) enum FleetOp {
    UpsertNode(NodeRow),
    LinkNodeId {
        node_id: NodeId,
        alias_id: NodeId,
    },
    UpsertPot(PotRow),
    AbandonPot {
        node_id: NodeId,
        pot_id: String,
    },
    PotTransition(TransitionRow),
    NodeStatus {
        node_id: NodeId,
        row: NodeStatusRow,
    },
    NodeEvent {
        node_id: NodeId,
        row: NodeEventRow,
    },
    UpsertIdentity(IdentityRow),
    UpsertCommand(CommandRow),
    AppendAudit(AuditRow),
    SetOverride(OverrideRow),
    SetHold {
        node_id: NodeId,
        pot_id: String,
        held: bool,
    },
    DropOverride {
        node_id: NodeId,
        pot_id: String,
    },
    OpenAlert(crate::alert::AlertRow),
    ClearAlert {
        alert_id: u64,
        at: SystemTime,
    },
    OutputPosition(crate::output::OutputPosition),
    DeadLetter(crate::output::DeadLetter),
    AddIndicators(Vec<crate::output::Indicator>),
}
