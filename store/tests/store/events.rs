//! Event round trips, ids, cursor pagination with every filter, time ranges.

use std::time::Duration;

use honeybee_store::{Cursor, EventQuery, MAX_LIMIT, NewEvent, StoredEvent, TimestampSource};

use crate::common::{BIG_ID, all_pages, at, event, spawn, stored};

#[test]
fn every_field_round_trips_and_big_ids_survive() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let full = NewEvent {
        download_url: Some("http://198.51.100.4/bins/x86 \u{1b}".into()),
        sha256: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()),
        ..event(BIG_ID, at(0) + Duration::from_micros(123_456))
    };
    let sparse = NewEvent {
        node_id: u64::MAX,
        node_name: "ünïcode \"name\"".into(),
        pot_id: "p".into(),
        pot_type: None,
        event_type: "unknown".into(),
        timestamp: "2024-01-15T10:30:01Z".into(),
        timestamp_source: TimestampSource::Core,
        received_at: at(1),
        src_ip: None,
        username: None,
        password: None,
        command: Some("uname -a; echo '\u{1b}[31m'".into()),
        download_url: None,
        sha256: None,
        data: r#"{"message":"x","nested":{"a":[1,2,3]}}"#.into(),
    };
    let zero = NewEvent {
        node_id: 0,
        ..event(0, at(2))
    };
    writer
        .append(vec![full.clone(), sparse.clone(), zero.clone()])
        .unwrap();
    writer.flush().unwrap();
    let page = store.events(&EventQuery::default()).unwrap();
    assert_eq!(
        page.events,
        [stored(1, &full), stored(2, &sparse), stored(3, &zero)]
    );
    assert_eq!(page.next, None);
    for id in [BIG_ID, u64::MAX, 0] {
        let q = EventQuery {
            node_ids: vec![id],
            ..EventQuery::default()
        };
        let got = store.events(&q).unwrap().events;
        assert_eq!(got.len(), 1, "{id}");
        assert_eq!(got[0].node_id, id);
    }
}

