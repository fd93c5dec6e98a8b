//! End-to-end tests of PROTOCOL.md's session rules, through real TCP on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{FakeNode, start_core, wait_until};
use honeybee_actors::registry::{GetNode, ListNodes, NodeDetail, NodeView};
use honeybee_core::runtime::CoreThread;
use honeybee_protocol::{NodeStatus, NodeType};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

fn detail(core: &CoreThread, node_id: u64) -> Option<NodeDetail> {
    core.ask(GetNode { node_id }).unwrap()
}

fn node_view(core: &CoreThread, node_id: u64) -> NodeView {
    detail(core, node_id).expect("node is known").node
}

#[test]
fn registration_is_acked_first_and_once_then_pots_are_asked_for() {
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 11364728073201639405);
    let ack = node.register("edge-01");
    assert_eq!(ack["node_id"], json!(11364728073201639405u64));
    assert_eq!(ack["message"], "Registration successful");
    assert!(ack.get("totp_key").is_none(), "no key without enrollment");
    let command = node.expect_message("NodeCommand");
    assert_eq!(command["command"], json!({"GetInstalledPots": {}}));
    let view = node_view(&core, 11364728073201639405);
    assert_eq!(view.status, NodeStatus::Connected);
    assert!(view.connected);
    assert_eq!(view.node_name, "edge-01");
    assert_eq!(view.node_type, NodeType::Full);
    assert_eq!(view.protocol_version, 2);
    assert!(view.remote_addr.unwrap().ip().is_loopback());
}

#[test]
fn frames_before_registration_are_refused_but_the_session_goes_on() {
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 5);
    node.send(node.status("Running"));
    assert_eq!(node.expect_protocol_error(), "NOT_REGISTERED");
    node.send_raw(b"hello\n[1,2]\n{\"version\":2,\"message\":{\"Teleport\":{}}}\n");
    assert_eq!(node.expect_protocol_error(), "MESSAGE_PARSE_FAILED");
    assert_eq!(node.expect_protocol_error(), "INVALID_MESSAGE_FORMAT");
    assert_eq!(node.expect_protocol_error(), "UNKNOWN_MESSAGE_TYPE");
    node.register("late");
    assert!(node_view(&core, 5).connected);
}

#[test]
fn a_connection_that_never_registers_is_closed() {
    let core = start_core("[protocol]\nregistration_timeout_secs = 0.3");
    let mut node = FakeNode::connect(core.node_addr, 1);
    let started = std::time::Instant::now();
    assert!(node.expect_closed().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(core.ask(ListNodes).unwrap().is_empty());
}

#[test]
fn frames_sent_with_the_registration_are_held_and_processed_in_order() {
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 77);
    // A legacy node does not wait for the ack: everything in one write.
    let mut burst = String::new();
    for message in [
        node.registration("eager"),
        node.status("Deploying"),
        node.pot_status("c1", "Installing", None),
        node.pot_status("c1", "Running", Some("up")),
        node.status("Running"),
    ] {
        burst.push_str(&format!("{}\n", json!({"version": 2, "message": message})));
    }
    burst.push_str("garbage\n");
    node.send_raw(burst.as_bytes());
    let ack = node.expect_message("RegistrationAck");
    assert_eq!(ack["accepted"], true, "the ack comes first");
    assert_eq!(node.expect_protocol_error(), "MESSAGE_PARSE_FAILED");
    wait_until(WAIT, "status Running", || {
        node_view(&core, 77).status == NodeStatus::Running
    });
    let history = detail(&core, 77).unwrap().status_history;
    let statuses: Vec<_> = history.iter().map(|c| c.to).collect();
    assert_eq!(
        statuses,
        [
            NodeStatus::Connected,
            NodeStatus::Deploying,
            NodeStatus::Running
        ]
    );
    wait_until(WAIT, "pot Running", || {
        detail(&core, 77).unwrap().pots.first().map(|p| p.status)
            == Some(honeybee_protocol::PotStatus::Running)
    });
}

