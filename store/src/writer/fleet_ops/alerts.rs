//! Storing alert changes inside a batch transaction: the row, its entry in the change log
//! (`alert.rs` explains what followers rely on), the largest id handed out, and pruning of old
//! cleared alerts.

use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, params};

use crate::alert::{AlertRow, AlertState, CLEARED_ALERTS_KEPT};
use crate::convert::{id_to_sql, time_to_micros};

/// Cleared alerts are pruned when the change log's `seq` is a multiple of this (cheap checks,
/// bounded overshoot).
const PRUNE_EVERY: i64 = 256;

/// Stores a newly opened alert. Opening an id that is already stored changes nothing (the
/// registry never does; a replayed op must not duplicate a change).
pub(super) fn open(conn: &Connection, alert: &AlertRow) -> rusqlite::Result<()> {
    let id = i64::try_from(alert.alert_id).unwrap_or(i64::MAX);
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO alerts (alert_id, type, node_id, node_name, pot_id, message,
                 opened_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            id,
            alert.kind,
            alert.node_id.map(id_to_sql),
            alert.node_name,
            alert.pot_id,
            alert.message,
            time_to_micros(alert.opened_at),
        ])?;
    if inserted == 0 {
        return Ok(());
    }
    change(conn, id, AlertState::Open, alert.opened_at)?;
    // Ids are never reused, even when pruning has removed the newest cleared alert.
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('last_alert_id', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute([id])?;
    Ok(())
}

/// Marks an open alert cleared at `at`; a cleared or unknown id changes nothing.
pub(super) fn clear(conn: &Connection, alert_id: u64, at: SystemTime) -> rusqlite::Result<()> {
    let id = i64::try_from(alert_id).unwrap_or(i64::MAX);
    let open: Option<i64> = conn
        .prepare_cached("SELECT alert_id FROM alerts WHERE alert_id = ?1 AND cleared_at IS NULL")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if open.is_none() {
        return Ok(());
    }
    let seq = change(conn, id, AlertState::Cleared, at)?;
    conn.prepare_cached("UPDATE alerts SET cleared_at = ?2, cleared_seq = ?3 WHERE alert_id = ?1")?
        .execute(params![id, time_to_micros(at), seq])?;
    if seq % PRUNE_EVERY == 0 {
        prune(conn)?;
    }
    Ok(())
}

/// Appends to the change log; returns the change's `seq`.
fn change(conn: &Connection, id: i64, state: AlertState, at: SystemTime) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO alert_changes (alert_id, state, at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, state.as_str(), time_to_micros(at)])?;
    Ok(conn.last_insert_rowid())
}

/// Keeps the newest [`CLEARED_ALERTS_KEPT`] cleared alerts (by clearing order) and the changes
/// of the alerts kept.
fn prune(conn: &Connection) -> rusqlite::Result<()> {
    let bound: Option<i64> = conn
        .prepare_cached(
            "SELECT cleared_seq FROM alerts WHERE cleared_seq IS NOT NULL
             ORDER BY cleared_seq DESC LIMIT 1 OFFSET ?1",
        )?
        .query_row(
            [i64::try_from(CLEARED_ALERTS_KEPT).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )
        .optional()?;
    let Some(bound) = bound else {
        return Ok(());
    };
    conn.prepare_cached(
        "DELETE FROM alert_changes WHERE alert_id IN
             (SELECT alert_id FROM alerts WHERE cleared_seq <= ?1)",
    )?
    .execute([bound])?;
    conn.prepare_cached("DELETE FROM alerts WHERE cleared_seq <= ?1")?
        .execute([bound])?;
    Ok(())
}
