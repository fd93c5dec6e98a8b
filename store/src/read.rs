//! `Store`: the read side. Cheap to clone and share between threads; every call takes a read
//! connection from a small pool (WAL lets readers run while the writer commits) and reads one
//! consistent snapshot. Calls are synchronous: run them off async threads (a blocking pool or a
//! `SyncArbiter`).

mod alerts;
mod dashboard;
mod events;
mod fleet;
mod outputs;
mod stats;

pub use outputs::OBSERVATION_SCAN_LIMIT;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use honeybee_protocol::NodeId;
use rusqlite::Connection;

use crate::alert::{AlertChange, AlertRow};
use crate::convert::{id_from_sql, id_to_sql};
use crate::error::StoreError;
use crate::fleet::{Fleet, TransitionRow};
use crate::query::{EventPage, EventQuery, Stats, StatsQuery};
use crate::schema;
use crate::time_index;
use crate::writer::lock;

/// Idle read connections kept open.
const POOL_SIZE: usize = 4;

/// The read side of a store. See the module docs.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens the existing store in `dir` for reading (e.g. for `honeybee-core backup` while a
    /// Core runs). [`crate::StoreWriter::spawn`] returns one too.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = schema::db_path(dir);
        if !path.is_file() {
            return Err(StoreError::Open {
                path,
                reason: "no store database here".into(),
            });
        }
        let conn = schema::open_reader(&path)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                pool: Mutex::new(vec![conn]),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a pooled connection inside one read transaction (one snapshot).
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = lock(&self.inner.pool).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => schema::open_reader(&self.inner.path)?,
        };
        let result = match conn.unchecked_transaction() {
            Ok(tx) => {
                let result = f(&tx);
                drop(tx);
                result
            }
            Err(e) => Err(e.into()),
        };
        let mut pool = lock(&self.inner.pool);
        if pool.len() < POOL_SIZE {
            pool.push(conn);
        }
        result
    }

    /// One page of events matching `query`, oldest first. See `read/events.rs` for what each
    /// filter costs.
    pub fn events(&self, query: &EventQuery) -> Result<EventPage, StoreError> {
        self.read(|conn| events::query(conn, query))
    }

    /// The indicator columns (`src_ip`, `download_url`, `sha256`) of at most `limit` events
    /// after id `after`, in id order: what the threat-intel indexer reads instead of whole
    /// events.
    pub fn event_values(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::output::EventValues>, StoreError> {
        self.read(|conn| outputs::event_values(conn, after, limit))
    }

    /// Statistics over whole hours, from the aggregate tables (never a scan of `events`).
    pub fn stats(&self, query: &StatsQuery) -> Result<Stats, StoreError> {
        self.read(|conn| stats::query(conn, query))
    }

    /// Events counted per node and hour (`stats_hourly`'s node dimension) for each of `nodes`
    /// in each of `hours` (unix seconds of the hour's start): the dashboard's "events in the
    /// last hour" and "usual rate", one statement per page.
    pub fn node_hour_counts(
        &self,
        nodes: &[NodeId],
        hours: &[i64],
    ) -> Result<Vec<(NodeId, i64, u64)>, StoreError> {
        self.read(|conn| dashboard::node_hour_counts(conn, nodes, hours))
    }

    /// Every stored node with its ids, pots, and recent histories.
    pub fn load_fleet(&self) -> Result<Fleet, StoreError> {
        self.read(fleet::load)
    }

    /// One command by id.
    pub fn command(&self, id: u64) -> Result<Option<crate::fleet::CommandRow>, StoreError> {
        self.read(|conn| fleet::command(conn, id))
    }

    /// The commands of a node (any of its ids), newest first.
    pub fn commands_of(
        &self,
        node_ids: &[NodeId],
        limit: usize,
    ) -> Result<Vec<crate::fleet::CommandRow>, StoreError> {
        self.read(|conn| fleet::commands_of(conn, node_ids, limit))
    }

    /// Commands still `pending` or `sent` in the store, oldest first.
    pub fn unfinished_commands(&self) -> Result<Vec<crate::fleet::CommandRow>, StoreError> {
        self.read(fleet::unfinished_commands)
    }

    /// The largest command id stored.
    pub fn last_command_id(&self) -> Result<u64, StoreError> {
        self.read(fleet::last_command_id)
    }

    /// The newest audit entries, newest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<crate::fleet::AuditRow>, StoreError> {
        self.read(|conn| fleet::audit(conn, limit))
    }

    /// Every open alert, oldest first (a restarted registry's alert book).
    pub fn open_alerts(&self) -> Result<Vec<AlertRow>, StoreError> {
        self.read(alerts::open)
    }

    /// Every open alert (oldest first), then at most `cleared` cleared ones (most recently
    /// cleared first): `GET /api/v1/alerts`.
    pub fn alerts(&self, cleared: usize) -> Result<Vec<AlertRow>, StoreError> {
        self.read(|conn| alerts::listing(conn, cleared))
    }

    /// At most `limit` entries of the alert-change log after position `after` (a previous
    /// change's `seq`; 0 = from the start), in commit order: what a follower sends next.
    pub fn alert_changes(&self, after: u64, limit: usize) -> Result<Vec<AlertChange>, StoreError> {
        self.read(|conn| alerts::changes(conn, after, limit))
    }

    /// The largest alert id ever stored (0 when none).
    pub fn last_alert_id(&self) -> Result<u64, StoreError> {
        self.read(alerts::last_id)
    }

    /// The newest alert change's `seq` (0 when none): where a follower that starts "now"
    /// begins.
    pub fn last_alert_seq(&self) -> Result<u64, StoreError> {
        self.read(outputs::last_alert_seq)
    }

    /// Every output sink's stored position, by name.
    pub fn output_positions(&self) -> Result<Vec<crate::output::OutputPosition>, StoreError> {
        self.read(outputs::positions)
    }

    /// A sink's dead letters with `seq < before` (all when `None`), newest first, at most
    /// `limit`; and how many it has in all.
    pub fn dead_letters(
        &self,
        sink: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<crate::output::DeadLetter>, u64), StoreError> {
        self.read(|conn| outputs::dead_letters(conn, sink, before, limit))
    }

    /// At most `limit` threat-intel indicators after `seq` `after` (0 = from the start) added
    /// after `added_after`, in the order they were added.
    pub fn indicators(
        &self,
        after: u64,
        added_after: Option<std::time::SystemTime>,
        limit: usize,
    ) -> Result<Vec<crate::output::Indicator>, StoreError> {
        self.read(|conn| outputs::indicators(conn, after, added_after, limit))
    }

    /// When each of `values` was first seen, from the indicator index (`None` for a value it
    /// does not hold yet).
    pub fn indicators_first_seen(
        &self,
        values: &[(crate::output::IndicatorKind, String)],
    ) -> Result<Vec<Option<std::time::SystemTime>>, StoreError> {
        self.read(|conn| outputs::first_seen(conn, values))
    }

    /// Attacker addresses, download URLs and file hashes seen per pot in the events received
    /// from `since` to `until` (the newest [`OBSERVATION_SCAN_LIMIT`] events of the range).
    pub fn observations(
        &self,
        since: std::time::SystemTime,
        until: std::time::SystemTime,
    ) -> Result<crate::output::Observations, StoreError> {
        self.read(|conn| outputs::observations(conn, since, until))
    }

    /// The pots operators hold stopped, by node and pot.
    pub fn load_holds(&self) -> Result<Vec<(NodeId, String)>, StoreError> {
        self.read(fleet::load_holds)
    }

    /// One pot as stored (`None` if it was never reported), with its newest transitions, and
    /// whether an operator holds it stopped: what a crashed pot actor is restarted from.
    pub fn load_pot(
        &self,
        node_id: NodeId,
        pot_id: &str,
    ) -> Result<(Option<crate::fleet::FleetPot>, bool), StoreError> {
        self.read(|conn| fleet::load_pot(conn, node_id, pot_id))
    }

    /// Every override of the desired state, by node and pot.
    pub fn load_overrides(&self) -> Result<Vec<crate::fleet::OverrideRow>, StoreError> {
        self.read(fleet::load_overrides)
    }

    /// Every stored node identity (secrets included), in key order.
    pub fn load_identities(&self) -> Result<Vec<crate::fleet::IdentityRow>, StoreError> {
        self.read(fleet::load_identities)
    }

    /// Every stored transition of one pot, oldest first.
    pub fn pot_history(
        &self,
        node_id: NodeId,
        pot_id: &str,
    ) -> Result<Vec<TransitionRow>, StoreError> {
        self.read(|conn| fleet::pot_history(conn, node_id, pot_id, None))
    }

    /// Every id of the node that `any_id` belongs to (its primary id and linked ids,
    /// ascending); empty when no node has that id.
    pub fn node_ids_of(&self, any_id: NodeId) -> Result<Vec<NodeId>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT alias_id FROM node_ids WHERE node_id =
                     (SELECT node_id FROM node_ids WHERE alias_id = ?1)",
            )?;
            let rows = stmt.query_map([id_to_sql(any_id)], |r| r.get::<_, i64>(0))?;
            let mut ids = rows
                .map(|r| r.map(id_from_sql))
                .collect::<Result<Vec<_>, _>>()?;
            ids.sort_unstable();
            Ok(ids)
        })
    }

    /// The time of each given node's newest stored event (nodes with none are left out). Kept
    /// on the node's record by the writer, with the statistics: up to two seconds late unless
    /// `WriterHandle::flush_stats` was called. One seek per node; events are not read.
    pub fn last_events(&self, nodes: &[NodeId]) -> Result<HashMap<NodeId, SystemTime>, StoreError> {
        self.read(|conn| fleet::last_events(conn, nodes))
    }

    /// Events stored now. O(1): ids are contiguous (retention deletes only a prefix).
    pub fn event_count(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            Ok(time_index::id_span(conn)?.map_or(0, |(first, last)| (last - first + 1) as u64))
        })
    }

    /// The id of the newest stored event.
    pub fn last_event_id(&self) -> Result<Option<u64>, StoreError> {
        self.read(|conn| Ok(time_index::id_span(conn)?.map(|(_, last)| last as u64)))
    }

    /// Writes a consistent copy of the store to the file `to` while writes go on (`VACUUM
    /// INTO` reads one snapshot; the writer is not blocked). The copy is written beside `to`
    /// and renamed over it when complete. Restoring = putting the copy in an empty store
    /// directory as `honeybee.db`.
    pub fn backup(&self, to: &Path) -> Result<(), StoreError> {
        let fail = |reason: String| StoreError::Backup {
            path: to.to_path_buf(),
            reason,
        };
        let mut partial = to.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        match std::fs::remove_file(&partial) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e.to_string())),
        }
        let target = partial
            .to_str()
            .ok_or_else(|| fail("the path is not UTF-8".into()))?;
        // The copy holds node secrets: it is created private, before SQLite writes into it.
        schema::create_private(&partial).map_err(|e| fail(e.to_string()))?;
        let conn = schema::open_plain(&self.inner.path)?;
        if let Err(e) = conn.execute("VACUUM INTO ?1", [target]) {
            let _ = std::fs::remove_file(&partial);
            return Err(fail(e.to_string()));
        }
        std::fs::rename(&partial, to).map_err(|e| fail(e.to_string()))
    }
}
