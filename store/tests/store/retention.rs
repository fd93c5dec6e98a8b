//! Retention by count and by age, in the background.

use std::time::{Duration, SystemTime};

use honeybee_store::{EventQuery, StatsQuery, StoreWriter, WriterOptions};

use crate::common::{all_pages, event, fast_options, spawn, wait_until};

#[test]
fn keeps_the_newest_max_events_and_never_reuses_ids() {
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions {
        max_events: 1000,
        ..fast_options()
    };
    let (writer, store) = StoreWriter::spawn(dir.path(), options.clone()).unwrap();
    let now = SystemTime::now();
    for chunk in 0..12u64 {
        writer
            .append(
                (0..1000)
                    .map(|i| event(i % 7, now + Duration::from_millis(chunk * 1000 + i)))
                    .collect(),
            )
            .unwrap();
    }
    writer.flush_stats().unwrap();
    assert!(wait_until(Duration::from_secs(20), || store
        .event_count()
        .unwrap()
        == 1000));
    let ids: Vec<u64> = all_pages(&store, &EventQuery::default(), 10_000)
        .iter()
        .map(|e| e.id)
        .collect();
    assert!(ids.iter().copied().eq(11_001..=12_000));
    assert!(writer.metrics().events_pruned >= 11_000);
    // Statistics are not pruned by count.
    assert_eq!(
        store.stats(&StatsQuery::default()).unwrap().total_events,
        12_000
    );
    writer.shutdown().unwrap();

    let (writer, store) = StoreWriter::spawn(dir.path(), options).unwrap();
    writer
        .append(vec![event(1, now + Duration::from_secs(60))])
        .unwrap();
    writer.flush_stats().unwrap();
    assert_eq!(store.last_event_id().unwrap(), Some(12_001));
}

#[test]
fn prunes_events_and_statistics_older_than_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let old = now - Duration::from_secs(3 * 86_400);
    let (writer, store) = spawn(dir.path());
    // Distinct addresses: more statistics rows than one pruning chunk.
    let old_events = (0..12_000u64).map(|i| {
        let mut e = event(1, old + Duration::from_millis(i));
        e.src_ip = Some(format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255));
        e
    });
    writer.append(old_events.collect()).unwrap();
    writer
        .append(
            (0..50)
                .map(|i| event(2, now + Duration::from_millis(i)))
                .collect(),
        )
        .unwrap();
    writer.shutdown().unwrap();
    assert_eq!(
        store.stats(&StatsQuery::default()).unwrap().total_events,
        12_050
    );

    let (writer, store) = StoreWriter::spawn(
        dir.path(),
        WriterOptions {
            retention_days: 1,
            ..fast_options()
        },
    )
    .unwrap();
    assert!(wait_until(Duration::from_secs(20), || store
        .event_count()
        .unwrap()
        == 50));
    let left = all_pages(&store, &EventQuery::default(), 100);
    assert!(left.iter().all(|e| e.node_id == 2));
    assert!(wait_until(Duration::from_secs(20), || store
        .stats(&StatsQuery::default())
        .unwrap()
        .total_events
        == 50));
    let stats = store.stats(&StatsQuery::default()).unwrap();
    assert_eq!(stats.by_node.keys().copied().collect::<Vec<_>>(), [2]);
    assert_eq!(stats.top_src_ips, [("203.0.113.7".to_owned(), 50)]);
    let node_1 = StatsQuery {
        node_ids: vec![1],
        ..StatsQuery::default()
    };
    assert_eq!(
        store.stats(&node_1).unwrap(),
        honeybee_store::Stats::default()
    );
    drop(writer);
}
