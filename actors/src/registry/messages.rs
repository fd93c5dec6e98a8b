//! The messages the registry receives: from sessions, from its pot actors, and from operators
//! (the API).

use std::net::SocketAddr;

use actix::prelude::*;
use honeybee_protocol::{
    Command, NodeEvent, NodeId, NodeRegistration, NodeStatus, NodeType, PotStatusUpdate,
    SecretString,
};

use super::views::{NodeDetail, NodeView, PotView};
use crate::alerts::AlertKind;
use crate::commands::Origin;
use crate::pot::lifecycle::Transition;
use crate::session::{EndReason, NodeSession};

/// A session asks to register its node (the single decision point).
#[derive(Debug, Message)]
#[rtype(result = "Result<Admitted, Refused>")]
pub struct Register {
    pub session: Addr<NodeSession>,
    /// The session's own id: its `SessionEnded` carries it, so a stale link is always undone.
    pub session_id: u64,
    pub registration: NodeRegistration,
    pub version: u64,
    pub remote_addr: SocketAddr,
}

/// The registration was accepted.
#[derive(Debug)]
pub struct Admitted {
    pub totp_key: Option<SecretString>,
    /// The node's known pots and their types, to fill in events that name none.
    pub pot_types: Vec<(String, String)>,
}

/// The registration was refused.
#[derive(Debug)]
pub enum Refused {
    /// Answer with a refusing ack carrying this message (`CODE: reason`), then close.
    Ack(String),
    /// The Core is shutting down: close without an ack (the node will retry elsewhere/later).
    Unavailable,
    /// Accepted, but the store did not make the decision durable in time: close without an
    /// ack (an accepted step must never be acknowledged before it is on disk).
    NotStored,
}

/// What a registered session reports about its node.
#[derive(Debug)]
pub enum Report {
    Status(NodeStatus),
    Pot(PotStatusUpdate),
    Event(NodeEvent),
    /// Events arrived from these pots (at most once a second): the node and they are alive.
    Active(Vec<String>),
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct NodeReport {
    pub node_id: NodeId,
    pub session_id: u64,
    pub report: Report,
}

/// A session ended. `node_id` is `None` when it never registered.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SessionEnded {
    pub node_id: Option<NodeId>,
    pub session_id: u64,
    pub reason: EndReason,
}

/// From a pot actor: what the API shows of it changed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PotViewChanged {
    pub generation: u64,
    pub view: PotView,
}

/// From a pot actor: track and send this command it decided on, unless the pot already has a
/// command in flight or waiting, or its node is offline.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PotSubmit {
    pub node_id: NodeId,
    pub pot_id: String,
    pub generation: u64,
    pub command: Command,
    pub origin: Origin,
}

/// From a pot actor: open (`Some(message)`) or clear one of its alerts.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PotAlert {
    pub node_id: NodeId,
    pub pot_id: String,
    pub kind: AlertKind,
    pub message: Option<String>,
}

/// From a pot actor: it ended. `crashed` is false only when it was told to stop.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PotExited {
    pub node_id: NodeId,
    pub pot_id: String,
    pub generation: u64,
    pub crashed: bool,
}

/// Which nodes a broadcast reaches (all connected nodes when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFilter {
    pub node_type: Option<NodeType>,
    pub status: Option<NodeStatus>,
}

/// Submit a command for every connected v2 node matching the filter; answers each node
/// reached (its record id) with the id its command is tracked under (`SubmitCommand` per node:
/// sent at once, or `pending` behind what is in flight there).
#[derive(Debug, Message)]
#[rtype(result = "Vec<(NodeId, u64)>")]
pub struct Broadcast {
    pub command: Command,
    pub filter: NodeFilter,
}

#[derive(Debug, Message)]
#[rtype(result = "Vec<NodeView>")]
pub struct ListNodes;

#[derive(Debug, Message)]
#[rtype(result = "Option<NodeDetail>")]
pub struct GetNode {
    pub node_id: NodeId,
}

