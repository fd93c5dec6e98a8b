//! Fleet records survive a restart: nodes with all their ids, pots, histories.

use honeybee_protocol::{NodeEventKind, NodeStatus, NodeType, PotStatus};
use honeybee_store::{
    Fleet, FleetNode, FleetPot, HISTORY_LOADED, NodeEventRow, NodeRow, NodeStatusRow, PotRow,
    TransitionRow,
};

use crate::common::{BIG_ID, at, node, spawn};

fn pot(node_id: u64, pot_id: &str, status: PotStatus) -> PotRow {
    PotRow {
        node_id,
        pot_id: pot_id.into(),
        pot_type: "cowrie".into(),
        status,
        message: Some("ok".into()),
        updated_at: at(50),
        restarts: 2,
        gave_up: false,
        supervision: Some(r#"{"install_failed":true}"#.into()),
    }
}

#[test]
fn load_fleet_returns_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = spawn(dir.path());
    let a = node(BIG_ID, "alpha");
    let mut b = NodeRow {
        node_type: NodeType::Agent,
        remote_addr: None,
        protocol_version: 1,
        awaited: false,
        ..node(5, "beta")
    };
    writer.upsert_node(a.clone()).unwrap();
    writer.upsert_node(b.clone()).unwrap();
    b.status = NodeStatus::Unknown;
    writer.upsert_node(b.clone()).unwrap();
    writer.link_node_id(BIG_ID, 77).unwrap();
    writer.link_node_id(BIG_ID, u64::MAX).unwrap();
    writer.link_node_id(5, 78).unwrap();
    // 78 moves to alpha.
    writer.link_node_id(BIG_ID, 78).unwrap();

    let mut transitions = Vec::new();
    for i in 0..(HISTORY_LOADED as u64 + 20) {
        let (from, to) = if i == 0 {
            (None, PotStatus::Installing)
        } else if i % 2 == 1 {
            (Some(PotStatus::Installing), PotStatus::Running)
        } else {
            (Some(PotStatus::Running), PotStatus::Installing)
        };
        let t = TransitionRow {
            node_id: BIG_ID,
            pot_id: "cowrie-01".into(),
            at: at(i),
            from,
            to,
            message: (i % 3 == 0).then(|| format!("step {i}")),
            expected: i % 10 != 5,
        };
        writer.append_pot_transition(t.clone()).unwrap();
        transitions.push(t);
    }
    writer
        .upsert_pot(pot(BIG_ID, "cowrie-01", PotStatus::Installing))
        .unwrap();
    writer
        .upsert_pot(pot(BIG_ID, "aaa", PotStatus::Stopped))
        .unwrap();
    let last_pot = PotRow {
        gave_up: true,
        message: None,
        ..pot(BIG_ID, "aaa", PotStatus::Failed)
    };
    writer.upsert_pot(last_pot.clone()).unwrap();
    // A pot of an unknown node is not part of the fleet.
    writer
        .upsert_pot(pot(999, "orphan", PotStatus::Running))
        .unwrap();

    let mut statuses = Vec::new();
    let mut events = Vec::new();
    for i in 0..(HISTORY_LOADED as u64 + 5) {
        let from = (i > 0).then_some(NodeStatus::Connected);
        writer
            .append_node_status(BIG_ID, at(i), from, NodeStatus::Running)
            .unwrap();
        statuses.push(NodeStatusRow {
            at: at(i),
            from,
            to: NodeStatus::Running,
        });
        let message = (i % 2 == 0).then(|| format!("event {i}"));
        writer
            .append_node_event(BIG_ID, at(i), NodeEventKind::Alarm, message.clone())
            .unwrap();
        events.push(NodeEventRow {
            at: at(i),
            kind: NodeEventKind::Alarm,
            message,
        });
    }
    writer
        .append_node_status(5, at(3), None, NodeStatus::Connected)
        .unwrap();
    writer.shutdown().unwrap();

    let (_writer, store) = spawn(dir.path());
    let keep = |v: &[NodeStatusRow]| v[v.len() - HISTORY_LOADED..].to_vec();
    let expected = Fleet {
        nodes: vec![
            FleetNode {
                node: a,
                ids: vec![77, 78, BIG_ID, u64::MAX],
                pots: vec![
                    FleetPot {
                        pot: last_pot,
                        transitions: vec![],
                    },
                    FleetPot {
                        pot: pot(BIG_ID, "cowrie-01", PotStatus::Installing),
                        transitions: transitions[transitions.len() - HISTORY_LOADED..].to_vec(),
                    },
                ],
                status_history: keep(&statuses),
                node_events: events[events.len() - HISTORY_LOADED..].to_vec(),
            },
            FleetNode {
                node: b,
                ids: vec![5],
                pots: vec![],
                status_history: vec![NodeStatusRow {
                    at: at(3),
                    from: None,
                    to: NodeStatus::Connected,
                }],
                node_events: vec![],
            },
        ],
    };
    let fleet = store.load_fleet().unwrap();
    assert_eq!(fleet, expected);
    assert_eq!(store.pot_history(BIG_ID, "cowrie-01").unwrap(), transitions);
    assert_eq!(
        store.node_ids_of(u64::MAX).unwrap(),
        [77, 78, BIG_ID, u64::MAX]
    );
    assert_eq!(store.node_ids_of(5).unwrap(), [5]);
    assert!(store.node_ids_of(12345).unwrap().is_empty());
}

/// One pot read back alone (what a crashed pot actor restarts from): its row, its newest
/// transitions, whether it is held; and a pot whose actor was abandoned is marked so.
#[test]
fn one_pot_is_read_back_with_its_hold_and_an_abandoned_one_is_marked() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    writer.upsert_node(node(BIG_ID, "edge")).unwrap();
    writer
        .upsert_pot(pot(BIG_ID, "cowrie-01", PotStatus::Running))
        .unwrap();
    writer.set_hold(BIG_ID, "cowrie-01".into(), true).unwrap();
    writer.set_hold(BIG_ID, "never-seen".into(), true).unwrap();
    writer.flush().unwrap();

    let (stored, held) = store.load_pot(BIG_ID, "cowrie-01").unwrap();
    assert!(held);
    assert_eq!(
        stored.unwrap().pot,
        pot(BIG_ID, "cowrie-01", PotStatus::Running)
    );
    let (stored, held) = store.load_pot(BIG_ID, "never-seen").unwrap();
    assert!(stored.is_none() && held);
    let (stored, held) = store.load_pot(BIG_ID, "nothing").unwrap();
    assert!(stored.is_none() && !held);

    writer.abandon_pot(BIG_ID, "cowrie-01".into()).unwrap();
    writer.flush().unwrap();
    let (stored, _) = store.load_pot(BIG_ID, "cowrie-01").unwrap();
    assert!(stored.unwrap().pot.gave_up);
}
