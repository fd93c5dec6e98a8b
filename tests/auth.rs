//! Node authentication end to end: codes computed in the test from the key the Core hands out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::served::Served;
use common::totp::{code_for, enroll, register, step_now};
use common::{FakeNode, start_core, test_config};
use honeybee_actors::registry::{GetNode, ListNodes};
use honeybee_core::runtime::CoreThread;
use serde_json::json;

const TOTP_ON: &str = "[auth]\ntotp = true\nenrollment = \"open\"";

/// A code for the current step plus `steps_ahead` (the Core accepts one step of skew).
fn code(key: &str, steps_ahead: u64) -> String {
    code_for(key, step_now() + steps_ahead)
}

#[test]
fn open_enrollment_then_codes_then_a_returning_node_under_a_new_id() {
    let core = start_core(TOTP_ON);
    let key = enroll(core.node_addr, 1001, "edge-a");

    let mut again = FakeNode::connect(core.node_addr, 1001);
    let ack = register(&mut again, "edge-a", None);
    assert_eq!(ack["accepted"], false);
    assert_eq!(
        ack["message"],
        "AUTHENTICATION_FAILED: this node is enrolled and must send totp_code"
    );

    let mut again = FakeNode::connect(core.node_addr, 1001);
    let ack = register(&mut again, "edge-a", Some(code(&key, 0)));
    assert_eq!(ack["accepted"], true, "{ack}");
    assert!(ack.get("totp_key").is_none(), "the key is handed out once");
    drop(again);

    // The node restarts under a new random id, keeping its key: the same node comes back.
    let mut back = FakeNode::connect(core.node_addr, 2002);
    let ack = register(&mut back, "edge-a", Some(code(&key, 1)));
    assert_eq!(ack["accepted"], true, "{ack}");
    assert_eq!(ack["node_id"], 2002);
    let nodes = core.ask(ListNodes).unwrap();
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0].node_id, 1001);
    let by_new_id = core.ask(GetNode { node_id: 2002 }).unwrap().unwrap();
    assert_eq!(by_new_id.node.node_id, 1001);
    assert!(by_new_id.node.connected);
    // Its frames carry the new id.
    back.send(back.status("Running"));
    common::wait_until(Duration::from_secs(5), "status through the new id", || {
        core.ask(GetNode { node_id: 1001 })
            .unwrap()
            .unwrap()
            .node
            .status
            == honeybee_protocol::NodeStatus::Running
    });

    // Someone else with the name and a wrong code is a new node sharing the name.
    let mut other = FakeNode::connect(core.node_addr, 3003);
    let ack = register(&mut other, "edge-a", Some("000000".into()));
    assert_eq!(ack["accepted"], true, "{ack}");
    assert!(ack["totp_key"].is_string());
    assert_eq!(core.ask(ListNodes).unwrap().len(), 2);
}

#[test]
fn keys_and_the_replay_guard_survive_a_restart() {
    let first = start_core(TOTP_ON);
    let key = enroll(first.node_addr, 4004, "edge-b");
    let step = step_now();
    let code_for = |step: u64| Some(code_for(&key, step));
    let mut node = FakeNode::connect(first.node_addr, 4004);
    assert_eq!(
        register(&mut node, "edge-b", code_for(step))["accepted"],
        true
    );
    drop(node);
    let dir = first.stop();

    let mut config = test_config(TOTP_ON);
    config.storage.dir = dir.path().join("data");
    let second = CoreThread::start(config).unwrap();
    // The identity came back: no code is refused as enrolled...
    let mut node = FakeNode::connect(second.node_addr, 4004);
    let ack = register(&mut node, "edge-b", None);
    assert_eq!(
        ack["message"],
        "AUTHENTICATION_FAILED: this node is enrolled and must send totp_code"
    );
    // ...the step accepted before the restart is a replay ("replayed" also proves the stored
    // key matched)...
    let mut node = FakeNode::connect(second.node_addr, 4004);
    let ack = register(&mut node, "edge-b", code_for(step));
    assert!(
        ack["message"]
            .as_str()
            .unwrap()
            .starts_with("AUTHENTICATION_FAILED: replayed"),
        "{ack}"
    );
    // ...and the next one gets in at once: no start-up floor.
    let mut node = FakeNode::connect(second.node_addr, 4004);
    let ack = register(&mut node, "edge-b", code_for(step + 1));
    assert_eq!(ack["accepted"], true, "{ack}");
    assert!(ack.get("totp_key").is_none(), "{ack}");
}

