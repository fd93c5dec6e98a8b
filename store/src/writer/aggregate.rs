//! Statistics and each node's last event, counted in memory as batches commit and written to
//! their tables every [`FLUSH_EVERY`] (or sooner when many keys wait, on a flush, at
//! shutdown), in a transaction that also records `stats_through_id`: the last event id whose
//! counts are in the tables.
//!
//! Writing the counts with every commit was the largest single item of a callgrind profile at
//! real fan-in (35% of the Core's instructions at 1,000 nodes × 0.2 events/s): each commit rewrote the statistics pages it touched (one upsert per distinct key, most of
//! them on a page of their own), whatever few events it held. Deferred, a page is rewritten
//! once per flush, and a key's counts from many commits become one upsert.
//!
//! Nothing is lost to a crash: counts that were only in memory belong to events with ids above
//! `stats_through_id`, which [`Aggregates::recount`] reads back and counts again when the
//! writer opens the store. Statistics are therefore exactly as durable as the events they count;
//! they are only up to [`FLUSH_EVERY`] late for readers (`WriterHandle::flush_stats` waits for
//! them).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use honeybee_protocol::NodeId;
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

use crate::convert::{hour_of_micros, id_from_sql, id_to_sql};
use crate::dim;
use crate::event::NewEvent;

/// The longest counted statistics wait in memory before they are written.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// Distinct keys waiting that make the writer write them at its next commit (bounds the
/// memory they take under bulk ingest, where most addresses and credentials are new keys).
const MAX_KEYS: usize = 50_000;
/// Rows per multi-row upsert statement (fewer statement executions per row).
const ROWS_PER_STATEMENT: usize = 50;
/// The `meta` key holding the last event id whose statistics are in the tables.
const THROUGH_KEY: &str = "stats_through_id";

const FLEET: Table = Table {
    insert: "INSERT INTO stats_hourly (dim, hour, value, count) VALUES ",
    conflict: " ON CONFLICT (dim, hour, value) DO UPDATE SET count = count + excluded.count",
};
const PER_NODE: Table = Table {
    insert: "INSERT INTO stats_node_hourly (hour, node_id, dim, value, count) VALUES ",
    conflict: " ON CONFLICT (hour, node_id, dim, value) DO UPDATE SET count = count + excluded.count",
};
/// A node's newest event time: on its record, whichever id (or alias) the events carry.
const LAST_EVENT: &str = "UPDATE nodes SET last_event_at = max(coalesce(last_event_at, 0), ?2)
     WHERE node_id = coalesce((SELECT node_id FROM node_ids WHERE alias_id = ?1), ?1)";

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

/// The value dimensions of an event, in the order [`Aggregates::add`] and the recount give
/// their values.
const EVENT_DIMS: [i64; 8] = [
    dim::EVENT_TYPE,
    dim::POT_TYPE,
    dim::SRC_IP,
    dim::USERNAME,
    dim::PASSWORD,
    dim::COMMAND,
    dim::DOWNLOAD_URL,
    dim::SHA256,
];

/// Counts per value, looked up by `&str` so that a value already counted costs no allocation.
type Values = HashMap<Box<str>, i64>;

/// Counts not yet in the tables.
#[derive(Debug, Default)]
pub(crate) struct Aggregates {
    /// (dim, hour) → value → count, fleet-wide, for the value dimensions and `TOTAL`.
    fleet: HashMap<(i64, i64), Values>,
    /// (hour, node) → count: the fleet table's `NODE` dimension.
    nodes: HashMap<(i64, NodeId), i64>,
    /// (hour, node, dim) → value → count.
    per_node: HashMap<(i64, NodeId, i64), Values>,
    /// node → its newest event's `received_at` (unix µs).
    last_event: HashMap<NodeId, i64>,
    keys: usize,
    /// The last event id counted here (or already in the tables).
    through_id: i64,
    /// When the oldest count still waiting was taken.
    since: Option<Instant>,
}

impl Aggregates {
    /// Empty, continuing after `through_id` (what the tables hold).
    fn after(through_id: i64) -> Self {
        Aggregates {
            through_id,
            ..Aggregates::default()
        }
    }

    /// Counts one event, stored as `id` at `at` (unix µs).
    pub(crate) fn add(&mut self, id: i64, at: i64, event: &NewEvent) {
        let values = [
            Some(event.event_type.as_str()),
            event.pot_type.as_deref(),
            event.src_ip.as_deref(),
            event.username.as_deref(),
            event.password.as_deref(),
            event.command.as_deref(),
            event.download_url.as_deref(),
            event.sha256.as_deref(),
        ];
        self.add_values(id, at, event.node_id, values);
    }

