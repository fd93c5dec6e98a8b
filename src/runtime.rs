//! Running the Core: `serve` (until SIGINT/SIGTERM) and [`CoreThread`], a Core on its own
//! thread and actix `System`, for tests, benchmarks and embedding.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use actix::prelude::*;
use actix_rt::{ArbiterHandle, System};
use honeybee_actors::{ConnectionLimits, Registry};
use honeybee_store::Store;

use crate::config::Config;
use crate::server::{Core, StartError, Tuning};

/// Runs the Core until SIGINT or SIGTERM, then shuts it down cleanly. SIGHUP reopens the
/// export file (log rotation).
pub fn serve(config: Config) -> Result<(), StartError> {
    System::new().block_on(async move {
        let core = Core::start(&config, &Tuning::default()).await?;
        let mut signals = Signals::new();
        while let Signal::Reload = signals.next().await {
            log::info!("SIGHUP: reopening the export file and reloading the API tokens.");
            core.reload();
        }
        log::info!("Signal received; shutting down.");
        core.shutdown().await;
        Ok(())
    })
}

enum Signal {
    Stop,
    Reload,
}

/// SIGINT/SIGTERM (stop) and SIGHUP (reload).
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind, name| match signal(kind) {
                Ok(s) => Some(s),
                Err(e) => {
                    log::warn!("Cannot listen for {name}: {e}.");
                    None
                }
            };
            Signals {
                term: listen(SignalKind::terminate(), "SIGTERM"),
                hup: listen(SignalKind::hangup(), "SIGHUP"),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            let term = async {
                match &mut self.term {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let hup = async {
                match &mut self.hup {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => Signal::Stop,
                _ = term => Signal::Stop,
                _ = hup => Signal::Reload,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Stop
        }
    }
}

/// A Core running on its own thread. Dropping it shuts the Core down.
#[derive(Debug)]
pub struct CoreThread {
    pub node_addr: SocketAddr,
    pub api_addr: SocketAddr,
    /// The store's read side (for checking what was stored).
    pub store: Store,
    registry: Addr<Registry>,
    limits: ConnectionLimits,
    ingest: std::sync::Arc<honeybee_actors::pipeline::Ingest>,
    /// The live feed (subscribe to watch node, pot, command and alert changes).
    pub feed: honeybee_actors::feed::Feed,
    /// The Core's counters (what `/metrics` reports).
    pub counters: std::sync::Arc<honeybee_actors::counters::Counters>,
    system: ArbiterHandle,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Longest wait for an answer from the Core's thread.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);

impl CoreThread {
    /// Starts a Core with `config` and waits until it listens.
    pub fn start(config: Config) -> Result<CoreThread, StartError> {
        CoreThread::start_tuned(config, Tuning::default())
    }

    /// [`CoreThread::start`] with engine [`Tuning`].
    pub fn start_tuned(config: Config, tuning: Tuning) -> Result<CoreThread, StartError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("honeybee-core".into())
            .spawn(move || {
                System::new().block_on(async move {
                    let core = match Core::start(&config, &tuning).await {
                        Ok(core) => core,
                        Err(e) => return drop(ready_tx.send(Err(e))),
                    };
                    let handle = (
                        (core.node_addr, core.api_addr()),
                        core.store(),
                        core.registry.clone(),
                        core.limits(),
                        (core.ingest(), core.feed.clone(), core.counters.clone()),
                        Arbiter::current(),
                    );
                    let _ = ready_tx.send(Ok(handle));
                    // Wait for the stop request off the runtime's threads.
                    let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
                    core.shutdown().await;
                });
            })
            .map_err(StartError::Thread)?;
        let ((node_addr, api_addr), store, registry, limits, shared, system) = match ready_rx.recv()
        {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(StartError::Thread(std::io::Error::other(
                    "the Core's thread ended before it started",
                )));
            }
        };
        let (ingest, feed, counters) = shared;
        Ok(CoreThread {
            node_addr,
            api_addr,
            store,
            registry,
            limits,
            ingest,
            feed,
            counters,
            system,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Events accepted but not yet committed.
    pub fn ingest_backlog(&self) -> u64 {
        self.ingest.backlog()
    }

    /// Node connections open right now.
    pub fn connections(&self) -> usize {
        self.limits.open()
    }

    /// Sends `message` to the registry and waits for its answer.
    pub fn ask<M>(&self, message: M) -> Result<M::Result, MailboxError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        Registry: Handler<M>,
    {
        let (tx, rx) = mpsc::channel();
        let registry = self.registry.clone();
        self.system.spawn(async move {
            let _ = tx.send(registry.send(message).await);
        });
        rx.recv_timeout(ASK_TIMEOUT)
            .map_err(|_| MailboxError::Timeout)?
    }

    /// Shuts the Core down and waits for its thread.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for CoreThread {
    fn drop(&mut self) {
        self.stop_now();
    }
}
