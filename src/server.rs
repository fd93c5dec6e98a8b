//! Starting and stopping the Core. `Core::start` runs named steps — open the store, start the
//! registry, start the outputs, start the node listener (and its session arbiters), start the
//! API — and `Core::shutdown` is the one shutdown sequence.

mod fleet;
mod listener;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_rt::Arbiter;
use honeybee_actors::auth::gate::IdentityGate;
use honeybee_actors::auth::identities::IdentityBook;
use honeybee_actors::counters::Counters;
use honeybee_actors::feed::Feed;
use honeybee_actors::pipeline::Ingest;
use honeybee_actors::policy::FleetFile;
use honeybee_actors::registry::{BeginShutdown, FinishShutdown, SetFleetFile, overrides_from};
use honeybee_actors::session::SessionDeps;
use honeybee_actors::{ConnectionLimits, Registry};
use honeybee_store::{Fleet, Store};
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;

use crate::api::access::{self, TokensFileWatch};
use crate::api::auth::Tokens;
use crate::api::server::{ApiServer, ApiState};
use crate::config::Config;
use crate::net::{self, TlsError};
use crate::outputs::{Outputs, OutputsView};
use crate::storage::{Storage, StorageError};
use fleet::{alert_book, feed_events, load_fleet_file, settle_unfinished_commands};
use listener::{AcceptLoop, max_connections};

/// Why the Core could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind the node listener to {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS on the node port: {0}")]
    Tls(#[from] TlsError),
    #[error("TLS on the node port: tls.enabled needs tls.cert and tls.key")]
    TlsFilesMissing,
    #[error("cannot start the Core's thread: {0}")]
    Thread(std::io::Error),
    #[error("store: {0}")]
    Storage(#[from] StorageError),
    #[error("API tokens: {0}")]
    Tokens(String),
    #[error("{0}")]
    FleetFile(String),
    #[error("{0}")]
    Outputs(#[from] crate::outputs::OutputsError),
}

/// Engine settings that are not configuration: sizes chosen for production, which tests and
/// benchmarks may shrink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// Events accepted but not yet committed before reads pause (the bound of the path into
    /// the store).
    pub ingest_max_backlog: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            ingest_max_backlog: honeybee_actors::pipeline::IngestSettings::default().max_backlog,
        }
    }
}

/// A running Core (inside an actix `System`).
#[derive(Debug)]
pub struct Core {
    pub node_addr: SocketAddr,
    pub registry: Addr<Registry>,
    limits: ConnectionLimits,
    /// Turned true at shutdown: the accept loop and every session watch it.
    stop: watch::Sender<bool>,
    arbiters: Vec<Arbiter>,
    storage: Storage,
    api: ApiServer,
    close_grace: Duration,
    /// The live feed and the counters the registry and sessions write (tests read them).
    pub feed: Feed,
    pub counters: Arc<Counters>,
    /// Notified on SIGHUP: the tokens file is read again.
    reload_tokens: Arc<tokio::sync::Notify>,
    /// `fleet.file`, read again on SIGHUP (with the config's `pots.allowed_sources`).
    fleet_file: Option<std::path::PathBuf>,
    config: Config,
    /// The sinks following the store.
    outputs: Outputs,
}

impl Core {
    /// Starts everything; must run inside an actix `System`. Nothing is bound if the TLS files
    /// are unusable.
    pub async fn start(config: &Config, tuning: &Tuning) -> Result<Core, StartError> {
        let tls = node_tls(config)?;
        let limits = ConnectionLimits::new(
            max_connections(config.limits.max_connections),
            config.limits.max_unregistered,
        );
        let (storage, fleet) = Storage::open(config, tuning)?;
        let (feed, counters) = (Feed::default(), Arc::new(Counters::default()));
        feed_events(&storage.writer(), feed.clone()).map_err(StartError::Thread)?;
        let registry = start_registry(config, &storage, fleet, (&feed, &counters))?;
        let outputs = Outputs::start(
            &config.outputs,
            storage.store.clone(),
            storage.writer(),
            Some(registry.clone().recipient()),
        )?;
        let (stop, stopping) = watch::channel(false);
        let deps = SessionDeps {
            registry: registry.clone(),
            settings: Arc::new(config.session_settings()),
            ingest: Arc::clone(&storage.ingest),
            counters: Arc::clone(&counters),
            shutdown: stopping.clone(),
        };
        let close_grace = deps.settings.close_grace;
        let (node_addr, arbiters) = start_node_listener(config, tls, &limits, deps)?;
        actix_rt::spawn(Storage::watch_disk(
            storage.disk_low_flag(),
            config.storage.dir.clone(),
            config.storage.min_free_disk_mb,
            registry.clone().recipient(),
            stopping,
        ));
        let (api, reload_tokens) = start_api(
            config,
            &storage,
            &stop,
            ApiParts {
                registry: registry.clone(),
                limits: limits.clone(),
                feed: feed.clone(),
                counters: Arc::clone(&counters),
                outputs: outputs.view(),
            },
        )?;
        Ok(Core {
            node_addr,
            registry,
            limits,
            stop,
            arbiters,
            storage,
            api,
            close_grace,
            feed,
            counters,
            reload_tokens,
            fleet_file: config.fleet.file.clone(),
            config: config.clone(),
            outputs,
        })
    }

