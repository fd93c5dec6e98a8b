//! Loading the fleet: nodes, their ids, pots with their recent transitions, and node
//! histories. Node histories are trimmed to [`HISTORY_LOADED`] rows per node as they are
//! written, so they are read whole; pot transitions are read per pot through
//! `pot_transitions_pot (node_id, pot_id, seq)`, newest [`HISTORY_LOADED`] first.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use honeybee_protocol::{NodeEventKind, NodeId, NodeStatus, NodeType, PotStatus, SecretString};
use rusqlite::{Connection, OptionalExtension, params};

use crate::convert::{id_from_sql, id_to_sql, time_from_micros};
use crate::error::StoreError;
use crate::fleet::{
    AuditRow, CommandRow, Fleet, FleetNode, FleetPot, HISTORY_LOADED, IdentityRow, IdentityState,
    NodeEventRow, NodeRow, NodeStatusRow, OverrideRow, PotRow, TransitionRow,
};

fn bad(what: &str, value: &str) -> StoreError {
    StoreError::BadValue(format!("{what} {value:?}"))
}

fn node_status(s: &str) -> Result<NodeStatus, StoreError> {
    NodeStatus::from_wire(s).ok_or_else(|| bad("node status", s))
}

fn pot_status(s: &str) -> Result<PotStatus, StoreError> {
    PotStatus::from_wire(s).ok_or_else(|| bad("pot status", s))
}

/// The newest event time of each of `nodes` that has one.
pub(crate) fn last_events(
    conn: &Connection,
    nodes: &[NodeId],
) -> Result<HashMap<NodeId, SystemTime>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT last_event_at FROM nodes WHERE node_id = ?1 AND last_event_at IS NOT NULL",
    )?;
    let mut found = HashMap::with_capacity(nodes.len());
    for &node in nodes {
        let at: Option<i64> = stmt.query_row([id_to_sql(node)], |r| r.get(0)).optional()?;
        if let Some(at) = at {
            found.insert(node, time_from_micros(at));
        }
    }
    Ok(found)
}

pub(crate) fn load(conn: &Connection) -> Result<Fleet, StoreError> {
    let mut nodes: BTreeMap<i64, FleetNode> = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT node_id, node_name, node_type, address, port, status, protocol_version,
             remote_addr, last_seen, registered_at, awaited FROM nodes ORDER BY node_id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let key: i64 = r.get(0)?;
        let node_type: String = r.get(2)?;
        let status: String = r.get(5)?;
        let node = NodeRow {
            node_id: id_from_sql(key),
            node_name: r.get(1)?,
            node_type: NodeType::from_wire(&node_type)
                .ok_or_else(|| bad("node type", &node_type))?,
            address: r.get(3)?,
            port: r.get(4)?,
            status: node_status(&status)?,
            protocol_version: r.get::<_, i64>(6)? as u64,
            remote_addr: r.get(7)?,
            last_seen: time_from_micros(r.get(8)?),
            registered_at: time_from_micros(r.get(9)?),
            awaited: r.get(10)?,
        };
        let entry = FleetNode {
            node,
            ids: Vec::new(),
            pots: Vec::new(),
            status_history: Vec::new(),
            node_events: Vec::new(),
        };
        nodes.insert(key, entry);
    }

    let mut stmt = conn.prepare("SELECT alias_id, node_id FROM node_ids")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(n) = nodes.get_mut(&r.get::<_, i64>(1)?) {
            n.ids.push(id_from_sql(r.get(0)?));
        }
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT {POT_COLUMNS} FROM pots ORDER BY node_id, pot_id"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let Some(n) = nodes.get_mut(&r.get::<_, i64>(0)?) else {
            continue;
        };
        n.pots.push(FleetPot {
            pot: pot_row(r)?,
            transitions: Vec::new(),
        });
    }

    let mut stmt = conn.prepare(
        "SELECT node_id, at, from_status, to_status FROM node_status_history
         ORDER BY node_id, seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(n) = nodes.get_mut(&r.get::<_, i64>(0)?) {
            let from: Option<String> = r.get(2)?;
            let to: String = r.get(3)?;
            n.status_history.push(NodeStatusRow {
                at: time_from_micros(r.get(1)?),
                from: from.as_deref().map(node_status).transpose()?,
                to: node_status(&to)?,
            });
        }
    }

    let mut stmt =
        conn.prepare("SELECT node_id, at, kind, message FROM node_events ORDER BY node_id, seq")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(n) = nodes.get_mut(&r.get::<_, i64>(0)?) {
            let kind: String = r.get(2)?;
            n.node_events.push(NodeEventRow {
                at: time_from_micros(r.get(1)?),
                kind: NodeEventKind::from_wire(&kind).ok_or_else(|| bad("node event", &kind))?,
                message: r.get(3)?,
            });
        }
    }

    for n in nodes.values_mut() {
        n.ids.sort_unstable();
        keep_newest(&mut n.status_history);
        keep_newest(&mut n.node_events);
        for p in &mut n.pots {
            p.transitions = pot_history(conn, p.pot.node_id, &p.pot.pot_id, Some(HISTORY_LOADED))?;
        }
    }
    Ok(Fleet {
        nodes: nodes.into_values().collect(),
    })
}

