//! Alerts: rows, listings, the change log a follower reads in order, ids that survive pruning
//! and reopening, and the bound on cleared alerts.

use std::time::Duration;

use honeybee_store::{AlertRow, AlertState, CLEARED_ALERTS_KEPT};

use crate::common::{BIG_ID, at, spawn};

fn alert(id: u64, kind: &str, node_id: Option<u64>, pot_id: Option<&str>) -> AlertRow {
    AlertRow {
        alert_id: id,
        kind: kind.into(),
        node_id,
        node_name: node_id.map(|n| format!("bee-{n} \u{1b}")),
        pot_id: pot_id.map(str::to_owned),
        message: format!("alert {id}"),
        opened_at: at(id) + Duration::from_micros(7),
        cleared_at: None,
    }
}

fn ids(rows: &[AlertRow]) -> Vec<u64> {
    rows.iter().map(|a| a.alert_id).collect()
}

#[test]
fn alerts_round_trip_and_list_open_first_then_newest_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    assert_eq!(store.last_alert_id().unwrap(), 0);
    let rows = [
        alert(1, "node_unknown", Some(BIG_ID), None),
        alert(2, "pot_gave_up", Some(u64::MAX), Some("cowrie-01")),
        alert(3, "disk_low", None, None),
        alert(4, "node_failed", Some(7), None),
    ];
    for row in &rows {
        writer.open_alert(row.clone()).unwrap();
    }
    writer.clear_alert(3, at(100)).unwrap();
    writer.clear_alert(1, at(101)).unwrap();
    // Clearing twice, an unknown id, or opening an id again changes nothing.
    writer.clear_alert(1, at(500)).unwrap();
    writer.clear_alert(99, at(500)).unwrap();
    writer
        .open_alert(AlertRow {
            message: "again".into(),
            ..alert(2, "pot_gave_up", None, None)
        })
        .unwrap();
    writer.flush().unwrap();

    let open = store.open_alerts().unwrap();
    assert_eq!(open, [rows[1].clone(), rows[3].clone()]);
    let listed = store.alerts(500).unwrap();
    assert_eq!(ids(&listed), [2, 4, 1, 3]);
    assert_eq!(listed[2].cleared_at, Some(at(101)));
    assert_eq!(listed[2].state(), AlertState::Cleared);
    assert_eq!(listed[0].state(), AlertState::Open);
    assert_eq!(listed[0].node_id, Some(u64::MAX));
    assert_eq!(ids(&store.alerts(1).unwrap()), [2, 4, 1]);
    assert_eq!(ids(&store.alerts(0).unwrap()), [2, 4]);
    assert_eq!(store.last_alert_id().unwrap(), 4);

    // Reopened, everything is still there.
    writer.shutdown().unwrap();
    let (_writer, store) = spawn(dir.path());
    assert_eq!(store.alerts(500).unwrap(), listed);
    assert_eq!(store.last_alert_id().unwrap(), 4);
}

#[test]
fn a_follower_reads_every_open_and_clear_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    writer
        .open_alert(alert(1, "node_unknown", Some(5), None))
        .unwrap();
    writer.open_alert(alert(2, "disk_low", None, None)).unwrap();
    writer.flush().unwrap();
    let first = store.alert_changes(0, 100).unwrap();
    let position = first.last().unwrap().seq;
    // Opened and cleared between two reads: the follower still sees both changes.
    writer
        .open_alert(alert(3, "node_failed", Some(5), None))
        .unwrap();
    writer.clear_alert(3, at(200)).unwrap();
    writer.clear_alert(1, at(201)).unwrap();
    writer.flush().unwrap();
    let next = store.alert_changes(position, 100).unwrap();

    let seen: Vec<(u64, AlertState)> = first
        .iter()
        .chain(&next)
        .map(|c| (c.alert.alert_id, c.state))
        .collect();
    assert_eq!(
        seen,
        [
            (1, AlertState::Open),
            (2, AlertState::Open),
            (3, AlertState::Open),
            (3, AlertState::Cleared),
            (1, AlertState::Cleared),
        ]
    );
    let seqs: Vec<u64> = first.iter().chain(&next).map(|c| c.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // Each change shows the alert as that change left it.
    assert_eq!(next[0].alert.cleared_at, None);
    assert_eq!(next[0].at, next[0].alert.opened_at);
    assert_eq!(next[1].alert.cleared_at, Some(at(200)));
    assert_eq!(next[1].at, at(200));
    assert_eq!(first[0].alert, alert(1, "node_unknown", Some(5), None));
    // Paging by limit, and nothing after the last.
    let one = store.alert_changes(0, 1).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].seq, first[0].seq);
    let last = next.last().unwrap().seq;
    assert!(store.alert_changes(last, 100).unwrap().is_empty());
}

#[test]
fn cleared_alerts_are_bounded_and_ids_never_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let n = CLEARED_ALERTS_KEPT as u64 + 400;
    for id in 1..=n {
        writer
            .open_alert(alert(id, "pot_silent", Some(id % 7), Some("p")))
            .unwrap();
    }
    // Alert 1 stays open. The newest alert is cleared first, so pruning removes it with the
    // oldest cleared: the largest id is then gone from the table.
    writer.clear_alert(n, at(1)).unwrap();
    for id in 2..n {
        writer.clear_alert(id, at(2)).unwrap();
    }
    writer.flush().unwrap();
    let listed = store.alerts(usize::MAX).unwrap();
    let cleared = listed.len() - 1;
    assert_eq!(listed[0].alert_id, 1, "the open alert is kept");
    assert!(listed[0].cleared_at.is_none());
    assert!(
        (CLEARED_ALERTS_KEPT..CLEARED_ALERTS_KEPT + 256).contains(&cleared),
        "{cleared} cleared alerts kept"
    );
    assert!(!ids(&listed).contains(&n), "the first cleared was pruned");
    assert_eq!(listed[1].alert_id, n - 1, "the most recently cleared first");
    // A follower finds no change of a pruned alert.
    let changes = store.alert_changes(0, usize::MAX).unwrap();
    assert!(changes.iter().all(|c| c.alert.alert_id != n));
    assert_eq!(changes.len(), cleared * 2 + 1);

    assert_eq!(store.last_alert_id().unwrap(), n);
    writer.shutdown().unwrap();
    let (_writer, store) = spawn(dir.path());
    assert_eq!(store.last_alert_id().unwrap(), n);
    assert_eq!(ids(&store.open_alerts().unwrap()), [1]);
}
