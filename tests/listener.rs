//! End-to-end tests of the node listener: TLS with and without client certificates, the
//! connection limits enforced at accept, command routing, and a clean shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::certs::{ClientCert, TestPki};
use common::{FakeNode, start_core, wait_until};
use honeybee_actors::commands::CommandStatus;
use honeybee_actors::registry::{
    Broadcast, GetNode, NodeFilter, SubmitCommand, SubmitError, Submitted,
};
use honeybee_protocol::{Command, NodeStatus};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

fn tls_config(pki: &TestPki, client_ca: bool) -> String {
    let mut config = format!(
        "[tls]\nenabled = true\ncert = {:?}\nkey = {:?}\n",
        pki.server_cert.display().to_string(),
        pki.server_key.display().to_string()
    );
    if client_ca {
        config.push_str(&format!(
            "client_ca = {:?}\n",
            pki.ca_cert.display().to_string()
        ));
    }
    config
}

#[test]
fn nodes_register_over_tls() {
    let pki = TestPki::generate();
    let core = start_core(&tls_config(&pki, false));
    let stream = pki
        .connect_blocking(core.node_addr, ClientCert::None)
        .unwrap();
    let mut node = FakeNode::over(Box::new(stream), 61);
    node.register("tls-node");
    node.send(node.status("Running"));
    wait_until(WAIT, "TLS node Running", || {
        core.ask(GetNode { node_id: 61 })
            .unwrap()
            .unwrap()
            .node
            .status
            == NodeStatus::Running
    });
    // Plain TCP on a TLS port never gets a session (only a TLS alert, then the close).
    let mut plain = std::net::TcpStream::connect(core.node_addr).unwrap();
    plain.set_read_timeout(Some(WAIT)).unwrap();
    let registration = json!({"version": 2, "message": {"NodeRegistration": {
        "node_id": 62, "node_name": "plain", "address": "a", "port": 1, "node_type": "Full"}}});
    plain
        .write_all(format!("{registration}\n").as_bytes())
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("RegistrationAck"));
    assert!(core.ask(GetNode { node_id: 62 }).unwrap().is_none());
}

#[test]
fn client_certificates_are_required_when_a_client_ca_is_set() {
    let pki = TestPki::generate();
    let core = start_core(&tls_config(&pki, true));
    assert!(
        pki.connect_blocking(core.node_addr, ClientCert::None)
            .is_err()
    );
    assert!(
        pki.connect_blocking(core.node_addr, ClientCert::Untrusted)
            .is_err()
    );
    let stream = pki
        .connect_blocking(core.node_addr, ClientCert::Trusted)
        .unwrap();
    let mut node = FakeNode::over(Box::new(stream), 63);
    node.register("mtls-node");
    assert!(
        core.ask(GetNode { node_id: 63 })
            .unwrap()
            .unwrap()
            .node
            .connected
    );
}

#[test]
fn unregistered_connections_are_limited_at_accept() {
    let core = start_core("[limits]\nmax_unregistered = 2");
    let mut first = FakeNode::connect(core.node_addr, 1);
    let _second = FakeNode::connect(core.node_addr, 2);
    wait_until(WAIT, "two connections held", || core.connections() == 2);
    let mut third = FakeNode::connect(core.node_addr, 3);
    assert!(third.expect_closed().is_empty(), "the third is refused");
    // Registering frees an unregistered slot.
    first.register("first");
    let mut fourth = FakeNode::connect(core.node_addr, 4);
    fourth.register("fourth");
}

#[test]
fn connections_are_limited_at_accept() {
    let core = start_core("[limits]\nmax_connections = 2");
    let mut a = FakeNode::connect(core.node_addr, 1);
    a.register("a");
    let mut b = FakeNode::connect(core.node_addr, 2);
    b.register("b");
    let mut c = FakeNode::connect(core.node_addr, 3);
    assert!(c.expect_closed().is_empty(), "the third is refused");
    drop(a);
    wait_until(WAIT, "slot freed", || core.connections() == 1);
    let mut d = FakeNode::connect(core.node_addr, 4);
    d.register("d");
}

#[test]
fn commands_are_routed_to_the_live_session() {
    let core = start_core("");
    let mut full = FakeNode::connect(core.node_addr, 71);
    full.register("full");
    assert_eq!(
        full.expect_message("NodeCommand")["command"],
        json!({"GetInstalledPots": {}})
    );
    let routed = core.ask(SubmitCommand {
        node_id: 71,
        command: Command::DeployPot("cowrie-01".into()),
        queue: false,
    });
    assert!(
        matches!(
            routed.unwrap(),
            Ok(Submitted {
                status: CommandStatus::Sent,
                ..
            })
        ),
        "sent at once"
    );
    let command = full.expect_message("NodeCommand");
    assert_eq!(
        command,
        json!({"node_id": 71, "command": {"DeployPot": "cowrie-01"}})
    );

    let unknown = core.ask(SubmitCommand {
        node_id: 999,
        command: Command::Restart,
        queue: false,
    });
    assert_eq!(unknown.unwrap(), Err(SubmitError::UnknownNode));

    let mut agent = FakeNode::connect(core.node_addr, 72);
    let mut registration = agent.registration("agent");
    registration["NodeRegistration"]["node_type"] = json!("Agent");
    agent.send(registration);
    agent.expect_message("RegistrationAck");
    agent.expect_message("NodeCommand");
    let reached = core
        .ask(Broadcast {
            command: Command::Restart,
            filter: NodeFilter {
                node_type: Some(honeybee_protocol::NodeType::Agent),
                status: None,
            },
        })
        .unwrap();
    assert_eq!(
        reached.iter().map(|(node, _)| *node).collect::<Vec<_>>(),
        [72]
    );
    assert_eq!(
        agent.expect_message("NodeCommand")["command"],
        json!({"Restart": {}})
    );

    drop(agent);
    wait_until(WAIT, "agent offline", || {
        !core
            .ask(GetNode { node_id: 72 })
            .unwrap()
            .unwrap()
            .node
            .connected
    });
    let offline = core.ask(SubmitCommand {
        node_id: 72,
        command: Command::Restart,
        queue: false,
    });
    assert_eq!(offline.unwrap(), Err(SubmitError::Offline));
}

#[test]
fn shutdown_closes_sessions_cleanly() {
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 81);
    node.register("leaving");
    core.stop();
    let rest = node.expect_closed();
    assert!(
        rest.iter().all(|m| m.get("NodeCommand").is_some()),
        "only queued commands before the close: {rest:?}"
    );
}

#[test]
fn shutdown_does_not_wait_for_unregistered_connections() {
    let core = start_core("");
    let mut idle = FakeNode::connect(core.node_addr, 82);
    let mut node = FakeNode::connect(core.node_addr, 83);
    node.register("registered");
    wait_until(WAIT, "both connected", || core.connections() == 2);
    let started = std::time::Instant::now();
    core.stop();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(idle.expect_closed().is_empty());
    node.expect_closed();
}
