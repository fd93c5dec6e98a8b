//! Statistics against a brute-force count of the same events.

use std::collections::{BTreeMap, HashMap};

use honeybee_store::{NewEvent, Stats, StatsQuery};

use crate::common::{BIG_ID, at, event, node, spawn, t0};

/// ~3,000 events over 5 hours, 4 nodes, with repeated and missing values.
fn sample() -> Vec<NewEvent> {
    let nodes = [BIG_ID, 3, u64::MAX, 17];
    (0..3000u64)
        .map(|i| {
            let mut e = event(nodes[(i % 4) as usize], at(i * 6));
            e.event_type = ["a", "b", "c", "d"][(i % 9 % 4) as usize].into();
            e.pot_type = (i % 5 != 0).then(|| ["cowrie", "honnypotter"][(i % 2) as usize].into());
            e.src_ip = (i % 7 != 0).then(|| format!("10.0.{}.{}", i % 3, (i * i) % 23));
            e.username = (i % 3 == 0).then(|| format!("user{}", (i / 3) % 17));
            e.password = (i % 3 == 0).then(|| format!("pw{}", i % 29));
            e.command = (i % 4 == 1).then(|| format!("cmd {}", (i * 7) % 13));
            e.download_url = (i % 11 == 2).then(|| format!("http://x/{}", (i * 5) % 19));
            e.sha256 = (i % 11 == 2 || i % 13 == 0).then(|| format!("{:064x}", i % 23));
            e
        })
        .collect()
}

fn hour(e: &NewEvent) -> i64 {
    let secs = e
        .received_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    secs - secs.rem_euclid(3600)
}

fn top(counts: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(honeybee_store::TOP_N);
    v
}

fn brute_force(events: &[NewEvent]) -> Stats {
    let mut s = Stats::default();
    let mut per_hour: BTreeMap<i64, u64> = BTreeMap::new();
    let (mut ips, mut users, mut pws, mut cmds, mut urls, mut hashes) = (
        HashMap::new(),
        HashMap::new(),
        HashMap::new(),
        HashMap::new(),
        HashMap::new(),
        HashMap::new(),
    );
    for e in events {
        s.total_events += 1;
        *per_hour.entry(hour(e)).or_default() += 1;
        *s.by_event_type.entry(e.event_type.clone()).or_default() += 1;
        if let Some(p) = &e.pot_type {
            *s.by_pot_type.entry(p.clone()).or_default() += 1;
        }
        *s.by_node.entry(e.node_id).or_default() += 1;
        for (map, v) in [
            (&mut ips, &e.src_ip),
            (&mut users, &e.username),
            (&mut pws, &e.password),
            (&mut cmds, &e.command),
            (&mut urls, &e.download_url),
            (&mut hashes, &e.sha256),
        ] {
            if let Some(v) = v {
                *map.entry(v.clone()).or_default() += 1u64;
            }
        }
    }
    s.per_hour = per_hour.into_iter().collect();
    s.top_src_ips = top(ips);
    s.top_usernames = top(users);
    s.top_passwords = top(pws);
    s.top_commands = top(cmds);
    s.top_downloads = top(urls);
    s.top_sha256 = top(hashes);
    s
}

#[test]
fn stats_equal_a_brute_force_count() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let events = sample();
    // Twelve commits whose counts the writer merges in memory, written once.
    for chunk in events.chunks(250) {
        writer.append(chunk.to_vec()).unwrap();
        writer.flush().unwrap();
    }
    writer.flush_stats().unwrap();
    let hours = |from: u64, to: u64| {
        let (lo, hi) = (
            t0() + std::time::Duration::from_secs(from * 3600),
            t0() + std::time::Duration::from_secs(to * 3600),
        );
        events
            .iter()
            .filter(|e| e.received_at >= lo && e.received_at < hi)
            .cloned()
            .collect::<Vec<_>>()
    };
    let cases: Vec<(StatsQuery, Vec<NewEvent>)> = vec![
        (StatsQuery::default(), events.clone()),
        (
            StatsQuery {
                node_ids: vec![BIG_ID],
                ..StatsQuery::default()
            },
            events
                .iter()
                .filter(|e| e.node_id == BIG_ID)
                .cloned()
                .collect(),
        ),
        (
            StatsQuery {
                node_ids: vec![u64::MAX, 3, 3, 999],
                ..StatsQuery::default()
            },
            events
                .iter()
                .filter(|e| [u64::MAX, 3].contains(&e.node_id))
                .cloned()
                .collect(),
        ),
        // Hour granularity: 01:30 to 02:10 covers hours 1 and 2 whole.
        (
            StatsQuery {
                since: Some(at(5400)),
                until: Some(at(7800)),
                node_ids: vec![],
            },
            hours(1, 3),
        ),
        (
            StatsQuery {
                since: Some(at(3600)),
                until: None,
                node_ids: vec![17],
            },
            hours(1, 100)
                .into_iter()
                .filter(|e| e.node_id == 17)
                .collect(),
        ),
        (
            StatsQuery {
                since: Some(at(86_400)),
                ..StatsQuery::default()
            },
            vec![],
        ),
    ];
    for (query, expected) in cases {
        let got = store.stats(&query).unwrap();
        assert_eq!(got, brute_force(&expected), "{query:?}");
    }
    let all = brute_force(&events);
    assert!(all.per_hour.len() >= 5);
    assert!(all.top_downloads.len() >= 5 && all.top_sha256.len() >= 5);
}

#[test]
fn a_nodes_last_event_is_on_its_record_whichever_of_its_ids_sent_it() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    for id in [3, 17] {
        writer.upsert_node(node(id, "bee")).unwrap();
    }
    writer.link_node_id(3, 30).unwrap();
    writer
        .append(vec![event(3, at(10)), event(17, at(20))])
        .unwrap();
    writer.flush().unwrap();
    writer.append(vec![event(30, at(50))]).unwrap();
    writer.flush_stats().unwrap();
    let expected = [(3, at(50)), (17, at(20))].into();
    assert_eq!(store.last_events(&[3, 17, 99]).unwrap(), expected);
    // Kept across a restart.
    writer.shutdown().unwrap();
    let (_writer, store) = spawn(dir.path());
    assert_eq!(store.last_events(&[3, 17, 99]).unwrap(), expected);
}