    /// Where the HTTP API listens.
    pub fn api_addr(&self) -> SocketAddr {
        self.api.addr
    }

    /// The connection counters (open and unregistered connections right now).
    pub fn limits(&self) -> ConnectionLimits {
        self.limits.clone()
    }

    /// Refuses new registrations, stops accepting, closes every session (each flushes what it
    /// was writing), waits for them up to their grace period, then stops the session arbiters.
    pub async fn shutdown(self) {
        self.api.stop().await;
        let connected = self.registry.send(BeginShutdown).await.unwrap_or(0);
        let _ = self.stop.send(true);
        log::info!(
            "Shutting down: closing {} connections ({connected} registered nodes).",
            self.limits.open()
        );
        let deadline = Instant::now() + self.close_grace + Duration::from_secs(1);
        while self.limits.open() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if self.limits.open() > 0 {
            log::warn!(
                "{} connections did not close in time; dropping them.",
                self.limits.open()
            );
        }
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
        let arbiters = self.arbiters;
        let _ = tokio::task::spawn_blocking(move || {
            for arbiter in arbiters {
                let _ = arbiter.join();
            }
        })
        .await;
        log::info!("Node listener stopped.");
        // Every pot actor stops once it has done what it was sent (a session's end included):
        // their store writes are queued before the store closes.
        let _ = self.registry.send(FinishShutdown).await;
        // The sinks get what the writer stored last (or go on from their positions next time).
        let (storage, outputs) = (self.storage, self.outputs);
        let _ = tokio::task::spawn_blocking(move || {
            outputs.finish_after_flush(&storage.writer());
            storage.close();
        })
        .await;
    }

    /// The store's read side.
    pub fn store(&self) -> Store {
        self.storage.store.clone()
    }

    /// Events accepted from nodes so far.
    pub fn ingest(&self) -> Arc<Ingest> {
        Arc::clone(&self.storage.ingest)
    }

    /// What SIGHUP reloads: the export file is reopened and the tokens file read again.
    pub fn reload(&self) {
        self.storage.reopen_export();
        self.reload_tokens.notify_one();
        if let Some(path) = &self.fleet_file {
            match load_fleet_file(path, &self.config) {
                Ok(desired) => {
                    log::info!("Fleet file {} reloaded.", path.display());
                    self.registry.do_send(SetFleetFile(desired));
                }
                Err(e) => log::error!("{e}; keeping the desired state in use."),
            }
        }
    }
}

/// TLS on the node port, when `tls.enabled`.
fn node_tls(config: &Config) -> Result<Option<TlsAcceptor>, StartError> {
    let tls = &config.tls;
    if !tls.enabled {
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&tls.cert, &tls.key) else {
        return Err(StartError::TlsFilesMissing);
    };
    let server = net::server_config(cert, key, tls.client_ca.as_deref())?;
    Ok(Some(net::acceptor(server)))
}

/// The registry, from everything the store kept: identities (their replay guard is exact:
/// every accepted step was durable before its ack), the fleet with its pots, command ids,
/// open alerts, the desired state and holds.
fn start_registry(
    config: &Config,
    storage: &Storage,
    fleet: Fleet,
    (feed, counters): (&Feed, &Arc<Counters>),
) -> Result<Addr<Registry>, StartError> {
    let store = &storage.store;
    let identities = store.load_identities().map_err(StorageError::from)?;
    let book = IdentityBook::new(config.auth_settings(), identities);
    let last_command_id = store.last_command_id().map_err(StorageError::from)?;
    settle_unfinished_commands(storage)?;
    let fleet_file = match &config.fleet.file {
        Some(path) => load_fleet_file(path, config).map_err(StartError::FleetFile)?,
        None => FleetFile::default(),
    };
    let holds = store.load_holds().map_err(StorageError::from)?;
    let overrides = overrides_from(store.load_overrides().map_err(StorageError::from)?);
    Ok(Registry::new(
        config.registry_settings(),
        Box::new(IdentityGate::new(book, storage.writer())),
        (storage.writer(), store.clone()),
        fleet,
    )
    .with_outputs(feed.clone(), Arc::clone(counters))
    .with_command_ids_after(last_command_id)
    .with_alerts(alert_book(storage)?, config.alerts.reconnect_grace)
    .with_desired_state(fleet_file, overrides, holds)
    .start())
}

