//! Alerts: conditions an operator should look at (a pot given up on, a silent pot, a failed or
//! vanished node, a possible clone, low disk). An alert is raised once per condition and stays
//! open until the condition clears; cleared alerts are kept a while as recent history.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use honeybee_protocol::NodeId;

/// Cleared alerts kept for `/api/v1/alerts`.
const RECENT_KEPT: usize = 500;

/// Open alerts kept at most (a flood of distinct conditions must not grow memory without bound;
/// past it the oldest open alert is dropped from the list).
const OPEN_KEPT: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    PotGaveUp,
    PotSilent,
    NodeFailed,
    NodeUnknown,
    PossibleClone,
    DiskLow,
}

impl AlertKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::PotGaveUp => "pot_gave_up",
            AlertKind::PotSilent => "pot_silent",
            AlertKind::NodeFailed => "node_failed",
            AlertKind::NodeUnknown => "node_unknown",
            AlertKind::PossibleClone => "possible_clone",
            AlertKind::DiskLow => "disk_low",
        }
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: u64,
    pub key: AlertKey,
    pub message: String,
    pub raised_at: SystemTime,
    /// `None` while open.
    pub cleared_at: Option<SystemTime>,
}

#[derive(Debug, Default)]
pub struct AlertBook {
    next_id: u64,
    open: HashMap<AlertKey, Alert>,
    recent: VecDeque<Alert>,
}

impl AlertBook {
    /// Raises the alert for `key` unless it is already open. Answers the new alert.
    pub fn raise(&mut self, key: AlertKey, message: String, now: SystemTime) -> Option<Alert> {
        if self.open.contains_key(&key) {
            return None;
        }
        if self.open.len() >= OPEN_KEPT
            && let Some(oldest) = self
                .open
                .values()
                .min_by_key(|a| a.id)
                .map(|a| a.key.clone())
        {
            self.open.remove(&oldest);
        }
        self.next_id += 1;
        let alert = Alert {
            id: self.next_id,
            key: key.clone(),
            message,
            raised_at: now,
            cleared_at: None,
        };
        self.open.insert(key, alert.clone());
        Some(alert)
    }

    /// Clears the open alert for `key`, if any. Answers the cleared alert.
    pub fn clear(&mut self, key: &AlertKey, now: SystemTime) -> Option<Alert> {
        let mut alert = self.open.remove(key)?;
        alert.cleared_at = Some(now);
        if self.recent.len() >= RECENT_KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(alert.clone());
        Some(alert)
    }

    pub fn is_open(&self, key: &AlertKey) -> bool {
        self.open.contains_key(key)
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
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

    /// Open alerts (oldest first), then recently cleared ones (newest first).
    pub fn list(&self) -> Vec<Alert> {
        let mut open: Vec<_> = self.open.values().cloned().collect();
        open.sort_by_key(|a| a.id);
        open.extend(self.recent.iter().rev().cloned());
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_open_alert_per_condition_and_cleared_ones_are_kept() {
        let mut book = AlertBook::default();
        let now = SystemTime::UNIX_EPOCH;
        let key = AlertKey::node(AlertKind::NodeUnknown, 7);
        assert!(book.raise(key.clone(), "gone".into(), now).is_some());
        assert!(book.raise(key.clone(), "gone again".into(), now).is_none());
        assert_eq!(book.open_count(), 1);
        let cleared = book.clear(&key, now).expect("open");
        assert_eq!(cleared.cleared_at, Some(now));
        assert!(book.clear(&key, now).is_none());
        let again = book
            .raise(key.clone(), "gone".into(), now)
            .expect("raised anew");
        assert!(again.id > cleared.id);
        let listed: Vec<_> = book.list().iter().map(|a| a.cleared_at.is_some()).collect();
        assert_eq!(listed, [false, true]);
    }
}
