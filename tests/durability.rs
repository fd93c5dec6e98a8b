//! The durable store and the event pipeline, in-process: events stored normalised and
//! exported, a restarted Core showing the same fleet, and backpressure that slows a flooding
//! node without stalling a quiet one or dropping anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{FakeNode, start_core, stored_sequence, test_config, wait_until};
use honeybee_actors::registry::{GetNode, ListNodes, PotHistory};
use honeybee_core::runtime::CoreThread;
use honeybee_protocol::{NodeStatus, PotStatus};
use honeybee_store::{EventQuery, TimestampSource};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

fn stored(core: &CoreThread) -> u64 {
    core.store.event_count().unwrap()
}

#[test]
fn events_are_stored_normalised_and_exported() {
    let core = start_core("[export]\njsonl = \"{dir}/events.jsonl\"");
    let mut node = FakeNode::connect(core.node_addr, 11364728073201639405);
    node.register("edge-7");
    node.send(node.pot_status("cowrie-01", "Running", None));
    node.send(
        json!({"PotEvent": {"node_id": 11364728073201639405u64, "pot_id": "cowrie-01",
        "event_type": "cowrie.login.failed", "timestamp": "2024-01-15T12:30:00+02:00",
        "data": {"src_ip": "::ffff:203.0.113.7", "username": "root", "password": "123456"}}}),
    );
    node.send(
        json!({"PotStatusUpdate": {"node_id": 11364728073201639405u64, "pot_id": "cowrie-01",
        "pot_type": "", "status": "", "message": "login attempt [admin/admin] succeeded"}}),
    );
    node.send(
        json!({"PotEvent": {"node_id": 11364728073201639405u64, "pot_id": "wp-01",
        "event": "wp.scan", "message": "GET /wp-login.php", "metadata": {"ip": "198.51.100.9"},
        "timestamp": 1705314600}}),
    );
    node.send(json!({"NodeDrop": {}}));
    node.expect_closed();
    wait_until(WAIT, "3 events stored", || stored(&core) == 3);
    let events = core.store.events(&EventQuery::default()).unwrap().events;
    let e = &events[0];
    assert_eq!(e.node_id, 11364728073201639405);
    assert_eq!(e.node_name, "edge-7");
    assert_eq!(
        e.pot_type.as_deref(),
        Some("cowrie"),
        "filled from the pot's record"
    );
    assert_eq!(e.timestamp, "2024-01-15T10:30:00Z");
    assert_eq!(e.timestamp_source, TimestampSource::Node);
    assert_eq!(e.src_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        (e.username.as_deref(), e.password.as_deref()),
        (Some("root"), Some("123456"))
    );
    let quirk = &events[1];
    assert_eq!(quirk.event_type, "cowrie.login.success");
    assert_eq!(quirk.username.as_deref(), Some("admin"));
    assert_eq!(quirk.timestamp_source, TimestampSource::Core);
    assert_eq!(quirk.pot_type.as_deref(), Some("cowrie"));
    let legacy = &events[2];
    assert_eq!(legacy.event_type, "wp.scan");
    assert_eq!(legacy.pot_type, None, "an unknown pot's type stays unknown");
    assert_eq!(legacy.src_ip.as_deref(), Some("198.51.100.9"));
    assert!(
        core.ask(GetNode {
            node_id: 11364728073201639405
        })
        .unwrap()
        .unwrap()
        .pots
        .len()
            == 1,
        "events create no pots"
    );

    let dir = core.stop();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["node_id_str"], "11364728073201639405");
    assert_eq!(lines[0]["pot_type"], "cowrie");
    assert_eq!(
        lines[2]["data"],
        json!({"ip": "198.51.100.9", "message": "GET /wp-login.php"})
    );
}

#[test]
fn a_restarted_core_shows_the_same_fleet() {
    let first = start_core("");
    let mut node = FakeNode::connect(first.node_addr, 500);
    node.register("persistent");
    node.send(node.status("Running"));
    node.send(node.pot_status("cowrie-01", "Installing", None));
    node.send(node.pot_status("cowrie-01", "Running", Some("up")));
    node.send(json!({"NodeEvent": {"type": "Alarm", "message": "disk 91%"}}));
    node.send(json!({"NodeDrop": {}}));
    node.expect_closed();
    wait_until(WAIT, "node disconnected", || {
        !first
            .ask(GetNode { node_id: 500 })
            .unwrap()
            .unwrap()
            .node
            .connected
    });
    let before = first.ask(GetNode { node_id: 500 }).unwrap().unwrap();
    let dir = first.stop();

    let mut config = test_config("");
    config.storage.dir = dir.path().join("data");
    let second = CoreThread::start(config).unwrap();
    let nodes = second.ask(ListNodes).unwrap();
    assert_eq!(nodes.len(), 1);
    let after = second.ask(GetNode { node_id: 500 }).unwrap().unwrap();
    assert!(!after.node.connected, "disconnected until it comes back");
    assert_eq!(
        after.node.status,
        NodeStatus::Running,
        "NodeDrop kept its last status"
    );
    assert_eq!(after.node.node_name, "persistent");
    assert_eq!(after.pots, before.pots);
    assert_eq!(after.status_history, before.status_history);
    assert_eq!(after.node_events, before.node_events);
    let history = second
        .ask(PotHistory {
            node_id: 500,
            pot_id: "cowrie-01".into(),
        })
        .unwrap()
        .unwrap();
    let steps: Vec<_> = history.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        steps,
        [
            (None, PotStatus::Installing),
            (Some(PotStatus::Installing), PotStatus::Running)
        ]
    );
    // The node comes back and carries on from there.
    let mut again = FakeNode::connect(second.node_addr, 500);
    again.register("persistent");
    again.send(again.pot_status("cowrie-01", "Stopped", None));
    wait_until(WAIT, "pot Stopped", || {
        second.ask(GetNode { node_id: 500 }).unwrap().unwrap().pots[0].status == PotStatus::Stopped
    });
    drop(second);
}