#[test]
fn closed_enrollment_refuses_unknown_nodes() {
    let core = start_core("[auth]\ntotp = true\nenrollment = \"closed\"");
    let mut node = FakeNode::connect(core.node_addr, 5005);
    let ack = register(&mut node, "stranger", None);
    assert_eq!(ack["accepted"], false);
    assert!(
        ack["message"]
            .as_str()
            .unwrap()
            .starts_with("ENROLLMENT_CLOSED: "),
        "{ack}"
    );
    assert!(node.expect_closed().is_empty());
}

#[test]
fn no_key_or_code_reaches_the_log() {
    let mut served = Served::start("[auth]\ntotp = true\n", "");
    let key = enroll(served.addr, 6006, "edge-c");
    let good = code(&key, 0);
    let mut node = FakeNode::connect(served.addr, 6006);
    assert_eq!(
        register(&mut node, "edge-c", Some(good.clone()))["accepted"],
        true
    );
    for _ in 0..3 {
        let mut bad = FakeNode::connect(served.addr, 6006);
        register(&mut bad, "edge-c", Some("000000".into()));
    }
    served.signal("TERM");
    let log = served.rest_of_log();
    assert!(log.contains("registered"), "the log was captured: {log}");
    assert!(!log.contains(&key), "the key reached the log");
    assert!(!log.contains(&good), "a code reached the log");
    assert!(!log.contains("000000"), "a wrong code reached the log");
}

use honeybee_actors::admission::{IdentityOp, IdentityOpDone};
use honeybee_actors::registry::{ListIdentities, Operate};
use honeybee_store::IdentityState;

