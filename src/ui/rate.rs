//! Events per minute "now" for the fleet page: a task follows the live feed and counts the
//! events of each commit into per-second buckets; the rate is the sum of the last 60 of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use honeybee_actors::feed::{Change, Feed};
use tokio::sync::broadcast::error::RecvError;

const SECONDS: usize = 61;

/// Events stored per second over the last minute.
#[derive(Debug, Clone)]
pub struct EventRate {
    /// Per second: (unix second, events).
    buckets: Arc<[(AtomicU64, AtomicU64); SECONDS]>,
}

impl Default for EventRate {
    fn default() -> Self {
        EventRate {
            buckets: Arc::new(std::array::from_fn(|_| {
                (AtomicU64::new(0), AtomicU64::new(0))
            })),
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl EventRate {
    fn add(&self, events: u64) {
        let second = now_secs();
        let (at, count) = &self.buckets[(second % SECONDS as u64) as usize];
        if at.swap(second, Ordering::Relaxed) != second {
            count.store(0, Ordering::Relaxed);
        }
        count.fetch_add(events, Ordering::Relaxed);
    }

    /// Events stored in the last 60 whole seconds.
    pub(crate) fn per_minute(&self) -> u64 {
        let now = now_secs();
        self.buckets
            .iter()
            .filter(|(at, _)| {
                let at = at.load(Ordering::Relaxed);
                at < now && now - at <= 60
            })
            .map(|(_, count)| count.load(Ordering::Relaxed))
            .sum()
    }

    /// Follows `feed` until it closes (run on the API's actix System).
    pub(crate) fn follow(&self, feed: &Feed, mut closing: tokio::sync::watch::Receiver<bool>) {
        let mut changes = feed.subscribe();
        let rate = self.clone();
        actix_rt::spawn(async move {
            loop {
                tokio::select! {
                    _ = closing.wait_for(|c| *c) => return,
                    change = changes.recv() => match change {
                        Ok(change) => {
                            if let Change::Events(commit) = &*change {
                                rate.add(commit.events.len() as u64);
                            }
                        }
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        });
    }
}
