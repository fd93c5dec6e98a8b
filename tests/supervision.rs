//! Fault isolation: a pot actor and, separately, a session actor panic (through the test-only
//! fault hook) while 100 other nodes heartbeat and take commands. Everyone else carries on; the
//! pot actor comes back with its state; the panicked session's socket is closed, its node record
//! survives, and the node's reconnect is accepted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{FakeNode, start_core, wait_until};
use honeybee_actors::registry::{
    FaultTarget, GetNode, InjectFault, ListNodes, PotHistory, SubmitCommand,
};
use honeybee_core::runtime::CoreThread;
use honeybee_protocol::{Command, NodeStatus, PotStatus};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);
const BYSTANDERS: u64 = 100;
const POT_VICTIM: u64 = 9_000_000_001;
const SESSION_VICTIM: u64 = 9_000_000_002;

fn connect_registered(core: &CoreThread, node_id: u64) -> FakeNode {
    let mut node = FakeNode::connect(core.node_addr, node_id);
    node.register(&format!("node-{node_id}"));
    node.expect_message("NodeCommand"); // GetInstalledPots
    node
}

fn heartbeat_all(nodes: &mut [FakeNode]) {
    for node in nodes.iter_mut() {
        node.send(node.status("Running"));
    }
}

/// Sends every node a command through the registry and checks each one receives it.
fn command_all(core: &CoreThread, nodes: &mut [FakeNode], pot: &str) {
    for node in nodes.iter() {
        let sent = core.ask(SubmitCommand {
            node_id: node.node_id,
            command: Command::GetPotStatus(pot.to_owned()),
            queue: false,
        });
        assert!(sent.unwrap().is_ok(), "node {} is routable", node.node_id);
    }
    for node in nodes.iter_mut() {
        let command = node.expect_message("NodeCommand");
        assert_eq!(command["node_id"], json!(node.node_id));
        assert_eq!(command["command"], json!({"GetPotStatus": pot}));
    }
}

fn pot_status(core: &CoreThread, node_id: u64) -> Option<PotStatus> {
    let detail = core.ask(GetNode { node_id }).unwrap().unwrap();
    detail.pots.first().map(|p| p.status)
}

fn node_view(core: &CoreThread, node_id: u64) -> honeybee_actors::registry::NodeView {
    core.ask(GetNode { node_id }).unwrap().unwrap().node
}

fn pot_restarts(core: &CoreThread, node_id: u64) -> u32 {
    let detail = core.ask(GetNode { node_id }).unwrap().unwrap();
    detail.pots.first().map_or(0, |p| p.restarts)
}

#[test]
fn panics_are_isolated_and_recovered() {
    let core = start_core("[protocol]\nheartbeat_timeout_secs = 30");
    let mut bystanders: Vec<FakeNode> = (1..=BYSTANDERS)
        .map(|id| connect_registered(&core, id))
        .collect();
    heartbeat_all(&mut bystanders);

    // The pot victim: a pot with some history.
    let mut pot_node = connect_registered(&core, POT_VICTIM);
    pot_node.send(pot_node.pot_status("cowrie-01", "Installing", None));
    pot_node.send(pot_node.pot_status("cowrie-01", "Running", Some("listening on 2222")));
    wait_until(WAIT, "pot Running", || {
        pot_status(&core, POT_VICTIM) == Some(PotStatus::Running)
    });

    // 1. A pot actor panics.
    let found = core.ask(InjectFault {
        node_id: POT_VICTIM,
        target: FaultTarget::Pot("cowrie-01".into()),
    });
    assert!(found.unwrap(), "the pot actor exists");
    wait_until(WAIT, "pot actor restarted", || {
        pot_restarts(&core, POT_VICTIM) == 1
    });
    heartbeat_all(&mut bystanders);
    command_all(&core, &mut bystanders, "after-pot-panic");

    // It came back with its state: the next report continues from Running.
    pot_node.send(pot_node.pot_status("cowrie-01", "Stopped", Some("operator")));
    wait_until(WAIT, "pot Stopped after the restart", || {
        pot_status(&core, POT_VICTIM) == Some(PotStatus::Stopped)
    });
    let history = core
        .ask(PotHistory {
            node_id: POT_VICTIM,
            pot_id: "cowrie-01".into(),
        })
        .unwrap()
        .unwrap();
    let steps: Vec<_> = history.iter().map(|t| (t.from, t.to, t.expected)).collect();
    assert_eq!(
        steps,
        [
            (None, PotStatus::Installing, true),
            (Some(PotStatus::Installing), PotStatus::Running, true),
            (Some(PotStatus::Running), PotStatus::Stopped, true),
        ]
    );
    assert_eq!(history[1].message.as_deref(), Some("listening on 2222"));

    // 2. A session actor panics.
    let mut session_node = connect_registered(&core, SESSION_VICTIM);
    session_node.send(session_node.status("Running"));
    wait_until(WAIT, "victim Running", || {
        node_view(&core, SESSION_VICTIM).status == NodeStatus::Running
    });
    let found = core.ask(InjectFault {
        node_id: SESSION_VICTIM,
        target: FaultTarget::Session,
    });
    assert!(found.unwrap(), "the session exists");
    session_node.expect_closed();
    wait_until(WAIT, "victim disconnected", || {
        let node = node_view(&core, SESSION_VICTIM);
        !node.connected && node.status == NodeStatus::Unknown
    });
    heartbeat_all(&mut bystanders);
    command_all(&core, &mut bystanders, "after-session-panic");

    // Its record survived and its reconnect is accepted.
    let mut again = connect_registered(&core, SESSION_VICTIM);
    again.send(again.status("Running"));
    wait_until(WAIT, "victim back", || {
        let node = node_view(&core, SESSION_VICTIM);
        node.connected && node.status == NodeStatus::Running
    });
    let nodes = core.ask(ListNodes).unwrap();
    assert_eq!(nodes.len(), BYSTANDERS as usize + 2);
    assert!(
        nodes.iter().all(|n| n.connected),
        "every node is still connected"
    );
    assert_eq!(pot_restarts(&core, POT_VICTIM), 1);
}