/// The node listener and its accept loop, handing connections to one session arbiter per
/// core; where it listens, and the arbiters.
fn start_node_listener(
    config: &Config,
    tls: Option<TlsAcceptor>,
    limits: &ConnectionLimits,
    deps: SessionDeps,
) -> Result<(SocketAddr, Vec<Arbiter>), StartError> {
    let addr = SocketAddr::new(config.server.host, config.server.node_port);
    let bind = |source| StartError::Bind { addr, source };
    let listener = net::bind_listener(addr, net::LISTEN_BACKLOG).map_err(bind)?;
    let node_addr = listener.local_addr().map_err(bind)?;
    log::info!(
        "Listening for nodes on {node_addr} ({}).",
        if tls.is_some() { "TLS" } else { "plain TCP" }
    );
    if tls.is_none() && !node_addr.ip().is_loopback() {
        log::warn!(
            "TLS is off and the node listener is not on loopback: keys handed out at \
             enrollment travel in clear text. Set tls.enabled = true."
        );
    }
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let arbiters: Vec<Arbiter> = (0..workers).map(|_| Arbiter::new()).collect();
    let accept = AcceptLoop {
        limits: limits.clone(),
        arbiters: arbiters.iter().map(Arbiter::handle).collect(),
        tls,
        deps,
    };
    actix_rt::spawn(accept.run(listener));
    Ok((node_addr, arbiters))
}

/// What the API shares with the rest of the Core.
struct ApiParts {
    registry: Addr<Registry>,
    limits: ConnectionLimits,
    feed: Feed,
    counters: Arc<Counters>,
    outputs: OutputsView,
}

/// The HTTP API (HTTPS when configured) with its tokens, the tokens file watched; the API and
/// what SIGHUP notifies to read the tokens file again.
fn start_api(
    config: &Config,
    storage: &Storage,
    stop: &watch::Sender<bool>,
    parts: ApiParts,
) -> Result<(ApiServer, Arc<Notify>), StartError> {
    let generated =
        access::generated_token(config).map_err(|e| StartError::Tokens(e.to_string()))?;
    let tokens = Tokens::new(config.api.token.clone(), config.api.read_tokens.clone())
        .with_generated(generated);
    let reload_tokens = Arc::new(Notify::new());
    let tokens_watch = TokensFileWatch::start(
        config.api.tokens_file.clone(),
        tokens.clone(),
        storage.writer(),
    )
    .map_err(|e| StartError::Tokens(e.to_string()))?;
    actix_rt::spawn(tokens_watch.watch(stop.subscribe(), Arc::clone(&reload_tokens)));
    let api_addr = SocketAddr::new(config.api.host, config.api.port);
    let api_tls = match (&config.api.tls_cert, &config.api.tls_key) {
        (Some(cert), Some(key)) => Some(net::server_config(cert, key, None)?),
        _ => None,
    };
    let api_scheme = if api_tls.is_some() { "https" } else { "http" };
    let state = ApiState {
        registry: parts.registry,
        store: storage.store.clone(),
        writer: storage.writer(),
        ingest: Arc::clone(&storage.ingest),
        disk_low: storage.disk_low_flag(),
        started: Instant::now(),
        limits: parts.limits,
        exported: storage.exported_counter(),
        tokens,
        public_metrics: config.api.public_metrics,
        feed: parts.feed,
        counters: parts.counters,
        tickets: Default::default(),
        max_body_bytes: config.api.max_body_bytes,
        allowed_sources: Arc::new(config.pots.allowed_sources.clone()),
        outputs: parts.outputs,
        intel: Arc::new(config.intel.clone()),
        unauthorized: Arc::default(),
        health_counts: Arc::default(),
        ui: crate::ui::UiState::new(crate::ui::UiSettings {
            idle: config.api.ui_session_idle,
            max: config.api.ui_session_max,
            https: api_tls.is_some(),
            trusted_proxies: config.api.trusted_proxies.clone(),
        }),
        // Replaced by the API server's own signal when it starts.
        closing: watch::channel(false).1,
    };
    let api = ApiServer::start(api_addr, state, api_tls).map_err(|source| StartError::Bind {
        addr: api_addr,
        source,
    })?;
    log::info!("HTTP API listening on {api_scheme}://{}.", api.addr);
    Ok((api, reload_tokens))
}
