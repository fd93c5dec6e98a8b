//! Alerts: conditions an operator should look at (a pot given up on, a silent pot, a failed or
//! vanished node, a possible clone, low disk, an output falling behind). An alert is raised once per condition and stays
//! open until the condition clears. Alerts are durable: the registry queues every open and
//! clear to the store (`honeybee_store::AlertRow`), and this book, the open alerts in memory,
//! is rebuilt from the store's open alerts at start ([`AlertBook::restore`]).
//!
//! Bound: one open alert per [`AlertKey`] (kind, node, pot), and keys exist only for nodes the
//! registry holds (at most `auth.max_nodes`), their pots (at most 1,024 each) and the Core
//! itself. No open alert is ever dropped; cleared ones live only in the store.

use std::collections::HashMap;
use std::time::SystemTime;

use honeybee_protocol::NodeId;
use honeybee_store::AlertRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    PotGaveUp,
    PotSilent,
    NodeFailed,
    NodeUnknown,
    PossibleClone,
    DiskLow,
    /// An output sink fell `max_lag_events` behind the store, or skipped events retention
    /// pruned before it sent them.
    OutputLagging,
}

impl AlertKind {
    pub const ALL: [AlertKind; 7] = [
        AlertKind::PotGaveUp,
        AlertKind::PotSilent,
        AlertKind::NodeFailed,
        AlertKind::NodeUnknown,
        AlertKind::PossibleClone,
        AlertKind::DiskLow,
        AlertKind::OutputLagging,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::PotGaveUp => "pot_gave_up",
            AlertKind::PotSilent => "pot_silent",
            AlertKind::NodeFailed => "node_failed",
            AlertKind::NodeUnknown => "node_unknown",
            AlertKind::PossibleClone => "possible_clone",
            AlertKind::DiskLow => "disk_low",
            AlertKind::OutputLagging => "output_lagging",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// What an alert is about: one alert per key is open at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlertKey {
    pub kind: AlertKind,
    pub node_id: Option<NodeId>,
    pub pot_id: Option<String>,
}

impl AlertKey {
    pub fn node(kind: AlertKind, node_id: NodeId) -> Self {
        AlertKey {
            kind,
            node_id: Some(node_id),
            pot_id: None,
        }
    }

    pub fn pot(kind: AlertKind, node_id: NodeId, pot_id: &str) -> Self {
        AlertKey {
            kind,
            node_id: Some(node_id),
            pot_id: Some(pot_id.to_owned()),
        }
    }

    pub fn core(kind: AlertKind) -> Self {
        AlertKey {
            kind,
            node_id: None,
            pot_id: None,
        }
    }
}

/// One alert, open or cleared: CORE.md's shape `{alert_id, type, state, node_id?, node_name?,
/// pot_id?, message, opened_at, cleared_at?}` (`type`, `node_id` and `pot_id` are the key's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Unique and never reused, across restarts too.
    pub id: u64,
    pub key: AlertKey,
    /// The node's name when the alert opened (node and pot alerts).
    pub node_name: Option<String>,
    pub message: String,
    pub opened_at: SystemTime,
    /// `None` while open.
    pub cleared_at: Option<SystemTime>,
}

impl Alert {
    /// `"open"` or `"cleared"`.
    pub const fn state(&self) -> &'static str {
        if self.cleared_at.is_some() {
            "cleared"
        } else {
            "open"
        }
    }

    /// The stored row of this alert.
    pub fn to_row(&self) -> AlertRow {
        AlertRow {
            alert_id: self.id,
            kind: self.key.kind.as_str().to_owned(),
            node_id: self.key.node_id,
            node_name: self.node_name.clone(),
            pot_id: self.key.pot_id.clone(),
            message: self.message.clone(),
            opened_at: self.opened_at,
            cleared_at: self.cleared_at,
        }
    }

    /// The alert of a stored row; `None` for a type this build does not know.
    pub fn from_row(row: AlertRow) -> Option<Alert> {
        Some(Alert {
            id: row.alert_id,
            key: AlertKey {
                kind: AlertKind::parse(&row.kind)?,
                node_id: row.node_id,
                pot_id: row.pot_id,
            },
            node_name: row.node_name,
            message: row.message,
            opened_at: row.opened_at,
            cleared_at: row.cleared_at,
        })
    }
}

/// The open alerts, by condition, and the last id handed out.
#[derive(Debug, Default)]
pub struct AlertBook {
    last_id: u64,
    open: HashMap<AlertKey, Alert>,
}

impl AlertBook {
    /// The book of a restarted Core: the stored open alerts, and ids continuing after
    /// `last_id` (the store's largest). A second open alert for one key (a store written by
    /// hand) keeps the older one in the book.
    pub fn restore(last_id: u64, open: impl IntoIterator<Item = Alert>) -> Self {
        let mut book = AlertBook {
            last_id,
            open: HashMap::new(),
        };
        for alert in open {
            book.last_id = book.last_id.max(alert.id);
            match book.open.get(&alert.key) {
                Some(kept) if kept.id < alert.id => {}
                _ => {
                    book.open.insert(alert.key.clone(), alert);
                }
            }
        }
        book
    }

