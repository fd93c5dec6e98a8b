//! The outputs (OUTPUTS.md): every `[[outputs]]` sink runs as one follower of the store from its
//! own durable position (migration 8's `output_positions`), on a thread and actix `System` of
//! its own, so a slow or dead receiver never slows ingestion, storage or another sink. Beside
//! them runs the threat-intel indexer (`intel_index.rs`), a follower that records attacker
//! values as they are first seen for the TAXII collection.
//!
//! ```text
//!  store writer ── commit ──► wake thread ──notify──► follower "soc-syslog" ──► rsyslog
//!       ▲                                        ├──► follower "splunk"     ──► HEC
//!       │ positions, dead letters, indicators    └──► indexer "_intel"
//!       └──────────────── (writer queue) ◄────────────────────┘
//! ```
//!
//! At shutdown the Core first stores every accepted event, then [`Outputs::finish`] gives the
//! followers a bounded time to send what is stored; what they could not send is sent from
//! their positions at the next start.

mod bulk;
mod cef;
mod deliver;
mod ecs;
mod follower;
mod hec;
mod http;
mod intel_index;
pub mod item;
mod rate;
pub mod rfc5424;
mod shared;
mod syslog;
mod tls;
mod webhook;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix::Recipient;
use honeybee_actors::registry::CoreAlert;
use honeybee_store::{OutputPosition, Store, StoreError, WriterHandle};

use crate::config::outputs::{OutputConfig, SinkConfig, Transport};
use deliver::Sender;
use follower::Follower;
pub use shared::{Control, OutputsView, SinkShared, SinkStatus};
pub use tls::Redactor;
pub use webhook::signature;

/// The name under which the threat-intel indexer keeps its position (sink names cannot start
/// with `_`).
pub const INTEL_INDEXER: &str = "_intel";

/// How long the outputs may take at shutdown to send what is stored (the rest goes from their
/// positions at the next start).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the outputs could not start.
#[derive(Debug, thiserror::Error)]
pub enum OutputsError {
    #[error("outputs: TLS: {0}")]
    Tls(String),
    #[error("outputs: store: {0}")]
    Store(#[from] StoreError),
    #[error("outputs: cannot start a thread: {0}")]
    Thread(std::io::Error),
}

struct Running {
    control: Arc<Control>,
    thread: JoinHandle<()>,
}

/// The running outputs.
pub struct Outputs {
    running: Vec<Running>,
    view: OutputsView,
    wake_stop: Arc<AtomicBool>,
    wake: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outputs")
            .field("sinks", &self.view.sinks.len())
            .finish_non_exhaustive()
    }
}

impl Outputs {
    /// Starts a follower per sink and the intel indexer, each from its stored position.
    /// `alerts` receives `output_lagging` raises and clears.
    pub fn start(
        sinks: &[OutputConfig],
        store: Store,
        writer: WriterHandle,
        alerts: Option<Recipient<CoreAlert>>,
    ) -> Result<Outputs, OutputsError> {
        let positions = store.output_positions()?;
        let now = OutputPosition {
            sink: String::new(),
            last_event_id: store.last_event_id()?.unwrap_or(0),
            last_alert_seq: store.last_alert_seq()?,
            skipped: 0,
        };
        // A new sink starting from the oldest event starts at the oldest still stored: events
        // pruned before it existed were never its to send (not "skipped").
        let oldest = OutputPosition {
            last_event_id: store
                .events(&honeybee_store::EventQuery {
                    limit: Some(1),
                    ..honeybee_store::EventQuery::default()
                })?
                .events
                .first()
                .map_or(0, |e| e.id - 1),
            ..OutputPosition::default()
        };
        let position_of = |name: &str, start_now: bool| {
            let first = if start_now {
                now.clone()
            } else {
                oldest.clone()
            };
            positions
                .iter()
                .find(|p| p.sink == name)
                .cloned()
                .unwrap_or(OutputPosition {
                    sink: name.to_owned(),
                    ..first
                })
        };
        let mut running = Vec::new();
        let mut shared = Vec::new();
        for config in sinks {
            let sink_shared = Arc::new(SinkShared::new(config));
            let control = Arc::new(Control::default());
            let tls = sink_tls(config)?;
            let pos = position_of(&config.name, config.start_now);
            log::info!(
                "Output {} ({}) to {} from event {} and alert change {} on.",
                config.name,
                config.type_name(),
                sink_shared.target,
                pos.last_event_id + 1,
                pos.last_alert_seq + 1
            );
            let follower = Follower {
                config: config.clone(),
                store: store.clone(),
                writer: writer.clone(),
                shared: Arc::clone(&sink_shared),
                control: Arc::clone(&control),
                alerts: alerts.clone(),
                pos,
            };
            let thread = std::thread::Builder::new()
                .name(format!("honeybee-out-{}", config.name))
                .spawn(move || {
                    background_priority();
                    actix_rt::System::new().block_on(async move {
                        let sender = sender(&follower.config, tls);
                        follower.run(sender).await;
                    });
                })
                .map_err(OutputsError::Thread)?;
            shared.push(sink_shared);
            running.push(Running { control, thread });
        }
        let indexer = intel_index::start(store, writer.clone(), position_of(INTEL_INDEXER, false))?;
        running.push(indexer);
        let wake_stop = Arc::new(AtomicBool::new(false));
        let controls: Vec<Arc<Control>> = running.iter().map(|r| Arc::clone(&r.control)).collect();
        let wake = wake_thread(writer, controls, Arc::clone(&wake_stop))?;
        Ok(Outputs {
            running,
            view: OutputsView {
                sinks: Arc::new(shared),
            },
            wake_stop,
            wake: Some(wake),
        })
    }

