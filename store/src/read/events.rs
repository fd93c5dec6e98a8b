//! Event pages: which index serves a query, and what it costs.
//!
//! 1. The id range: `after` gives the lower bound; `since`/`until` become id bounds by binary
//!    search on the primary key (`time_index`, ~25 seeks on 30 M events).
//! 2. The access path, by the first filter present:
//!    - `src_ip` → `events_src_ip (id >> 14, src_ip, id)`: one range per bucket of 16,384 ids,
//!      buckets in order, stopped once `limit + 1` rows are found;
//!    - `node_ids` → `events_node (id >> 14, node_id, id)`: the same per id, each stopped at
//!      `limit + 1` rows, merged by id. (Bucketed so that the writer's entries cluster in the
//!      newest bucket: see migration 11. A page of a quiet node over the whole table costs one
//!      seek per bucket, ~6,100 at 100 M events.)
//!    - `event_type` → `events_event_type (event_type, id)`;
//!    - otherwise the primary key (id range).
//! 3. Filters the path does not serve (`pot_id`, `pot_type`, and any of the above not used for
//!    the path) are checked on each row the path yields. Without them a page costs
//!    O(limit) rows; with them the scan is bounded to an id window of [`SCAN_WINDOW`] ids per
//!    page, and the page's `next` continues after the window when it filled fewer rows.

use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};

use crate::convert::{id_from_sql, id_to_sql, time_from_micros, time_to_micros};
use crate::error::StoreError;
use crate::event::{StoredEvent, TimestampSource};
use crate::query::{Cursor, EventPage, EventQuery};
use crate::schema::BUCKET_SHIFT;
use crate::time_index;

/// Most ids one page examines when a filter is checked row by row.
pub(crate) const SCAN_WINDOW: i64 = 100_000;

const COLUMNS: &str = "id, received_at, node_id, node_name, pot_id, pot_type, event_type, \
     timestamp, timestamp_source, src_ip, username, password, command, data, download_url, \
     sha256";

/// The access path of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    SrcIp,
    Node,
    EventType,
    Id,
}

impl Path {
    fn choose(q: &EventQuery) -> Path {
        if q.src_ip.is_some() {
            Path::SrcIp
        } else if !q.node_ids.is_empty() {
            Path::Node
        } else if q.event_type.is_some() {
            Path::EventType
        } else {
            Path::Id
        }
    }

    /// Whether this path's index leads with the id's bucket.
    fn bucketed(self) -> bool {
        matches!(self, Path::SrcIp | Path::Node)
    }

    /// Whether some filter must be checked row by row on this path.
    fn has_residual(self, q: &EventQuery) -> bool {
        q.pot_id.is_some()
            || q.pot_type.is_some()
            || (self != Path::Node && !q.node_ids.is_empty())
            || (self != Path::EventType && q.event_type.is_some())
    }
}

pub(crate) fn query(conn: &Connection, q: &EventQuery) -> Result<EventPage, StoreError> {
    query_windowed(conn, q, SCAN_WINDOW)
}

fn query_windowed(conn: &Connection, q: &EventQuery, window: i64) -> Result<EventPage, StoreError> {
    let empty = EventPage {
        events: Vec::new(),
        next: None,
    };
    let limit = q.page_size();
    let Some((first, last)) = time_index::id_span(conn)? else {
        return Ok(empty);
    };
    let (mut lo, mut hi) = (first, last);
    if let Some(after) = q.after {
        lo = lo.max(
            i64::try_from(after.id())
                .unwrap_or(i64::MAX)
                .saturating_add(1),
        );
    }
    if let Some(since) = q.since {
        match time_index::first_id_at_or_after(conn, time_to_micros(since))? {
            Some(id) => lo = lo.max(id),
            None => return Ok(empty),
        }
    }
    if let Some(until) = q.until {
        let after_until = time_to_micros(until).saturating_add(1);
        if let Some(id) = time_index::first_id_at_or_after(conn, after_until)? {
            hi = hi.min(id - 1);
        }
    }
    if lo > hi {
        return Ok(empty);
    }
    let path = Path::choose(q);
    let end = if path.has_residual(q) {
        hi.min(lo.saturating_add(window - 1))
    } else {
        hi
    };
    let mut events = fetch(conn, q, path, lo, end, limit + 1)?;
    let next = if events.len() > limit {
        events.truncate(limit);
        events.last().map(|e| Cursor::after_id(e.id))
    } else if end < hi {
        Some(Cursor::after_id(end as u64))
    } else {
        None
    };
    Ok(EventPage { events, next })
}

