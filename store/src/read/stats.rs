//! Statistics from the hourly aggregate tables, and a node's top lists from its events.
//!
//! Costs (H = hours in range, V = distinct values of a dimension per hour, N = node ids asked,
//! E = events of those nodes in the range):
//! - fleet-wide: one range scan per dimension over `stats_hourly (dim, hour, value)`, H × V
//!   rows, grouped; `events` is never read;
//! - per node: totals, per-hour counts, event types and pot types from the aggregates (H × N
//!   seeks into `stats_node_hourly (hour, node_id, dim, value)` and `stats_hourly`'s node
//!   dimension); the top addresses, usernames, passwords, commands, download URLs and hashes
//!   from the node's events through `events_node (id >> 14, node_id, id)` over the range's id span, bucket by bucket (time
//!   → id by binary search): E rows per list. Keeping those per node in the aggregates would
//!   cost about one more upsert per stored event (measured: ingest 83k → 117k events/s without
//!   them).

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::convert::{hour_of_micros, id_to_sql, time_to_micros};
use crate::dim;
use crate::error::StoreError;
use crate::query::{Stats, StatsQuery, TOP_N};
use crate::schema::BUCKET_SHIFT;
use crate::time_index;

/// The hours `lo..=hi` (unix seconds, stepping 3600) as a table `hours(h)`; parameters ?1, ?2.
const HOURS: &str = "WITH RECURSIVE hours(h) AS (
         SELECT ?1 UNION ALL SELECT h + 3600 FROM hours WHERE h + 3600 <= ?2)";

pub(crate) fn query(conn: &Connection, q: &StatsQuery) -> Result<Stats, StoreError> {
    let Some((lo, hi)) = hour_range(conn, q)? else {
        return Ok(Stats::default());
    };
    if q.node_ids.is_empty() {
        fleet_stats(conn, lo, hi)
    } else {
        let mut ids = q.node_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        node_stats(conn, lo, hi, &ids)
    }
}

/// The stored hours the query covers, if any.
fn hour_range(conn: &Connection, q: &StatsQuery) -> Result<Option<(i64, i64)>, StoreError> {
    let edge = |order: &str| -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached(&format!(
            "SELECT hour FROM stats_hourly WHERE dim = {} ORDER BY hour {order} LIMIT 1",
            dim::TOTAL
        ))?
        .query_row([], |r| r.get(0))
        .optional()
    };
    let (Some(first), Some(last)) = (edge("ASC")?, edge("DESC")?) else {
        return Ok(None);
    };
    let lo = q
        .since
        .map_or(first, |t| hour_of_micros(time_to_micros(t)).max(first));
    let hi = q
        .until
        .map_or(last, |t| hour_of_micros(time_to_micros(t)).min(last));
    Ok((lo <= hi).then_some((lo, hi)))
}

