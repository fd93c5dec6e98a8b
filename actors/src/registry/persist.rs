//! Between the registry's records and the store's rows: what is written when the fleet model
//! changes, and how a restarted Core rebuilds it (every node disconnected until it returns).

use std::collections::HashMap;

use honeybee_protocol::NodeId;
use honeybee_store::{Fleet, FleetPot, NodeRow, StoreError, WriterHandle};

use super::record::{NodeRecord, Nodes};
use super::views::{NodeEventRecord, StatusChange};

pub(super) fn node_row(node: &NodeRecord) -> NodeRow {
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

pub(super) fn node_status(
    store: &WriterHandle,
    node_id: NodeId,
    change: &StatusChange,
) -> Result<(), StoreError> {
    store.append_node_status(node_id, change.at, change.from, change.to)
}

pub(super) fn node_event(
    store: &WriterHandle,
    node_id: NodeId,
    event: &NodeEventRecord,
) -> Result<(), StoreError> {
    store.append_node_event(node_id, event.at, event.kind, event.message.clone())
}

/// The fleet model of a restarted Core: every stored node, disconnected, with its recent
/// histories; and its stored pots, for their actors once the registry runs.
pub(super) fn records_from(fleet: Fleet) -> (Nodes, Vec<FleetPot>) {
    let mut nodes = HashMap::with_capacity(fleet.nodes.len());
    let mut pots = Vec::new();
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
        pots.extend(stored.pots);
        nodes.insert(row.node_id, Box::new(record));
    }
    (nodes, pots)
}

/// Logs a fleet change the store writer would not take (it has stopped: the Core is going
/// down or the store failed; the model in memory stays right, the store falls behind).
pub(crate) fn queued(result: Result<(), StoreError>) {
    if let Err(e) = result {
        log::error!("Cannot queue a fleet change for the store: {e}.");
    }
}
