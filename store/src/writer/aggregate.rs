//! Per-batch statistics: counted in memory while the batch is inserted, then written as one
//! upsert per distinct key (in key order, so the B-tree is walked forwards) in the batch's
//! transaction. Statistics are therefore exactly as durable as the events they count.

use std::collections::HashMap;

use honeybee_protocol::NodeId;
use rusqlite::{Connection, ToSql, params_from_iter};

use crate::convert::id_to_sql;
use crate::dim;
use crate::event::NewEvent;

/// Rows per multi-row upsert statement (fewer statement executions per row).
const ROWS_PER_STATEMENT: usize = 50;

const FLEET: Table = Table {
    insert: "INSERT INTO stats_hourly (dim, hour, value, count) VALUES ",
    conflict: " ON CONFLICT (dim, hour, value) DO UPDATE SET count = count + excluded.count",
};
const PER_NODE: Table = Table {
    insert: "INSERT INTO stats_node_hourly (hour, node_id, dim, value, count) VALUES ",
    conflict: " ON CONFLICT (hour, node_id, dim, value) DO UPDATE SET count = count + excluded.count",
};

struct Table {
    insert: &'static str,
    conflict: &'static str,
}

impl Table {
    /// The upsert of `rows` rows of `N` columns.
    fn sql<const N: usize>(&self, rows: usize) -> String {
        let one = format!("({})", vec!["?"; N].join(","));
        format!(
            "{}{}{}",
            self.insert,
            vec![one; rows].join(","),
            self.conflict
        )
    }

    /// Adds every row's count, in order, [`ROWS_PER_STATEMENT`] rows per statement.
    fn upsert<const N: usize>(
        &self,
        conn: &Connection,
        rows: &[[&dyn ToSql; N]],
    ) -> rusqlite::Result<()> {
        let mut chunks = rows.chunks_exact(ROWS_PER_STATEMENT);
        if chunks.len() > 0 {
            let mut stmt = conn.prepare_cached(&self.sql::<N>(ROWS_PER_STATEMENT))?;
            for chunk in &mut chunks {
                stmt.execute(params_from_iter(chunk.iter().flatten()))?;
            }
        }
        let mut stmt = conn.prepare_cached(&self.sql::<N>(1))?;
        for row in chunks.remainder() {
            stmt.execute(params_from_iter(row.iter()))?;
        }
        Ok(())
    }
}

/// Counts of one batch, borrowing the batch's strings.
#[derive(Debug, Default)]
pub(crate) struct Aggregates<'a> {
    /// (dim, hour, value) → count, fleet-wide, for the value dimensions and `TOTAL`.
    fleet: HashMap<(i64, i64, &'a str), i64>,
    /// (hour, node) → count: the fleet table's `NODE` dimension.
    nodes: HashMap<(i64, NodeId), i64>,
    /// (hour, node, dim, value) → count.
    per_node: HashMap<(i64, i64, i64, &'a str), i64>,
}

impl<'a> Aggregates<'a> {
    /// Counts one event stored in the hour starting at `hour` (unix seconds).
    pub(crate) fn add(&mut self, hour: i64, event: &'a NewEvent) {
        *self.fleet.entry((dim::TOTAL, hour, "")).or_default() += 1;
        *self.nodes.entry((hour, event.node_id)).or_default() += 1;
        let node = id_to_sql(event.node_id);
        let values = [
            (dim::EVENT_TYPE, Some(event.event_type.as_str())),
            (dim::POT_TYPE, event.pot_type.as_deref()),
            (dim::SRC_IP, event.src_ip.as_deref()),
            (dim::USERNAME, event.username.as_deref()),
            (dim::PASSWORD, event.password.as_deref()),
            (dim::COMMAND, event.command.as_deref()),
            (dim::DOWNLOAD_URL, event.download_url.as_deref()),
            (dim::SHA256, event.sha256.as_deref()),
        ];
        for (dim, value) in values {
            if let Some(value) = value {
                *self.fleet.entry((dim, hour, value)).or_default() += 1;
                // Per node only the few-valued dimensions: per-node addresses, credentials,
                // commands and downloads would cost about one upsert per event (most are new per node and
                // hour); a node's top lists are counted from its events instead.
                if dim::PER_NODE.contains(&dim) {
                    *self.per_node.entry((hour, node, dim, value)).or_default() += 1;
                }
            }
        }
    }

    /// Adds the counts to the tables (inside the caller's transaction).
    pub(crate) fn write(self, conn: &Connection) -> rusqlite::Result<()> {
        let mut fleet: Vec<_> = self.fleet.into_iter().collect();
        let mut nodes: Vec<_> = self
            .nodes
            .into_iter()
            .map(|((hour, node), count)| ((hour, node.to_string()), count))
            .collect();
        let mut per_node: Vec<_> = self.per_node.into_iter().collect();
        fleet.sort_unstable();
        nodes.sort_unstable();
        per_node.sort_unstable();

        let mut rows: Vec<[&dyn ToSql; 4]> = Vec::with_capacity(fleet.len() + nodes.len());
        rows.extend(
            fleet
                .iter()
                .map(|((d, h, v), n)| [d as &dyn ToSql, h, v, n]),
        );
        rows.extend(
            nodes
                .iter()
                .map(|((h, v), n)| [&dim::NODE as &dyn ToSql, h, v, n]),
        );
        FLEET.upsert(conn, &rows)?;
        let rows: Vec<[&dyn ToSql; 5]> = per_node
            .iter()
            .map(|((h, node, d, v), n)| [h as &dyn ToSql, node, d, v, n])
            .collect();
        PER_NODE.upsert(conn, &rows)
    }
}
