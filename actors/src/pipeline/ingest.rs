//! The bounded path into the store. Sessions hand every decoded event to the store writer
//! through [`Ingest`] and then ask whether to pause reading their socket:
//!
//! - per connection, `limits.node_events_per_sec` (a token bucket): a node sending faster is
//!   always read more slowly, whatever the store's state;
//! - globally, the writer's backlog (events accepted but not yet committed): above half of
//!   [`IngestSettings::max_backlog`] the busiest connections pause first; above all of it (or
//!   with the disk below `storage.min_free_disk_mb`) every connection pauses on each event.
//!
//! Pausing means not reading: TCP pushes back on the node, nothing is dropped, and a quiet node
//! (heartbeats, status) is never held up by another node's flood.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use honeybee_protocol::{NodeId, PotEvent, Timestamp};
use honeybee_store::{NewEvent, StoreError, TimestampSource, WriterHandle};

use super::normalize::normalize;

/// How the path into the store is bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestSettings {
    /// Events accepted but not yet committed, at most.
    pub max_backlog: u64,
    /// `limits.node_events_per_sec` (0 = no per-node limit).
    pub node_events_per_sec: u32,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            max_backlog: 200_000,
            node_events_per_sec: 2_000,
        }
    }
}

/// How full the path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pressure {
    /// Read freely.
    Clear,
    /// Over half full: the busiest connections pause.
    Busy,
    /// Full, or the disk is low: every connection pauses on each event.
    Full,
}

/// Shared by every session (cheap to clone).
#[derive(Debug, Clone)]
pub struct Ingest {
    writer: WriterHandle,
    settings: IngestSettings,
    disk_low: Arc<AtomicBool>,
    /// The writer refused an event (it stopped): nothing more may be read.
    writer_gone: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    last_warning: Arc<AtomicU64>,
}

/// Seconds between two "ingest is pausing" warnings (all sessions together).
const WARNING_EVERY_SECS: u64 = 10;

impl Ingest {
    pub fn new(writer: WriterHandle, settings: IngestSettings, disk_low: Arc<AtomicBool>) -> Self {
        Ingest {
            writer,
            settings,
            disk_low,
            writer_gone: Arc::default(),
            accepted: Arc::default(),
            last_warning: Arc::default(),
        }
    }

    pub fn settings(&self) -> &IngestSettings {
        &self.settings
    }

    /// Events accepted so far (decoded and handed to the store).
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Events accepted but not yet committed.
    pub fn backlog(&self) -> u64 {
        self.writer.backlog()
    }

    /// Hands one event to the store writer. If the writer has stopped, the event is lost (and
    /// logged by the caller) and from then on the path counts as full, so no more are read.
    pub fn submit(&self, event: NewEvent) -> Result<(), StoreError> {
        if let Err(e) = self.writer.append(vec![event]) {
            self.writer_gone.store(true, Ordering::Relaxed);
            return Err(e);
        }
        self.accepted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub fn pressure(&self) -> Pressure {
        let backlog = self.writer.backlog();
        if backlog >= self.settings.max_backlog
            || self.disk_low.load(Ordering::Relaxed)
            || self.writer_gone.load(Ordering::Relaxed)
        {
            Pressure::Full
        } else if backlog >= self.settings.max_backlog / 2 {
            Pressure::Busy
        } else {
            Pressure::Clear
        }
    }

    /// Logs that reads are pausing, at most every [`WARNING_EVERY_SECS`] for all sessions.
    pub fn warn_paused(&self, why: Pressure) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_warning.load(Ordering::Relaxed);
        if now >= last + WARNING_EVERY_SECS
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let disk = self.disk_low.load(Ordering::Relaxed);
            log::warn!(
                "Event ingest is pausing node connections ({why:?}: {} events waiting for the \
                 store{}); TCP pushes back on the nodes, nothing is dropped.",
                self.backlog(),
                if disk { ", disk space low" } else { "" }
            );
        }
    }
}

/// A connection's own pace: a token bucket of `rate` events per second (burst: one second),
/// and how busy it was in the last second (to pause the busiest first).
#[derive(Debug, Clone)]
pub struct RateGate {
    rate: f64,
    tokens: f64,
    refilled: Instant,
    window_start: Instant,
    in_window: u32,
}

/// Events per second above which a connection counts as busy when the store path is half full.
const BUSY_EVENTS_PER_SEC: u32 = 100;
/// How long a busy connection pauses while the path is half full, and every connection while
/// it is full.
pub const PRESSURE_PAUSE: Duration = Duration::from_millis(20);

