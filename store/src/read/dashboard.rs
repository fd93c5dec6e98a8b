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

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::{NewEvent, StoreWriter, TimestampSource, WriterOptions};

    fn event(node_id: NodeId, at_secs: u64) -> NewEvent {
        NewEvent {
            node_id,
            node_name: format!("bee-{node_id}"),
            pot_id: "cowrie-01".into(),
            pot_type: Some("cowrie".into()),
            event_type: "cowrie.login.failed".into(),
            timestamp: "2026-01-15T10:30:00Z".into(),
            timestamp_source: TimestampSource::Node,
            received_at: UNIX_EPOCH + Duration::from_secs(at_secs),
            src_ip: None,
            username: None,
            password: None,
            command: None,
            download_url: None,
            sha256: None,
            data: "{}".into(),
        }
    }

    use super::*;

    #[test]
    fn a_page_of_nodes_gets_its_hourly_counts_in_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, store) = StoreWriter::spawn(dir.path(), WriterOptions::default()).unwrap();
        // An hour's start (1,800,000,000 is a multiple of 3,600).
        let hour: i64 = 1_800_000_000;
        let secs = |offset: i64| u64::try_from(hour + offset).unwrap();
        // Node 7: 3 events in one hour, 1 in the next; node u64::MAX (ids above i64::MAX are
        // stored as their decimal text): 2; node 9: none asked for.
        // (In time order: the writer never lets `received_at` go back.)
        let events = vec![
            event(7, secs(1)),
            event(7, secs(2)),
            event(7, secs(3)),
            event(9, secs(5)),
            event(u64::MAX, secs(10)),
            event(u64::MAX, secs(20)),
            event(7, secs(3600)),
        ];
        writer.append(events).unwrap();
        writer.flush_stats().unwrap();
        let mut counts = store
            .node_hour_counts(&[7, u64::MAX], &[hour, hour + 3600, hour - 86_400])
            .unwrap();
        counts.sort_unstable();
        assert_eq!(
            counts,
            vec![(7, hour, 3), (7, hour + 3600, 1), (u64::MAX, hour, 2)]
        );
        assert!(store.node_hour_counts(&[], &[hour]).unwrap().is_empty());
        assert!(store.node_hour_counts(&[7], &[]).unwrap().is_empty());
    }
}
