//! Reads for the dashboard's fleet page: the hourly event counts of a page of nodes, from the
//! `stats_hourly` node dimension (never from `events`).
//!
//! Cost: one statement for the whole page, a primary-key seek `(dim, hour, value)` per hour
//! asked and node id (a 100-row page with 8 hours: 800 seeks).

use honeybee_protocol::NodeId;
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::dim;
use crate::error::StoreError;

/// The events counted for each of `nodes` in each of `hours` (unix seconds of an hour's
/// start): `(node, hour, count)` for the pairs that have any.
pub(crate) fn node_hour_counts(
    conn: &Connection,
    nodes: &[NodeId],
    hours: &[i64],
) -> Result<Vec<(NodeId, i64, u64)>, StoreError> {
    if nodes.is_empty() || hours.is_empty() {
        return Ok(Vec::new());
    }
    let marks = |from: usize, n: usize| {
        (from..from + n)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let sql = format!(
        "SELECT value, hour, count FROM stats_hourly
         WHERE dim = ?1 AND hour IN ({}) AND value IN ({})",
        marks(2, hours.len()),
        marks(2 + hours.len(), nodes.len()),
    );
    let mut params: Vec<Value> = Vec::with_capacity(1 + hours.len() + nodes.len());
    params.push(Value::Integer(dim::NODE));
    params.extend(hours.iter().map(|h| Value::Integer(*h)));
    params.extend(nodes.iter().map(|n| Value::Text(n.to_string())));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (value, hour, count) = row?;
        if let Ok(node) = value.parse::<NodeId>() {
            out.push((node, hour, u64::try_from(count).unwrap_or(0)));
        }
    }
    Ok(out)
}
