//! `StoreWriter`: the one write connection, on its own OS thread, fed by a queue that never
//! blocks the caller. It batches events and fleet changes into transactions, publishes what it
//! committed to subscribers, and prunes old data between batches.
//!
//! ```text
//!  pipeline / registry                    writer thread ("honeybee-store")
//!  WriterHandle::append ──┐  mpsc (unbounded,  ┌──────────────────────────────────────────┐
//!  WriterHandle::upsert_* ┼─ never blocks) ──► │ queue ─► batch (≤ max_batch events, or   │
//!  WriterHandle::flush ───┘                    │   the oldest waited commit_interval)     │
//!        backlog: AtomicU64 ◄── −n per commit ─│ ─► one transaction: events + fleet rows, │
//!                                              │    in arrival order (+ statistics, when  │
//!                                              │    due: see `aggregate`)                 │
//!  subscribe() ◄─ sync_channel, try_send ──────│ ─► publish Arc<Committed>                │
//!                                              │ ─► retention chunk (≤ 5,000 rows / tx)   │
//!                                              └──────────────────────────────────────────┘
//! ```

mod aggregate;
mod checkpoint;
mod commit;
mod fleet_ops;
mod inbox;
mod metrics;
mod queue;
mod retention;
mod run;
mod subscribers;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use honeybee_protocol::{NodeEventKind, NodeId, NodeStatus};

use self::inbox::Inbox;
use self::metrics::Shared;
pub use self::metrics::{COMMIT_SECONDS_BUCKETS, WriterMetrics};
use self::queue::Receipt;
use self::subscribers::Subscribers;
use crate::error::StoreError;
use crate::event::{Committed, NewEvent};
use crate::fleet::{
    AuditRow, CommandRow, FleetOp, IdentityRow, NodeEventRow, NodeRow, NodeStatusRow, OverrideRow,
    PotRow, TransitionRow,
};
use crate::read::Store;
use crate::schema;

/// How the writer batches and what it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// The longest an appended event waits before its transaction commits (while the store
    /// keeps up). `storage.commit_interval_ms`.
    pub commit_interval: Duration,
    /// Most events in one transaction. Batches only grow past what arrives in one
    /// `commit_interval` when the writer falls behind; then bigger transactions are cheaper
    /// per event (each commit rewrites the index pages it touched, about one per distinct
    /// node and source address), so the default is 100,000: measured ~1.3x the throughput of
    /// 20,000-event transactions with the event indexes in place.
    pub max_batch: usize,
    /// Events whose `received_at` is older than this many days are pruned, and so are the
    /// statistics of hours that ended before then. 0 = keep forever.
    pub retention_days: u32,
    /// Keep at most this many events (the newest). 0 = no cap. Statistics are not pruned by
    /// count.
    pub max_events: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            commit_interval: Duration::from_millis(100),
            max_batch: 100_000,
            retention_days: 0,
            max_events: 0,
        }
    }
}

/// Batches (of commits) a subscriber may fall behind by before it is dropped.
pub const SUBSCRIBER_CAPACITY: usize = 1024;

/// What travels to the writer thread.
#[derive(Debug)]
pub(crate) enum Msg {
    Events(Vec<NewEvent>),
    Fleet(FleetOp),
    Receipt(Receipt),
    Flush(SyncSender<Result<(), StoreError>>),
    FlushStats(SyncSender<Result<(), StoreError>>),
    Shutdown,
}

/// A cloneable, thread-safe way to feed the writer (for the pipeline, the registry, sinks).
/// Every method returns at once except [`WriterHandle::flush`].
#[derive(Debug, Clone)]
pub struct WriterHandle {
    inbox: Arc<Inbox>,
    backlog: Arc<AtomicU64>,
    subscribers: Arc<Subscribers>,
    shared: Arc<Shared>,
}

/// The writer: owns the writer thread. Dropping it (or [`StoreWriter::shutdown`]) commits
/// everything queued and joins the thread. Dereferences to its [`WriterHandle`].
#[derive(Debug)]
pub struct StoreWriter {
    handle: WriterHandle,
    thread: Option<JoinHandle<Result<(), StoreError>>>,
}

impl StoreWriter {
    /// Opens (creating and migrating if needed) the store in `dir`, starts the writer thread,
    /// and returns it with the read side. Fails with a [`StoreError`] naming the path when the
    /// directory is not writable or the file is not a usable SQLite database.
    pub fn spawn(dir: &Path, options: WriterOptions) -> Result<(StoreWriter, Store), StoreError> {
        let conn = schema::open_writer(dir)?;
        let store = Store::open(dir)?;
        let handle = WriterHandle {
            inbox: Arc::new(Inbox::default()),
            backlog: Arc::new(AtomicU64::new(0)),
            subscribers: Arc::new(Subscribers::default()),
            shared: Arc::new(Shared::default()),
        };
        let state = run::Writer::new(
            conn,
            &schema::db_path(dir),
            Arc::clone(&handle.inbox),
            options,
            Arc::clone(&handle.backlog),
            Arc::clone(&handle.subscribers),
            Arc::clone(&handle.shared),
        )?;
        let thread = std::thread::Builder::new()
            .name("honeybee-store".into())
            .spawn(move || state.run())
            .map_err(|source| StoreError::Directory {
                path: dir.to_path_buf(),
                source,
            })?;
        Ok((
            StoreWriter {
                handle,
                thread: Some(thread),
            },
            store,
        ))
    }

