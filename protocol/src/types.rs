//! The message types of both directions and their canonical JSON shapes. Decoding (with every
//! lenient shape real peers send) lives in `decode.rs`; this file writes only canonical forms.

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::error::ErrorCode;
use crate::secret::SecretString;
use crate::time::Timestamp;

/// A node's id. Real nodes pick random u64s, often above 2^63.
pub type NodeId = u64;

/// The protocol version this crate speaks and always writes.
pub const PROTOCOL_VERSION: u64 = 2;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name (case-sensitive).
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }

            /// Parses the wire name (case-sensitive).
            pub fn from_wire(name: &str) -> Option<Self> {
                match name { $(stringify!($variant) => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// What a node reports about itself.
    NodeStatus { Connected, Deploying, Running, Stopped, Failed, Unknown }
);
wire_enum!(
    /// What a node reports about one of its pots.
    PotStatus { Installing, Running, Stopped, Failed }
);
wire_enum!(
    /// The kind of node.
    NodeType { Full, Agent }
);
wire_enum!(
    /// The kind of a `NodeEvent`.
    NodeEventKind { Started, Stopped, Alarm, Error }
);

/// A `PotEvent`'s `data`: a JSON object kept as the exact text it arrived in, so that storing it
/// costs no re-serialisation. Equality is on that text.
#[derive(Clone)]
pub struct EventData(Box<RawValue>);

impl EventData {
    /// Wraps raw JSON text, which must be an object.
    pub fn from_raw(raw: Box<RawValue>) -> Result<Self, NotAnObject> {
        if raw.get().starts_with('{') {
            Ok(EventData(raw))
        } else {
            Err(NotAnObject)
        }
    }

    /// The compact JSON of a map.
    pub fn from_map(map: &serde_json::Map<String, serde_json::Value>) -> Self {
        // Invariant: a `Map` of `Value`s always serialises (string keys, no failing impls).
        #[allow(clippy::expect_used)]
        let raw = serde_json::value::to_raw_value(map).expect("a JSON map always serialises");
        EventData(raw)
    }

    /// `{}`.
    pub fn empty() -> Self {
        Self::from_map(&serde_json::Map::new())
    }

    /// The JSON text of the object.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Parses the object into a map.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        // Invariant: the text was checked to be a JSON object when this value was made.
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl PartialEq for EventData {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for EventData {}

impl fmt::Debug for EventData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventData({})", self.as_str())
    }
}

impl Serialize for EventData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// `data` was JSON but not an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("data must be a JSON object")]
pub struct NotAnObject;

// ---------------------------------------------------------------------------------------------
// Node → Core

/// The first frame of every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRegistration {
    pub node_id: NodeId,
    /// 1–128 characters, no control characters (checked by the decoder).
    pub node_name: String,
    pub address: String,
    pub port: u16,
    pub node_type: NodeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<SecretString>,
}

/// A node's own status; also its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatusUpdate {
    pub node_id: NodeId,
    pub status: NodeStatus,
}

/// A pot's status, answering pot commands (`Failed` carries the reason in `message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PotStatusUpdate {
    pub node_id: NodeId,
    pub pot_id: String,
    pub pot_type: String,
    pub status: PotStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Attack data a pot captured. When `pot_type` or `timestamp` is absent the Core's event
/// pipeline fills them in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PotEvent {
    pub node_id: NodeId,
    pub pot_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pot_type: Option<String>,
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    pub data: EventData,
}

/// Something that happened to the node itself. It carries no `node_id`: it belongs to the
/// connection's node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeEvent {
    #[serde(rename = "type")]
    pub kind: NodeEventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Every message a node sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeToCore {
    NodeRegistration(NodeRegistration),
    NodeStatusUpdate(NodeStatusUpdate),
    PotStatusUpdate(PotStatusUpdate),
    PotEvent(PotEvent),
    NodeEvent(NodeEvent),
    /// The node is about to close the connection on purpose.
    NodeDrop,
}

impl NodeToCore {
    /// The variant name on the wire.
    pub const fn name(&self) -> &'static str {
        match self {
            NodeToCore::NodeRegistration(_) => "NodeRegistration",
            NodeToCore::NodeStatusUpdate(_) => "NodeStatusUpdate",
            NodeToCore::PotStatusUpdate(_) => "PotStatusUpdate",
            NodeToCore::PotEvent(_) => "PotEvent",
            NodeToCore::NodeEvent(_) => "NodeEvent",
            NodeToCore::NodeDrop => "NodeDrop",
        }
    }

    /// The `node_id` the frame carries, if its variant has one.
    pub const fn node_id(&self) -> Option<NodeId> {
        match self {
            NodeToCore::NodeRegistration(m) => Some(m.node_id),
            NodeToCore::NodeStatusUpdate(m) => Some(m.node_id),
            NodeToCore::PotStatusUpdate(m) => Some(m.node_id),
            NodeToCore::PotEvent(m) => Some(m.node_id),
            NodeToCore::NodeEvent(_) | NodeToCore::NodeDrop => None,
        }
    }
}

