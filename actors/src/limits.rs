//! Connection counting for `limits.max_connections` and `limits.max_unregistered`. The counts
//! are two atomic counters shared by the accept loop and the sessions — counters only, never a
//! model of the fleet — held through RAII permits so that a session that ends any way at all,
//! a panic included, gives its slots back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Default)]
struct Counts {
    open: AtomicUsize,
    unregistered: AtomicUsize,
}

/// The limits and the live counts.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    max_open: usize,
    max_unregistered: usize,
    counts: Arc<Counts>,
}

/// Why an accepted connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    TooManyConnections,
    TooManyUnregistered,
}

impl ConnectionLimits {
    pub fn new(max_open: usize, max_unregistered: usize) -> Self {
        ConnectionLimits {
            max_open,
            max_unregistered,
            counts: Arc::default(),
        }
    }

    /// Takes a slot for a new, unregistered connection.
    pub fn admit(&self) -> Result<ConnectionPermit, Refused> {
        if !take(&self.counts.open, self.max_open) {
            return Err(Refused::TooManyConnections);
        }
        if !take(&self.counts.unregistered, self.max_unregistered) {
            self.counts.open.fetch_sub(1, Ordering::AcqRel);
            return Err(Refused::TooManyUnregistered);
        }
        Ok(ConnectionPermit {
            counts: Arc::clone(&self.counts),
            registered: false,
        })
    }

    pub fn open(&self) -> usize {
        self.counts.open.load(Ordering::Acquire)
    }

    pub fn unregistered(&self) -> usize {
        self.counts.unregistered.load(Ordering::Acquire)
    }

    pub fn max_open(&self) -> usize {
        self.max_open
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
    registered: bool,
}

impl ConnectionPermit {
    /// The connection registered: it no longer counts as unregistered.
    pub fn registered(&mut self) {
        if !self.registered {
            self.registered = true;
            self.counts.unregistered.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        if !self.registered {
            self.counts.unregistered.fetch_sub(1, Ordering::AcqRel);
        }
        self.counts.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_count_and_give_back() {
        let limits = ConnectionLimits::new(3, 2);
        let mut a = limits.admit().unwrap();
        let _b = limits.admit().unwrap();
        assert_eq!(limits.admit().unwrap_err(), Refused::TooManyUnregistered);
        a.registered();
        let c = limits.admit().unwrap();
        assert_eq!((limits.open(), limits.unregistered()), (3, 2));
        assert_eq!(limits.admit().unwrap_err(), Refused::TooManyConnections);
        drop(c);
        drop(a);
        assert_eq!((limits.open(), limits.unregistered()), (1, 1));
    }
}
