//! Events as the store keeps them: what the pipeline appends ([`NewEvent`]) and what it reads
//! back ([`StoredEvent`]), with every field of CORE.md's event.

use std::time::SystemTime;

use honeybee_protocol::NodeId;

/// Who set an event's `timestamp`: the node (it sent one) or the Core (its receipt time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampSource {
    Node,
    Core,
}

impl TimestampSource {
    /// `"node"` or `"core"`, as the API writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            TimestampSource::Node => "node",
            TimestampSource::Core => "core",
        }
    }

    pub(crate) const fn to_sql(self) -> i64 {
        match self {
            TimestampSource::Node => 0,
            TimestampSource::Core => 1,
        }
    }

    pub(crate) const fn from_sql(v: i64) -> Self {
        if v == 0 {
            TimestampSource::Node
        } else {
            TimestampSource::Core
        }
    }
}

/// An event ready to store: normalised by the pipeline (`pot_type` filled from the pot's
/// record when it can be, `timestamp` canonical, the normalised fields extracted). The writer
/// gives it its `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub node_id: NodeId,
    pub node_name: String,
    pub pot_id: String,
    pub pot_type: Option<String>,
    pub event_type: String,
    /// Canonical RFC 3339 (`Timestamp::as_str`).
    pub timestamp: String,
    pub timestamp_source: TimestampSource,
    /// When the Core accepted the event. The writer may raise it to its predecessor's (see
    /// `StoreWriter`), so that `received_at` never decreases in id order.
    pub received_at: SystemTime,
    pub src_ip: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub command: Option<String>,
    /// What the pot saw downloaded or uploaded (`data.url`).
    pub download_url: Option<String>,
    /// The file's SHA-256 (`data.shasum` or `data.sha256`).
    pub sha256: Option<String>,
    /// The event's `data`: raw JSON object text, stored as is.
    pub data: String,
}

/// A stored event. `id` is unique, assigned in commit order, never reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: u64,
    pub node_id: NodeId,
    pub node_name: String,
    pub pot_id: String,
    pub pot_type: Option<String>,
    pub event_type: String,
    pub timestamp: String,
    pub timestamp_source: TimestampSource,
    pub received_at: SystemTime,
    pub src_ip: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub command: Option<String>,
    pub download_url: Option<String>,
    pub sha256: Option<String>,
    pub data: String,
}

impl StoredEvent {
    pub(crate) fn from_new(id: u64, event: NewEvent) -> Self {
        StoredEvent {
            id,
            node_id: event.node_id,
            node_name: event.node_name,
            pot_id: event.pot_id,
            pot_type: event.pot_type,
            event_type: event.event_type,
            timestamp: event.timestamp,
            timestamp_source: event.timestamp_source,
            received_at: event.received_at,
            src_ip: event.src_ip,
            username: event.username,
            password: event.password,
            command: event.command,
            download_url: event.download_url,
            sha256: event.sha256,
            data: event.data,
        }
    }
}

/// One commit's events, in id order, as published to subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub events: Vec<StoredEvent>,
}
