//! Silence: a `Running` pot that has sent no event for `pots.silence_alert_secs` raises an
//! alert (a honeypot that nobody probes for an hour is usually broken or unreachable).

use std::time::{Duration, Instant};

/// Whether a pot `Running` since `running_since`, whose last event came at `last_event`, has
/// been silent for `limit` at `now` — counting from the later of the two. A `limit` of zero
/// turns the check off.
pub fn silent(
    running_since: Instant,
    last_event: Option<Instant>,
    now: Instant,
    limit: Duration,
) -> bool {
    if limit.is_zero() {
        return false;
    }
    let since = last_event.map_or(running_since, |event| event.max(running_since));
    now.saturating_duration_since(since) >= limit
}