const POT_COLUMNS: &str =
    "node_id, pot_id, pot_type, status, message, updated_at, restarts, gave_up, supervision";

fn pot_row(r: &rusqlite::Row<'_>) -> Result<PotRow, StoreError> {
    let status: String = r.get(3)?;
    Ok(PotRow {
        node_id: id_from_sql(r.get(0)?),
        pot_id: r.get(1)?,
        pot_type: r.get(2)?,
        status: pot_status(&status)?,
        message: r.get(4)?,
        updated_at: time_from_micros(r.get(5)?),
        restarts: r.get(6)?,
        gave_up: r.get(7)?,
        supervision: r.get(8)?,
    })
}

/// One pot as stored, with its newest transitions, and whether an operator holds it stopped;
/// `None` for the row when the pot was never reported (a hold may exist without one).
pub(crate) fn load_pot(
    conn: &Connection,
    node_id: NodeId,
    pot_id: &str,
) -> Result<(Option<FleetPot>, bool), StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {POT_COLUMNS} FROM pots WHERE node_id = ?1 AND pot_id = ?2"
    ))?;
    let mut rows = stmt.query(params![id_to_sql(node_id), pot_id])?;
    let pot = match rows.next()? {
        Some(r) => Some(FleetPot {
            pot: pot_row(r)?,
            transitions: pot_history(conn, node_id, pot_id, Some(HISTORY_LOADED))?,
        }),
        None => None,
    };
    let held = conn
        .prepare_cached("SELECT 1 FROM pot_holds WHERE node_id = ?1 AND pot_id = ?2")?
        .exists(params![id_to_sql(node_id), pot_id])?;
    Ok((pot, held))
}

fn keep_newest<T>(v: &mut Vec<T>) {
    let excess = v.len().saturating_sub(HISTORY_LOADED);
    v.drain(..excess);
}

