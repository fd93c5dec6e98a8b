//! One batch, one transaction: events inserted with a cached prepared statement (ids assigned
//! here, in order), the fleet changes queued among them, the writer's position and, when due,
//! the statistics counted since they were last written, all committed together or not at all.

use rusqlite::{Connection, OptionalExtension, params};

use super::aggregate::Aggregates;
use super::fleet_ops;
use super::queue::{Batch, Op};
use crate::convert::{id_to_sql, time_to_micros};

const INSERT_EVENT: &str = "INSERT INTO events (id, received_at, node_id, node_name, pot_id,
         pot_type, event_type, timestamp, timestamp_source, src_ip, username, password, command,
         download_url, sha256, data)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

/// Where the writer is: the next event id and the last `received_at` given (unix µs). Both are
/// stored in `meta` with every batch, so ids are never reused, even after retention has
/// deleted every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) next_id: i64,
    pub(crate) last_received_at: i64,
}

pub(crate) fn load_position(conn: &Connection) -> rusqlite::Result<Position> {
    let meta = |key: &str| -> rusqlite::Result<Option<i64>> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    };
    let last: Option<(i64, i64)> = conn
        .query_row(
            "SELECT id, received_at FROM events ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let next_id = meta("next_event_id")?
        .unwrap_or(1)
        .max(last.map_or(1, |(id, _)| id + 1));
    let last_received_at = meta("last_received_at")?
        .unwrap_or(i64::MIN)
        .max(last.map_or(i64::MIN, |(_, at)| at));
    Ok(Position {
        next_id,
        last_received_at,
    })
}

/// Writes `batch` in one transaction starting at `pos`, with `stats` (counts of earlier
/// batches) when given. Returns the new position and the `received_at` (unix µs) each event
/// was stored with, in order. On error nothing is stored.
pub(crate) fn write_batch(
    conn: &Connection,
    pos: Position,
    batch: &Batch,
    stats: Option<&Aggregates>,
) -> rusqlite::Result<(Position, Vec<i64>)> {
    let tx = conn.unchecked_transaction()?;
    let mut p = pos;
    let mut received = Vec::with_capacity(batch.events);
    {
        let mut insert = tx.prepare_cached(INSERT_EVENT)?;
        for (_, op) in &batch.ops {
            let events = match op {
                Op::Events(events) => events,
                Op::Fleet(change) => {
                    fleet_ops::apply(&tx, change)?;
                    continue;
                }
                Op::Receipt(_) => continue,
            };
            for e in events {
                // The invariant time-range queries rely on: never decreasing in id order.
                let at = time_to_micros(e.received_at).max(p.last_received_at);
                insert.execute(params![
                    p.next_id,
                    at,
                    id_to_sql(e.node_id),
                    e.node_name,
                    e.pot_id,
                    e.pot_type,
                    e.event_type,
                    e.timestamp,
                    e.timestamp_source.to_sql(),
                    e.src_ip,
                    e.username,
                    e.password,
                    e.command,
                    e.download_url,
                    e.sha256,
                    e.data,
                ])?;
                received.push(at);
                p.next_id += 1;
                p.last_received_at = at;
            }
        }
        if let Some(stats) = stats {
            stats.write(&tx)?;
        }
        if p != pos {
            let mut save = tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?;
            save.execute(params!["next_event_id", p.next_id])?;
            save.execute(params!["last_received_at", p.last_received_at])?;
        }
    }
    tx.commit()?;
    Ok((p, received))
}
