//! What the registry keeps per node, and of each pot: the address of the pot's actor and the
//! view it last showed (the pot's state is the pot actor's).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use actix::Addr;
use honeybee_protocol::{NodeId, NodeRegistration, NodeStatus, NodeType};

use super::views::{NodeDetail, NodeEventRecord, NodeView, PotView, StatusChange};
use crate::log_limit::LogLimiter;
use crate::policy::{Desired, NodeGuard};
use crate::pot::{Input, PotActor};
use crate::session::NodeSession;
use crate::supervise::RestartBudget;
use crate::text::{MAX_ADDRESS_BYTES, clip};

/// Entries kept of a node's status history and of its node events.
pub const NODE_HISTORY_LIMIT: usize = 100;

/// Replacements from other addresses tolerated within [`CLONE_WINDOW`].
pub(super) const CLONE_REPLACEMENTS: usize = 3;
/// The clone watch's window.
pub(super) const CLONE_WINDOW: Duration = Duration::from_secs(600);

/// The live session of a node.
#[derive(Debug, Clone)]
pub struct SessionLink {
    pub id: u64,
    pub addr: Addr<NodeSession>,
    /// The id the node registered this session with (commands carry it).
    pub node_id: NodeId,
}

/// The fleet's nodes by id. Boxed: the table keeps empty slots to grow into, and a slot
/// should cost a pointer, not a whole record (tens of thousands of nodes).
pub type Nodes = std::collections::HashMap<NodeId, Box<NodeRecord>>;

#[derive(Debug)]
pub struct NodeRecord {
    pub node_id: NodeId,
    pub node_name: String,
    pub node_type: NodeType,
    pub address: String,
    pub port: u16,
    pub status: NodeStatus,
    pub protocol_version: u64,
    pub remote_addr: Option<SocketAddr>,
    pub last_seen: SystemTime,
    pub registered_at: SystemTime,
    pub session: Option<SessionLink>,
    /// Its pots' actors, every pot it reported, wants or holds.
    pub pots: BTreeMap<String, PotLink>,
    /// Its effective desired state (the fleet file with operators' overrides).
    pub desired: Desired,
    /// Its pots were listed on the current connection (its pots converge after that).
    pub listed: bool,
    /// The node policy (`nodes.*`), once the node reported a status.
    pub guard: Option<NodeGuard>,
    pub status_history: VecDeque<StatusChange>,
    pub node_events: VecDeque<NodeEventRecord>,
    /// This node's log lines (connects, disconnects, anomalies) are rate limited.
    pub log: LogLimiter,
    /// When a session of this node was replaced by one from another address (clone watch).
    pub replaced_from_elsewhere: VecDeque<std::time::Instant>,
    /// A possible clone is being reported.
    pub clone_alert: bool,
    /// Other ids this node registered under (a real node picks a new id at every start).
    pub previous_ids: Vec<NodeId>,
    /// Lost and not back yet: when its reconnect grace ends and its `node_unknown` alert
    /// opens (`registry/alerting.rs`).
    pub grace_until: Option<std::time::Instant>,
}

/// A pot as the registry supervises it: its actor, and the view it last showed.
#[derive(Debug)]
pub struct PotLink {
    /// `None` while a crashed actor waits for its restart, or after the registry gave up.
    pub actor: Option<Addr<PotActor>>,
    /// Of the current actor: later messages of an older one are ignored.
    pub generation: u64,
    /// What the pot shows the API (`None` until the node reports it).
    pub view: Option<PotView>,
    /// Inputs that arrived while its actor was being restarted, for the new one, in order.
    pub waiting: Vec<Input>,
    /// The software restart budget of its actor.
    pub budget: RestartBudget,
    /// Its actor kept crashing: it is not restarted (until the Core is).
    pub abandoned: bool,
}

impl NodeRecord {
    /// A new node record under `node_id` (its identity's first id).
    pub fn new(node_id: NodeId, registration: &NodeRegistration, now: SystemTime) -> Self {
        Self::restored(&honeybee_store::NodeRow {
            node_id,
            node_name: registration.node_name.clone(),
            node_type: registration.node_type,
            address: clip(&registration.address, MAX_ADDRESS_BYTES),
            port: registration.port,
            status: NodeStatus::Unknown,
            protocol_version: 2,
            remote_addr: None,
            last_seen: now,
            registered_at: now,
            awaited: false,
        })
    }