    /// At shutdown, once no event is accepted any more: stores everything queued, then
    /// [`Outputs::finish`] with [`SHUTDOWN_GRACE`]. Blocking: run it off the async threads,
    /// before the store writer shuts down.
    pub fn finish_after_flush(self, writer: &WriterHandle) {
        if let Err(e) = writer.flush() {
            log::error!("Could not store every accepted event before the outputs stopped: {e}.");
        }
        self.finish(SHUTDOWN_GRACE);
    }

    pub fn view(&self) -> OutputsView {
        self.view.clone()
    }

    /// Gives every follower up to `grace` to send what is stored, then stops them (their
    /// positions are queued to the writer, which must still run). Blocking.
    pub fn finish(mut self, grace: Duration) {
        self.stop(grace);
    }

    fn stop(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        for r in &self.running {
            *r.control
                .deadline
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(deadline);
            r.control.stop.store(true, Ordering::Relaxed);
            r.control.wake.notify_one();
            r.control.halt.notify_one();
        }
        for r in self.running.drain(..) {
            let _ = r.thread.join();
        }
        self.wake_stop.store(true, Ordering::Relaxed);
        if let Some(wake) = self.wake.take() {
            let _ = wake.join();
        }
    }
}

impl Drop for Outputs {
    /// Outputs dropped without [`Outputs::finish`] (the Core failed to start after them) stop
    /// at once; their positions are where they were.
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

/// The TLS client configuration a sink needs, if any (read at start: a bad `ca` stops the Core
/// with the file named).
fn sink_tls(config: &OutputConfig) -> Result<Option<Arc<rustls::ClientConfig>>, OutputsError> {
    match &config.sink {
        SinkConfig::Syslog(s) if s.transport == Transport::Tls => {
            let client = s.cert.as_deref().zip(s.key.as_deref());
            tls::client_config(s.ca.as_deref(), client).map(Some)
        }
        SinkConfig::Syslog(_) => Ok(None),
        SinkConfig::SplunkHec(h) => tls::client_config(h.ca.as_deref(), None).map(Some),
        SinkConfig::Webhook(w) => tls::client_config(w.ca.as_deref(), None).map(Some),
        SinkConfig::Elasticsearch(e) => tls::client_config(e.ca.as_deref(), None).map(Some),
    }
}

/// The sink of a config (inside its thread's `System`: awc needs one).
fn sender(config: &OutputConfig, tls: Option<Arc<rustls::ClientConfig>>) -> Sender {
    // Every HTTP sink has a TLS configuration from `sink_tls`.
    let http = |tls: Option<Arc<rustls::ClientConfig>>| {
        tls.map_or_else(awc::Client::default, |t| {
            tls::http_client(t, config.timeout)
        })
    };
    match &config.sink {
        SinkConfig::Syslog(s) => Sender::Syslog(Box::new(syslog::SyslogSink::new(
            s.clone(),
            tls,
            config.timeout,
        ))),
        SinkConfig::SplunkHec(h) => Sender::Hec(Box::new(hec::HecSink::new(
            h.clone(),
            http(tls),
            Redactor::new([h.token.expose().to_owned()]),
        ))),
        SinkConfig::Webhook(w) => Sender::Webhook(Box::new(webhook::WebhookSink::new(
            w.clone(),
            config.batch_size > 1,
            http(tls),
            Redactor::new([w.secret.expose().to_owned()]),
        ))),
        SinkConfig::Elasticsearch(e) => {
            let secrets = [e.password.as_ref(), e.api_key.as_ref()]
                .into_iter()
                .flatten()
                .map(|s| s.expose().to_owned());
            Sender::Bulk(Box::new(bulk::BulkSink::new(
                e.clone(),
                http(tls),
                Redactor::new(secrets),
            )))
        }
    }
}

/// Wakes every follower at each commit of the store writer. A subscription dropped for
/// lagging is taken again; the thread ends when the outputs stop.
fn wake_thread(
    writer: WriterHandle,
    controls: Vec<Arc<Control>>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, OutputsError> {
    std::thread::Builder::new()
        .name("honeybee-out-wake".into())
        .spawn(move || {
            let mut commits = writer.subscribe_with_capacity(4);
            while !stop.load(Ordering::Relaxed) {
                match commits.recv_timeout(Duration::from_millis(200)) {
                    Ok(_) => {
                        for c in &controls {
                            c.wake.notify_one();
                        }
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        commits = writer.subscribe_with_capacity(4);
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
        })
        .map_err(OutputsError::Thread)
}

/// How much lower than the rest of the Core the outputs' threads run (a nice increment).
const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority: when ingestion and the sinks want more CPU than
/// there is, ingestion gets it and the sinks fall behind (their lag is a metric), catching up
/// when the machine has time. Linux applies `setpriority` to one thread when given its id.
fn background_priority() {
    let tid = rustix::thread::gettid();
    let current = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
    if let Err(e) = rustix::process::setpriority_process(Some(tid), current + BACKGROUND_NICE) {
        log::debug!("Cannot lower an output thread's priority: {e}.");
    }
}
