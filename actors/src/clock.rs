//! The Core's clock: wall time at the microsecond precision the store keeps, so that what is
//! in memory and what a restarted Core reads back are equal.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, truncated to whole microseconds.
pub(crate) fn now() -> SystemTime {
    let now = SystemTime::now();
    match now.duration_since(UNIX_EPOCH) {
        Ok(since) => UNIX_EPOCH + Duration::from_micros(since.as_micros() as u64),
        Err(_) => now,
    }
}
