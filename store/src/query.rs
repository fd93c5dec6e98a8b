//! What the read side is asked and answers: event queries with cursor pagination, and
//! statistics.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use honeybee_protocol::NodeId;

use crate::error::StoreError;
use crate::event::StoredEvent;

/// Page size when none is given.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page.
pub const MAX_LIMIT: usize = 10_000;
/// Entries in each `top_*` list of [`Stats`].
pub const TOP_N: usize = 10;

/// Filters for [`crate::Store::events`]; every set filter must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Events of any of these node ids (the caller resolves a node to all its ids). Empty =
    /// every node.
    pub node_ids: Vec<NodeId>,
    pub pot_id: Option<String>,
    pub pot_type: Option<String>,
    pub event_type: Option<String>,
    pub src_ip: Option<String>,
    /// `received_at >= since`.
    pub since: Option<SystemTime>,
    /// `received_at <= until`.
    pub until: Option<SystemTime>,
    /// Page size: [`DEFAULT_LIMIT`] when `None`, clamped to 1..=[`MAX_LIMIT`].
    pub limit: Option<usize>,
    /// Continue after this cursor (a previous page's `next`).
    pub after: Option<Cursor>,
}

impl EventQuery {
    pub(crate) fn page_size(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }
}

/// One page of events, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    /// Where the next page starts; `None` when nothing more matched at query time. A page may
    /// hold fewer than `limit` events and still have a `next` (a filter no index serves
    /// examines a bounded id window per page): follow `next` until it is `None`.
    pub next: Option<Cursor>,
}

/// A position in the id order: every event after it comes next. Written as an opaque,
/// URL-safe string (`e1.` and the id in lowercase hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(u64);

const CURSOR_PREFIX: &str = "e1.";

impl Cursor {
    /// The cursor after event `id` (export sinks resume from their last id with it).
    pub const fn after_id(id: u64) -> Self {
        Cursor(id)
    }

    /// The last event id before this position.
    pub const fn id(self) -> u64 {
        self.0
    }

    /// Parses a cursor written by [`Cursor`]'s `Display`; anything else is
    /// [`StoreError::BadCursor`].
    pub fn parse(text: &str) -> Result<Cursor, StoreError> {
        let bad = || StoreError::BadCursor(text.chars().take(64).collect());
        let hex = text.strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
        if hex.is_empty()
            || hex.len() > 16
            || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad());
        }
        let id = u64::from_str_radix(hex, 16).map_err(|_| bad())?;
        if id > i64::MAX as u64 {
            return Err(bad());
        }
        Ok(Cursor(id))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{CURSOR_PREFIX}{:x}", self.0)
    }
}

/// Filters for [`crate::Store::stats`]. `since` and `until` apply at hour granularity: every
/// hour that contains any instant of the range counts whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsQuery {
    pub since: Option<SystemTime>,
    pub until: Option<SystemTime>,
    /// Only these node ids (all ids of the nodes asked about). Empty = the whole fleet.
    pub node_ids: Vec<NodeId>,
}

/// Counts over a range of hours (by `received_at`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub total_events: u64,
    pub by_event_type: BTreeMap<String, u64>,
    /// Events without a `pot_type` are not counted here.
    pub by_pot_type: BTreeMap<String, u64>,
    pub by_node: BTreeMap<NodeId, u64>,
    /// Most frequent first (ties by value), at most [`TOP_N`].
    pub top_src_ips: Vec<(String, u64)>,
    pub top_usernames: Vec<(String, u64)>,
    pub top_passwords: Vec<(String, u64)>,
    pub top_commands: Vec<(String, u64)>,
    /// Download URLs and file hashes (`download_url`, `sha256`).
    pub top_downloads: Vec<(String, u64)>,
    pub top_sha256: Vec<(String, u64)>,
    /// (hour start in unix seconds, events), ascending; hours without events are absent.
    pub per_hour: Vec<(i64, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        for id in [0, 1, 255, 1 << 40, i64::MAX as u64] {
            let c = Cursor::after_id(id);
            assert_eq!(Cursor::parse(&c.to_string()).unwrap(), c);
        }
        assert_eq!(Cursor::after_id(255).to_string(), "e1.ff");
        for bad in [
            "",
            "e1.",
            "ff",
            "e2.ff",
            "e1.FF",
            "e1.-1",
            "e1.+1",
            "e1.8000000000000000",
            "e1.10000000000000000",
            "e1.ff ",
            "e1.zz",
        ] {
            let err = Cursor::parse(bad).unwrap_err();
            assert!(matches!(err, StoreError::BadCursor(_)), "{bad:?}");
        }
        assert_eq!(
            Cursor::parse("nope").unwrap_err().to_string(),
            "invalid cursor \"nope\": not a cursor returned by this API"
        );
    }
}