impl RateGate {
    /// `rate` events per second; 0 = unlimited.
    pub fn new(rate: u32, now: Instant) -> Self {
        RateGate {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            refilled: now,
            window_start: now,
            in_window: 0,
        }
    }

    /// Counts one event and says how long to stop reading before the next, if at all.
    pub fn on_event(&mut self, now: Instant, pressure: Pressure) -> Option<Duration> {
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.in_window = 0;
        }
        self.in_window = self.in_window.saturating_add(1);
        let own = self.own_pace(now);
        let shared = match pressure {
            Pressure::Clear => None,
            Pressure::Busy if self.in_window > BUSY_EVENTS_PER_SEC => Some(PRESSURE_PAUSE),
            Pressure::Busy => None,
            Pressure::Full => Some(PRESSURE_PAUSE),
        };
        own.max(shared)
    }

    fn own_pace(&mut self, now: Instant) -> Option<Duration> {
        if self.rate <= 0.0 {
            return None;
        }
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.tokens -= 1.0;
        (self.tokens < 0.0).then(|| Duration::from_secs_f64(-self.tokens / self.rate))
    }
}

/// The event as the store keeps it: `pot_type` from the pot's record when the event has none,
/// the receipt time as `timestamp` when the node sent none, and the normalised fields.
pub fn to_new_event(
    node_id: NodeId,
    node_name: &str,
    known_pot_type: Option<&str>,
    event: PotEvent,
    received_at: SystemTime,
) -> NewEvent {
    let normalized = normalize(&event.event_type, &event.data);
    let (timestamp, timestamp_source) = match event.timestamp {
        Some(ts) => (ts.as_str().to_owned(), TimestampSource::Node),
        None => (
            Timestamp::from_system_time(received_at).as_str().to_owned(),
            TimestampSource::Core,
        ),
    };
    NewEvent {
        node_id,
        node_name: node_name.to_owned(),
        pot_type: event
            .pot_type
            .filter(|t| !t.is_empty())
            .or_else(|| known_pot_type.map(str::to_owned)),
        pot_id: event.pot_id,
        event_type: normalized.event_type,
        timestamp,
        timestamp_source,
        received_at,
        src_ip: normalized.src_ip,
        username: normalized.username,
        password: normalized.password,
        command: normalized.command,
        download_url: normalized.download_url,
        sha256: normalized.sha256,
        data: event.data.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pace_is_a_token_bucket() {
        let t0 = Instant::now();
        let mut gate = RateGate::new(10, t0);
        for _ in 0..10 {
            assert_eq!(gate.on_event(t0, Pressure::Clear), None, "a second's burst");
        }
        let pause = gate.on_event(t0, Pressure::Clear).unwrap();
        assert_eq!(pause, Duration::from_millis(100));
        // Half a second later five more are fine.
        let later = t0 + Duration::from_millis(600);
        for _ in 0..5 {
            assert_eq!(gate.on_event(later, Pressure::Clear), None);
        }
    }

    #[test]
    fn shared_pressure_pauses_the_busy_first() {
        let t0 = Instant::now();
        let mut quiet = RateGate::new(0, t0);
        let mut busy = RateGate::new(0, t0);
        for _ in 0..200 {
            busy.on_event(t0, Pressure::Clear);
        }
        assert_eq!(quiet.on_event(t0, Pressure::Busy), None);
        assert_eq!(busy.on_event(t0, Pressure::Busy), Some(PRESSURE_PAUSE));
        assert_eq!(quiet.on_event(t0, Pressure::Full), Some(PRESSURE_PAUSE));
    }

    #[test]
    fn events_are_filled_in() {
        use honeybee_protocol::EventData;
        let event = PotEvent {
            node_id: 1,
            pot_id: "p".into(),
            pot_type: None,
            event_type: "unknown".into(),
            timestamp: None,
            data: EventData::from_map(
                &serde_json::json!({"message": "login attempt [root/x] failed"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        };
        let at = UNIX_EPOCH + Duration::from_secs(1_705_314_600);
        let stored = to_new_event(1, "edge", Some("cowrie"), event, at);
        assert_eq!(stored.pot_type.as_deref(), Some("cowrie"));
        assert_eq!(stored.timestamp, "2024-01-15T10:30:00.000000Z");
        assert_eq!(stored.timestamp_source, TimestampSource::Core);
        assert_eq!(stored.event_type, "cowrie.login.failed");
        assert_eq!(stored.username.as_deref(), Some("root"));
        assert_eq!(stored.node_name, "edge");
    }
}