/// Up to `take` matching events with ids in `lo..=hi`, ascending.
fn fetch(
    conn: &Connection,
    q: &EventQuery,
    path: Path,
    lo: i64,
    hi: i64,
    take: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    if path != Path::Node {
        return fetch_one(conn, q, path, None, lo, hi, take);
    }
    let mut ids = q.node_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    let mut all = Vec::new();
    for id in ids {
        all.extend(fetch_one(conn, q, path, Some(id), lo, hi, take)?);
    }
    all.sort_unstable_by_key(|e| e.id);
    all.truncate(take);
    Ok(all)
}

fn fetch_one(
    conn: &Connection,
    q: &EventQuery,
    path: Path,
    node: Option<u64>,
    lo: i64,
    hi: i64,
    take: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut found = Vec::new();
    let ranges: Vec<(Option<i64>, i64, i64)> = if path.bucketed() {
        buckets(lo, hi)
            .map(|(b, from, to)| (Some(b), from, to))
            .collect()
    } else {
        vec![(None, lo, hi)]
    };
    for (bucket, from, to) in ranges {
        let (sql, args) = select(q, path, node, bucket, from, to, take - found.len());
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), row_to_event)?;
        for row in rows {
            found.push(row?);
        }
        if found.len() >= take {
            break;
        }
    }
    Ok(found)
}

/// The buckets (`id >> BUCKET_SHIFT`) that ids `lo..=hi` fall in, ascending, each with the
/// part of `lo..=hi` inside it.
pub(crate) fn buckets(lo: i64, hi: i64) -> impl Iterator<Item = (i64, i64, i64)> {
    let (first, last) = (lo >> BUCKET_SHIFT, hi >> BUCKET_SHIFT);
    (first..=last).filter(move |_| lo <= hi).map(move |b| {
        let start = b << BUCKET_SHIFT;
        let end = start.saturating_add((1 << BUCKET_SHIFT) - 1);
        (b, lo.max(start), hi.min(end))
    })
}

/// The SELECT of one access path (one node id for [`Path::Node`], one bucket for a bucketed
/// path) and its parameters.
fn select(
    q: &EventQuery,
    path: Path,
    node: Option<u64>,
    bucket: Option<i64>,
    lo: i64,
    hi: i64,
    take: usize,
) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {COLUMNS} FROM events");
    let mut args: Vec<Value> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    let mut eq = |column: &str, value: Value, args: &mut Vec<Value>| {
        args.push(value);
        conds.push(format!("{column} = ?{}", args.len()));
    };
    if let Some(bucket) = bucket {
        eq(
            &format!("(id >> {BUCKET_SHIFT})"),
            Value::Integer(bucket),
            &mut args,
        );
    }
    match path {
        Path::SrcIp => sql.push_str(" INDEXED BY events_src_ip"),
        Path::Node => sql.push_str(" INDEXED BY events_node"),
        Path::EventType => sql.push_str(" INDEXED BY events_event_type"),
        Path::Id => {}
    }
    if let Some(ip) = &q.src_ip {
        eq("src_ip", Value::Text(ip.clone()), &mut args);
    }
    if let Some(node) = node {
        eq("node_id", Value::Integer(id_to_sql(node)), &mut args);
    }
    if let Some(t) = &q.event_type {
        eq("event_type", Value::Text(t.clone()), &mut args);
    }
    if let Some(p) = &q.pot_id {
        eq("pot_id", Value::Text(p.clone()), &mut args);
    }
    if let Some(p) = &q.pot_type {
        eq("pot_type", Value::Text(p.clone()), &mut args);
    }
    if node.is_none() && !q.node_ids.is_empty() {
        let mut list = Vec::new();
        for id in &q.node_ids {
            args.push(Value::Integer(id_to_sql(*id)));
            list.push(format!("?{}", args.len()));
        }
        conds.push(format!("node_id IN ({})", list.join(", ")));
    }
    args.push(Value::Integer(lo));
    args.push(Value::Integer(hi));
    conds.push(format!(
        "id BETWEEN ?{} AND ?{}",
        args.len() - 1,
        args.len()
    ));
    args.push(Value::Integer(i64::try_from(take).unwrap_or(i64::MAX)));
    sql.push_str(&format!(
        " WHERE {} ORDER BY id LIMIT ?{}",
        conds.join(" AND "),
        args.len()
    ));
    (sql, args)
}

pub(crate) fn row_to_event(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        id: r.get::<_, i64>(0)? as u64,
        received_at: time_from_micros(r.get(1)?),
        node_id: id_from_sql(r.get(2)?),
        node_name: r.get(3)?,
        pot_id: r.get(4)?,
        pot_type: r.get(5)?,
        event_type: r.get(6)?,
        timestamp: r.get(7)?,
        timestamp_source: TimestampSource::from_sql(r.get(8)?),
        src_ip: r.get(9)?,
        username: r.get(10)?,
        password: r.get(11)?,
        command: r.get(12)?,
        data: r.get(13)?,
        download_url: r.get(14)?,
        sha256: r.get(15)?,
    })
}

#[cfg(test)]
mod tests;
