//! Online backup while the writer appends; the copy opens as a store with identical contents.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use honeybee_protocol::{NodeStatus, NodeType};
use honeybee_store::{DB_FILE, EventQuery, NodeRow, StatsQuery, Store};

use crate::common::{all_pages, at, event, spawn};

#[test]
fn a_backup_taken_during_ingest_restores_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    writer
        .upsert_node(NodeRow {
            node_id: 9,
            node_name: "bee".into(),
            node_type: NodeType::Full,
            address: "a".into(),
            port: 1,
            status: NodeStatus::Running,
            protocol_version: 2,
            remote_addr: None,
            last_seen: at(0),
            registered_at: at(0),
            awaited: false,
        })
        .unwrap();
    writer
        .append((0..20_000).map(|i| event(9, at(i))).collect())
        .unwrap();
    writer.flush_stats().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (handle, stop) = (writer.handle(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut i = 20_000;
            while !stop.load(Ordering::Relaxed) {
                handle
                    .append((i..i + 500).map(|j| event(9, at(j))).collect())
                    .unwrap();
                i += 500;
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let copy = dir.path().join("backup").join("copy.db");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    store.backup(&copy).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
    writer.flush_stats().unwrap();

    // Restore: the copy as the database of a fresh store directory.
    let restored_dir = dir.path().join("restored");
    std::fs::create_dir_all(&restored_dir).unwrap();
    std::fs::copy(&copy, restored_dir.join(DB_FILE)).unwrap();
    let restored = Store::open(&restored_dir).unwrap();
    let copied = all_pages(&restored, &EventQuery::default(), 10_000);
    let original = all_pages(&store, &EventQuery::default(), 10_000);
    assert!(
        copied.len() >= 20_000 && copied.len() < original.len(),
        "{} of {}",
        copied.len(),
        original.len()
    );
    assert!(copied[..] == original[..copied.len()]);
    assert_eq!(restored.load_fleet().unwrap(), store.load_fleet().unwrap());
    // The copy was taken while the writer still held counts in memory (as a crash would
    // leave it): a writer opening it counts the events past the copy's statistics again, so
    // they count exactly its events, and the node's last event is its newest copied one.
    drop(restored);
    let (restored_writer, restored) = spawn(&restored_dir);
    restored_writer.flush_stats().unwrap();
    assert_eq!(
        restored.stats(&StatsQuery::default()).unwrap().total_events,
        copied.len() as u64
    );
    assert_eq!(
        restored.last_events(&[9, 10]).unwrap(),
        [(9, copied.last().unwrap().received_at)].into()
    );
    restored_writer.shutdown().unwrap();

    // A backup of a quiet store is identical, and overwrites an older file.
    writer.shutdown().unwrap();
    store.backup(&copy).unwrap();
    let again = dir.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    std::fs::copy(&copy, again.join(DB_FILE)).unwrap();
    let restored = Store::open(&again).unwrap();
    assert!(all_pages(&restored, &EventQuery::default(), 10_000) == original);
    assert!(!copy.with_extension("db.partial").exists());

    // A restored store can be written to, and continues the ids.
    let (writer, restored) = spawn(&again);
    writer.append(vec![event(9, at(1_000_000))]).unwrap();
    writer.flush_stats().unwrap();
    assert_eq!(
        restored.last_event_id().unwrap(),
        Some(original.len() as u64 + 1)
    );
}
