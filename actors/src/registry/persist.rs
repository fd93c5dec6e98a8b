//! Between the registry's records and the store's rows: what is written when the fleet model
//! changes, and how a restarted Core rebuilds it (every node disconnected until it returns).

use std::collections::HashMap;

use honeybee_protocol::NodeId;
use honeybee_store::{Fleet, NodeRow, PotRow, StoreError, TransitionRow, WriterHandle};

use super::record::{NodeRecord, Nodes, PotEntry};
use super::views::{NodeEventRecord, StatusChange};
use crate::pot::lifecycle::{Lifecycle, Transition};
use crate::settings::SupervisionSettings;
use crate::supervise::RestartBudget;

pub fn node_row(node: &NodeRecord) -> NodeRow {
    NodeRow {
        node_id: node.node_id,
        node_name: node.node_name.clone(),
        node_type: node.node_type,
        address: node.address.clone(),
        port: node.port,
        status: node.status,
        protocol_version: node.protocol_version,
        remote_addr: node.remote_addr.map(|a| a.to_string()),
        last_seen: node.last_seen,
        registered_at: node.registered_at,
        // Connected, or lost within the reconnect grace: a restarted Core waits for it.
        awaited: node.session.is_some() || node.grace_until.is_some(),
    }
}

pub fn node_status(
    store: &WriterHandle,
    node_id: NodeId,
    change: &StatusChange,
) -> Result<(), StoreError> {
    store.append_node_status(node_id, change.at, change.from, change.to)
}

pub fn node_event(
    store: &WriterHandle,
    node_id: NodeId,
    event: &NodeEventRecord,
) -> Result<(), StoreError> {
    store.append_node_event(node_id, event.at, event.kind, event.message.clone())
}

pub fn pot_row(node_id: NodeId, pot_id: &str, pot: &PotEntry) -> PotRow {
    PotRow {
        node_id,
        pot_id: pot_id.to_owned(),
        pot_type: pot.pot_type.clone(),
        status: pot.last.status(),
        message: pot.last.message().map(str::to_owned),
        updated_at: pot.last.updated_at(),
        restarts: pot.restarts,
        gave_up: pot.gave_up,
    }
}

pub fn transition_row(node_id: NodeId, pot_id: &str, t: &Transition) -> TransitionRow {
    TransitionRow {
        node_id,
        pot_id: pot_id.to_owned(),
        at: t.at,
        from: t.from,
        to: t.to,
        message: t.message.clone(),
        expected: t.expected,
    }
}

/// A new pot's supervision budget.
pub fn budget(supervision: &SupervisionSettings) -> RestartBudget {
    RestartBudget::new(
        supervision.max_restarts,
        supervision.window,
        supervision.backoff_initial,
        supervision.backoff_max,
    )
}

/// The fleet model of a restarted Core: every stored node, disconnected, with its pots and
/// recent histories.
pub fn records_from(fleet: Fleet, supervision: &SupervisionSettings) -> Nodes {
    let mut nodes = HashMap::with_capacity(fleet.nodes.len());
    for stored in fleet.nodes {
        let row = stored.node;
        let mut record = NodeRecord::restored(&row);
        record.previous_ids = stored
            .ids
            .iter()
            .copied()
            .filter(|id| *id != row.node_id)
            .collect();
        record.status_history = stored
            .status_history
            .into_iter()
            .map(|s| StatusChange {
                at: s.at,
                from: s.from,
                to: s.to,
            })
            .collect();
        record.node_events = stored
            .node_events
            .into_iter()
            .map(|e| NodeEventRecord {
                at: e.at,
                kind: e.kind,
                message: e.message,
            })
            .collect();
        for pot in stored.pots {
            let history = pot.transitions.into_iter().map(|t| Transition {
                at: t.at,
                from: t.from,
                to: t.to,
                message: t.message,
                expected: t.expected,
            });
            let p = pot.pot;
            record.pots.insert(
                p.pot_id,
                PotEntry {
                    pot_type: p.pot_type,
                    last: Lifecycle::restore(p.status, p.message, p.updated_at, history),
                    actor: None,
                    generation: 0,
                    budget: budget(supervision),
                    restarts: p.restarts,
                    restart_pending: false,
                    gave_up: p.gave_up,
                },
            );
        }
        nodes.insert(row.node_id, Box::new(record));
    }
    nodes
}
