//! Query plans (which index serves each path) and the bounded scan window.

use std::time::{Duration, UNIX_EPOCH};

use rusqlite::Connection;

use super::*;
use crate::query::MAX_LIMIT;
use crate::{NewEvent, StoreWriter, TimestampSource, WriterOptions, schema};

fn event(i: u64) -> NewEvent {
    NewEvent {
        node_id: i % 3,
        node_name: "n".into(),
        pot_id: format!("p{}", i % 2),
        pot_type: i.is_multiple_of(10).then(|| "rare".to_owned()),
        event_type: format!("t{}", i % 4),
        timestamp: "2024-01-15T10:30:00Z".into(),
        timestamp_source: TimestampSource::Node,
        received_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i),
        src_ip: Some(format!("10.0.0.{}", i % 5)),
        username: None,
        password: None,
        command: None,
        download_url: None,
        sha256: None,
        data: "{}".into(),
    }
}

fn filled(n: u64) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = StoreWriter::spawn(dir.path(), WriterOptions::default()).unwrap();
    writer.append((0..n).map(event).collect()).unwrap();
    writer.shutdown().unwrap();
    let conn = schema::open_reader(&schema::db_path(dir.path())).unwrap();
    (dir, conn)
}

fn plan(conn: &Connection, sql: &str, args: Vec<Value>) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt
        .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join(" | ")
}

#[test]
fn each_path_is_an_index_range_in_id_order() {
    let (_dir, conn) = filled(10);
    let q = |f: fn(&mut EventQuery)| {
        let mut q = EventQuery {
            pot_type: Some("x".into()),
            ..EventQuery::default()
        };
        f(&mut q);
        q
    };
    let table = [
        (
            q(|q| q.src_ip = Some("a".into())),
            Some(1),
            "USING INDEX events_src_ip (<expr>=? AND src_ip=? AND id>? AND id<?)",
        ),
        (
            q(|q| q.node_ids = vec![1, 2]),
            Some(1),
            "USING INDEX events_node (<expr>=? AND node_id=? AND id>? AND id<?)",
        ),
        (
            q(|q| q.event_type = Some("t".into())),
            None,
            "USING INDEX events_event_type (event_type=? AND id>? AND id<?)",
        ),
        (
            q(|_| {}),
            None,
            "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
        ),
    ];
    for (query, node, want) in table {
        let path = Path::choose(&query);
        let bucket = path.bucketed().then_some(0);
        let (sql, args) = select(&query, path, node, bucket, 1, 5, 10);
        let got = plan(&conn, &sql, args);
        assert!(got.contains(want), "{path:?}: {got}");
        assert!(!got.contains("TEMP B-TREE"), "{path:?}: {got}");
    }
}

#[test]
fn residual_filters_scan_a_bounded_window_per_page() {
    let (_dir, conn) = filled(300);
    let query = EventQuery {
        pot_type: Some("rare".into()),
        limit: Some(4),
        ..EventQuery::default()
    };
    let mut after = None;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let q = EventQuery {
            after,
            ..query.clone()
        };
        let page = query_windowed(&conn, &q, 25).unwrap();
        assert!(page.events.len() <= 4);
        ids.extend(page.events.iter().map(|e| e.id));
        pages += 1;
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    // Ids 1, 11, 21, ... (event i has id i + 1): 30 of them, over ≥ 12 windows of 25 ids.
    assert!(ids.iter().copied().eq((0..30).map(|k| 10 * k + 1)));
    assert!(pages >= 12, "{pages}");
}

#[test]
fn bucketed_paths_read_across_buckets_in_id_order() {
    // 40,000 events: ids 1..=40,000 over buckets 0, 1 and 2 (16,384 ids each).
    let (_dir, conn) = filled(40_000);
    let all = |q: &EventQuery| {
        let mut q = q.clone();
        let mut ids = Vec::new();
        loop {
            let page = query(&conn, &q).unwrap();
            ids.extend(page.events.iter().map(|e| e.id));
            match page.next {
                Some(next) => q.after = Some(next),
                None => return ids,
            }
        }
    };
    let limit = Some(7_000);
    // Event i (id i + 1) is node i % 3, address 10.0.0.(i % 5).
    let node_1 = EventQuery {
        node_ids: vec![1],
        limit,
        ..EventQuery::default()
    };
    assert!(
        all(&node_1)
            .into_iter()
            .eq((1..=40_000).filter(|id| (id - 1) % 3 == 1))
    );
    let address_4 = EventQuery {
        src_ip: Some("10.0.0.4".into()),
        limit,
        ..EventQuery::default()
    };
    assert!(
        all(&address_4)
            .into_iter()
            .eq((1..=40_000).filter(|id| (id - 1) % 5 == 4))
    );
    // Two nodes, a page that starts inside bucket 1 and ends inside bucket 2.
    let two = EventQuery {
        node_ids: vec![0, 2],
        after: Some(Cursor::after_id(16_000)),
        limit: Some(MAX_LIMIT),
        ..EventQuery::default()
    };
    let page = query(&conn, &two).unwrap();
    let got: Vec<u64> = page.events.iter().map(|e| e.id).collect();
    let want: Vec<u64> = (16_001..=40_000)
        .filter(|id| (id - 1) % 3 != 1)
        .take(MAX_LIMIT)
        .collect();
    assert!(
        got == want,
        "{} of {} ids, first {:?}",
        got.len(),
        want.len(),
        got.first()
    );
    assert_eq!(page.next, Some(Cursor::after_id(want[MAX_LIMIT - 1])));
}

#[test]
fn buckets_cover_a_range_exactly() {
    let b = 1i64 << BUCKET_SHIFT;
    assert_eq!(buckets(5, 9).collect::<Vec<_>>(), vec![(0, 5, 9)]);
    assert_eq!(
        buckets(b - 2, 2 * b + 1).collect::<Vec<_>>(),
        vec![(0, b - 2, b - 1), (1, b, 2 * b - 1), (2, 2 * b, 2 * b + 1)]
    );
    assert_eq!(buckets(9, 5).count(), 0);
}