    /// Counts one event of `node` by its values, in [`EVENT_DIMS`] order.
    fn add_values(&mut self, id: i64, at: i64, node: NodeId, values: [Option<&str>; 8]) {
        let hour = hour_of_micros(at);
        self.since.get_or_insert_with(Instant::now);
        self.through_id = self.through_id.max(id);
        let newest = self.last_event.entry(node).or_insert(at);
        *newest = (*newest).max(at);
        bump(
            &mut self.keys,
            self.fleet.entry((dim::TOTAL, hour)).or_default(),
            "",
        );
        let count = self.nodes.entry((hour, node)).or_insert_with(|| {
            self.keys += 1;
            0
        });
        *count += 1;
        for (dim, value) in EVENT_DIMS.into_iter().zip(values) {
            let Some(value) = value else { continue };
            bump(
                &mut self.keys,
                self.fleet.entry((dim, hour)).or_default(),
                value,
            );
            // Per node only the few-valued dimensions: per-node addresses, credentials,
            // commands and downloads would be about one more row per event (most are new per
            // node and hour); a node's top lists are counted from its events instead.
            if dim::PER_NODE.contains(&dim) {
                let per_node = self.per_node.entry((hour, node, dim)).or_default();
                bump(&mut self.keys, per_node, value);
            }
        }
    }

    /// Whether the counts should be written with the next transaction.
    pub(crate) fn due(&self, now: Instant) -> bool {
        self.keys >= MAX_KEYS || self.since.is_some_and(|since| now >= since + FLUSH_EVERY)
    }

    /// When the counts waiting become due, if any wait.
    pub(crate) fn due_at(&self) -> Option<Instant> {
        self.since.map(|since| since + FLUSH_EVERY)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.since.is_none()
    }

    /// Adds the counts to the tables and records how far they go (inside the caller's
    /// transaction). The counts stay here until [`Aggregates::clear`]: call it once the
    /// transaction has committed, so that a failed one is simply written again.
    pub(crate) fn write(&self, conn: &Connection) -> rusqlite::Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let mut fleet: Vec<(i64, i64, &str, i64)> = Vec::with_capacity(self.keys);
        for (&(d, h), values) in &self.fleet {
            fleet.extend(values.iter().map(|(v, &n)| (d, h, &**v, n)));
        }
        let mut nodes: Vec<(i64, String, i64)> = self
            .nodes
            .iter()
            .map(|(&(hour, node), &n)| (hour, node.to_string(), n))
            .collect();
        let mut per_node: Vec<(i64, i64, i64, &str, i64)> = Vec::new();
        for (&(h, node, d), values) in &self.per_node {
            let node = id_to_sql(node);
            per_node.extend(values.iter().map(|(v, &n)| (h, node, d, &**v, n)));
        }
        fleet.sort_unstable();
        nodes.sort_unstable();
        per_node.sort_unstable();

        let mut rows: Vec<[&dyn ToSql; 4]> = Vec::with_capacity(fleet.len() + nodes.len());
        rows.extend(fleet.iter().map(|(d, h, v, n)| [d as &dyn ToSql, h, v, n]));
        rows.extend(
            nodes
                .iter()
                .map(|(h, v, n)| [&dim::NODE as &dyn ToSql, h, v, n]),
        );
        FLEET.upsert(conn, &rows)?;
        let rows: Vec<[&dyn ToSql; 5]> = per_node
            .iter()
            .map(|(h, node, d, v, n)| [h as &dyn ToSql, node, d, v, n])
            .collect();
        PER_NODE.upsert(conn, &rows)?;

        let mut last: Vec<(i64, i64)> = self
            .last_event
            .iter()
            .map(|(&node, &at)| (id_to_sql(node), at))
            .collect();
        last.sort_unstable();
        let mut stmt = conn.prepare_cached(LAST_EVENT)?;
        for (node, at) in last {
            stmt.execute(params![node, at])?;
        }
        save_through(conn, self.through_id)
    }

    /// Forgets the counts written (their transaction committed); keeps the position.
    pub(crate) fn clear(&mut self) {
        *self = Aggregates::after(self.through_id);
    }

    /// The counts of the events stored after the tables' `stats_through_id` (a crash lost them
    /// from memory), ready to be written. Stores from before statistics were deferred have no
    /// `stats_through_id`: their tables already count every event.
    pub(crate) fn recount(conn: &Connection) -> rusqlite::Result<Aggregates> {
        let through: Option<i64> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [THROUGH_KEY],
                |r| r.get(0),
            )
            .optional()?;
        let Some(through) = through else {
            let last: i64 =
                conn.query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?;
            save_through(conn, last)?;
            return Ok(Aggregates::after(last));
        };
        let mut aggregates = Aggregates::after(through);
        let mut stmt = conn.prepare(
            "SELECT id, received_at, node_id, event_type, pot_type, src_ip, username, password,
                    command, download_url, sha256
             FROM events WHERE id > ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([through])?;
        while let Some(r) = rows.next()? {
            let text: Vec<Option<String>> = (3..=10).map(|i| r.get(i)).collect::<Result<_, _>>()?;
            let values = std::array::from_fn(|i| text[i].as_deref());
            aggregates.add_values(r.get(0)?, r.get(1)?, id_from_sql(r.get(2)?), values);
        }
        Ok(aggregates)
    }
}

/// Adds one to `value`'s count, counting a new key in `keys`.
fn bump(keys: &mut usize, values: &mut Values, value: &str) {
    match values.get_mut(value) {
        Some(count) => *count += 1,
        None => {
            values.insert(value.into(), 1);
            *keys += 1;
        }
    }
}

fn save_through(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![THROUGH_KEY, id])
    .map(drop)
}
