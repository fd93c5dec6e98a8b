//! What the outputs keep in the store (schema migration 8): each sink's durable position (the
//! last event id and the last alert-change `seq` it settled, and the events it had to skip),
//! its dead-letter list (items a receiver refused for good), and the threat-intel indicators
//! the outputs' indexer records as attacker values are first seen (their `date_added` is what
//! TAXII pages by, so it must never change once given).
//!
//! Positions and dead letters are written through the writer's queue like every other change
//! (`WriterHandle::set_output_position`, `WriterHandle::dead_letter`): a position queued after
//! a delivery commits with the next batch, so a crash can only take a sink back to an earlier
//! position (duplicates by id, never a loss).

use std::time::SystemTime;

use honeybee_protocol::NodeId;

/// Dead letters kept per sink (the newest).
pub const DEAD_LETTERS_KEPT: usize = 10_000;
/// Threat-intel indicators kept (the newest by `seq`): attackers choose how many distinct
/// addresses, URLs and hashes they show, so the index is bounded like everything else.
pub const INDICATORS_KEPT: i64 = 1_000_000;

/// A sink's durable position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputPosition {
    /// The sink's configured name.
    pub sink: String,
    /// Every event up to this id is settled (sent, dead-lettered, filtered out or skipped).
    pub last_event_id: u64,
    /// Every alert change up to this `seq` is settled.
    pub last_alert_seq: u64,
    /// Events pruned by retention before the sink sent them, since the sink first ran.
    pub skipped: u64,
}

/// What a dead letter was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadKind {
    Event,
    Alert,
}

impl DeadKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeadKind::Event => "event",
            DeadKind::Alert => "alert",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "event" => Some(DeadKind::Event),
            "alert" => Some(DeadKind::Alert),
            _ => None,
        }
    }
}

/// One item a receiver refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Increasing, assigned by the store (0 in a letter not yet stored).
    pub seq: u64,
    pub sink: String,
    pub kind: DeadKind,
    /// The event id, or the alert id.
    pub item_id: u64,
    /// For an alert: the alert-change `seq` (which change was refused); 0 for an event.
    pub change_seq: u64,
    pub at: SystemTime,
    /// The receiver's answer (HTTP status or item status), when it gave one.
    pub status: Option<u16>,
    /// Why, as the receiver said it (secrets removed by the sink).
    pub error: String,
}

/// What an indicator is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndicatorKind {
    /// An attacker address (the TCP peer of a pot's session).
    Ip,
    /// A URL a pot saw downloaded.
    Url,
    /// The SHA-256 of a file a pot saw.
    Sha256,
}

impl IndicatorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Url => "url",
            IndicatorKind::Sha256 => "sha256",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "ip" => Some(IndicatorKind::Ip),
            "url" => Some(IndicatorKind::Url),
            "sha256" => Some(IndicatorKind::Sha256),
            _ => None,
        }
    }
}

/// The columns of a stored event that can carry indicators: all the threat-intel indexer
/// reads of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventValues {
    pub id: u64,
    pub received_at: SystemTime,
    pub src_ip: Option<String>,
    pub download_url: Option<String>,
    pub sha256: Option<String>,
}

/// An attacker value first seen by a pot, kept for the TAXII collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// Increasing in `date_added` order (assigned by the store; 0 in one not yet stored).
    pub seq: u64,
    pub kind: IndicatorKind,
    pub value: String,
    /// `received_at` of the first event that carried it.
    pub first_seen: SystemTime,
    /// When it joined the collection: never earlier than a previous indicator's (the writer
    /// raises it if needed), so `added_after` is a range of `seq`.
    pub date_added: SystemTime,
}

/// A value seen by one pot within a time range: how often and when (the STIX bundle's
/// sightings and the blocklist are built from these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub kind: IndicatorKind,
    pub value: String,
    pub node_id: NodeId,
    pub node_name: String,
    pub pot_id: String,
    pub pot_type: Option<String>,
    pub count: u64,
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
}

/// Observations over a range, and whether the range was cut to the newest
/// [`crate::OBSERVATION_SCAN_LIMIT`] events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observations {
    pub rows: Vec<Observation>,
    pub truncated: bool,
}
