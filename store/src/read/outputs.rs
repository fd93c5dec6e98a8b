//! Reading what the outputs keep: every sink's position, a sink's dead letters (newest first),
//! a page of indicators after a `seq`, and the observations of a time range (attacker addresses,
//! download URLs and file hashes per pot, with counts and first and last sight), which scans the
//! events of the range by primary key — at most [`OBSERVATION_SCAN_LIMIT`], the newest.

use std::time::SystemTime;

use rusqlite::{Connection, Row, params};

use crate::convert::{id_from_sql, time_from_micros, time_to_micros};
use crate::error::StoreError;
use crate::output::{
    DeadKind, DeadLetter, EventValues, Indicator, IndicatorKind, Observation, Observations,
    OutputPosition,
};
use crate::time_index;

/// Most events one observation query examines (the newest of its range).
pub const OBSERVATION_SCAN_LIMIT: i64 = 2_000_000;

pub(crate) fn positions(conn: &Connection) -> Result<Vec<OutputPosition>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT sink, last_event_id, last_alert_seq, skipped FROM output_positions ORDER BY sink",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(OutputPosition {
            sink: r.get(0)?,
            last_event_id: r.get::<_, i64>(1)?.max(0) as u64,
            last_alert_seq: r.get::<_, i64>(2)?.max(0) as u64,
            skipped: r.get::<_, i64>(3)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn dead_row(r: &Row<'_>) -> rusqlite::Result<(DeadLetter, String)> {
    let kind: String = r.get(2)?;
    Ok((
        DeadLetter {
            seq: r.get::<_, i64>(0)?.max(0) as u64,
            sink: r.get(1)?,
            kind: DeadKind::Event,
            item_id: r.get::<_, i64>(3)?.max(0) as u64,
            change_seq: r.get::<_, i64>(4)?.max(0) as u64,
            at: time_from_micros(r.get(5)?),
            status: r.get(6)?,
            error: r.get(7)?,
        },
        kind,
    ))
}

/// A sink's dead letters with `seq < before` (all when `None`), newest first, at most `limit`;
/// and how many it has in all.
pub(crate) fn dead_letters(
    conn: &Connection,
    sink: &str,
    before: Option<u64>,
    limit: usize,
) -> Result<(Vec<DeadLetter>, u64), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, sink, kind, item_id, change_seq, at, status, error FROM output_dead
         WHERE sink = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
    )?;
    let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![sink, before, limit], dead_row)?;
    let mut out = Vec::new();
    for row in rows {
        let (mut letter, kind) = row?;
        letter.kind = DeadKind::parse(&kind)
            .ok_or_else(|| StoreError::BadValue(format!("dead letter kind {kind:?}")))?;
        out.push(letter);
    }
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM output_dead WHERE sink = ?1")?
        .query_row([sink], |r| r.get(0))?;
    Ok((out, total.max(0) as u64))
}

/// At most `limit` indicators with `seq > after` and `date_added > added_after`, in `seq`
/// order.
pub(crate) fn indicators(
    conn: &Connection,
    after: u64,
    added_after: Option<SystemTime>,
    limit: usize,
) -> Result<Vec<Indicator>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, kind, value, first_seen, date_added FROM intel_indicators
         WHERE seq > ?1 AND date_added > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let added_after = added_after.map_or(i64::MIN, time_to_micros);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = stmt.query(params![after, added_after, limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(1)?;
        out.push(Indicator {
            seq: r.get::<_, i64>(0)?.max(0) as u64,
            kind: IndicatorKind::parse(&kind)
                .ok_or_else(|| StoreError::BadValue(format!("indicator kind {kind:?}")))?,
            value: r.get(2)?,
            first_seen: time_from_micros(r.get(3)?),
            date_added: time_from_micros(r.get(4)?),
        });
    }
    Ok(out)
}

/// Attacker addresses, download URLs and file hashes seen per pot in events received in
/// `since..=until`.
pub(crate) fn observations(
    conn: &Connection,
    since: SystemTime,
    until: SystemTime,
) -> Result<Observations, StoreError> {
    let Some((first, last)) = time_index::id_span(conn)? else {
        return Ok(Observations::default());
    };
    let lo = time_index::first_id_at_or_after(conn, time_to_micros(since))?.unwrap_or(last + 1);
    let hi = match time_index::first_id_at_or_after(conn, time_to_micros(until).saturating_add(1))?
    {
        Some(id) => id - 1,
        None => last,
    };
    let lo = lo.max(first);
    if lo > hi {
        return Ok(Observations::default());
    }
    let truncated = hi - lo + 1 > OBSERVATION_SCAN_LIMIT;
    let lo = lo.max(hi - OBSERVATION_SCAN_LIMIT + 1);
    let mut rows = Vec::new();
    for (kind, column) in [
        (IndicatorKind::Ip, "src_ip"),
        (IndicatorKind::Url, "download_url"),
        (IndicatorKind::Sha256, "sha256"),
    ] {
        let sql = format!(
            "SELECT {column}, node_id, MAX(node_name), pot_id, MAX(pot_type), COUNT(*),
                 MIN(received_at), MAX(received_at)
             FROM events WHERE id BETWEEN ?1 AND ?2 AND {column} IS NOT NULL
             GROUP BY {column}, node_id, pot_id"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let found = stmt.query_map(params![lo, hi], |r| {
            Ok(Observation {
                kind,
                value: r.get(0)?,
                node_id: id_from_sql(r.get(1)?),
                node_name: r.get(2)?,
                pot_id: r.get(3)?,
                pot_type: r.get(4)?,
                count: r.get::<_, i64>(5)?.max(0) as u64,
                first_seen: time_from_micros(r.get(6)?),
                last_seen: time_from_micros(r.get(7)?),
            })
        })?;
        for row in found {
            rows.push(row?);
        }
    }
    Ok(Observations { rows, truncated })
}

/// The largest alert-change `seq` (0 when none).
pub(crate) fn last_alert_seq(conn: &Connection) -> Result<u64, StoreError> {
    let seq: Option<i64> =
        conn.query_row("SELECT MAX(seq) FROM alert_changes", [], |r| r.get(0))?;
    Ok(seq.unwrap_or(0).max(0) as u64)
}

/// When each of `values` was first seen, for those the indicator index holds.
pub(crate) fn first_seen(
    conn: &Connection,
    values: &[(IndicatorKind, String)],
) -> Result<Vec<Option<SystemTime>>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT first_seen FROM intel_indicators WHERE kind = ?1 AND value = ?2")?;
    let mut out = Vec::with_capacity(values.len());
    for (kind, value) in values {
        let mut rows = stmt.query(params![kind.as_str(), value])?;
        out.push(match rows.next()? {
            Some(r) => Some(time_from_micros(r.get(0)?)),
            None => None,
        });
    }
    Ok(out)
}

/// The indicator columns of at most `limit` events after id `after`, in id order (a range of
/// the primary key; the rest of each row is not read).
pub(crate) fn event_values(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<EventValues>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, src_ip, download_url, sha256 FROM events
         WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok(EventValues {
            id: id_from_sql(r.get(0)?),
            received_at: time_from_micros(r.get(1)?),
            src_ip: r.get(2)?,
            download_url: r.get(3)?,
            sha256: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
