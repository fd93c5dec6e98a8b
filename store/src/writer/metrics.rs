//! Counters the writer thread updates and any thread reads: for `/metrics` and `/ready`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::lock;

/// Upper bounds (seconds) of the commit-duration histogram buckets; a last `+Inf` bucket is
/// implied (it is `commits`).
pub const COMMIT_SECONDS_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A snapshot of the writer's counters.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterMetrics {
    /// Events appended but not yet committed.
    pub backlog: u64,
    /// Events committed since start.
    pub events_committed: u64,
    /// Transactions committed since start.
    pub commits: u64,
    /// Cumulative counts per [`COMMIT_SECONDS_BUCKETS`] bound (Prometheus `le` buckets).
    pub commit_seconds_buckets: [u64; COMMIT_SECONDS_BUCKETS.len()],
    /// Total time spent committing.
    pub commit_seconds_sum: f64,
    /// Events deleted by retention since start.
    pub events_pruned: u64,
    /// Commits that failed (and were retried) since start.
    pub commit_failures: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Shared {
    events_committed: AtomicU64,
    commits: AtomicU64,
    buckets: [AtomicU64; COMMIT_SECONDS_BUCKETS.len()],
    commit_micros_sum: AtomicU64,
    events_pruned: AtomicU64,
    commit_failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn committed(&self, events: u64, took: Duration) {
        self.events_committed.fetch_add(events, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        for (bound, bucket) in COMMIT_SECONDS_BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.commit_micros_sum.fetch_add(micros, Ordering::Relaxed);
        let mut last = lock(&self.last_error);
        if last.is_some() {
            *last = None;
        }
    }

    pub(crate) fn failed(&self, error: String) {
        self.commit_failures.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_error) = Some(error);
    }

    pub(crate) fn pruned(&self, events: u64) {
        self.events_pruned.fetch_add(events, Ordering::Relaxed);
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    pub(crate) fn snapshot(&self, backlog: u64) -> WriterMetrics {
        WriterMetrics {
            backlog,
            events_committed: self.events_committed.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            commit_seconds_buckets: std::array::from_fn(|i| {
                self.buckets[i].load(Ordering::Relaxed)
            }),
            commit_seconds_sum: self.commit_micros_sum.load(Ordering::Relaxed) as f64 / 1e6,
            events_pruned: self.events_pruned.load(Ordering::Relaxed),
            commit_failures: self.commit_failures.load(Ordering::Relaxed),
        }
    }
}