    /// Raises the alert for `key` unless it is already open. Answers the new alert.
    pub fn raise(
        &mut self,
        key: AlertKey,
        node_name: Option<String>,
        message: String,
        now: SystemTime,
    ) -> Option<Alert> {
        if self.open.contains_key(&key) {
            return None;
        }
        self.last_id += 1;
        let alert = Alert {
            id: self.last_id,
            key: key.clone(),
            node_name,
            message,
            opened_at: now,
            cleared_at: None,
        };
        self.open.insert(key, alert.clone());
        Some(alert)
    }

    /// Clears the open alert for `key`, if any. Answers the cleared alert.
    pub fn clear(&mut self, key: &AlertKey, now: SystemTime) -> Option<Alert> {
        let mut alert = self.open.remove(key)?;
        alert.cleared_at = Some(now);
        Some(alert)
    }

    pub fn is_open(&self, key: &AlertKey) -> bool {
        self.open.contains_key(key)
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// The last id handed out.
    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    /// The kinds of the alerts open about `node_id`.
    pub fn open_for(&self, node_id: NodeId) -> Vec<AlertKind> {
        let mut kinds: Vec<_> = self
            .open
            .keys()
            .filter(|k| k.node_id == Some(node_id))
            .map(|k| k.kind)
            .collect();
        kinds.sort_by_key(|k| k.as_str());
        kinds
    }

    /// The kinds of the open alerts of every node (one pass; for listings).
    pub fn open_by_node(&self) -> HashMap<NodeId, Vec<AlertKind>> {
        let mut by_node: HashMap<NodeId, Vec<AlertKind>> = HashMap::new();
        for key in self.open.keys() {
            if let Some(node_id) = key.node_id {
                by_node.entry(node_id).or_default().push(key.kind);
            }
        }
        for kinds in by_node.values_mut() {
            kinds.sort_by_key(|k| k.as_str());
        }
        by_node
    }

    /// The open alerts, oldest first.
    pub fn list(&self) -> Vec<Alert> {
        let mut open: Vec<_> = self.open.values().cloned().collect();
        open.sort_by_key(|a| a.id);
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_open_alert_per_condition_and_ids_only_grow() {
        let mut book = AlertBook::default();
        let now = SystemTime::UNIX_EPOCH;
        let key = AlertKey::node(AlertKind::NodeUnknown, 7);
        let first = book.raise(key.clone(), None, "gone".into(), now).unwrap();
        assert_eq!(first.id, 1);
        assert!(
            book.raise(key.clone(), None, "gone again".into(), now)
                .is_none()
        );
        assert_eq!(book.open_count(), 1);
        let cleared = book.clear(&key, now).expect("open");
        assert_eq!(
            (cleared.cleared_at, cleared.state()),
            (Some(now), "cleared")
        );
        assert!(book.clear(&key, now).is_none());
        let again = book.raise(key.clone(), None, "gone".into(), now).unwrap();
        assert!(again.id > cleared.id);
        assert_eq!(again.state(), "open");
        assert_eq!(book.list(), [again]);
    }

    #[test]
    fn many_open_alerts_are_all_kept() {
        let mut book = AlertBook::default();
        let now = SystemTime::UNIX_EPOCH;
        for node in 0..20_000 {
            let key = AlertKey::node(AlertKind::NodeUnknown, node);
            assert!(book.raise(key, None, "gone".into(), now).is_some());
        }
        assert_eq!(book.open_count(), 20_000);
        assert_eq!(book.list()[0].id, 1);
    }

    #[test]
    fn a_restored_book_keeps_the_open_alerts_and_continues_the_ids() {
        let now = SystemTime::UNIX_EPOCH;
        let stored = Alert {
            id: 41,
            key: AlertKey::pot(AlertKind::PotGaveUp, 3, "cowrie-01"),
            node_name: Some("edge".into()),
            message: "gave up".into(),
            opened_at: now,
            cleared_at: None,
        };
        let row = stored.to_row();
        assert_eq!(row.kind, "pot_gave_up");
        assert_eq!(Alert::from_row(row.clone()), Some(stored.clone()));
        assert_eq!(
            Alert::from_row(honeybee_store::AlertRow {
                kind: "from_the_future".into(),
                ..row
            }),
            None
        );
        let mut book = AlertBook::restore(57, [stored.clone()]);
        assert!(book.is_open(&stored.key));
        assert!(
            book.raise(stored.key.clone(), None, "x".into(), now)
                .is_none()
        );
        let next = book
            .raise(AlertKey::core(AlertKind::DiskLow), None, "low".into(), now)
            .unwrap();
        assert_eq!(next.id, 58);
        assert_eq!(AlertBook::restore(3, [stored]).last_id(), 41);
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
        }
    }
}
