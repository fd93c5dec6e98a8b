//! The fleet: checks what the machine allows, starts one task per node (at `--connect-rate`),
//! runs the timers of the whole run (duration, half-drop), and stops everything cleanly. Also
//! the handle that runs a fleet on its own thread, for tests and embedding.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::SimConfig;
use crate::driver::{DropOrder, NodeSpec, Shared, Signals, SimNode};
use crate::misbehave::Misbehaviour;
use crate::report::Report;
use crate::rng::Rng;
use crate::scale::{self, ScaleError};
use crate::stats::Stats;
use crate::tls::{Tls, TlsError};

/// How long nodes get to say goodbye when the run stops.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid settings:\n{0}")]
    Config(String),
    #[error("cannot resolve the Core address {core:?}: {cause}")]
    Resolve { core: String, cause: String },
    #[error(transparent)]
    Scale(#[from] ScaleError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the simulator thread panicked")]
    Panicked,
}

/// Signals to a running fleet. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Control {
    stop: Arc<watch::Sender<bool>>,
    drops: Arc<watch::Sender<DropOrder>>,
    /// The share of `--events-per-sec` the fleet sends now (1: all of it), as f64 bits.
    events_share: Arc<AtomicU64>,
}

impl Default for Control {
    fn default() -> Self {
        Control::new()
    }
}

impl Control {
    pub fn new() -> Control {
        Control {
            stop: Arc::new(watch::channel(false).0),
            drops: Arc::new(watch::channel(DropOrder::default()).0),
            events_share: Arc::new(AtomicU64::new(1.0_f64.to_bits())),
        }
    }

    /// Stops the fleet: every node sends `NodeDrop` and closes.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    pub fn is_stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Sends `share` of the configured events rate from now on (0: none, 1: all of it): a
    /// benchmark measures the same fleet idle, then at work.
    pub fn set_events_share(&self, share: f64) {
        self.events_share
            .store(share.max(0.0).to_bits(), Ordering::Relaxed);
    }

    /// Nodes whose index is a multiple of `every` (1: all) drop their connections at once,
    /// without `NodeDrop`, and reconnect after `away` (with a fresh TOTP code).
    pub fn drop_connections(&self, every: usize, away: Duration) {
        self.order_drop(every, away, false);
    }

    fn order_drop(&self, every: usize, away: Duration, half_drop: bool) {
        self.drops.send_modify(|order| {
            *order = DropOrder {
                generation: order.generation + 1,
                every: every.max(1),
                away,
                half_drop,
            }
        });
    }

    fn signals(&self) -> Signals {
        Signals {
            stop: self.stop.subscribe(),
            drops: self.drops.subscribe(),
        }
    }
}

/// A run, checked and ready: the machine can hold it and the Core's address is known.
#[derive(Debug)]
pub struct Prepared {
    config: SimConfig,
    core: SocketAddr,
    tls: Option<Tls>,
    spread: bool,
    /// The open-file limit in force.
    pub fd_limit: u64,
}

/// Checks `config` and the machine: validates the settings, raises the open-file limit to the
/// hard limit and refuses a fleet that does not fit, resolves the Core, loads TLS files.
pub fn prepare(config: SimConfig) -> Result<Prepared, SimError> {
    config.validate().map_err(SimError::Config)?;
    let fd_limit = scale::raise_fd_limit();
    scale::check_fds(config.nodes, fd_limit)?;
    let resolve_error = |cause: String| SimError::Resolve {
        core: config.core.clone(),
        cause,
    };
    let mut addrs: Vec<SocketAddr> = config
        .core
        .to_socket_addrs()
        .map_err(|e| resolve_error(e.to_string()))?
        .collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    let core = *addrs
        .first()
        .ok_or_else(|| resolve_error("no address".into()))?;
    let spread = scale::spread_sources(config.sources, core)?;
    scale::check_ports(config.nodes, spread)?;
    let tls = config.tls.as_ref().map(Tls::new).transpose()?;
    Ok(Prepared {
        config,
        core,
        tls,
        spread,
        fd_limit,
    })
}

impl Prepared {
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    pub fn core(&self) -> SocketAddr {
        self.core
    }

    /// Whether nodes bind their own 127.0.0.0/8 source addresses.
    pub fn spreads_sources(&self) -> bool {
        self.spread
    }

    /// Which nodes get which per-node misbehaviour: a seeded choice of
    /// `round(nodes × share)` nodes (at least one), kinds given round robin.
    fn misbehaviours(&self, rng: &mut Rng) -> Vec<Option<Misbehaviour>> {
        let config = &self.config;
        let mut out = vec![None; config.nodes];
        let kinds: Vec<Misbehaviour> = config
            .misbehaviours
            .iter()
            .copied()
            .filter(|k| k.per_node())
            .collect();
        if kinds.is_empty() || config.misbehave_share <= 0.0 {
            return out;
        }
        let count = ((config.nodes as f64 * config.misbehave_share).round() as usize)
            .clamp(1, config.nodes);
        let mut order: Vec<usize> = (0..config.nodes).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for (n, &index) in order.iter().take(count).enumerate() {
            out[index] = Some(kinds[n % kinds.len()]);
        }
        out
    }
}

