//! The real binary under stop, crash and restore: a clean SIGTERM loses no accepted event, a
//! `kill -9` loses nothing older than one commit interval, a bad data directory stops start
//! with a clear message, and a backup taken while running restores to the same fleet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::served::{BIN, Served};
use common::{FakeNode, stored_sequence};
use honeybee_store::{EventQuery, StatsQuery, Store, StoreWriter, WriterOptions};
use serde_json::json;

fn event_frame(node_id: u64, n: u64) -> String {
    let event = json!({"version": 2, "message": {"PotEvent": {"node_id": node_id,
        "pot_id": "cowrie-01", "pot_type": "cowrie", "event_type": "cowrie.command.input",
        "data": {"n": n, "input": "cat /etc/passwd", "src_ip": "203.0.113.7"}}}});
    format!("{event}\n")
}

#[test]
fn a_clean_stop_stores_and_exports_every_accepted_event() {
    let mut served = Served::start(
        "[export]\njsonl = \"events.jsonl\"\n[limits]\nnode_events_per_sec = 0\n",
        "cd \"$(dirname \"$1\")\" &&",
    );
    let mut node = FakeNode::connect(served.addr, 7001);
    node.register("busy");
    let burst: String = (0..20_000).map(|n| event_frame(7001, n)).collect();
    node.send_raw(burst.as_bytes());
    // NodeDrop is processed after every event before it: once the Core closes, all are accepted.
    node.send(json!({"NodeDrop": {}}));
    node.expect_closed();
    served.signal("TERM");
    served.wait_for("HoneyBee Core stopped.");
    let (status, dir) = served.wait_exit();
    assert!(status.success(), "{status:?}");
    let store = Store::open(&dir.path().join("data")).unwrap();
    assert_eq!(
        stored_sequence(&store, 7001),
        (0..20_000).collect::<Vec<_>>()
    );
    let exported = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let ids: Vec<u64> = exported
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        (1..=20_000).collect::<Vec<_>>(),
        "each event exported once, in order"
    );
}

#[test]
fn kill_9_loses_nothing_older_than_one_commit_interval() {
    let served = Served::start(
        "[storage]\ncommit_interval_ms = 100\n[limits]\nnode_events_per_sec = 0\n",
        "",
    );
    let mut node = FakeNode::connect(served.addr, 7002);
    node.register("steady");
    // A steady stream the store keeps up with (~20k events/s), remembering when each was sent.
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (sent, stop) = (Arc::clone(&sent), Arc::clone(&stop));
        let mut stream = node.into_stream();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let batch: String = (n..n + 200).map(|i| event_frame(7002, i)).collect();
                if stream.write_all(batch.as_bytes()).is_err() {
                    break;
                }
                n += 200;
                sent.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    // Everything sent up to here was accepted at least this long before the kill.
    let margin = Duration::from_millis(600);
    let sent_before = sent.load(Ordering::Relaxed);
    let mark = Instant::now();
    std::thread::sleep(margin);
    served.signal("KILL");
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let (_, dir) = served.wait_exit();
    assert!(mark.elapsed() >= margin);
    let store = Store::open(&dir.path().join("data")).unwrap();
    let stored = stored_sequence(&store, 7002);
    assert_eq!(
        stored,
        (0..stored.len() as u64).collect::<Vec<_>>(),
        "what was stored is a prefix, in order, without gaps"
    );
    assert!(
        stored.len() as u64 >= sent_before,
        "{} stored, but {sent_before} were sent more than {margin:?} before the kill",
        stored.len()
    );
    // The statistics and the node's last event the writer held in memory when it was killed
    // are counted again from the events when the store is next opened for writing.
    drop(store);
    let (writer, store) =
        StoreWriter::spawn(&dir.path().join("data"), WriterOptions::default()).unwrap();
    writer.flush_stats().unwrap();
    let stats = store.stats(&StatsQuery::default()).unwrap();
    assert_eq!(stats.total_events, stored.len() as u64);
    assert_eq!(stats.by_node, [(7002, stored.len() as u64)].into());
    let last = store.last_events(&[7002]).unwrap()[&7002];
    let since = |at| {
        let query = EventQuery {
            since: Some(at),
            ..EventQuery::default()
        };
        store.events(&query).unwrap().events.len()
    };
    assert!(since(last) > 0 && since(last + Duration::from_micros(1)) == 0);
}