#[test]
fn a_flooding_node_is_slowed_without_stalling_a_quiet_one_or_losing_events() {
    let core = start_core("[limits]\nnode_events_per_sec = 500");
    let mut flooder = FakeNode::connect(core.node_addr, 600);
    flooder.register("flooder");
    let mut quiet = FakeNode::connect(core.node_addr, 601);
    quiet.register("quiet");
    let mut burst = String::new();
    for i in 0..3000 {
        let event = json!({"version": 2, "message": {"PotEvent": {"node_id": 600,
            "pot_id": "c", "event_type": "flood", "data": {"n": i}}}});
        burst.push_str(&format!("{event}\n"));
    }
    flooder.send_raw(burst.as_bytes());
    // The quiet node is served at once while the flooder is paced at 500/s.
    std::thread::sleep(Duration::from_millis(300));
    quiet.send(quiet.status("Running"));
    quiet.send(
        json!({"PotEvent": {"node_id": 601, "pot_id": "q", "event_type": "quiet", "data": {}}}),
    );
    wait_until(
        Duration::from_secs(2),
        "the quiet node's status and event",
        || {
            core.ask(GetNode { node_id: 601 })
                .unwrap()
                .unwrap()
                .node
                .status
                == NodeStatus::Running
                && core
                    .store
                    .events(&EventQuery {
                        node_ids: vec![601],
                        ..EventQuery::default()
                    })
                    .unwrap()
                    .events
                    .len()
                    == 1
        },
    );
    let flooded_so_far = stored(&core) - 1;
    assert!(
        flooded_so_far < 3000,
        "the flooder is paced (all {flooded_so_far} already stored)"
    );
    // Nothing is dropped: every flooded event arrives, in order.
    wait_until(
        Duration::from_secs(15),
        "every flooded event stored",
        || stored(&core) == 3001,
    );
    let order = stored_sequence(&core.store, 600);
    assert_eq!(order, (0..3000).collect::<Vec<_>>());
}

#[test]
fn a_full_store_path_stops_reading_instead_of_dropping() {
    common::init_logging();
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        test_config("[storage]\ncommit_interval_ms = 200\n[limits]\nnode_events_per_sec = 0");
    config.storage.dir = dir.path().join("data");
    let tuning = honeybee_core::server::Tuning {
        ingest_max_backlog: 50,
    };
    let core = CoreThread::start_tuned(config, tuning).unwrap();
    let mut flooder = FakeNode::connect(core.node_addr, 700);
    flooder.register("flooder");
    let mut quiet = FakeNode::connect(core.node_addr, 701);
    quiet.register("quiet");
    let burst: String = (0..1000)
        .map(|i| {
            let event = json!({"version": 2, "message": {"PotEvent": {"node_id": 700,
                "pot_id": "c", "event_type": "flood", "data": {"n": i}}}});
            format!("{event}\n")
        })
        .collect();
    flooder.send_raw(burst.as_bytes());
    let mut highest_backlog = 0;
    let mut quiet_seen = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while stored(&core) < 1000 {
        assert!(
            std::time::Instant::now() < deadline,
            "stalled at {}",
            stored(&core)
        );
        highest_backlog = highest_backlog.max(core.ingest_backlog());
        if !quiet_seen {
            quiet.send(quiet.status("Running"));
            quiet_seen = core
                .ask(GetNode { node_id: 701 })
                .unwrap()
                .unwrap()
                .node
                .status
                == NodeStatus::Running;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        quiet_seen,
        "the quiet node was read while the path was full"
    );
    // Each of the two sessions may hand over one event past the bound before it pauses.
    assert!(
        highest_backlog <= 52,
        "the path held {highest_backlog} events"
    );
    let order = stored_sequence(&core.store, 700);
    assert_eq!(
        order,
        (0..1000).collect::<Vec<_>>(),
        "nothing dropped, in order"
    );
}

#[test]
fn a_burst_of_pot_reports_is_applied_and_stored_in_order() {
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 800);
    node.register("flappy");
    let sent: Vec<PotStatus> = (0..40)
        .map(|i| {
            if i % 2 == 0 {
                PotStatus::Running
            } else {
                PotStatus::Stopped
            }
        })
        .collect();
    let burst: String = sent
        .iter()
        .map(|s| {
            let frame =
                json!({"version": 2, "message": node.pot_status("c1", &s.to_string(), None)});
            format!("{frame}\n")
        })
        .collect();
    node.send_raw(burst.as_bytes());
    node.send(json!({"NodeDrop": {}}));
    node.expect_closed();
    let expected: Vec<PotStatus> = sent.clone();
    wait_until(WAIT, "every report applied", || {
        core.ask(PotHistory {
            node_id: 800,
            pot_id: "c1".into(),
        })
        .unwrap()
        .is_some_and(|h| h.iter().map(|t| t.to).collect::<Vec<_>>() == expected)
    });
    let dir = core.stop();
    let store = honeybee_store::Store::open(&dir.path().join("data")).unwrap();
    let stored: Vec<PotStatus> = store
        .pot_history(800, "c1")
        .unwrap()
        .iter()
        .map(|t| t.to)
        .collect();
    assert_eq!(stored, sent, "stored in the order sent");
    let fleet = store.load_fleet().unwrap();
    assert_eq!(
        fleet.nodes[0].pots[0].pot.status,
        PotStatus::Stopped,
        "the last report wins"
    );
}
