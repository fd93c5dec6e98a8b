//! Reading alerts: the open ones, the most recently cleared, the change log after a position,
//! and the largest id handed out. Both listings are one range of `alerts_cleared
//! (cleared_seq)` (the open alerts are its NULL range); the change log is read by its primary
//! key.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::alert::{AlertChange, AlertRow, AlertState};
use crate::convert::{id_from_sql, time_from_micros};
use crate::error::StoreError;

const COLUMNS: &str =
    "a.alert_id, a.type, a.node_id, a.node_name, a.pot_id, a.message, a.opened_at, a.cleared_at";

fn row_to_alert(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        alert_id: r.get::<_, i64>(0)? as u64,
        kind: r.get(1)?,
        node_id: r.get::<_, Option<i64>>(2)?.map(id_from_sql),
        node_name: r.get(3)?,
        pot_id: r.get(4)?,
        message: r.get(5)?,
        opened_at: time_from_micros(r.get(6)?),
        cleared_at: r.get::<_, Option<i64>>(7)?.map(time_from_micros),
    })
}

/// Every open alert, oldest first.
pub(crate) fn open(conn: &Connection) -> Result<Vec<AlertRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alerts a WHERE a.cleared_seq IS NULL ORDER BY a.alert_id"
    ))?;
    let rows = stmt.query_map([], row_to_alert)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every open alert (oldest first), then at most `cleared` cleared ones (most recently
/// cleared first).
pub(crate) fn listing(conn: &Connection, cleared: usize) -> Result<Vec<AlertRow>, StoreError> {
    let mut out = open(conn)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alerts a WHERE a.cleared_seq IS NOT NULL
         ORDER BY a.cleared_seq DESC LIMIT ?1"
    ))?;
    let limit = i64::try_from(cleared).unwrap_or(i64::MAX);
    let rows = stmt.query_map([limit], row_to_alert)?;
    for row in rows {
        out.push(row?);
    }
    Ok(out)
}

/// At most `limit` changes with `seq > after`, in `seq` order.
pub(crate) fn changes(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<AlertChange>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.seq, c.state, c.at, {COLUMNS} FROM alert_changes c
         JOIN alerts a ON a.alert_id = c.alert_id
         WHERE c.seq > ?1 ORDER BY c.seq LIMIT ?2"
    ))?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = stmt.query(params![after, limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let state: String = r.get(1)?;
        let state = AlertState::parse(&state)
            .ok_or_else(|| StoreError::BadValue(format!("alert change state {state:?}")))?;
        let at = time_from_micros(r.get(2)?);
        let mut alert = AlertRow {
            alert_id: r.get::<_, i64>(3)? as u64,
            kind: r.get(4)?,
            node_id: r.get::<_, Option<i64>>(5)?.map(id_from_sql),
            node_name: r.get(6)?,
            pot_id: r.get(7)?,
            message: r.get(8)?,
            opened_at: time_from_micros(r.get(9)?),
            cleared_at: r.get::<_, Option<i64>>(10)?.map(time_from_micros),
        };
        // The alert as this change left it.
        alert.cleared_at = match state {
            AlertState::Open => None,
            AlertState::Cleared => Some(at),
        };
        out.push(AlertChange {
            seq: r.get::<_, i64>(0)? as u64,
            state,
            at,
            alert,
        });
    }
    Ok(out)
}

/// The largest alert id ever stored (0 when none): pruning never lowers it.
pub(crate) fn last_id(conn: &Connection) -> Result<u64, StoreError> {
    let meta: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'last_alert_id'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let max: Option<i64> = conn.query_row("SELECT MAX(alert_id) FROM alerts", [], |r| r.get(0))?;
    Ok(meta.unwrap_or(0).max(max.unwrap_or(0)).max(0) as u64)
}