#[derive(Debug, Message)]
#[rtype(result = "Vec<PotView>")]
pub struct ListPots;

#[derive(Debug, Message)]
#[rtype(result = "Option<Vec<Transition>>")]
pub struct PotHistory {
    pub node_id: NodeId,
    pub pot_id: String,
}

/// The Core is shutting down: refuse registrations from now on, and close every registered
/// session. Answers how many there were.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct BeginShutdown;

/// The sessions are closed: every pot actor is told to stop, and the answer comes once each
/// has answered (every store write of theirs is queued by then).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct FinishShutdown;

/// Test-only fault hook: make one child actor panic. Answers whether it was found.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub struct InjectFault {
    pub node_id: NodeId,
    pub target: FaultTarget,
}

#[cfg(feature = "fault-injection")]
#[derive(Debug, Clone)]
pub enum FaultTarget {
    Session,
    Pot(String),
}

/// An operator's act on node identities (enroll, approve, reject, revoke). Revoking also cuts
/// the node's live session at once.
#[derive(Debug, Message)]
#[rtype(result = "Result<crate::admission::IdentityOpDone, crate::admission::IdentityOpError>")]
pub struct Operate(pub crate::admission::IdentityOp);

/// Every node identity, without secrets.
#[derive(Debug, Message)]
#[rtype(result = "Vec<crate::admission::IdentityView>")]
pub struct ListIdentities;

/// How many nodes the registry knows and how many are connected (cheap: no copies).
#[derive(Debug, Message)]
#[rtype(result = "NodeCounts")]
pub struct CountNodes;

#[derive(Debug, Clone, Default, PartialEq, Eq, MessageResponse)]
pub struct NodeCounts {
    pub known: usize,
    pub connected: usize,
    /// Nodes per status, in `NodeStatus::ALL` order, split by connection: a node keeps its
    /// last reported status after it disconnects (e.g. `Running` after a `NodeDrop`).
    pub by_status: Vec<(NodeStatus, Connections)>,
    /// Alerts open now.
    pub alerts_open: usize,
    /// Pots per status, in `PotStatus::ALL` order.
    pots_by_status: Vec<(honeybee_protocol::PotStatus, usize)>,
}

/// Nodes of one status: how many are connected now and how many are not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connections {
    pub connected: usize,
    pub disconnected: usize,
}

impl NodeCounts {
    pub fn pots_by_status(&self) -> &[(honeybee_protocol::PotStatus, usize)] {
        &self.pots_by_status
    }

    /// Counts over every node and the pots they reported.
    pub fn of<'a>(nodes: impl Iterator<Item = &'a super::NodeRecord>) -> NodeCounts {
        use honeybee_protocol::PotStatus;
        let mut counts = NodeCounts {
            by_status: NodeStatus::ALL
                .iter()
                .map(|s| (*s, Connections::default()))
                .collect(),
            pots_by_status: PotStatus::ALL.iter().map(|s| (*s, 0)).collect(),
            ..NodeCounts::default()
        };
        for node in nodes {
            counts.known += 1;
            let connected = node.session.is_some();
            counts.connected += usize::from(connected);
            if let Some((_, slot)) = counts.by_status.iter_mut().find(|(s, _)| *s == node.status) {
                if connected {
                    slot.connected += 1;
                } else {
                    slot.disconnected += 1;
                }
            }
            for pot in node.pots.values().filter_map(|p| p.view.as_ref()) {
                let status = pot.status;
                if let Some(slot) = counts.pots_by_status.iter_mut().find(|(s, _)| *s == status) {
                    slot.1 += 1;
                }
            }
        }
        counts
    }
}

/// The open alerts, oldest first (the API lists the stored ones, cleared ones included).
#[derive(Debug, Message)]
#[rtype(result = "Vec<crate::alerts::Alert>")]
pub struct ListAlerts;

/// Raises (`message: Some`) or clears (`None`) an alert about the Core itself (e.g. low disk).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct CoreAlert {
    pub key: crate::alerts::AlertKey,
    pub message: Option<String>,
}