fn fleet_stats(conn: &Connection, lo: i64, hi: i64) -> Result<Stats, StoreError> {
    let mut stats = Stats::default();
    let mut stmt = conn.prepare_cached(
        "SELECT hour, count FROM stats_hourly WHERE dim = ?1 AND hour BETWEEN ?2 AND ?3
         ORDER BY hour",
    )?;
    let rows = stmt.query_map(params![dim::TOTAL, lo, hi], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    for row in rows {
        let (hour, count) = row?;
        stats.total_events += count;
        stats.per_hour.push((hour, count));
    }
    let grouped = |dim: i64, top: bool| -> Result<Vec<(String, u64)>, StoreError> {
        let limit = if top { TOP_N as i64 } else { -1 };
        let mut stmt = conn.prepare_cached(
            "SELECT value, SUM(count) AS n FROM stats_hourly
             WHERE dim = ?1 AND hour BETWEEN ?2 AND ?3
             GROUP BY value ORDER BY n DESC, value LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![dim, lo, hi, limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    for (node, count) in grouped(dim::NODE, false)? {
        let id = node
            .parse::<u64>()
            .map_err(|_| StoreError::BadValue(format!("node id {node:?} in statistics")))?;
        stats.by_node.insert(id, count);
    }
    stats.by_event_type = grouped(dim::EVENT_TYPE, false)?.into_iter().collect();
    stats.by_pot_type = grouped(dim::POT_TYPE, false)?.into_iter().collect();
    stats.top_src_ips = grouped(dim::SRC_IP, true)?;
    stats.top_usernames = grouped(dim::USERNAME, true)?;
    stats.top_passwords = grouped(dim::PASSWORD, true)?;
    stats.top_commands = grouped(dim::COMMAND, true)?;
    stats.top_downloads = grouped(dim::DOWNLOAD_URL, true)?;
    stats.top_sha256 = grouped(dim::SHA256, true)?;
    Ok(stats)
}

fn node_stats(conn: &Connection, lo: i64, hi: i64, ids: &[u64]) -> Result<Stats, StoreError> {
    let mut stats = Stats::default();
    let mut per_hour: BTreeMap<i64, u64> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "{HOURS} SELECT s.hour, s.count FROM hours CROSS JOIN stats_hourly s
         ON s.dim = ?3 AND s.hour = hours.h AND s.value = ?4"
    ))?;
    for &id in ids {
        let rows = stmt.query_map(params![lo, hi, dim::NODE, id.to_string()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        let mut node_total = 0;
        for row in rows {
            let (hour, count) = row?;
            node_total += count;
            *per_hour.entry(hour).or_default() += count;
        }
        if node_total > 0 {
            stats.by_node.insert(id, node_total);
            stats.total_events += node_total;
        }
    }
    stats.per_hour = per_hour.into_iter().collect();

    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("?{}", i + 5)).collect();
    let sql = format!(
        "{HOURS} SELECT s.value, SUM(s.count) AS n FROM hours CROSS JOIN stats_node_hourly s
         ON s.hour = hours.h AND s.node_id IN ({}) AND s.dim = ?3
         GROUP BY s.value ORDER BY n DESC, s.value LIMIT ?4",
        placeholders.join(", ")
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut grouped = |dim: i64, top: bool| -> Result<Vec<(String, u64)>, StoreError> {
        let limit = if top { TOP_N as i64 } else { -1 };
        let mut args = vec![
            Value::Integer(lo),
            Value::Integer(hi),
            Value::Integer(dim),
            Value::Integer(limit),
        ];
        args.extend(ids.iter().map(|&id| Value::Integer(id_to_sql(id))));
        let rows = stmt.query_map(params_from_iter(args), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    stats.by_event_type = grouped(dim::EVENT_TYPE, false)?.into_iter().collect();
    stats.by_pot_type = grouped(dim::POT_TYPE, false)?.into_iter().collect();
    let Some((first_id, last_id)) = id_range(conn, lo, hi)? else {
        return Ok(stats);
    };
    let top = |column: &str| top_from_events(conn, ids, first_id, last_id, column);
    stats.top_src_ips = top("src_ip")?;
    stats.top_usernames = top("username")?;
    stats.top_passwords = top("password")?;
    stats.top_commands = top("command")?;
    stats.top_downloads = top("download_url")?;
    stats.top_sha256 = top("sha256")?;
    Ok(stats)
}

/// The ids of the events received in the hours `lo..=hi`, if any.
fn id_range(conn: &Connection, lo: i64, hi: i64) -> Result<Option<(i64, i64)>, StoreError> {
    let micros = |secs: i64| secs.saturating_mul(1_000_000);
    let Some(first) = time_index::first_id_at_or_after(conn, micros(lo))? else {
        return Ok(None);
    };
    let last = match time_index::first_id_at_or_after(conn, micros(hi + 3600))? {
        Some(after) => after - 1,
        None => match time_index::id_span(conn)? {
            Some((_, last)) => last,
            None => return Ok(None),
        },
    };
    Ok((first <= last).then_some((first, last)))
}

/// The top values of `column` among the events of `ids` with ids in `first..=last`.
fn top_from_events(
    conn: &Connection,
    ids: &[u64],
    first: i64,
    last: i64,
    column: &str,
) -> Result<Vec<(String, u64)>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {column}, COUNT(*) FROM events INDEXED BY events_node
         WHERE (id >> {BUCKET_SHIFT}) = ?4 AND node_id = ?1 AND id BETWEEN ?2 AND ?3
             AND {column} IS NOT NULL
         GROUP BY {column}"
    ))?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for &id in ids {
        for (bucket, from, to) in super::events::buckets(first, last) {
            let rows = stmt.query_map(params![id_to_sql(id), from, to, bucket], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            for row in rows {
                let (value, n) = row?;
                *counts.entry(value).or_default() += n;
            }
        }
    }
    let mut top: Vec<(String, u64)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_N);
    Ok(top)
}
