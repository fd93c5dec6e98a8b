//! The writer: nothing lost at flush or shutdown, commit interval, subscribers.

use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use honeybee_store::{EventQuery, StoreWriter, WriterOptions};

use crate::common::{all_pages, at, event, spawn, stored, wait_until};

#[test]
fn shutdown_stores_everything_appended_from_several_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = spawn(dir.path());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let handle = writer.handle();
            std::thread::spawn(move || {
                for chunk in 0..50u64 {
                    let events = (0..250).map(|i| event(t, at(chunk * 1000 + i))).collect();
                    handle.append(events).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    writer.shutdown().unwrap();

    let (_writer, store) = spawn(dir.path());
    assert_eq!(store.event_count().unwrap(), 50_000);
    let all = all_pages(&store, &EventQuery::default(), 10_000);
    assert!(all.iter().map(|e| e.id).eq(1..=50_000));
    for t in 0..4u64 {
        let of_t: Vec<_> = all.iter().filter(|e| e.node_id == t).collect();
        assert_eq!(of_t.len(), 12_500);
        assert!(
            of_t.windows(2)
                .all(|w| w[0].received_at <= w[1].received_at)
        );
    }
}

#[test]
fn dropping_the_writer_also_stores_everything() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (writer, _) = StoreWriter::spawn(
            dir.path(),
            WriterOptions {
                commit_interval: Duration::from_secs(3600),
                ..WriterOptions::default()
            },
        )
        .unwrap();
        writer
            .append((0..1234).map(|i| event(1, at(i))).collect())
            .unwrap();
    }
    let (_writer, store) = spawn(dir.path());
    assert_eq!(store.event_count().unwrap(), 1234);
}

#[test]
fn flush_commits_and_backlog_drains() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = StoreWriter::spawn(
        dir.path(),
        WriterOptions {
            commit_interval: Duration::from_secs(3600),
            max_batch: 1000,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    writer
        .append((0..2500).map(|i| event(1, at(i))).collect())
        .unwrap();
    writer.flush().unwrap();
    assert_eq!(writer.backlog(), 0);
    assert_eq!(store.event_count().unwrap(), 2500);
    let m = writer.metrics();
    assert_eq!((m.events_committed, m.commits, m.backlog), (2500, 3, 0));
    assert_eq!(m.commit_seconds_buckets.last().copied(), Some(3));
    assert_eq!(writer.last_error(), None);
}

#[test]
fn events_are_committed_within_the_commit_interval_without_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = StoreWriter::spawn(
        dir.path(),
        WriterOptions {
            commit_interval: Duration::from_millis(50),
            ..WriterOptions::default()
        },
    )
    .unwrap();
    let started = Instant::now();
    writer.append(vec![event(1, at(0))]).unwrap();
    assert!(wait_until(Duration::from_secs(5), || store
        .event_count()
        .unwrap()
        == 1));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(wait_until(Duration::from_secs(1), || writer.backlog() == 0));
}

#[test]
fn a_subscriber_sees_every_commit_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = StoreWriter::spawn(
        dir.path(),
        WriterOptions {
            max_batch: 700,
            ..crate::common::fast_options()
        },
    )
    .unwrap();
    let rx = writer.subscribe();
    let input: Vec<_> = (0..5000).map(|i| event(i % 3, at(i))).collect();
    for chunk in input.chunks(333) {
        writer.append(chunk.to_vec()).unwrap();
    }
    writer.flush().unwrap();
    let mut seen = Vec::new();
    while seen.len() < input.len() {
        let commit = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(!commit.events.is_empty() && commit.events.len() <= 700);
        seen.extend(commit.events.iter().cloned());
    }
    let expected: Vec<_> = input
        .iter()
        .enumerate()
        .map(|(i, e)| stored(i as u64 + 1, e))
        .collect();
    assert!(seen == expected);
    assert!(all_pages(&store, &EventQuery::default(), 10_000) == expected);
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
}

#[test]
fn a_lagging_subscriber_is_dropped_without_slowing_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let stuck = writer.subscribe_with_capacity(2);
    let live = writer.subscribe();
    let started = Instant::now();
    for i in 0..50u64 {
        writer.append(vec![event(1, at(i))]).unwrap();
        writer.flush().unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(store.event_count().unwrap(), 50);
    // The stuck one got what fitted, then was dropped.
    assert_eq!(stuck.try_iter().count(), 2);
    assert_eq!(
        stuck.recv_timeout(Duration::from_millis(100)),
        Err(RecvTimeoutError::Disconnected)
    );
    // The live one got everything.
    let ids: Vec<u64> = live
        .try_iter()
        .flat_map(|c| c.events.iter().map(|e| e.id).collect::<Vec<_>>())
        .collect();
    assert!(ids.iter().copied().eq(1..=50));
}

#[test]
fn appending_after_shutdown_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = spawn(dir.path());
    let handle = writer.handle();
    writer.shutdown().unwrap();
    assert!(matches!(
        handle.append(vec![event(1, at(0))]),
        Err(honeybee_store::StoreError::WriterStopped)
    ));
    assert!(handle.flush().is_err());
    assert_eq!(handle.backlog(), 0);
}
