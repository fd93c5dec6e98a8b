//! Every transition of the node and pot lifecycles, driven end to end by a fake node over TCP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{FakeNode, start_core, wait_until};
use honeybee_actors::registry::{GetNode, ListPots, PotHistory};
use honeybee_core::runtime::CoreThread;
use honeybee_protocol::{NodeEventKind, NodeStatus, PotStatus};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

fn history(
    core: &CoreThread,
    node_id: u64,
    pot_id: &str,
) -> Vec<(Option<PotStatus>, PotStatus, bool)> {
    core.ask(PotHistory {
        node_id,
        pot_id: pot_id.to_owned(),
    })
    .unwrap()
    .map(|h| h.iter().map(|t| (t.from, t.to, t.expected)).collect())
    .unwrap_or_default()
}

#[test]
fn every_pot_transition_is_applied_and_stored() {
    use PotStatus::*;
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 100);
    node.register("pots");
    // A walk through all eleven transitions of the table, then one outside it.
    let walk = [
        Installing, Stopped, Running, Stopped, Installing, Running, Failed, Installing, Failed,
        Running, Failed, Stopped, Failed, Running, Installing,
    ];
    for status in walk {
        node.send(node.pot_status("cowrie-01", &format!("{status}"), Some("step")));
    }
    wait_until(WAIT, "every report applied", || {
        history(&core, 100, "cowrie-01").len() == walk.len()
    });
    let steps = history(&core, 100, "cowrie-01");
    assert_eq!(
        steps[0],
        (None, Installing, true),
        "first learned in the reported state"
    );
    for (i, pair) in walk.windows(2).enumerate() {
        let expected = !(pair[0] == Running && pair[1] == Installing);
        assert_eq!(
            steps[i + 1],
            (Some(pair[0]), pair[1], expected),
            "step {}",
            i + 1
        );
    }
    let pots = core.ask(ListPots).unwrap();
    assert_eq!(pots.len(), 1);
    assert_eq!(
        pots[0].status, Installing,
        "unexpected transitions are applied too"
    );
    assert_eq!(pots[0].pot_type, "cowrie");
    assert_eq!(pots[0].message.as_deref(), Some("step"));
}

#[test]
fn a_pot_is_learned_in_the_state_first_reported_and_events_create_no_pots() {
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 101);
    node.register("learner");
    node.send(
        json!({"PotEvent": {"node_id": 101, "pot_id": "ghost", "event_type": "login", "data": {}}}),
    );
    node.send(node.pot_status("wp-01", "Running", None));
    wait_until(WAIT, "pot learned", || {
        history(&core, 101, "wp-01") == [(None, PotStatus::Running, true)]
    });
    let detail = core.ask(GetNode { node_id: 101 }).unwrap().unwrap();
    assert_eq!(
        detail.pots.len(),
        1,
        "the event created no pot: {:?}",
        detail.pots
    );
    assert_eq!(detail.node.pot_count, 1);
}

#[test]
fn every_node_status_and_node_event_is_recorded() {
    use NodeStatus::*;
    let core = start_core("");
    let mut node = FakeNode::connect(core.node_addr, 102);
    node.register("statuses");
    for status in [
        Deploying, Running, Stopped, Failed, Unknown, Connected, Running,
    ] {
        node.send(node.status(&format!("{status}")));
    }
    node.send(json!({"NodeEvent": "Started"}));
    node.send(json!({"NodeEvent": {"Error": {"message": "Unknown command"}}}));
    node.send(json!({"NodeEvent": {"type": "Alarm", "description": "disk 95%"}}));
    wait_until(WAIT, "events recorded", || {
        core.ask(GetNode { node_id: 102 })
            .unwrap()
            .unwrap()
            .node_events
            .len()
            == 3
    });
    let detail = core.ask(GetNode { node_id: 102 }).unwrap().unwrap();
    let statuses: Vec<_> = detail.status_history.iter().map(|c| c.to).collect();
    assert_eq!(
        statuses,
        [
            Connected, Deploying, Running, Stopped, Failed, Unknown, Connected, Running
        ]
    );
    let events: Vec<_> = detail
        .node_events
        .iter()
        .map(|e| (e.kind, e.message.as_deref()))
        .collect();
    assert_eq!(
        events,
        [
            (NodeEventKind::Started, None),
            (NodeEventKind::Error, Some("Unknown command")),
            (NodeEventKind::Alarm, Some("disk 95%")),
        ]
    );
    assert_eq!(detail.node.status, Running);
}