/// Runs the fleet until its duration passes or `control` stops it; the final report.
pub async fn run(prepared: Prepared, control: Control, stats: Arc<Stats>) -> Report {
    let started = Instant::now();
    let config = prepared.config.clone();
    let mut rng = Rng::new(config.seed);
    let ids: Vec<u64> = (0..config.nodes).map(|_| rng.node_id()).collect();
    let misbehaviours = prepared.misbehaviours(&mut rng);
    let storms = misbehaviours
        .iter()
        .filter(|m| **m == Some(Misbehaviour::ReconnectStorm))
        .count();
    let senders = (config.nodes - storms).max(1);
    let width = config.nodes.to_string().len().max(5);
    let shared = Arc::new(Shared {
        config: config.clone(),
        core: prepared.core,
        tls: prepared.tls.clone(),
        stats: Arc::clone(&stats),
        ids: ids.clone(),
        per_node_rate: config.events_per_sec / senders as f64,
        events_share: Arc::clone(&control.events_share),
    });
    let mut nodes = JoinSet::new();
    for (index, (&node_id, misbehaviour)) in ids.iter().zip(misbehaviours).enumerate() {
        let spec = NodeSpec {
            index,
            name: format!("{}-{:0width$}", config.name_prefix, index + 1),
            node_id,
            source: prepared.spread.then(|| scale::source_address(index)),
            misbehaviour,
            seed: config.seed,
        };
        nodes.spawn(SimNode::new(spec, Arc::clone(&shared), control.signals()).live());
    }
    if let Some(at) = config.half_drop_time() {
        let control = control.clone();
        let away = config.half_drop_away;
        tokio::spawn(async move {
            let mut stop = control.stop.subscribe();
            tokio::select! {
                _ = tokio::time::sleep(at) => control.order_drop(2, away, true),
                _ = stop.wait_for(|stopped| *stopped) => {}
            }
        });
    }
    let mut stop = control.stop.subscribe();
    let until_stopped = stop.wait_for(|stopped| *stopped);
    match config.duration {
        Some(duration) => {
            tokio::select! {
                _ = tokio::time::sleep(duration) => {}
                _ = until_stopped => {}
            }
        }
        None => {
            let _ = until_stopped.await;
        }
    }
    control.stop();
    let ended = Instant::now();
    let drained = tokio::time::timeout(STOP_GRACE, async {
        while nodes.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        log::warn!("Some nodes did not close within {STOP_GRACE:?}; cutting them off.");
        nodes.abort_all();
    }
    // The run's length excludes the goodbye, so rates are per second of running.
    Report::read(
        &stats,
        &prepared.core.to_string(),
        config.seed,
        config.nodes,
        ended - started,
    )
}

/// A fleet running on its own thread (with its own runtime).
#[derive(Debug)]
pub struct SimHandle {
    control: Control,
    stats: Arc<Stats>,
    started: Instant,
    core: String,
    seed: u64,
    nodes: usize,
    thread: Option<std::thread::JoinHandle<Report>>,
}

impl SimHandle {
    /// Checks `config` (see [`prepare`]) and starts the fleet on a new thread.
    pub fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        let prepared = prepare(config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("honeybee-sim")
            .enable_all()
            .build()
            .map_err(SimError::Runtime)?;
        let control = Control::new();
        let stats = Arc::new(Stats::default());
        let (core, seed, nodes) = (
            prepared.core.to_string(),
            prepared.config.seed,
            prepared.config.nodes,
        );
        let thread = {
            let (control, stats) = (control.clone(), Arc::clone(&stats));
            std::thread::Builder::new()
                .name("honeybee-sim".into())
                .spawn(move || runtime.block_on(run(prepared, control, stats)))
                .map_err(SimError::Runtime)?
        };
        Ok(SimHandle {
            control,
            stats,
            started: Instant::now(),
            core,
            seed,
            nodes,
            thread: Some(thread),
        })
    }

    /// The counters now.
    pub fn report(&self) -> Report {
        Report::read(
            &self.stats,
            &self.core,
            self.seed,
            self.nodes,
            self.started.elapsed(),
        )
    }

    /// The fleet's control signals.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stops the fleet and waits for its final report.
    pub fn stop(mut self) -> Result<Report, SimError> {
        self.control.stop();
        self.join_thread()
    }

    /// Waits until the fleet ends by itself (its duration), then its final report.
    pub fn join(mut self) -> Result<Report, SimError> {
        self.join_thread()
    }

    fn join_thread(&mut self) -> Result<Report, SimError> {
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| SimError::Panicked),
            None => Err(SimError::Panicked),
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.control.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
