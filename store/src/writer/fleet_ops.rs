//! Applying a queued fleet change (nodes, ids, pots, histories, alerts, outputs) inside a batch
//! transaction.

mod alerts;
mod outputs;

use rusqlite::{Connection, params};

/// Audit entries kept (the newest); older ones are deleted.
pub(super) const AUDIT_KEPT: i64 = 200_000;

use crate::convert::{id_to_sql, time_to_micros};
use crate::fleet::{FleetOp, HISTORY_LOADED};

pub(crate) fn apply(conn: &Connection, op: &FleetOp) -> rusqlite::Result<()> {
    match op {
        FleetOp::UpsertNode(n) => {
            conn.prepare_cached(
                "INSERT INTO nodes (node_id, node_name, node_type, address, port, status,
                     protocol_version, remote_addr, last_seen, registered_at, awaited)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (node_id) DO UPDATE SET node_name = excluded.node_name,
                     node_type = excluded.node_type, address = excluded.address,
                     port = excluded.port, status = excluded.status,
                     protocol_version = excluded.protocol_version,
                     remote_addr = excluded.remote_addr, last_seen = excluded.last_seen,
                     registered_at = excluded.registered_at, awaited = excluded.awaited",
            )?
            .execute(params![
                id_to_sql(n.node_id),
                n.node_name,
                n.node_type.as_str(),
                n.address,
                n.port,
                n.status.as_str(),
                i64::try_from(n.protocol_version).unwrap_or(i64::MAX),
                n.remote_addr,
                time_to_micros(n.last_seen),
                time_to_micros(n.registered_at),
                n.awaited,
            ])?;
            link(conn, n.node_id, n.node_id)
        }
        FleetOp::LinkNodeId { node_id, alias_id } => link(conn, *node_id, *alias_id),
        FleetOp::UpsertPot(p) => {
            conn.prepare_cached(
                "INSERT INTO pots (node_id, pot_id, pot_type, status, message, updated_at,
                     restarts, gave_up, supervision)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (node_id, pot_id) DO UPDATE SET pot_type = excluded.pot_type,
                     status = excluded.status, message = excluded.message,
                     updated_at = excluded.updated_at, restarts = excluded.restarts,
                     gave_up = excluded.gave_up, supervision = excluded.supervision",
            )?
            .execute(params![
                id_to_sql(p.node_id),
                p.pot_id,
                p.pot_type,
                p.status.as_str(),
                p.message,
                time_to_micros(p.updated_at),
                p.restarts,
                p.gave_up,
                p.supervision,
            ])?;
            Ok(())
        }
        FleetOp::AbandonPot { node_id, pot_id } => {
            conn.prepare_cached("UPDATE pots SET gave_up = 1 WHERE node_id = ?1 AND pot_id = ?2")?
                .execute(params![id_to_sql(*node_id), pot_id])?;
            Ok(())
        }
        FleetOp::PotTransition(t) => {
            conn.prepare_cached(
                "INSERT INTO pot_transitions (node_id, pot_id, at, from_status, to_status,
                     message, expected)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                id_to_sql(t.node_id),
                t.pot_id,
                time_to_micros(t.at),
                t.from.map(|s| s.as_str()),
                t.to.as_str(),
                t.message,
                t.expected,
            ])?;
            Ok(())
        }
        FleetOp::NodeStatus { node_id, row } => {
            conn.prepare_cached(
                "INSERT INTO node_status_history (node_id, at, from_status, to_status)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                id_to_sql(*node_id),
                time_to_micros(row.at),
                row.from.map(|s| s.as_str()),
                row.to.as_str(),
            ])?;
            trim(conn, "node_status_history", *node_id)
        }
        FleetOp::NodeEvent { node_id, row } => {
            conn.prepare_cached(
                "INSERT INTO node_events (node_id, at, kind, message) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                id_to_sql(*node_id),
                time_to_micros(row.at),
                row.kind.as_str(),
                row.message,
            ])?;
            trim(conn, "node_events", *node_id)
        }
        FleetOp::UpsertIdentity(i) => {
            let node_ids: Vec<String> = i.node_ids.iter().map(u64::to_string).collect();
            conn.prepare_cached(
                "INSERT INTO identities (key, name, node_ids, secret, state, last_step,
                     key_delivered, name_shared)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (key) DO UPDATE SET name = excluded.name,
                     node_ids = excluded.node_ids, secret = excluded.secret,
                     state = excluded.state, last_step = excluded.last_step,
                     key_delivered = excluded.key_delivered, name_shared = excluded.name_shared",
            )?
            .execute(params![
                id_to_sql(i.key),
                i.name,
                node_ids.join(","),
                i.secret.as_ref().map(|s| s.expose()),
                i.state.as_str(),
                i.last_step.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
                i.key_delivered,
                i.name_shared,
            ])?;
            Ok(())
        }
        FleetOp::UpsertCommand(c) => {
            conn.prepare_cached(
                "INSERT INTO commands (id, node_id, command, status, created_at, updated_at,
                     result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                     updated_at = excluded.updated_at, result = excluded.result",
            )?
            .execute(params![
                i64::try_from(c.id).unwrap_or(i64::MAX),
                id_to_sql(c.node_id),
                c.command,
                c.status,
                time_to_micros(c.created_at),
                time_to_micros(c.updated_at),
                c.result,
            ])?;
            Ok(())
        }
        FleetOp::AppendAudit(a) => {
            conn.prepare_cached(
                "INSERT INTO audit (at, actor, source, action, target, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                time_to_micros(a.at),
                a.actor,
                a.source,
                a.action,
                a.target,
                a.outcome,
            ])?;
            // The log keeps its newest AUDIT_KEPT entries; trimmed now and then by id range.
            let id = conn.last_insert_rowid();
            if id % 1024 == 0 {
                conn.prepare_cached("DELETE FROM audit WHERE id <= ?1")?
                    .execute([id - AUDIT_KEPT])?;
            }
            Ok(())
        }
        FleetOp::SetOverride(o) => {
            conn.prepare_cached(
                "INSERT INTO desired_overrides (node_id, pot_id, desired, file_fingerprint, set_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (node_id, pot_id) DO UPDATE SET desired = excluded.desired,
                     file_fingerprint = excluded.file_fingerprint, set_at = excluded.set_at",
            )?
            .execute(params![
                id_to_sql(o.node_id),
                o.pot_id,
                o.desired,
                o.file_fingerprint.map(|f| f as i64),
                time_to_micros(o.set_at),
            ])?;
            Ok(())
        }
        FleetOp::SetHold {
            node_id,
            pot_id,
            held,
        } => {
            let sql = if *held {
                "INSERT OR IGNORE INTO pot_holds (node_id, pot_id) VALUES (?1, ?2)"
            } else {
                "DELETE FROM pot_holds WHERE node_id = ?1 AND pot_id = ?2"
            };
            conn.prepare_cached(sql)?
                .execute(params![id_to_sql(*node_id), pot_id])?;
            Ok(())
        }
        FleetOp::OpenAlert(alert) => alerts::open(conn, alert),
        FleetOp::ClearAlert { alert_id, at } => alerts::clear(conn, *alert_id, *at),
        FleetOp::OutputPosition(p) => outputs::set_position(conn, p),
        FleetOp::DeadLetter(d) => outputs::dead_letter(conn, d),
        FleetOp::AddIndicators(rows) => outputs::add_indicators(conn, rows),
        FleetOp::DropOverride { node_id, pot_id } => {
            conn.prepare_cached(
                "DELETE FROM desired_overrides WHERE node_id = ?1 AND pot_id = ?2",
            )?
            .execute(params![id_to_sql(*node_id), pot_id])?;
            Ok(())
        }
    }
}

fn link(conn: &Connection, node_id: u64, alias_id: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO node_ids (alias_id, node_id) VALUES (?1, ?2)
         ON CONFLICT (alias_id) DO UPDATE SET node_id = excluded.node_id",
    )?
    .execute(params![id_to_sql(alias_id), id_to_sql(node_id)])?;
    Ok(())
}

/// Keeps the newest [`HISTORY_LOADED`] rows of a node in a history table.
fn trim(conn: &Connection, table: &str, node_id: u64) -> rusqlite::Result<()> {
    let sql = format!(
        "DELETE FROM {table} WHERE node_id = ?1 AND seq <= (SELECT seq FROM {table}
             WHERE node_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET {HISTORY_LOADED})"
    );
    conn.prepare_cached(&sql)?.execute([id_to_sql(node_id)])?;
    Ok(())
}
