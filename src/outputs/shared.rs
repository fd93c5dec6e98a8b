//! What a sink's follower shares with the rest of the Core: its stop and wake-up signals
//! ([`Control`]), and its counters and status ([`SinkShared`]) that `GET /api/v1/outputs` and
//! the metrics read.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use honeybee_store::OutputPosition;

use crate::config::outputs::{OutputConfig, SinkConfig, Transport};

/// What a follower and the outside share: stop and wake-up signals.
#[derive(Debug, Default)]
pub struct Control {
    pub(super) stop: AtomicBool,
    pub(super) wake: tokio::sync::Notify,
    /// Told once, at the stop: cuts a backoff short (commits do not).
    pub(super) halt: tokio::sync::Notify,
    pub(super) deadline: Mutex<Option<Instant>>,
}

impl Control {
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Time left before the stop deadline, once a stop has begun.
    pub(super) fn time_left(&self) -> Option<Duration> {
        let deadline = *self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    pub(super) fn past_deadline(&self) -> bool {
        self.deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|d| Instant::now() >= d)
    }

    /// Sleeps `d`, cut short by a stop.
    pub(super) async fn sleep(&self, d: Duration) {
        let d = if self.stopping() {
            d.min(Duration::from_millis(100))
        } else {
            d
        };
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            () = self.halt.notified() => {}
        }
    }

    /// Waits for a commit (a wake-up) or `d`.
    pub(super) async fn wait(&self, d: Duration) {
        let _ = tokio::time::timeout(d, self.wake.notified()).await;
    }
}

/// A sink's counters and status, read by the API and the metrics.
#[derive(Debug)]
pub struct SinkShared {
    pub name: String,
    pub kind: &'static str,
    pub what: &'static str,
    /// Where it sends (a URL without user information, or `host:port`).
    pub target: String,
    pub sent: AtomicU64,
    pub failures: AtomicU64,
    pub dead: AtomicU64,
    pub lag: AtomicU64,
    pub skipped: AtomicU64,
    status: Mutex<SinkStatus>,
}

/// A sink's status as `GET /api/v1/outputs` shows it.
#[derive(Debug, Clone, Default)]
pub struct SinkStatus {
    pub position: OutputPosition,
    pub last_error: Option<(SystemTime, String)>,
    pub last_success: Option<SystemTime>,
    pub lagging: bool,
    pub state: &'static str,
}

impl SinkShared {
    pub(super) fn new(config: &OutputConfig) -> Self {
        let target = match &config.sink {
            SinkConfig::Syslog(s) => format!(
                "{}://{}",
                match s.transport {
                    Transport::Udp => "udp",
                    Transport::Tcp => "tcp",
                    Transport::Tls => "tls",
                },
                s.address
            ),
            SinkConfig::SplunkHec(h) => h.url.url.clone(),
            SinkConfig::Webhook(w) => w.url.url.clone(),
            SinkConfig::Elasticsearch(e) => e.url.url.clone(),
        };
        SinkShared {
            name: config.name.clone(),
            kind: config.type_name(),
            what: config.what.as_str(),
            target,
            sent: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            dead: AtomicU64::new(0),
            lag: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            status: Mutex::new(SinkStatus {
                state: "starting",
                ..SinkStatus::default()
            }),
        }
    }

    fn with_status(&self, f: impl FnOnce(&mut SinkStatus)) {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub fn status(&self) -> SinkStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn failure(&self, error: &str) {
        self.with_status(|s| {
            s.last_error = Some((SystemTime::now(), error.to_owned()));
            s.state = "retrying";
        });
    }

    pub(super) fn success(&self) {
        self.with_status(|s| {
            s.last_success = Some(SystemTime::now());
            s.state = "running";
        });
    }

    pub(super) fn set_position(&self, position: &OutputPosition) {
        self.with_status(|s| {
            if s.position != *position {
                s.position = position.clone();
            }
            if s.state == "starting" {
                s.state = "running";
            }
        });
    }

    pub(super) fn set_lagging(&self, lagging: bool) {
        self.with_status(|s| s.lagging = lagging);
    }

    pub(super) fn set_state(&self, state: &'static str) {
        self.with_status(|s| s.state = state);
    }
}

/// The sinks as the API sees them.
#[derive(Debug, Clone, Default)]
pub struct OutputsView {
    pub sinks: Arc<Vec<Arc<SinkShared>>>,
}

impl OutputsView {
    pub fn get(&self, name: &str) -> Option<&Arc<SinkShared>> {
        self.sinks.iter().find(|s| s.name == name)
    }
}
