//! What a sink carries: stored events, alert changes (one per open and one per clear), and the
//! summary that stands for the alert changes past a sink's rate limit; the key each is settled
//! by (the event id, the alert change's `seq`); and the event filter of `[[outputs]]`.

use std::time::SystemTime;

use honeybee_store::{AlertChange, StoredEvent};

use crate::config::outputs::OutputFilter;

/// One thing to send.
#[derive(Debug, Clone)]
pub enum Item {
    Event(StoredEvent),
    Alert(AlertChange),
    Summary(Summary),
}

/// Alert changes folded into one message once a sink's `alerts_per_minute` was used up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub first_seq: u64,
    pub last_seq: u64,
    pub opened: u64,
    pub cleared: u64,
    /// Alert types folded, each once, in the order first seen (at most 20 kept).
    pub kinds: Vec<String>,
    pub since: Option<SystemTime>,
    pub until: Option<SystemTime>,
}

impl Summary {
    pub fn fold(&mut self, change: &AlertChange) {
        if self.first_seq == 0 {
            self.first_seq = change.seq;
        }
        self.last_seq = change.seq;
        match change.state {
            honeybee_store::AlertState::Open => self.opened += 1,
            honeybee_store::AlertState::Cleared => self.cleared += 1,
        }
        if self.kinds.len() < 20 && !self.kinds.contains(&change.alert.kind) {
            self.kinds.push(change.alert.kind.clone());
        }
        self.since.get_or_insert(change.at);
        self.until = Some(change.at);
    }

    pub fn is_empty(&self) -> bool {
        self.opened + self.cleared == 0
    }

    /// The summary's text (every format carries it).
    pub fn text(&self) -> String {
        format!(
            "{} more alert changes past this output's rate limit ({} opened, {} cleared; types: \
             {}); GET /api/v1/alerts lists them",
            self.opened + self.cleared,
            self.opened,
            self.cleared,
            self.kinds.join(", ")
        )
    }
}

/// What settles an item in a sink's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKey {
    Event(u64),
    /// An alert change's `seq`; a summary is keyed by the last change it folded.
    Alert(u64),
}

impl Item {
    pub fn key(&self) -> ItemKey {
        match self {
            Item::Event(e) => ItemKey::Event(e.id),
            Item::Alert(c) => ItemKey::Alert(c.seq),
            Item::Summary(s) => ItemKey::Alert(s.last_seq),
        }
    }

    /// The dedupe key receivers see: `event:<id>`, `alert:<id>:open|cleared`, or
    /// `alert-summary:<first>-<last>`.
    pub fn dedupe_id(&self) -> String {
        match self {
            Item::Event(e) => format!("event:{}", e.id),
            Item::Alert(c) => format!("alert:{}:{}", c.alert.alert_id, c.state.as_str()),
            Item::Summary(s) => format!("alert-summary:{}-{}", s.first_seq, s.last_seq),
        }
    }

    /// When it happened: an event's `received_at`, an alert change's time.
    pub fn at(&self) -> SystemTime {
        match self {
            Item::Event(e) => e.received_at,
            Item::Alert(c) => c.at,
            Item::Summary(s) => s.until.unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }

    /// Its JSON: an event as `GET /api/v1/events` returns it, an alert in CORE.md's shape, a
    /// summary as `{"summary":..,"opened":..,"cleared":..,"types":[..]}`.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Item::Event(e) => {
                let mut out = Vec::with_capacity(512);
                crate::api::event::write_event(&mut out, e);
                serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
            }
            Item::Alert(c) => crate::api::views::alert_row(&c.alert),
            Item::Summary(s) => serde_json::json!({
                "summary": s.text(),
                "opened": s.opened,
                "cleared": s.cleared,
                "types": s.kinds,
            }),
        }
    }

    /// Its compact JSON text.
    pub fn json_text(&self) -> Vec<u8> {
        match self {
            Item::Event(e) => {
                let mut out = Vec::with_capacity(512);
                crate::api::event::write_event(&mut out, e);
                out
            }
            other => serde_json::to_vec(&other.json()).unwrap_or_default(),
        }
    }
}

/// `filter` of one sink, ready to match.
#[derive(Debug, Clone, Default)]
pub struct EventFilter(OutputFilter);

impl EventFilter {
    pub fn new(filter: OutputFilter) -> Self {
        EventFilter(filter)
    }

    pub fn matches(&self, e: &StoredEvent) -> bool {
        let f = &self.0;
        (f.event_type_prefix.is_empty()
            || f.event_type_prefix
                .iter()
                .any(|p| e.event_type.starts_with(p.as_str())))
            && (f.pot_type.is_empty()
                || e.pot_type
                    .as_deref()
                    .is_some_and(|t| f.pot_type.iter().any(|p| p == t)))
            && (f.node.is_empty()
                || f.node
                    .iter()
                    .any(|n| *n == e.node_name || *n == e.node_id.to_string()))
    }
}