#[test]
fn node_id_mismatch_and_second_registration_are_refused() {
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 9);
    node.register("nine");
    node.send(json!({"NodeStatusUpdate": {"node_id": 10, "status": "Failed"}}));
    assert_eq!(node.expect_protocol_error(), "NODE_ID_MISMATCH");
    node.send(node.registration("nine-again"));
    assert_eq!(node.expect_protocol_error(), "ALREADY_REGISTERED");
    node.send(node.status("Running"));
    wait_until(WAIT, "status Running", || {
        node_view(&core, 9).status == NodeStatus::Running
    });
    assert_eq!(node_view(&core, 9).node_name, "nine");
    assert!(detail(&core, 10).is_none(), "a spoofed id creates nothing");
}

#[test]
fn too_many_bad_frames_close_the_connection() {
    let core = start_core("[protocol]\nmax_bad_frames_per_minute = 3");
    let mut node = FakeNode::connect(core.node_addr, 3);
    node.register("noisy");
    node.send_raw(b"x\ny\nz\nw\n");
    let seen = node.expect_closed();
    let codes: Vec<_> = seen
        .iter()
        .filter_map(|m| m.get("ProtocolError"))
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        codes,
        [
            "MESSAGE_PARSE_FAILED",
            "MESSAGE_PARSE_FAILED",
            "MESSAGE_PARSE_FAILED",
            "RATE_LIMITED"
        ]
    );
    wait_until(WAIT, "node disconnected", || !node_view(&core, 3).connected);
    assert_eq!(node_view(&core, 3).status, NodeStatus::Unknown);
}

#[test]
fn oversize_frames_are_refused_and_overflow_closes() {
    let core = start_core("[protocol]\nmax_frame_bytes = 1024");
    let mut node = FakeNode::connect(core.node_addr, 4);
    node.register("big");
    let mut big = format!(
        "{{\"version\":2,\"message\":{{\"blob\":\"{}\"}}}}\n",
        "A".repeat(2000)
    );
    node.send_raw(big.as_bytes());
    assert_eq!(node.expect_protocol_error(), "MESSAGE_TOO_LARGE");
    node.send(node.status("Running"));
    wait_until(WAIT, "status Running after the oversize frame", || {
        node_view(&core, 4).status == NodeStatus::Running
    });
    big = "B".repeat(5000);
    node.send_raw(big.as_bytes());
    let seen = node.expect_closed();
    let codes: Vec<_> = seen.iter().filter_map(|m| m.get("ProtocolError")).collect();
    assert_eq!(
        codes.len(),
        1,
        "one MESSAGE_TOO_LARGE, then closed: {seen:?}"
    );
}

#[test]
fn a_v1_node_is_served_and_remembered() {
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 21);
    let frame = json!({"version": 1, "message": node.registration("old")});
    node.send_raw(format!("{frame}\n").as_bytes());
    assert_eq!(node.expect_message("RegistrationAck")["accepted"], true);
    assert_eq!(node_view(&core, 21).protocol_version, 1);
}

#[test]
fn strict_version_refuses_other_versions() {
    let core = start_core("[protocol]\nstrict_version = true");
    let mut node = FakeNode::connect(core.node_addr, 22);
    let frame = json!({"version": 1, "message": node.registration("old")});
    node.send_raw(format!("{frame}\n").as_bytes());
    let ack = node.expect_message("RegistrationAck");
    assert_eq!(ack["accepted"], false);
    assert!(
        ack["message"]
            .as_str()
            .unwrap()
            .starts_with("PROTOCOL_VERSION_MISMATCH: "),
        "{ack}"
    );
    assert!(
        node.expect_closed().is_empty(),
        "closed right after the ack"
    );
    assert!(detail(&core, 22).is_none());
}

#[test]
fn silence_past_the_heartbeat_timeout_marks_the_node_unknown() {
    let core = start_core("[protocol]\nheartbeat_timeout_secs = 0.4");
    let mut node = FakeNode::connect(core.node_addr, 30);
    node.register("quiet");
    node.send(node.status("Running"));
    // Heartbeats keep it alive past the timeout...
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(200));
        node.send(node.status("Running"));
    }
    assert!(node_view(&core, 30).connected);
    // ...silence does not.
    node.expect_closed();
    wait_until(WAIT, "node Unknown", || {
        let view = node_view(&core, 30);
        !view.connected && view.status == NodeStatus::Unknown
    });
}