impl Serialize for NodeToCore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        let name = self.name();
        match self {
            NodeToCore::NodeRegistration(m) => map.serialize_entry(name, m)?,
            NodeToCore::NodeStatusUpdate(m) => map.serialize_entry(name, m)?,
            NodeToCore::PotStatusUpdate(m) => map.serialize_entry(name, m)?,
            NodeToCore::PotEvent(m) => map.serialize_entry(name, m)?,
            NodeToCore::NodeEvent(m) => map.serialize_entry(name, m)?,
            NodeToCore::NodeDrop => map.serialize_entry(name, &EmptyObject)?,
        }
        map.end()
    }
}

// ---------------------------------------------------------------------------------------------
// Core → Node

/// The answer to a `NodeRegistration`: exactly one per connection, the first frame the Core
/// writes after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationAck {
    /// Always written by the Core; a node-side decoder accepts an ack without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<NodeId>,
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Only when the Core has just issued a secret to this node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_key: Option<SecretString>,
}

/// A command for a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeCommand {
    pub node_id: NodeId,
    pub command: Command,
}

/// The `ProtocolError` extension: what was wrong with a frame, without disconnecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtocolError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<NodeId>,
}

/// Every message the Core sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreToNode {
    RegistrationAck(RegistrationAck),
    NodeCommand(NodeCommand),
    ProtocolError(ProtocolError),
}

impl CoreToNode {
    /// The variant name on the wire.
    pub const fn name(&self) -> &'static str {
        match self {
            CoreToNode::RegistrationAck(_) => "RegistrationAck",
            CoreToNode::NodeCommand(_) => "NodeCommand",
            CoreToNode::ProtocolError(_) => "ProtocolError",
        }
    }
}

impl Serialize for CoreToNode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        let name = self.name();
        match self {
            CoreToNode::RegistrationAck(m) => map.serialize_entry(name, m)?,
            CoreToNode::NodeCommand(m) => map.serialize_entry(name, m)?,
            CoreToNode::ProtocolError(m) => map.serialize_entry(name, m)?,
        }
        map.end()
    }
}

/// `InstallPot`'s payload. `git_url`, `git_branch` and `config` are always written, `null` when
/// absent; config values are always strings on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallPot {
    pub pot_id: String,
    pub honeypot_type: String,
    pub git_url: Option<String>,
    pub git_branch: Option<String>,
    pub config: Option<BTreeMap<String, String>>,
    pub auto_start: bool,
}

/// A command to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    InstallPot(InstallPot),
    DeployPot(String),
    StopPot(String),
    RestartPot(String),
    GetPotStatus(String),
    GetPotInfo(String),
    GetPotLogs(String),
    GetPotMetrics(String),
    Restart,
    UpdateConfig,
    GetInstalledPots,
}

impl Command {
    /// The variant name on the wire.
    pub const fn name(&self) -> &'static str {
        match self {
            Command::InstallPot(_) => "InstallPot",
            Command::DeployPot(_) => "DeployPot",
            Command::StopPot(_) => "StopPot",
            Command::RestartPot(_) => "RestartPot",
            Command::GetPotStatus(_) => "GetPotStatus",
            Command::GetPotInfo(_) => "GetPotInfo",
            Command::GetPotLogs(_) => "GetPotLogs",
            Command::GetPotMetrics(_) => "GetPotMetrics",
            Command::Restart => "Restart",
            Command::UpdateConfig => "UpdateConfig",
            Command::GetInstalledPots => "GetInstalledPots",
        }
    }

    /// The pot the command concerns; `None` for node-level commands.
    pub fn pot_id(&self) -> Option<&str> {
        match self {
            Command::InstallPot(install) => Some(&install.pot_id),
            Command::DeployPot(id)
            | Command::StopPot(id)
            | Command::RestartPot(id)
            | Command::GetPotStatus(id)
            | Command::GetPotInfo(id)
            | Command::GetPotLogs(id)
            | Command::GetPotMetrics(id) => Some(id),
            Command::Restart | Command::UpdateConfig | Command::GetInstalledPots => None,
        }
    }
}

impl Serialize for Command {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        let name = self.name();
        match self {
            Command::InstallPot(install) => map.serialize_entry(name, install)?,
            Command::Restart | Command::UpdateConfig | Command::GetInstalledPots => {
                map.serialize_entry(name, &EmptyObject)?
            }
            Command::DeployPot(id)
            | Command::StopPot(id)
            | Command::RestartPot(id)
            | Command::GetPotStatus(id)
            | Command::GetPotInfo(id)
            | Command::GetPotLogs(id)
            | Command::GetPotMetrics(id) => map.serialize_entry(name, id)?,
        }
        map.end()
    }
}

/// Serialises as `{}`: how unit variants are written (one real node cannot decode the bare
/// string form).
struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}