    /// A handle to feed this writer from elsewhere.
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// Commits everything queued, stops the thread and joins it. Returns the last commit's
    /// error if queued data could not be stored.
    pub fn shutdown(mut self) -> Result<(), StoreError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), StoreError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let _ = self.handle.inbox.send(Msg::Shutdown);
        match thread.join() {
            Ok(result) => result,
            Err(_) => Err(StoreError::WriterStopped),
        }
    }
}

impl std::ops::Deref for StoreWriter {
    type Target = WriterHandle;

    fn deref(&self) -> &WriterHandle {
        &self.handle
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            log::error!("Store writer stopped with an error: {e}.");
        }
    }
}

impl WriterHandle {
    /// Queues events for storing, in order. Never blocks. The writer gives each its `id` and
    /// may raise its `received_at` to its predecessor's, so that `received_at` never
    /// decreases in id order (the invariant time-range queries rely on). Fails only when the
    /// writer has stopped (nothing was queued then).
    pub fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let n = events.len() as u64;
        self.backlog.fetch_add(n, Ordering::Relaxed);
        if self.inbox.send(Msg::Events(events)).is_err() {
            self.backlog.fetch_sub(n, Ordering::Relaxed);
            return Err(StoreError::WriterStopped);
        }
        Ok(())
    }

    /// Events appended but not yet committed. The bounded path into the store compares this
    /// with its limit: the queue itself is unbounded, so backpressure is the caller's to apply
    /// (stop reading sockets while it is too high).
    pub fn backlog(&self) -> u64 {
        self.backlog.load(Ordering::Relaxed)
    }

    /// Blocks until everything queued before this call is committed (or a commit failed: the
    /// error is returned and the data stays queued for a retry).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.ask(Msg::Flush)
    }

    /// [`WriterHandle::flush`], then writes the statistics and each node's last event time
    /// counted so far (the writer keeps them in memory for up to two seconds): afterwards
    /// [`Store::stats`] and [`Store::last_events`] count everything appended before the call.
    pub fn flush_stats(&self) -> Result<(), StoreError> {
        self.ask(Msg::FlushStats)
    }

    /// Sends the writer a request and waits for its answer.
    fn ask(
        &self,
        request: impl FnOnce(SyncSender<Result<(), StoreError>>) -> Msg,
    ) -> Result<(), StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(request(reply))?;
        answer.recv().map_err(|_| StoreError::WriterStopped)?
    }

    /// Calls `on_durable` (on the writer thread: keep it short, e.g. a channel send) once
    /// everything queued before this call has committed. Unlike [`WriterHandle::flush`] it
    /// returns at once, and the writer commits soon (within a couple of milliseconds, not a
    /// whole commit interval), so callers waiting at the same time share one commit. If the
    /// writer stops with the data still uncommitted, `on_durable` is dropped without a call.
    /// Fails only when the writer has stopped.
    pub fn when_durable(
        &self,
        on_durable: impl FnOnce() + Send + 'static,
    ) -> Result<(), StoreError> {
        self.send(Msg::Receipt(Receipt::new(on_durable)))
    }

    /// Every commit from now on, in id order, as one `Arc<Committed>` per transaction that
    /// stored events. A subscriber that falls [`SUBSCRIBER_CAPACITY`] commits behind is
    /// dropped (the writer never waits for it): its receiver then reports disconnection after
    /// the buffered commits, and it should catch up from the store (`Store::events` after the
    /// last id it handled) and subscribe again, skipping ids it has already seen.
    pub fn subscribe(&self) -> Receiver<Arc<Committed>> {
        self.subscribe_with_capacity(SUBSCRIBER_CAPACITY)
    }

    /// [`WriterHandle::subscribe`] with a chosen buffer (in commits, at least 1).
    pub fn subscribe_with_capacity(&self, capacity: usize) -> Receiver<Arc<Committed>> {
        self.subscribers.add(capacity.max(1))
    }

    /// Counters for metrics and `/ready`.
    pub fn metrics(&self) -> WriterMetrics {
        self.shared.snapshot(self.backlog())
    }

    /// Why the last commit failed, while the failure lasts (`None` once a commit succeeds).
    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error()
    }

    fn fleet(&self, op: FleetOp) -> Result<(), StoreError> {
        self.send(Msg::Fleet(op))
    }

    fn send(&self, msg: Msg) -> Result<(), StoreError> {
        self.inbox.send(msg).map_err(|_| StoreError::WriterStopped)
    }

    /// Inserts or replaces a node's record (keyed by its primary id, which is also linked to
    /// itself as one of its ids).
    pub fn upsert_node(&self, node: NodeRow) -> Result<(), StoreError> {
        self.fleet(FleetOp::UpsertNode(node))
    }

    /// Records that `alias_id` is another id of the node whose primary id is `node_id`
    /// (re-pointing it if it belonged to another node).
    pub fn link_node_id(&self, node_id: NodeId, alias_id: NodeId) -> Result<(), StoreError> {
        self.fleet(FleetOp::LinkNodeId { node_id, alias_id })
    }

    /// Inserts or replaces a pot's last known state.
    pub fn upsert_pot(&self, pot: PotRow) -> Result<(), StoreError> {
        self.fleet(FleetOp::UpsertPot(pot))
    }

    /// Marks a pot whose actor kept crashing: the registry does not start it again.
    pub fn abandon_pot(&self, node_id: NodeId, pot_id: String) -> Result<(), StoreError> {
        self.fleet(FleetOp::AbandonPot { node_id, pot_id })
    }

    /// Appends a pot transition to its history.
    pub fn append_pot_transition(&self, transition: TransitionRow) -> Result<(), StoreError> {
        self.fleet(FleetOp::PotTransition(transition))
    }

    /// Appends a node status change (the newest [`crate::HISTORY_LOADED`] per node are kept).
    pub fn append_node_status(
        &self,
        node_id: NodeId,
        at: SystemTime,
        from: Option<NodeStatus>,
        to: NodeStatus,
    ) -> Result<(), StoreError> {
        let row = NodeStatusRow { at, from, to };
        self.fleet(FleetOp::NodeStatus { node_id, row })
    }

    /// Creates a command's record or updates its status and result.
    pub fn upsert_command(&self, command: CommandRow) -> Result<(), StoreError> {
        self.fleet(FleetOp::UpsertCommand(command))
    }

    /// Appends a state-changing request to the audit log.
    pub fn append_audit(&self, entry: AuditRow) -> Result<(), StoreError> {
        self.fleet(FleetOp::AppendAudit(entry))
    }

    /// Creates or replaces an operator's override of one pot's desired state.
    pub fn set_override(&self, row: OverrideRow) -> Result<(), StoreError> {
        self.fleet(FleetOp::SetOverride(row))
    }

    /// Records that an operator holds a pot stopped (`held`), or no longer does.
    pub fn set_hold(&self, node_id: NodeId, pot_id: String, held: bool) -> Result<(), StoreError> {
        self.fleet(FleetOp::SetHold {
            node_id,
            pot_id,
            held,
        })
    }

    /// Forgets an override (the fleet file's entry changed, or the override was replaced).
    pub fn drop_override(&self, node_id: NodeId, pot_id: String) -> Result<(), StoreError> {
        self.fleet(FleetOp::DropOverride { node_id, pot_id })
    }

    /// Creates or replaces a node identity (secrets included: the store file is private).
    pub fn upsert_identity(&self, identity: IdentityRow) -> Result<(), StoreError> {
        self.fleet(FleetOp::UpsertIdentity(identity))
    }

    /// Appends a `NodeEvent` (the newest [`crate::HISTORY_LOADED`] per node are kept).
    pub fn append_node_event(
        &self,
        node_id: NodeId,
        at: SystemTime,
        kind: NodeEventKind,
        message: Option<String>,
    ) -> Result<(), StoreError> {
        let row = NodeEventRow { at, kind, message };
        self.fleet(FleetOp::NodeEvent { node_id, row })
    }

    /// Stores a newly opened alert and appends `open` to the alert-change log.
    pub fn open_alert(&self, alert: crate::alert::AlertRow) -> Result<(), StoreError> {
        self.fleet(FleetOp::OpenAlert(alert))
    }

    /// Marks an open alert cleared at `at` and appends `cleared` to the alert-change log.
    pub fn clear_alert(&self, alert_id: u64, at: SystemTime) -> Result<(), StoreError> {
        self.fleet(FleetOp::ClearAlert { alert_id, at })
    }

    /// Records an output sink's position (replacing the previous one).
    pub fn set_output_position(
        &self,
        position: crate::output::OutputPosition,
    ) -> Result<(), StoreError> {
        self.fleet(FleetOp::OutputPosition(position))
    }

    /// Adds an item a receiver refused for good to its sink's dead-letter list.
    pub fn dead_letter(&self, letter: crate::output::DeadLetter) -> Result<(), StoreError> {
        self.fleet(FleetOp::DeadLetter(letter))
    }

    /// Adds threat-intel indicators not stored yet (a known value keeps its `date_added`).
    pub fn add_indicators(
        &self,
        indicators: Vec<crate::output::Indicator>,
    ) -> Result<(), StoreError> {
        if indicators.is_empty() {
            return Ok(());
        }
        self.fleet(FleetOp::AddIndicators(indicators))
    }
}

/// Keeps a `Mutex` usable after a panic elsewhere (the data it guards stays consistent: every
/// critical section is a single push, retain or replace).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