#[test]
fn a_bad_data_directory_fails_start_with_a_clear_message() {
    // A store file that is not a database.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("honeybee.db"),
        b"this is not a database, it is a poem\n".repeat(200),
    )
    .unwrap();
    let output = run_serve(dir.path(), &data);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("honeybee.db"), "{stderr}");
    assert!(
        !stderr.contains("Listening for nodes"),
        "nothing bound: {stderr}"
    );

    // A data directory that is a file.
    let not_a_dir = dir.path().join("plain-file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let output = run_serve(dir.path(), &not_a_dir);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("plain-file"), "{stderr}");
}

fn run_serve(dir: &std::path::Path, data: &std::path::Path) -> std::process::Output {
    let config = dir.join("core.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nnode_port = 0\n[api]\nport = 0\n[storage]\ndir = {:?}\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn a_backup_taken_while_running_restores_the_same_fleet() {
    let mut served = Served::start("", "");
    let mut node = FakeNode::connect(served.addr, 7003);
    node.register("backed-up");
    node.send(node.status("Running"));
    node.send(node.pot_status("cowrie-01", "Installing", None));
    node.send(node.pot_status("cowrie-01", "Running", None));
    let burst: String = (0..500).map(|n| event_frame(7003, n)).collect();
    node.send_raw(burst.as_bytes());
    node.send(json!({"NodeDrop": {}}));
    node.expect_closed();
    served.wait_for("Node 7003 disconnected");
    // Let the last commit land (100 ms commit interval).
    std::thread::sleep(Duration::from_millis(300));
    let copy_dir = served.dir.path().join("restored");
    std::fs::create_dir_all(&copy_dir).unwrap();
    let copy = copy_dir.join("honeybee.db");
    let output = Command::new(BIN)
        .args(["backup"])
        .arg(&copy)
        .args(["--config"])
        .arg(served.dir.path().join("core.toml"))
        .env("HONEYBEE__STORAGE__DIR", served.data_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    served.signal("TERM");
    let (_, dir) = served.wait_exit();

    let original = Store::open(&dir.path().join("data")).unwrap();
    let restored = Store::open(&copy_dir).unwrap();
    assert_eq!(
        restored.load_fleet().unwrap(),
        original.load_fleet().unwrap()
    );
    assert_eq!(
        stored_sequence(&restored, 7003),
        (0..500).collect::<Vec<_>>()
    );
    assert_eq!(
        restored.event_count().unwrap(),
        original.event_count().unwrap()
    );
}

#[test]
fn commands_a_crash_left_unsettled_are_failed_at_the_next_start() {
    // A list window no answer ends soon: the registration's GetInstalledPots stays `sent`.
    let config = "[auth]\ntotp = false\n[commands]\nlist_window_ms = 600000\n";
    let served = Served::start(config, "");
    let mut node = FakeNode::connect(served.addr, 7100);
    node.register("edge");
    node.expect_message("NodeCommand");
    let store = Store::open(&served.data_dir()).unwrap();
    common::wait_until(
        Duration::from_secs(10),
        "the command stored as sent",
        || {
            store
                .commands_of(&[7100], 10)
                .unwrap()
                .first()
                .is_some_and(|c| c.status == "sent")
        },
    );
    drop(store);
    served.signal("KILL");
    let (_, dir) = served.wait_exit();

    // Settled before the listener opens.
    let served = Served::start_in(dir, config, "");
    let store = Store::open(&served.data_dir()).unwrap();
    common::wait_until(Duration::from_secs(10), "the command failed", || {
        let row = store.commands_of(&[7100], 10).unwrap().remove(0);
        row.status == "failed"
            && row
                .result
                .is_some_and(|r| r.contains("the Core stopped before this command finished"))
    });
    served.signal("TERM");
    let _ = served.wait_exit();
}