/// 2,500 events with varied fields: node (5 ids, two above 2^63), pot, type, address.
fn varied() -> Vec<NewEvent> {
    let nodes = [BIG_ID, 7, u64::MAX - 3, 42, 1 << 63];
    let types = [
        "cowrie.login.failed",
        "cowrie.command.input",
        "cowrie.session.connect",
    ];
    (0..2500u64)
        .map(|i| {
            let mut e = event(nodes[(i % 5) as usize], at(i));
            e.pot_id = format!("pot-{}", i % 3);
            e.pot_type = match i % 4 {
                0 => None,
                1 => Some("honnypotter".into()),
                _ => Some("cowrie".into()),
            };
            e.event_type = types[(i % 7 % 3) as usize].into();
            e.src_ip = (i % 11 != 0).then(|| format!("198.51.100.{}", i % 13));
            e.data = format!(r#"{{"i":{i}}}"#);
            e
        })
        .collect()
}

fn matches(q: &EventQuery, e: &StoredEvent) -> bool {
    (q.node_ids.is_empty() || q.node_ids.contains(&e.node_id))
        && q.pot_id.as_ref().is_none_or(|p| *p == e.pot_id)
        && q.pot_type
            .as_ref()
            .is_none_or(|p| Some(p) == e.pot_type.as_ref())
        && q.event_type.as_ref().is_none_or(|t| *t == e.event_type)
        && q.src_ip
            .as_ref()
            .is_none_or(|ip| Some(ip) == e.src_ip.as_ref())
        && q.since.is_none_or(|t| e.received_at >= t)
        && q.until.is_none_or(|t| e.received_at <= t)
}

#[test]
fn pagination_with_every_filter_is_complete_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let input = varied();
    for chunk in input.chunks(300) {
        writer.append(chunk.to_vec()).unwrap();
    }
    writer.flush().unwrap();
    let all: Vec<StoredEvent> = input
        .iter()
        .enumerate()
        .map(|(i, e)| stored(i as u64 + 1, e))
        .collect();

    let q = EventQuery::default;
    let queries = [
        q(),
        EventQuery {
            node_ids: vec![BIG_ID],
            ..q()
        },
        EventQuery {
            node_ids: vec![7, u64::MAX - 3],
            ..q()
        },
        EventQuery {
            node_ids: vec![7, 7, 99],
            ..q()
        },
        EventQuery {
            pot_id: Some("pot-1".into()),
            ..q()
        },
        EventQuery {
            pot_type: Some("honnypotter".into()),
            ..q()
        },
        EventQuery {
            event_type: Some("cowrie.command.input".into()),
            ..q()
        },
        EventQuery {
            src_ip: Some("198.51.100.4".into()),
            ..q()
        },
        EventQuery {
            since: Some(at(1000)),
            ..q()
        },
        EventQuery {
            until: Some(at(1000)),
            ..q()
        },
        EventQuery {
            since: Some(at(500)),
            until: Some(at(600)),
            ..q()
        },
        EventQuery {
            since: Some(at(500) + Duration::from_millis(1)),
            until: Some(at(600) - Duration::from_millis(1)),
            ..q()
        },
        EventQuery {
            node_ids: vec![BIG_ID],
            event_type: Some("cowrie.login.failed".into()),
            ..q()
        },
        EventQuery {
            node_ids: vec![42, 1 << 63],
            pot_id: Some("pot-2".into()),
            pot_type: Some("cowrie".into()),
            ..q()
        },
        EventQuery {
            src_ip: Some("198.51.100.9".into()),
            node_ids: vec![42, 7],
            event_type: Some("cowrie.session.connect".into()),
            ..q()
        },
        EventQuery {
            event_type: Some("cowrie.login.failed".into()),
            pot_type: Some("cowrie".into()),
            since: Some(at(100)),
            until: Some(at(2000)),
            ..q()
        },
        EventQuery {
            src_ip: Some("198.51.100.4".into()),
            since: Some(at(300)),
            until: Some(at(1900)),
            ..q()
        },
        EventQuery {
            src_ip: Some("203.0.113.250".into()),
            ..q()
        },
        EventQuery {
            since: Some(at(5000)),
            ..q()
        },
        EventQuery {
            until: at(0).checked_sub(Duration::from_secs(1)),
            ..q()
        },
    ];
    for query in &queries {
        let expected: Vec<StoredEvent> =
            all.iter().filter(|e| matches(query, e)).cloned().collect();
        for limit in [1, 97, 1000, MAX_LIMIT] {
            if limit == 1 && expected.len() > 600 {
                continue;
            }
            let got = all_pages(&store, query, limit);
            assert_eq!(got.len(), expected.len(), "{query:?} limit {limit}");
            assert!(got == expected, "{query:?} limit {limit}");
        }
    }
}

#[test]
fn pages_have_the_asked_size_and_a_cursor_only_when_more_remain() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    writer
        .append((0..250).map(|i| event(1, at(i))).collect())
        .unwrap();
    writer.flush().unwrap();
    let first = store.events(&EventQuery::default()).unwrap();
    assert_eq!(first.events.len(), 100);
    assert_eq!(first.next, Some(Cursor::after_id(100)));
    let last = store
        .events(&EventQuery {
            after: Some(Cursor::after_id(200)),
            ..EventQuery::default()
        })
        .unwrap();
    assert_eq!(last.events.len(), 50);
    assert_eq!(last.next, None);
    let exact = store
        .events(&EventQuery {
            limit: Some(250),
            ..EventQuery::default()
        })
        .unwrap();
    assert_eq!((exact.events.len(), exact.next), (250, None));
    let huge = store
        .events(&EventQuery {
            limit: Some(usize::MAX),
            after: Some(Cursor::after_id(u64::MAX)),
            ..EventQuery::default()
        })
        .unwrap();
    assert!(huge.events.is_empty());
}

#[test]
fn received_at_never_decreases_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    // A clock step back, then forward again.
    writer
        .append(vec![event(1, at(10)), event(1, at(5)), event(1, at(12))])
        .unwrap();
    writer.flush().unwrap();
    let got: Vec<_> = store
        .events(&EventQuery::default())
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.received_at)
        .collect();
    assert_eq!(got, [at(10), at(10), at(12)]);
}