fn enrolled_key(done: IdentityOpDone) -> String {
    match done {
        IdentityOpDone::Enrolled {
            totp_key,
            otpauth_uri,
            ..
        } => {
            assert!(otpauth_uri.expose().starts_with("otpauth://totp/"));
            totp_key.expose().to_owned()
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn approve_mode_waits_for_an_operator() {
    let core = start_core("[auth]\ntotp = true\nenrollment = \"approve\"");
    let mut node = FakeNode::connect(core.node_addr, 7007);
    let ack = register(&mut node, "newbie", None);
    assert!(
        ack["message"]
            .as_str()
            .unwrap()
            .starts_with("PENDING_APPROVAL: "),
        "{ack}"
    );
    let pending: Vec<_> = core
        .ask(ListIdentities)
        .unwrap()
        .into_iter()
        .filter(|i| i.state == IdentityState::Pending)
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].node_ids, [7007]);
    assert_eq!(
        core.ask(Operate(IdentityOp::Approve(7007))).unwrap(),
        Ok(IdentityOpDone::Done)
    );
    let mut node = FakeNode::connect(core.node_addr, 7007);
    let ack = register(&mut node, "newbie", None);
    assert_eq!(ack["accepted"], true, "{ack}");
    let key = ack["totp_key"].as_str().unwrap().to_owned();
    let mut node = FakeNode::connect(core.node_addr, 7007);
    assert_eq!(
        register(&mut node, "newbie", Some(code(&key, 0)))["accepted"],
        true
    );
    // Rejecting someone else leaves them refused.
    let mut other = FakeNode::connect(core.node_addr, 7008);
    register(&mut other, "other", None);
    assert!(core.ask(Operate(IdentityOp::Reject(7008))).unwrap().is_ok());
    let mut other = FakeNode::connect(core.node_addr, 7008);
    let ack = register(&mut other, "other", None);
    assert!(
        ack["message"].as_str().unwrap().starts_with("REVOKED: "),
        "{ack}"
    );
}

#[test]
fn revocation_cuts_the_session_and_leaves_a_tombstone_until_re_enrolled() {
    let core = start_core(TOTP_ON);
    let key = enroll(core.node_addr, 8008, "doomed");
    let mut node = FakeNode::connect(core.node_addr, 8008);
    assert_eq!(
        register(&mut node, "doomed", Some(code(&key, 0)))["accepted"],
        true
    );
    assert_eq!(
        core.ask(Operate(IdentityOp::Revoke(8008))).unwrap(),
        Ok(IdentityOpDone::Done)
    );
    node.expect_closed();
    let mut retry = FakeNode::connect(core.node_addr, 8008);
    let ack = register(&mut retry, "doomed", Some(code(&key, 1)));
    assert!(
        ack["message"].as_str().unwrap().starts_with("REVOKED: "),
        "{ack}"
    );
    let mut renamed = FakeNode::connect(core.node_addr, 8009);
    let ack = register(&mut renamed, "doomed", None);
    assert!(
        ack["message"].as_str().unwrap().starts_with("REVOKED: "),
        "the name is tombstoned too: {ack}"
    );
    // Enrolled again, it is back with a new key.
    let done = core
        .ask(Operate(IdentityOp::Enroll {
            node_id: Some(8008),
            name: Some("doomed".into()),
        }))
        .unwrap()
        .unwrap();
    let key = enrolled_key(done);
    let mut back = FakeNode::connect(core.node_addr, 8008);
    assert_eq!(
        register(&mut back, "doomed", Some(code(&key, 0)))["accepted"],
        true
    );
}

#[test]
fn closed_mode_admits_a_node_enrolled_by_name_under_any_id() {
    let core = start_core("[auth]\ntotp = true\nenrollment = \"closed\"");
    let done = core
        .ask(Operate(IdentityOp::Enroll {
            node_id: None,
            name: Some("planned".into()),
        }))
        .unwrap()
        .unwrap();
    let key = enrolled_key(done);
    let mut node = FakeNode::connect(core.node_addr, 11364728073201639405);
    let ack = register(&mut node, "planned", Some(code(&key, 0)));
    assert_eq!(ack["accepted"], true, "{ack}");
    assert!(
        ack.get("totp_key").is_none(),
        "the key was handed out of band"
    );
    assert_eq!(
        core.ask(ListNodes).unwrap()[0].node_id,
        11364728073201639405
    );
}

#[test]
fn sessions_replacing_each_other_from_different_addresses_raise_a_clone_alert() {
    let core = start_core("");
    let mut seen = Vec::new();
    for i in 0..5u8 {
        let from = std::net::IpAddr::from([127, 0, 0, 2 + i % 2]);
        let mut node = FakeNode::connect_from(core.node_addr, from, 9009);
        node.register("twin");
        seen.push(node);
        let clone = core
            .ask(GetNode { node_id: 9009 })
            .unwrap()
            .unwrap()
            .node
            .possible_clone;
        // The fourth replacement from elsewhere (the fifth session) is past the tolerance.
        assert_eq!(clone, i >= 4, "after session {}", i + 1);
    }
    // The alert is in /api/v1/alerts, and the node lists it.
    let token = std::fs::read_to_string(core.dir().join("data").join("api-token")).unwrap();
    let api = common::http::Api::new(core.api_addr, token.trim());
    let alerts = api.ok("/api/v1/alerts");
    let clone_alert = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "possible_clone")
        .unwrap_or_else(|| panic!("no possible_clone alert: {alerts}"));
    assert_eq!(clone_alert["node_id"], 9009);
    assert!(clone_alert["cleared_at"].is_null());
    assert_eq!(
        api.ok("/api/v1/nodes/9009")["alerts"],
        json!(["possible_clone"])
    );
    // A node reconnecting from its own address is no clone.
    let core = start_core("");
    for _ in 0..6 {
        FakeNode::connect(core.node_addr, 9010).register("steady");
    }
    assert!(
        !core
            .ask(GetNode { node_id: 9010 })
            .unwrap()
            .unwrap()
            .node
            .possible_clone
    );
}
