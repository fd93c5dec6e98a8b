//! Starting and stopping the Core: the registry, the session arbiters (one per core), the node
//! listener and its accept loop, and the one shutdown sequence.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_rt::{Arbiter, ArbiterHandle};
use honeybee_actors::auth::admission::BookAdmission;
use honeybee_actors::auth::book::{AuthSettings, Enrollment, IdentityBook};
use honeybee_actors::log_limit::LogLimiter;
use honeybee_actors::pipeline::Ingest;
use honeybee_actors::registry::{BeginShutdown, ListNodes};
use honeybee_actors::session::{NodeReader, NodeWriter, SessionDeps};
use honeybee_actors::{
    CommandSettings, ConnectionLimits, ConnectionPermit, NodeSession, Registry, RegistrySettings,
    SessionSettings, limited_log,
};
use honeybee_store::Store;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::api::access::{self, TokensFileWatch};
use crate::api::auth::Tokens;
use crate::api::server::{ApiServer, ApiState};
use crate::config::{self, Config};
use crate::net::{self, FdLimit, TlsError};
use crate::storage::{Storage, StorageError};
use honeybee_actors::alerts::{Alert, AlertBook};
use honeybee_actors::counters::Counters;
use honeybee_actors::feed::{Change, EVENTS_PER_CHANGE, Feed};
use honeybee_actors::policy::FleetFile;
use honeybee_actors::policy::RestartLimits;
use honeybee_actors::registry::{KeepSettings, SetFleetFile, overrides_from};

/// File descriptors kept free for the store, logs and the API when deriving
/// `limits.max_connections` from the open-file limit.
const RESERVED_FDS: u64 = 512;
/// How long accept pauses when the process is out of file descriptors.
const EMFILE_BACKOFF: Duration = Duration::from_millis(100);

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
    outputs: crate::outputs::Outputs,
}