/// A pot's transitions, oldest first; only the newest `newest` when given.
pub(crate) fn pot_history(
    conn: &Connection,
    node_id: NodeId,
    pot_id: &str,
    newest: Option<usize>,
) -> Result<Vec<TransitionRow>, StoreError> {
    let limit = newest.map_or(-1, |n| n as i64);
    let mut stmt = conn.prepare_cached(
        "SELECT at, from_status, to_status, message, expected FROM pot_transitions
         WHERE node_id = ?1 AND pot_id = ?2 ORDER BY seq DESC LIMIT ?3",
    )?;
    let mut rows = stmt.query(params![id_to_sql(node_id), pot_id, limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let from: Option<String> = r.get(1)?;
        let to: String = r.get(2)?;
        out.push(TransitionRow {
            node_id,
            pot_id: pot_id.to_owned(),
            at: time_from_micros(r.get(0)?),
            from: from.as_deref().map(pot_status).transpose()?,
            to: pot_status(&to)?,
            message: r.get(3)?,
            expected: r.get(4)?,
        });
    }
    out.reverse();
    Ok(out)
}

/// The pots operators hold stopped, ordered by node and pot.
pub(crate) fn load_holds(conn: &Connection) -> Result<Vec<(NodeId, String)>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT node_id, pot_id FROM pot_holds ORDER BY node_id, pot_id")?;
    let rows = stmt.query_map([], |r| Ok((id_from_sql(r.get(0)?), r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every override of the desired state, ordered by node and pot.
pub(crate) fn load_overrides(conn: &Connection) -> Result<Vec<OverrideRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT node_id, pot_id, desired, file_fingerprint, set_at FROM desired_overrides
         ORDER BY node_id, pot_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(OverrideRow {
            node_id: id_from_sql(r.get(0)?),
            pot_id: r.get(1)?,
            desired: r.get(2)?,
            file_fingerprint: r.get::<_, Option<i64>>(3)?.map(|f| f as u64),
            set_at: time_from_micros(r.get(4)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every stored identity, in key order.
pub(crate) fn load_identities(conn: &Connection) -> Result<Vec<IdentityRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT key, name, node_ids, secret, state, last_step, key_delivered, name_shared
         FROM identities ORDER BY key",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let ids: String = r.get(2)?;
        let node_ids = ids
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<NodeId>().map_err(|_| bad("identity node id", s)))
            .collect::<Result<Vec<_>, _>>()?;
        let state: String = r.get(4)?;
        out.push(IdentityRow {
            key: id_from_sql(r.get(0)?),
            name: r.get(1)?,
            node_ids,
            secret: r.get::<_, Option<String>>(3)?.map(SecretString::new),
            state: IdentityState::parse(&state).ok_or_else(|| bad("identity state", &state))?,
            last_step: r.get::<_, Option<i64>>(5)?.map(|s| s as u64),
            key_delivered: r.get(6)?,
            name_shared: r.get(7)?,
        });
    }
    Ok(out)
}

fn command_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CommandRow> {
    Ok(CommandRow {
        id: r.get::<_, i64>(0)? as u64,
        node_id: id_from_sql(r.get(1)?),
        command: r.get(2)?,
        status: r.get(3)?,
        created_at: time_from_micros(r.get(4)?),
        updated_at: time_from_micros(r.get(5)?),
        result: r.get(6)?,
    })
}

const COMMAND_COLUMNS: &str = "id, node_id, command, status, created_at, updated_at, result";

/// One command by id.
pub(crate) fn command(conn: &Connection, id: u64) -> Result<Option<CommandRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COMMAND_COLUMNS} FROM commands WHERE id = ?1"
        ))?
        .query_row([i64::try_from(id).unwrap_or(i64::MAX)], command_row)
        .optional()?)
}

/// The commands of any of `node_ids`, newest first, at most `limit`.
pub(crate) fn commands_of(
    conn: &Connection,
    node_ids: &[NodeId],
    limit: usize,
) -> Result<Vec<CommandRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COMMAND_COLUMNS} FROM commands WHERE node_id = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let mut out = Vec::new();
    for id in node_ids {
        let rows = stmt.query_map(params![id_to_sql(*id), limit as i64], command_row)?;
        for row in rows {
            out.push(row?);
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.id));
    out.truncate(limit);
    Ok(out)
}

/// Commands stored as `pending` or `sent`, oldest first (left so by a crash: after a restart
/// nothing will settle them).
pub(crate) fn unfinished_commands(conn: &Connection) -> Result<Vec<CommandRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COMMAND_COLUMNS} FROM commands WHERE status IN ('pending', 'sent') ORDER BY id"
    ))?;
    let rows = stmt.query_map([], command_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The largest command id stored (to continue numbering after a restart).
pub(crate) fn last_command_id(conn: &Connection) -> Result<u64, StoreError> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT MAX(id) FROM commands")?
        .query_row([], |r| r.get(0))?;
    Ok(last.map_or(0, |id| id as u64))
}

/// The newest `limit` audit entries, newest first.
pub(crate) fn audit(conn: &Connection, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, actor, source, action, target, outcome FROM audit ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(AuditRow {
            at: time_from_micros(r.get(0)?),
            actor: r.get(1)?,
            source: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            outcome: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
