//! The writer thread's loop: receive, batch, commit when a batch is full or its oldest op has
//! waited `commit_interval`, count the batch's statistics, publish, prune; write the counted
//! statistics when due. A failed commit keeps its batch queued and is retried with backoff (the
//! backlog grows, which is what upstream backpressure watches).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::aggregate::Aggregates;
use super::checkpoint::{self, Checkpointer};
use super::commit::{self, Position};
use super::inbox::Inbox;
use super::metrics::Shared;
use super::queue::{Batch, Op, Queue};
use super::retention::{CHUNK, Retention};
use super::subscribers::Subscribers;
use super::{Msg, WriterOptions};
use crate::convert::time_from_micros;
use crate::error::StoreError;
use crate::event::{Committed, StoredEvent};

const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Commit attempts at shutdown before queued data is given up.
const SHUTDOWN_ATTEMPTS: u32 = 10;
/// A WAL file larger than this makes the writer checkpoint between two of its transactions.
const WAL_RESET_BYTES: u64 = 256 << 20;
/// At most one log line per this long about the same kind of failure.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// The longest a receipt waits for its batch to start committing: receipts (registrations
/// waiting for their TOTP step to be durable) that arrive within this window, or while a
/// commit is under way, share the next commit.
const GROUP_COMMIT_WINDOW: Duration = Duration::from_millis(2);

pub(crate) struct Writer {
    conn: Connection,
    checkpointer: Checkpointer,
    inbox: Arc<Inbox>,
    options: WriterOptions,
    backlog: Arc<AtomicU64>,
    subscribers: Arc<Subscribers>,
    shared: Arc<Shared>,
    queue: Queue,
    pos: Position,
    /// Statistics and last events counted from committed batches, not yet in their tables.
    stats: Aggregates,
    retention: Retention,
    /// Events committed since pruning last caught up: pruning may delete as many while busy.
    prune_credit: i64,
    retry_at: Option<Instant>,
    backoff: Duration,
    last_log: Option<Instant>,
    wal: PathBuf,
    last_wal_checkpoint: Option<Instant>,
}

impl Writer {
    pub(crate) fn new(
        conn: Connection,
        db: &Path,
        inbox: Arc<Inbox>,
        options: WriterOptions,
        backlog: Arc<AtomicU64>,
        subscribers: Arc<Subscribers>,
        shared: Arc<Shared>,
    ) -> Result<Self, StoreError> {
        let pos = commit::load_position(&conn)?;
        let stats = Aggregates::recount(&conn)?;
        let checkpointer = Checkpointer::spawn(db)?;
        let retention = Retention::new(options.retention_days, options.max_events);
        Ok(Writer {
            conn,
            checkpointer,
            inbox,
            options: WriterOptions {
                max_batch: options.max_batch.max(1),
                ..options
            },
            backlog,
            subscribers,
            shared,
            queue: Queue::default(),
            pos,
            stats,
            retention,
            prune_credit: 0,
            retry_at: None,
            backoff: FIRST_BACKOFF,
            last_log: None,
            wal: PathBuf::from(format!("{}-wal", db.display())),
            last_wal_checkpoint: None,
        })
    }

    pub(crate) fn run(mut self) -> Result<(), StoreError> {
        let mut msgs = Vec::new();
        loop {
            let holding = !self.queue.is_empty();
            self.inbox.receive(self.wake_at(), holding, &mut msgs);
            let mut stop = false;
            for msg in msgs.drain(..) {
                stop |= self.take(msg);
            }
            if stop {
                return self.finish();
            }
            self.commit_due();
            self.maintain();
        }
    }