impl Core {
    /// Starts everything; must run inside an actix `System`. Nothing is bound if the TLS files
    /// are unusable.
    pub async fn start(config: &Config, tuning: &Tuning) -> Result<Core, StartError> {
        let settings = Arc::new(session_settings(config));
        let tls = match &config.tls {
            t if t.enabled => {
                let (Some(cert), Some(key)) = (&t.cert, &t.key) else {
                    return Err(StartError::TlsFilesMissing);
                };
                Some(net::acceptor(net::server_config(
                    cert,
                    key,
                    t.client_ca.as_deref(),
                )?))
            }
            _ => None,
        };
        let limits = ConnectionLimits::new(
            max_connections(config.limits.max_connections),
            config.limits.max_unregistered,
        );
        let (storage, fleet) = Storage::open(config, tuning)?;
        let identities = storage
            .store
            .load_identities()
            .map_err(StorageError::from)?;
        // Every accepted step was durable before its ack: the stored guard is exact.
        let book = IdentityBook::new(auth_settings(config), identities);
        let last_command_id = storage
            .store
            .last_command_id()
            .map_err(StorageError::from)?;
        settle_unfinished_commands(&storage)?;
        let fleet_desired = match &config.fleet.file {
            Some(path) => load_fleet_file(path, config).map_err(StartError::FleetFile)?,
            None => FleetFile::default(),
        };
        let holds = storage.store.load_holds().map_err(StorageError::from)?;
        let overrides = overrides_from(storage.store.load_overrides().map_err(StorageError::from)?);
        let feed = Feed::default();
        feed_events(&storage.writer(), feed.clone()).map_err(StartError::Thread)?;
        let counters = Arc::new(Counters::default());
        let registry = Registry::new(
            RegistrySettings {
                strict_version: config.protocol.strict_version,
                max_nodes: usize::try_from(config.auth.max_nodes).unwrap_or(usize::MAX),
                commands: command_settings(config),
                ..RegistrySettings::default()
            },
            Box::new(BookAdmission::new(book, storage.writer())),
            storage.writer(),
            fleet,
        )
        .with_outputs(feed.clone(), Arc::clone(&counters))
        .with_command_ids_after(last_command_id)
        .with_alerts(alert_book(&storage)?, config.alerts.reconnect_grace)
        .with_desired_state(keep_settings(config), fleet_desired, overrides)
        .with_holds(holds)
        .start();

        let outputs = crate::outputs::Outputs::start(
            &config.outputs,
            storage.store.clone(),
            storage.writer(),
            Some(registry.clone().recipient()),
        )?;
        let addr = SocketAddr::new(config.server.host, config.server.node_port);
        let listener = net::bind_listener(addr, net::LISTEN_BACKLOG)
            .map_err(|source| StartError::Bind { addr, source })?;
        let node_addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
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
        let (stop, stopping) = watch::channel(false);
        actix_rt::spawn(Storage::watch_disk(
            storage.disk_low_flag(),
            config.storage.dir.clone(),
            config.storage.min_free_disk_mb,
            registry.clone().recipient(),
            stopping.clone(),
        ));
        let accept = AcceptLoop {
            limits: limits.clone(),
            arbiters: arbiters.iter().map(Arbiter::handle).collect(),
            tls,
            deps: SessionDeps {
                registry: registry.clone(),
                settings: Arc::clone(&settings),
                ingest: Arc::clone(&storage.ingest),
                counters: Arc::clone(&counters),
                shutdown: stopping,
            },
        };
        actix_rt::spawn(accept.run(listener));

        let generated =
            access::generated_token(config).map_err(|e| StartError::Tokens(e.to_string()))?;
        let tokens = Tokens::new(config.api.token.clone(), config.api.read_tokens.clone())
            .with_generated(generated);
        let reload_tokens = Arc::new(tokio::sync::Notify::new());
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
        let api = ApiServer::start(
            api_addr,
            ApiState {
                registry: registry.clone(),
                store: storage.store.clone(),
                writer: storage.writer(),
                ingest: Arc::clone(&storage.ingest),
                disk_low: storage.disk_low_flag(),
                started: Instant::now(),
                limits: limits.clone(),
                exported: storage.exported_counter(),
                tokens: tokens.clone(),
                public_metrics: config.api.public_metrics,
                feed: feed.clone(),
                counters: Arc::clone(&counters),
                tickets: Default::default(),
                max_body_bytes: config.api.max_body_bytes,
                allowed_sources: Arc::new(command_settings(config).allowed_sources),
                outputs: outputs.view(),
                intel: Arc::new(config.intel.clone()),
                unauthorized: Arc::default(),
                health_counts: Arc::default(),
                // Replaced by the API server's own signal when it starts.
                closing: watch::channel(false).1,
            },
            api_tls,
        )
        .map_err(|source| StartError::Bind {
            addr: api_addr,
            source,
        })?;
        log::info!("HTTP API listening on {api_scheme}://{}.", api.addr);
        Ok(Core {
            node_addr,
            registry,
            limits,
            stop,
            arbiters,
            storage,
            api,
            close_grace: settings.close_grace,
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
        // Round trips through the registry: every fleet change sent before them (a session's
        // end, a pot's last report and the pot actor's answer to it) is queued to the store
        // before the store closes.
        for _ in 0..3 {
            let _ = self.registry.send(ListNodes).await;
        }
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

/// The identity book's settings from `auth.*`. `auth.totp_exempt` entries that are numbers are
/// node ids (and names, in case a node is called that); others are names.
fn auth_settings(config: &Config) -> AuthSettings {
    let auth = &config.auth;
    AuthSettings {
        totp: auth.totp,
        enrollment: match auth.enrollment {
            config::Enrollment::Open => Enrollment::Open,
            config::Enrollment::Approve => Enrollment::Approve,
            config::Enrollment::Closed => Enrollment::Closed,
        },
        exempt_ids: auth
            .totp_exempt
            .iter()
            .filter_map(|e| e.parse().ok())
            .collect(),
        exempt_names: auth.totp_exempt.iter().cloned().collect(),
        max_failures: auth.max_failures,
        lockout: auth.lockout,
        max_identities_per_source: auth.max_identities_per_source,
        max_new_per_minute: auth.max_new_per_minute,
        max_nodes: usize::try_from(auth.max_nodes).unwrap_or(usize::MAX),
    }
}

fn command_settings(config: &Config) -> CommandSettings {
    CommandSettings {
        timeout: config.commands.timeout,
        install_timeout: config.commands.install_timeout,
        list_window: config.commands.list_window,
        // The config check parsed every entry already.
        allowed_sources: honeybee_protocol::AllowedSources::new(&config.pots.allowed_sources)
            .unwrap_or_default(),
        ..CommandSettings::default()
    }
}

fn session_settings(config: &Config) -> SessionSettings {
    SessionSettings {
        max_frame_bytes: config.protocol.max_frame_bytes,
        registration_timeout: config.protocol.registration_timeout,
        heartbeat_timeout: config.protocol.heartbeat_timeout,
        max_bad_frames_per_minute: config.protocol.max_bad_frames_per_minute,
        ..SessionSettings::default()
    }
}

/// `limits.max_connections`, with 0 derived from the open-file limit (raised to its hard limit
/// first); warns when the limit cannot hold what was configured.
fn max_connections(configured: usize) -> usize {
    let limit = match net::raise_fd_limit() {
        Ok(limit) => limit,
        Err(e) => {
            log::warn!("Cannot read or raise the open-file limit: {e}.");
            FdLimit {
                soft: 1024,
                hard: 1024,
            }
        }
    };
    let usable = limit.soft.saturating_sub(RESERVED_FDS) as usize;
    log::info!(
        "Open-file limit {} (hard {}); up to {usable} node connections fit.",
        limit.soft,
        limit.hard
    );
    match configured {
        0 => usable.max(1),
        n if n > usable => {
            log::warn!(
                "limits.max_connections = {n} is above what the open-file limit {} allows \
                 (~{usable}); accepts past that will fail and back off.",
                limit.soft
            );
            n
        }
        n => n,
    }
}

/// Accepts node connections and starts each session on the next arbiter.
struct AcceptLoop {
    limits: ConnectionLimits,
    arbiters: Vec<ArbiterHandle>,
    tls: Option<TlsAcceptor>,
    deps: SessionDeps,
}

impl AcceptLoop {
    async fn run(self, listener: TcpListener) {
        let mut next = 0usize;
        let mut refusals = LogLimiter::new(5, Duration::from_secs(60));
        let mut stop = self.deps.shutdown.clone();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|stopping| *stopping) => break,
            };
            match accepted {
                Ok((tcp, peer)) => {
                    let permit = match self.limits.admit(peer.ip()) {
                        Ok(permit) => permit,
                        Err(why) => {
                            limited_log!(
                                refusals,
                                warn,
                                "Refused connection from {peer}: {}.",
                                why.reason()
                            );
                            continue;
                        }
                    };
                    let Ok(std) = tcp.into_std() else { continue };
                    let arbiter = &self.arbiters[next % self.arbiters.len()];
                    next = next.wrapping_add(1);
                    arbiter.spawn(start_session(
                        std,
                        NewConnection {
                            peer,
                            permit,
                            registration_deadline: Instant::now()
                                + self.deps.settings.registration_timeout,
                        },
                        self.tls.clone(),
                        self.deps.clone(),
                    ));
                }
                Err(e) if net::is_fd_exhaustion(&e) => {
                    limited_log!(
                        refusals,
                        warn,
                        "Out of file descriptors ({e}); pausing accept."
                    );
                    tokio::time::sleep(EMFILE_BACKOFF).await;
                }
                Err(e) => log::debug!("Accept failed: {e}."),
            }
        }
        log::info!("Stopped accepting node connections.");
    }
}

thread_local! {
    /// TLS handshake failures logged per arbiter thread.
    static HANDSHAKE_LOG: RefCell<LogLimiter> = const {
        RefCell::new(LogLimiter::new(5, Duration::from_secs(60)))
    };
}

/// An accepted connection on its way to a session.
struct NewConnection {
    peer: SocketAddr,
    permit: ConnectionPermit,
    /// The TLS handshake and the registration share `protocol.registration_timeout`.
    registration_deadline: Instant,
}

/// Runs on a session arbiter: adopts the socket, completes TLS if on, starts the session.
async fn start_session(
    std: std::net::TcpStream,
    conn: NewConnection,
    tls: Option<TlsAcceptor>,
    deps: SessionDeps,
) {
    let peer = conn.peer;
    let tcp = match TcpStream::from_std(std) {
        Ok(tcp) => tcp,
        Err(e) => return log::warn!("Cannot adopt the connection from {peer}: {e}."),
    };
    let _ = tcp.set_nodelay(true);
    let handshake_deadline = tokio::time::Instant::from_std(conn.registration_deadline);
    let start = move |reader: NodeReader, writer: NodeWriter| {
        NodeSession::start(
            reader,
            writer,
            peer,
            conn.permit,
            deps,
            conn.registration_deadline,
        );
    };
    let Some(acceptor) = tls else {
        let (reader, writer) = tcp.into_split();
        return start(Box::new(reader), Box::new(writer));
    };
    match tokio::time::timeout_at(handshake_deadline, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => {
            let (reader, writer) = tokio::io::split(stream);
            start(Box::new(reader), Box::new(writer));
        }
        Ok(Err(e)) => HANDSHAKE_LOG.with_borrow_mut(|limiter| {
            limited_log!(limiter, info, "TLS handshake with {peer} failed: {e}.");
        }),
        Err(_) => HANDSHAKE_LOG.with_borrow_mut(|limiter| {
            limited_log!(limiter, info, "TLS handshake with {peer} timed out.");
        }),
    }
}

/// Publishes every commit of stored events to the live feed, in chunks of at most
/// [`EVENTS_PER_CHANGE`], from a thread of its own (the writer hands commits over a channel;
/// publishing never waits). It ends with the writer.
fn feed_events(writer: &honeybee_store::WriterHandle, feed: Feed) -> std::io::Result<()> {
    let commits = writer.subscribe();
    std::thread::Builder::new()
        .name("honeybee-feed".into())
        .spawn(move || {
            while let Ok(commit) = commits.recv() {
                if !feed.listened() {
                    continue;
                }
                if commit.events.len() <= EVENTS_PER_CHANGE {
                    feed.publish(Change::Events(commit));
                    continue;
                }
                for chunk in commit.events.chunks(EVENTS_PER_CHANGE) {
                    feed.publish(Change::Events(Arc::new(honeybee_store::Committed {
                        events: chunk.to_vec(),
                    })));
                }
            }
        })
        .map(drop)
}

/// Commands a crash left `pending` or `sent` can never be settled (the node's answer went to
/// the old process, and queues live in memory): they are stored as failed, saying why.
fn settle_unfinished_commands(storage: &Storage) -> Result<(), StorageError> {
    let unfinished = storage.store.unfinished_commands()?;
    if unfinished.is_empty() {
        return Ok(());
    }
    log::warn!(
        "{} command(s) were still pending or sent when the Core last stopped; marking them failed.",
        unfinished.len()
    );
    let result = serde_json::json!({
        "message": "the Core stopped before this command finished"
    })
    .to_string();
    let now = std::time::SystemTime::now();
    for mut row in unfinished {
        row.status = "failed".to_owned();
        row.result = Some(result.clone());
        row.updated_at = now;
        storage.writer().upsert_command(row)?;
    }
    Ok(())
}

/// The registry's alert book: the stored open alerts, ids continuing after the largest stored.
fn alert_book(storage: &Storage) -> Result<AlertBook, StorageError> {
    let last_id = storage.store.last_alert_id()?;
    let open = storage.store.open_alerts()?.into_iter().filter_map(|row| {
        let (id, kind) = (row.alert_id, row.kind.clone());
        let alert = Alert::from_row(row);
        if alert.is_none() {
            log::warn!(
                "Stored alert {id} has a type this build does not know ({kind:?}); it stays \
                 open in the store."
            );
        }
        alert
    });
    Ok(AlertBook::restore(last_id, open))
}

/// The fleet file's desired state, checked against `pots.allowed_sources`.
fn load_fleet_file(path: &std::path::Path, config: &Config) -> Result<FleetFile, String> {
    let allowed = command_settings(config).allowed_sources;
    crate::fleet_file::load(path, &allowed).map_err(|e| e.to_string())
}

/// Restart policies and limits from `pots.*` and `nodes.*`.
fn keep_settings(config: &Config) -> KeepSettings {
    let (pots, nodes) = (&config.pots, &config.nodes);
    KeepSettings {
        pot_policy: pots.restart,
        pot_limits: RestartLimits {
            max_restarts: pots.max_restarts,
            window: pots.restart_window,
            backoff_initial: pots.backoff_initial,
            backoff_max: pots.backoff_max,
        },
        node_policy: nodes.restart,
        node_max_restarts: nodes.max_restarts,
        node_window: nodes.restart_window,
        silence: pots.silence_alert,
    }
}