    /// A node as the store kept it, disconnected.
    pub fn restored(row: &honeybee_store::NodeRow) -> Self {
        NodeRecord {
            node_id: row.node_id,
            node_name: row.node_name.clone(),
            node_type: row.node_type,
            address: row.address.clone(),
            port: row.port,
            status: row.status,
            protocol_version: row.protocol_version,
            remote_addr: row.remote_addr.as_deref().and_then(|a| a.parse().ok()),
            last_seen: row.last_seen,
            registered_at: row.registered_at,
            session: None,
            pots: BTreeMap::new(),
            desired: Desired::default(),
            listed: false,
            guard: None,
            status_history: VecDeque::new(),
            node_events: VecDeque::new(),
            log: LogLimiter::new(10, Duration::from_secs(60)),
            replaced_from_elsewhere: VecDeque::new(),
            clone_alert: false,
            previous_ids: Vec::new(),
            grace_until: None,
        }
    }

    /// A new session from `from` replaced this node's live one: the possible-clone alert's
    /// message, the first time sessions keep replacing each other from different addresses.
    pub fn clone_suspected(&mut self, node_id: NodeId, from: SocketAddr) -> Option<String> {
        let elsewhere = self.remote_addr.is_some_and(|a| a.ip() != from.ip());
        if !elsewhere
            || !self.replaced_from_elsewhere(std::time::Instant::now())
            || self.clone_alert
        {
            return None;
        }
        self.clone_alert = true;
        Some(format!(
            "node {node_id} ({}) keeps replacing its own sessions from different addresses \
             (now {}); two hosts may share its key",
            honeybee_protocol::error::sanitize(&self.node_name, 128),
            from.ip()
        ))
    }

    /// Notes that a session of this node was replaced by one from another address; true when
    /// that happened more than [`CLONE_REPLACEMENTS`] times within [`CLONE_WINDOW`] (two
    /// nodes holding the same key take turns).
    pub fn replaced_from_elsewhere(&mut self, now: std::time::Instant) -> bool {
        let window = &mut self.replaced_from_elsewhere;
        window.push_back(now);
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) > CLONE_WINDOW)
        {
            window.pop_front();
        }
        window.len() > CLONE_REPLACEMENTS
    }

    /// Takes what a (re)registration says about the node.
    pub fn update_from(
        &mut self,
        registration: &NodeRegistration,
        version: u64,
        remote_addr: SocketAddr,
        now: SystemTime,
    ) {
        self.node_name.clone_from(&registration.node_name);
        self.node_type = registration.node_type;
        self.address = clip(&registration.address, MAX_ADDRESS_BYTES);
        self.port = registration.port;
        // CORE.md: 1 or 2. Anything below 2 is a legacy client; anything above speaks v2 shapes.
        self.protocol_version = if version < 2 { 1 } else { 2 };
        self.remote_addr = Some(remote_addr);
        self.last_seen = now;
    }

    /// Moves the node to `status`; returns the change if it is one.
    pub fn set_status(&mut self, status: NodeStatus, at: SystemTime) -> Option<StatusChange> {
        if self.status == status && !self.status_history.is_empty() {
            return None;
        }
        let from = (!self.status_history.is_empty()).then_some(self.status);
        let change = StatusChange {
            at,
            from,
            to: status,
        };
        push_bounded(&mut self.status_history, change.clone());
        self.status = status;
        Some(change)
    }

    pub fn push_event(&mut self, event: NodeEventRecord) {
        push_bounded(&mut self.node_events, event);
    }

    pub fn view(&self) -> NodeView {
        NodeView {
            node_id: self.node_id,
            node_name: self.node_name.clone(),
            node_type: self.node_type,
            address: self.address.clone(),
            port: self.port,
            status: self.status,
            connected: self.session.is_some(),
            protocol_version: self.protocol_version,
            remote_addr: self.remote_addr,
            last_seen: self.last_seen,
            registered_at: self.registered_at,
            pot_count: self.pots.values().filter(|p| p.view.is_some()).count(),
            possible_clone: self.clone_alert,
            previous_ids: self.previous_ids.clone(),
            enrollment: None,
            name_shared: false,
            alerts: Vec::new(),
        }
    }

    /// The views of the pots it reported, in pot id order.
    pub fn pot_views(&self) -> impl Iterator<Item = PotView> + '_ {
        self.pots.values().filter_map(|p| p.view.clone())
    }

    pub fn detail(&self) -> NodeDetail {
        NodeDetail {
            node: self.view(),
            pots: self.pot_views().collect(),
            status_history: self.status_history.iter().cloned().collect(),
            node_events: self.node_events.iter().cloned().collect(),
            drift: Vec::new(),
        }
    }
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == NODE_HISTORY_LIMIT {
        queue.pop_front();
    }
    queue.push_back(item);
}