    /// Queues or answers one message; true for the shutdown.
    fn take(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Events(events) => self.queue.push(Op::Events(events), Instant::now()),
            Msg::Fleet(change) => self.queue.push(Op::Fleet(Box::new(change)), Instant::now()),
            Msg::Receipt(receipt) => self.queue.push(Op::Receipt(receipt), Instant::now()),
            Msg::Flush(reply) => {
                let _ = reply.send(self.commit_all());
            }
            Msg::FlushStats(reply) => {
                let _ = reply.send(self.commit_all().and_then(|()| self.write_stats()));
            }
            Msg::Shutdown => return true,
        }
        false
    }

    /// Until when the loop may sleep: until the oldest queued op is due, a retry, pruning, a
    /// retention refresh or the statistics are; `None` = until the next message.
    fn wake_at(&self) -> Option<Instant> {
        let now = Instant::now();
        let mut wake = self
            .batch_due()
            .map(|due| self.retry_at.map_or(due, |retry| retry.max(due)));
        if self.retention.has_work() && (self.queue.is_empty() || self.prune_credit > 0) {
            wake = Some(now);
        }
        if let Some(refresh) = self.retention.next_refresh() {
            wake = Some(wake.map_or(refresh, |w| w.min(refresh)));
        }
        if let Some(stats) = self.stats.due_at() {
            let stats = self.retry_at.map_or(stats, |retry| retry.max(stats));
            wake = Some(wake.map_or(stats, |w| w.min(stats)));
        }
        wake
    }

    fn commit_due(&mut self) {
        while !self.queue.is_empty() {
            let now = Instant::now();
            if self.retry_at.is_some_and(|retry| now < retry) {
                return;
            }
            let full = self.queue.events() >= self.options.max_batch;
            // Statistics that are due go with the queued ops, which commit early for them.
            let due = self.batch_due().is_some_and(|due| now >= due) || self.stats.due(now);
            if !(full || due) || self.commit_one().is_err() {
                return;
            }
        }
        // Nothing queued to carry the statistics: they go in a transaction of their own.
        let now = Instant::now();
        if self.stats.due(now) && self.retry_at.is_none_or(|retry| now >= retry) {
            let _ = self.write_stats();
        }
    }

    /// When the queued ops must start committing: one commit interval after the oldest
    /// arrived, or one group-commit window after the oldest receipt.
    fn batch_due(&self) -> Option<Instant> {
        let interval = self
            .queue
            .oldest()
            .map(|at| at + self.options.commit_interval);
        let receipt = self
            .queue
            .first_receipt()
            .map(|at| at + GROUP_COMMIT_WINDOW.min(self.options.commit_interval));
        interval.into_iter().chain(receipt).min()
    }

    /// Commits everything queued (a flush), retrying nothing: the first failure is returned.
    fn commit_all(&mut self) -> Result<(), StoreError> {
        while !self.queue.is_empty() {
            self.commit_one()?;
        }
        Ok(())
    }

    fn commit_one(&mut self) -> Result<(), StoreError> {
        let mut batch = self.queue.take_batch(self.options.max_batch);
        let started = Instant::now();
        let stats = self.stats.due(started).then_some(&self.stats);
        let with_stats = stats.is_some();
        match commit::write_batch(&self.conn, self.pos, &batch, stats) {
            Ok((pos, received)) => {
                let first_id = self.pos.next_id;
                self.pos = pos;
                if with_stats {
                    self.stats.clear();
                }
                for ((event, &at), id) in batch.events().zip(&received).zip(first_id..) {
                    self.stats.add(id, at, event);
                }
                let n = batch.events as u64;
                self.backlog.fetch_sub(n, Ordering::Relaxed);
                self.shared.committed(n, started.elapsed());
                self.retry_at = None;
                self.backoff = FIRST_BACKOFF;
                if self.retention.has_work() {
                    self.prune_credit += batch.events as i64;
                }
                for receipt in batch.take_receipts() {
                    receipt.answer();
                }
                self.publish(batch, first_id, &received);
                self.bound_wal();
                Ok(())
            }
            Err(e) => {
                self.queue.put_back(batch);
                Err(self.failed(&e))
            }
        }
    }

    /// Writes the statistics counted so far in a transaction of their own.
    fn write_stats(&mut self) -> Result<(), StoreError> {
        if self.stats.is_empty() {
            return Ok(());
        }
        let written = self.conn.unchecked_transaction().and_then(|tx| {
            self.stats.write(&tx)?;
            tx.commit()
        });
        match written {
            Ok(()) => {
                self.stats.clear();
                self.retry_at = None;
                self.backoff = FIRST_BACKOFF;
                Ok(())
            }
            Err(e) => Err(self.failed(&e)),
        }
    }

    /// Records a failed transaction: shown by metrics and `/ready`, retried after a backoff.
    fn failed(&mut self, e: &rusqlite::Error) -> StoreError {
        let message = e.to_string();
        self.shared.failed(message.clone());
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        if self.should_log() {
            log::error!(
                "Store commit failed ({message}); {} events queued, retrying.",
                self.queue.events()
            );
        }
        StoreError::Commit(message)
    }

    fn publish(&self, batch: Batch, first_id: i64, received: &[i64]) {
        if batch.events == 0 || self.subscribers.is_empty() {
            return;
        }
        let events = batch
            .into_events()
            .zip(received)
            .zip(first_id..)
            .map(|((event, &at), id)| {
                let mut stored = StoredEvent::from_new(id as u64, event);
                stored.received_at = time_from_micros(at);
                stored
            })
            .collect();
        self.subscribers.publish(Committed { events });
    }

    /// Keeps the WAL bounded under sustained load. The checkpoint thread copies pages while
    /// the writer keeps appending, so the log may never be fully copied at the moment a new
    /// transaction starts, which is when SQLite restarts it from the beginning. When the file
    /// passes [`WAL_RESET_BYTES`], the writer finishes the copy itself between two
    /// transactions (PASSIVE: it never waits for readers), at most once a second.
    fn bound_wal(&mut self) {
        let now = Instant::now();
        if self
            .last_wal_checkpoint
            .is_some_and(|at| now < at + Duration::from_secs(1))
            || std::fs::metadata(&self.wal).map_or(0, |m| m.len()) <= WAL_RESET_BYTES
        {
            return;
        }
        self.last_wal_checkpoint = Some(now);
        if let Err(e) = checkpoint::checkpoint(&self.conn, "PASSIVE")
            && e.sqlite_error_code() != Some(rusqlite::ErrorCode::DatabaseBusy)
            && self.should_log()
        {
            log::warn!("Store WAL checkpoint failed ({e}).");
        }
    }

    /// Retention between batches: one chunk per loop turn while idle, and while busy as many
    /// events as were committed meanwhile (so a count cap holds under sustained load).
    fn maintain(&mut self) {
        if !self.retention.enabled() {
            return;
        }
        let result = self
            .retention
            .refresh_if_due(&self.conn, self.pos)
            .and_then(|()| {
                if self.retention.has_work() && (self.queue.is_empty() || self.prune_credit > 0) {
                    let n = self.retention.prune_chunk(&self.conn)?;
                    self.shared.pruned(n);
                    self.prune_credit -= CHUNK;
                }
                Ok(())
            });
        if !self.retention.has_work() || self.prune_credit < 0 {
            self.prune_credit = 0;
        }
        if let Err(e) = result
            && self.should_log()
        {
            log::warn!("Store retention failed ({e}); retrying later.");
        }
    }

    fn should_log(&mut self) -> bool {
        let now = Instant::now();
        if self.last_log.is_some_and(|at| now < at + LOG_EVERY) {
            return false;
        }
        self.last_log = Some(now);
        true
    }

    /// Takes what is still in the inbox, commits everything (retrying a few times), stops.
    fn finish(mut self) -> Result<(), StoreError> {
        let mut msgs = Vec::new();
        self.inbox.take(&mut msgs);
        for msg in msgs {
            self.take(msg);
        }
        let mut result = self.commit_all().and_then(|()| self.write_stats());
        for _ in 1..SHUTDOWN_ATTEMPTS {
            if result.is_ok() {
                break;
            }
            std::thread::sleep(self.backoff);
            result = self.commit_all().and_then(|()| self.write_stats());
        }
        self.checkpointer.stop();
        // Leave a small WAL behind, but never wait long for a reader (a backup) to do so.
        let _ = self.conn.busy_timeout(Duration::from_millis(500));
        if let Err(e) = checkpoint::checkpoint(&self.conn, "TRUNCATE") {
            log::warn!("Store WAL checkpoint at shutdown failed ({e}).");
        }
        if let Err(e) = &result {
            log::error!(
                "Store writer stopping with {} events it could not store: {e}.",
                self.queue.events()
            );
        }
        result
    }
}

impl Drop for Writer {
    /// However the thread ends (a panic included), senders learn that it stopped.
    fn drop(&mut self) {
        self.inbox.close();
    }
}
