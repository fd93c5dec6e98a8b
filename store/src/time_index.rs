//! `received_at` → event id, without an index on `received_at`.
//!
//! Invariant relied on: `received_at` never decreases in id order. The writer enforces it when
//! it assigns ids (an event is stored with `max(its received_at, its predecessor's)`), so a
//! time bound is a partition point of the id order, found by binary search over primary-key
//! seeks: ~log2(events) lookups (about 25 for 30 million events).

use rusqlite::{Connection, OptionalExtension};

/// The smallest and largest stored event ids, if any.
pub(crate) fn id_span(conn: &Connection) -> rusqlite::Result<Option<(i64, i64)>> {
    let first: Option<i64> = conn
        .prepare_cached("SELECT id FROM events ORDER BY id ASC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let last: Option<i64> = conn
        .prepare_cached("SELECT id FROM events ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(first.zip(last))
}

/// The first stored event at or after `id`: (id, received_at).
fn at_or_after(conn: &Connection, id: i64) -> rusqlite::Result<Option<(i64, i64)>> {
    conn.prepare_cached("SELECT id, received_at FROM events WHERE id >= ?1 ORDER BY id LIMIT 1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// The id of the first event with `received_at >= micros`, or `None` if every stored event is
/// older. Events before it are exactly those received before `micros`.
pub(crate) fn first_id_at_or_after(
    conn: &Connection,
    micros: i64,
) -> rusqlite::Result<Option<i64>> {
    let Some((first, last)) = id_span(conn)? else {
        return Ok(None);
    };
    // The predicate "the first stored event at or after x was received at or after `micros`"
    // is monotone in x: find the smallest x for which it holds.
    let holds = |x: i64| -> rusqlite::Result<Option<i64>> {
        Ok(at_or_after(conn, x)?.and_then(|(id, at)| (at >= micros).then_some(id)))
    };
    if let Some(id) = holds(first)? {
        return Ok(Some(id));
    }
    if holds(last)?.is_none() {
        return Ok(None);
    }
    let (mut lo, mut hi) = (first + 1, last);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if holds(mid)?.is_some() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    holds(lo)
}
