//! Connection counting for `limits.max_connections` and `limits.max_unregistered`, with a
//! per-source share of the unregistered slots so one address cannot lock every node out. The
//! counts are shared by the accept loop and the sessions — counters only, never a model of the
//! fleet — and held through RAII permits, so a session that ends any way at all, a panic
//! included, gives its slots back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Default)]
struct Counts {
    open: AtomicUsize,
    unregistered: AtomicUsize,
    /// Unregistered connections per source address (held for nanoseconds at accept, register
    /// and close).
    unregistered_by_source: Mutex<HashMap<IpAddr, usize>>,
}

impl Counts {
    fn source_counts(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // A panic while holding this lock cannot leave the map inconsistent (single updates).
        self.unregistered_by_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The limits and the live counts.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    max_open: usize,
    max_unregistered: usize,
    max_unregistered_per_source: usize,
    counts: Arc<Counts>,
}

/// Why an accepted connection was refused: a limit it would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    Connections,
    Unregistered,
    UnregisteredFromSource,
}

impl OverLimit {
    pub const fn reason(self) -> &'static str {
        match self {
            OverLimit::Connections => "limits.max_connections reached",
            OverLimit::Unregistered => "limits.max_unregistered reached",
            OverLimit::UnregisteredFromSource => {
                "this address holds its share of limits.max_unregistered"
            }
        }
    }
}

impl ConnectionLimits {
    /// One source may hold a quarter of the unregistered slots (at least 16).
    pub fn new(max_open: usize, max_unregistered: usize) -> Self {
        ConnectionLimits {
            max_open,
            max_unregistered,
            max_unregistered_per_source: (max_unregistered / 4).max(16).min(max_unregistered),
            counts: Arc::default(),
        }
    }

    /// Takes a slot for a new, unregistered connection from `source`.
    pub fn admit(&self, source: IpAddr) -> Result<ConnectionPermit, OverLimit> {
        if !take(&self.counts.open, self.max_open) {
            return Err(OverLimit::Connections);
        }
        if !take(&self.counts.unregistered, self.max_unregistered) {
            self.counts.open.fetch_sub(1, Ordering::AcqRel);
            return Err(OverLimit::Unregistered);
        }
        {
            let mut by_source = self.counts.source_counts();
            let held = by_source.entry(source).or_insert(0);
            if *held >= self.max_unregistered_per_source {
                if *held == 0 {
                    by_source.remove(&source);
                }
                drop(by_source);
                self.counts.unregistered.fetch_sub(1, Ordering::AcqRel);
                self.counts.open.fetch_sub(1, Ordering::AcqRel);
                return Err(OverLimit::UnregisteredFromSource);
            }
            *held += 1;
        }
        Ok(ConnectionPermit {
            counts: Arc::clone(&self.counts),
            source,
            registered: false,
        })
    }

    pub fn open(&self) -> usize {
        self.counts.open.load(Ordering::Acquire)
    }

    pub fn unregistered(&self) -> usize {
        self.counts.unregistered.load(Ordering::Acquire)
    }
}

fn take(counter: &AtomicUsize, max: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok()
}

/// One connection's slot; gives it back when dropped.
#[derive(Debug)]
pub struct ConnectionPermit {
    counts: Arc<Counts>,
    source: IpAddr,
    registered: bool,
}

impl ConnectionPermit {
    /// The connection registered: it no longer counts as unregistered.
    pub fn registered(&mut self) {
        if !self.registered {
            self.registered = true;
            self.release_unregistered();
        }
    }

    fn release_unregistered(&self) {
        self.counts.unregistered.fetch_sub(1, Ordering::AcqRel);
        let mut by_source = self.counts.source_counts();
        if let Some(held) = by_source.get_mut(&self.source) {
            *held -= 1;
            if *held == 0 {
                by_source.remove(&self.source);
            }
        }
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        if !self.registered {
            self.release_unregistered();
        }
        self.counts.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn permits_count_and_give_back() {
        let limits = ConnectionLimits::new(3, 2);
        let mut a = limits.admit(A).unwrap();
        let _b = limits.admit(B).unwrap();
        assert_eq!(limits.admit(A).unwrap_err(), OverLimit::Unregistered);
        a.registered();
        let c = limits.admit(A).unwrap();
        assert_eq!((limits.open(), limits.unregistered()), (3, 2));
        assert_eq!(limits.admit(B).unwrap_err(), OverLimit::Connections);
        drop(c);
        drop(a);
        assert_eq!((limits.open(), limits.unregistered()), (1, 1));
    }

    #[test]
    fn one_source_gets_a_share_of_the_unregistered_slots() {
        let limits = ConnectionLimits::new(10_000, 100);
        let mut held: Vec<_> = (0..25).map(|_| limits.admit(A).unwrap()).collect();
        assert_eq!(
            limits.admit(A).unwrap_err(),
            OverLimit::UnregisteredFromSource
        );
        assert!(limits.admit(B).is_ok(), "another source still gets in");
        held[0].registered();
        let again = limits.admit(A);
        assert!(again.is_ok(), "registering frees the source's slot");
        assert_eq!(limits.counts.source_counts().get(&A), Some(&25));
        drop(held);
        drop(again);
        assert!(limits.counts.source_counts().is_empty());
    }

    #[test]
    fn small_limits_still_admit_up_to_the_global_cap() {
        let limits = ConnectionLimits::new(10, 2);
        let _a = limits.admit(A).unwrap();
        let _b = limits.admit(A).unwrap();
        assert_eq!(limits.admit(A).unwrap_err(), OverLimit::Unregistered);
    }
}