#[test]
fn node_drop_keeps_the_last_status_and_eof_makes_it_unknown() {
    let core = start_core("");
    let mut polite = FakeNode::connect(core.node_addr, 40);
    polite.register("polite");
    polite.send(polite.status("Running"));
    polite.send(json!({"NodeDrop": {}}));
    polite.expect_closed();
    wait_until(WAIT, "polite node disconnected", || {
        !node_view(&core, 40).connected
    });
    assert_eq!(node_view(&core, 40).status, NodeStatus::Running);

    let mut rude = FakeNode::connect(core.node_addr, 41);
    rude.register("rude");
    rude.send(rude.status("Running"));
    wait_until(WAIT, "rude node Running", || {
        node_view(&core, 41).status == NodeStatus::Running
    });
    drop(rude);
    wait_until(WAIT, "rude node Unknown", || {
        let view = node_view(&core, 41);
        !view.connected && view.status == NodeStatus::Unknown
    });
}

#[test]
fn a_newer_connection_of_the_same_node_replaces_the_older() {
    let core = start_core("");
    let mut first = FakeNode::connect(core.node_addr, 50);
    first.register("twin");
    let mut second = FakeNode::connect(core.node_addr, 50);
    second.register("twin");
    first.expect_closed();
    second.send(second.status("Running"));
    wait_until(WAIT, "node Running through the second connection", || {
        node_view(&core, 50).status == NodeStatus::Running
    });
    assert!(
        node_view(&core, 50).connected,
        "the old session's end does not disconnect the node"
    );
    assert_eq!(core.ask(ListNodes).unwrap().len(), 1);
}

#[test]
fn answers_are_flushed_when_the_node_half_closes() {
    let core = start_core("");
    let addr = core.node_addr;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    use std::io::{Read, Write};
    stream.write_all(b"garbage\n").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("MESSAGE_PARSE_FAILED"), "{answer:?}");
    assert!(answer.ends_with('\n'));
}

#[test]
fn a_node_that_never_reads_is_dropped() {
    let core =
        start_core("[protocol]\nmax_frame_bytes = 1024\nmax_bad_frames_per_minute = 1000000");
    let mut node = FakeNode::connect(core.node_addr, 90);
    node.register("deaf");
    wait_until(WAIT, "node connected", || node_view(&core, 90).connected);
    // Each bad line costs the node 2 bytes and the Core ~130 bytes of answer it never reads.
    let flood = "x\n".repeat(200_000);
    for chunk in flood.as_bytes().chunks(64 * 1024) {
        node.send_raw_lenient(chunk);
    }
    wait_until(Duration::from_secs(10), "deaf node dropped", || {
        !node_view(&core, 90).connected
    });
    assert_eq!(node_view(&core, 90).status, NodeStatus::Unknown);
}

#[test]
fn pot_ids_that_cannot_be_commanded_are_refused_and_pots_are_capped() {
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 91);
    node.register("many-pots");
    node.send(node.pot_status("../../etc", "Running", None));
    assert_eq!(node.expect_protocol_error(), "INVALID_MESSAGE_FORMAT");
    let mut burst = String::new();
    for i in 0..1100 {
        let frame =
            json!({"version": 2, "message": node.pot_status(&format!("p{i}"), "Running", None)});
        burst.push_str(&format!("{frame}\n"));
    }
    node.send_raw(burst.as_bytes());
    node.send(node.status("Running"));
    wait_until(WAIT, "all reports processed", || {
        node_view(&core, 91).status == NodeStatus::Running
    });
    wait_until(WAIT, "pots capped", || {
        node_view(&core, 91).pot_count == honeybee_actors::registry::MAX_POTS_PER_NODE
    });
}

#[test]
fn new_nodes_past_max_nodes_are_refused() {
    let core = start_core("[auth]\nmax_nodes = 2");
    for id in [1, 2] {
        FakeNode::connect(core.node_addr, id).register("ok");
    }
    let mut third = FakeNode::connect(core.node_addr, 3);
    third.send(third.registration("three"));
    let ack = third.expect_message("RegistrationAck");
    assert_eq!(ack["accepted"], false);
    assert!(
        ack["message"]
            .as_str()
            .unwrap()
            .starts_with("ENROLLMENT_LIMIT: "),
        "{ack}"
    );
    // A known node still gets back in.
    FakeNode::connect(core.node_addr, 1).register("ok");
}
