//! Storing the outputs' changes inside a batch transaction: a sink's position, a dead letter
//! (the newest [`DEAD_LETTERS_KEPT`] per sink kept), and new indicators with their
//! `date_added` (never below the previous one, so TAXII's `added_after` is a `seq` range).

use rusqlite::{Connection, OptionalExtension, params};

use crate::convert::time_to_micros;
use crate::output::{DEAD_LETTERS_KEPT, DeadLetter, INDICATORS_KEPT, Indicator, OutputPosition};

/// Dead letters are trimmed when their `seq` is a multiple of this.
const TRIM_EVERY: i64 = 128;

pub(super) fn set_position(conn: &Connection, p: &OutputPosition) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO output_positions (sink, last_event_id, last_alert_seq, skipped)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (sink) DO UPDATE SET last_event_id = excluded.last_event_id,
             last_alert_seq = excluded.last_alert_seq, skipped = excluded.skipped",
    )?
    .execute(params![
        p.sink,
        i64::try_from(p.last_event_id).unwrap_or(i64::MAX),
        i64::try_from(p.last_alert_seq).unwrap_or(i64::MAX),
        i64::try_from(p.skipped).unwrap_or(i64::MAX),
    ])?;
    Ok(())
}

pub(super) fn dead_letter(conn: &Connection, d: &DeadLetter) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO output_dead (sink, kind, item_id, change_seq, at, status, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        d.sink,
        d.kind.as_str(),
        i64::try_from(d.item_id).unwrap_or(i64::MAX),
        i64::try_from(d.change_seq).unwrap_or(i64::MAX),
        time_to_micros(d.at),
        d.status,
        d.error,
    ])?;
    let seq = conn.last_insert_rowid();
    if seq % TRIM_EVERY == 0 {
        let bound: Option<i64> = conn
            .prepare_cached(
                "SELECT seq FROM output_dead WHERE sink = ?1 ORDER BY seq DESC
                 LIMIT 1 OFFSET ?2",
            )?
            .query_row(
                params![d.sink, i64::try_from(DEAD_LETTERS_KEPT).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(bound) = bound {
            conn.prepare_cached("DELETE FROM output_dead WHERE sink = ?1 AND seq <= ?2")?
                .execute(params![d.sink, bound])?;
        }
    }
    Ok(())
}

/// Adds indicators not yet known (a known value keeps its row and `date_added`).
pub(super) fn add_indicators(conn: &Connection, rows: &[Indicator]) -> rusqlite::Result<()> {
    let mut last: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(date_added), 0) FROM intel_indicators")?
        .query_row([], |r| r.get(0))?;
    for row in rows {
        let added = time_to_micros(row.date_added).max(last);
        let n = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO intel_indicators (kind, value, first_seen, date_added)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                row.kind.as_str(),
                row.value,
                time_to_micros(row.first_seen),
                added
            ])?;
        if n > 0 {
            last = added;
            let seq = conn.last_insert_rowid();
            if seq % TRIM_EVERY == 0 && seq > INDICATORS_KEPT {
                conn.prepare_cached("DELETE FROM intel_indicators WHERE seq <= ?1")?
                    .execute([seq - INDICATORS_KEPT])?;
            }
        }
    }
    Ok(())
}
