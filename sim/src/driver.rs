//! The connection driver: one task per simulated node. It connects (from the node's own
//! source address), registers with a TOTP code once it holds a key, then reads commands and
//! answers them through the pure [`NodeModel`], heartbeats, sends events at its share of the
//! fleet's rate, misbehaves if asked, and reconnects with backoff when the connection drops.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use honeybee_protocol::{
    CoreToNode, Frame, FrameSplitter, RegistrationAck, SecretString, decode_core_frame, encode,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio::time::{sleep, timeout};

use crate::config::SimConfig;
use crate::events::PotEvents;
use crate::misbehave::Misbehaviour;
use crate::node::{Behaviour, NodeModel};
use crate::rng::Rng;
use crate::stats::{Gauge, Stats};
use crate::tls::Tls;
use crate::totp::{CodePlan, Credentials};

mod serve;

/// How long a node waits for its `RegistrationAck` (as a real node does).
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest frame the node accepts from the Core.
const MAX_CORE_FRAME: usize = 1 << 20;
/// The port nodes report for themselves (cowrie's).
const NODE_PORT: u16 = 2222;
/// A session that lasted this long resets the backoff.
const STABLE_SESSION: Duration = Duration::from_secs(30);

/// A byte stream to the Core: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A fleet-wide order to drop connections: nodes whose index is a multiple of `every` drop
/// theirs at once (without `NodeDrop`) and come back after `away`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropOrder {
    pub generation: u64,
    pub every: usize,
    pub away: Duration,
    /// Counted as the `half-drop` misbehaviour.
    pub half_drop: bool,
}

/// What every node task shares.
#[derive(Debug)]
pub struct Shared {
    pub config: SimConfig,
    pub core: SocketAddr,
    pub tls: Option<Tls>,
    pub stats: Arc<Stats>,
    /// Every node's first id (spoofed frames borrow them).
    pub ids: Vec<u64>,
    /// Events per second of each node that sends events (reconnect storms send none, so the
    /// others carry their share).
    pub per_node_rate: f64,
    /// The share of that rate sent now (f64 bits; `Control::set_events_share`).
    pub events_share: Arc<std::sync::atomic::AtomicU64>,
}

impl Shared {
    /// Events per second of each sending node right now.
    pub fn node_rate_now(&self) -> f64 {
        let share = f64::from_bits(self.events_share.load(std::sync::atomic::Ordering::Relaxed));
        self.per_node_rate * share
    }
}

/// One node's fixed settings.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub index: usize,
    pub name: String,
    pub node_id: u64,
    pub source: Option<IpAddr>,
    pub misbehaviour: Option<Misbehaviour>,
    pub seed: u64,
}

/// The fleet's control signals, as a node receives them.
#[derive(Debug, Clone)]
pub struct Signals {
    pub stop: watch::Receiver<bool>,
    pub drops: watch::Receiver<DropOrder>,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// The fleet is stopping.
    Stopped,
    /// The connection broke or the Core closed it.
    Lost { lasted: Duration },
    /// The Core refused the registration (its code).
    Refused,
    /// A drop order: come back after this long.
    Dropped(Duration),
    /// A reconnect storm's cycle ended.
    Storm,
}

/// Exponential backoff with jitter.
#[derive(Debug)]
struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            next: initial,
        }
    }

    fn reset(&mut self) {
        self.next = self.initial;
    }

    fn next(&mut self, rng: &mut Rng) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        base.mul_f64(0.75 + rng.unit() / 2.0)
    }
}

/// A simulated node's task.
pub struct SimNode {
    spec: NodeSpec,
    shared: Arc<Shared>,
    signals: Signals,
    model: NodeModel,
    creds: Credentials,
    rng: Rng,
    pot_events: BTreeMap<String, PotEvents>,
    /// Events owed (fractional), at the node's share of the fleet rate.
    credit: f64,
    /// When events were last sent (`None`: not on this connection yet).
    last_emit: Option<Instant>,
    last_drop: u64,
}

impl std::fmt::Debug for SimNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimNode")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The time from now until unix second `t`.
fn until_unix(t: u64) -> Duration {
    (UNIX_EPOCH + Duration::from_secs(t))
        .duration_since(SystemTime::now())
        .unwrap_or_default()
}

impl SimNode {
    pub fn new(spec: NodeSpec, shared: Arc<Shared>, signals: Signals) -> SimNode {
        let config = &shared.config;
        let model = NodeModel::new(
            spec.node_id,
            &config.pots,
            Behaviour {
                fail_rate: config.fail_rate,
                install_time: config.install_time,
            },
        );
        let mut rng = Rng::for_stream(spec.seed, spec.index as u64);
        let credit = rng.unit();
        let last_drop = signals.drops.borrow().generation;
        SimNode {
            spec,
            shared,
            signals,
            model,
            creds: Credentials::default(),
            rng,
            pot_events: BTreeMap::new(),
            credit,
            last_emit: None,
            last_drop,
        }
    }

    fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    fn storm(&self) -> bool {
        self.spec.misbehaviour == Some(Misbehaviour::ReconnectStorm)
    }

    /// Sleeps for `pause` unless the fleet stops first; true when it stops.
    async fn pause(&mut self, pause: Duration) -> bool {
        if *self.signals.stop.borrow() {
            return true;
        }
        tokio::select! {
            _ = sleep(pause) => *self.signals.stop.borrow(),
            _ = self.signals.stop.changed() => true,
        }
    }

    /// The node's life: connect, register, serve, reconnect — until the fleet stops.
    pub async fn live(mut self) {
        let config = &self.shared.config;
        let start = Duration::from_secs_f64(self.spec.index as f64 / config.connect_rate);
        let mut backoff = Backoff::new(config.backoff_initial, config.backoff_max);
        let new_ids = config.new_id_on_reconnect;
        if self.pause(start).await {
            return;
        }
        let mut first = true;
        loop {
            if !first && new_ids {
                self.model.node_id = self.rng.node_id();
            }
            let Some(code) = self.next_code().await else {
                return;
            };
            let io = match self.connect().await {
                Ok(io) => io,
                Err(e) => {
                    log::debug!("Node {} cannot connect: {e}.", self.spec.name);
                    Stats::inc(&self.stats().connect_failures);
                    let wait = backoff.next(&mut self.rng);
                    if self.pause(wait).await {
                        return;
                    }
                    continue;
                }
            };
            first = false;
            let end = self.session(io, code).await;
            let wait = match end {
                End::Stopped => return,
                _ if self.storm() => Duration::from_millis(self.rng.range(100, 500)),
                End::Dropped(away) => {
                    backoff.reset();
                    away.mul_f64(1.0 + self.rng.unit() / 10.0)
                }
                End::Lost { lasted } => {
                    if lasted >= STABLE_SESSION {
                        backoff.reset();
                    }
                    backoff.next(&mut self.rng)
                }
                End::Refused | End::Storm => backoff.next(&mut self.rng),
            };
            if self.pause(wait).await {
                return;
            }
        }
    }

    /// The code for the next registration (`Some(None)`: no key yet); waits for a fresh TOTP
    /// step when the current one was used. `None` when the fleet stops meanwhile.
    async fn next_code(&mut self) -> Option<Option<Code>> {
        loop {
            match self.creds.plan(unix_now()) {
                CodePlan::NoKey => return Some(None),
                CodePlan::Send { code, step } => {
                    return Some(Some(Code {
                        code,
                        step: Some(step),
                    }));
                }
                CodePlan::WaitUntil(_) if self.storm() => {
                    let code = self.creds.code_regardless(unix_now());
                    return Some(code.map(|code| Code { code, step: None }));
                }
                CodePlan::WaitUntil(t) => {
                    Stats::inc(&self.stats().totp_step_waits);
                    let jitter = Duration::from_millis(50 + self.rng.below(950));
                    if self.pause(until_unix(t) + jitter).await {
                        return None;
                    }
                }
            }
        }
    }

    async fn connect(&self) -> std::io::Result<Box<dyn Io>> {
        let core = self.shared.core;
        let socket = if core.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(source) = self.spec.source {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        let stream = timeout(CONNECT_TIMEOUT, socket.connect(core))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
        stream.set_nodelay(true)?;
        match &self.shared.tls {
            None => Ok(Box::new(stream)),
            Some(tls) => {
                let stream = timeout(
                    CONNECT_TIMEOUT,
                    tls.connector.connect(tls.server_name.clone(), stream),
                )
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
                })??;
                Ok(Box::new(stream))
            }
        }
    }

    /// One connection: register, then serve until it ends.
    async fn session(&mut self, mut io: Box<dyn Io>, code: Option<Code>) -> End {
        let shared = Arc::clone(&self.shared);
        let stats = &shared.stats;
        // Drop orders given before this connection are not for it; later ones are.
        self.last_drop = self.signals.drops.borrow_and_update().generation;
        let _connected = Gauge::raise(&stats.connected);
        Stats::inc(&stats.connections_opened);
        let opened = Instant::now();
        let lost = || End::Lost {
            lasted: opened.elapsed(),
        };
        let with_code = code.is_some();
        let address = self
            .spec
            .source
            .map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string());
        let step = code.as_ref().and_then(|c| c.step);
        let registration =
            self.model
                .registration(&self.spec.name, &address, NODE_PORT, code.map(|c| c.code));
        if write(&mut io, &encode(&registration), stats).await.is_err() {
            return lost();
        }
        let mut conn = Conn {
            splitter: FrameSplitter::new(MAX_CORE_FRAME),
            early: Vec::new(),
        };
        let ack = match timeout(ACK_TIMEOUT, conn.read_ack(&mut io, stats)).await {
            Ok(Some(ack)) => {
                if let Some(step) = step {
                    self.creds.answered(step);
                }
                ack
            }
            Ok(None) => return lost(),
            Err(_) => {
                log::debug!("Node {} got no RegistrationAck in time.", self.spec.name);
                Stats::inc(&stats.io_errors);
                return lost();
            }
        };
        if !ack.accepted {
            let message = ack.message.unwrap_or_default();
            let code = message.split(':').next().unwrap_or("").trim();
            stats.refused(if code.is_empty() { "unknown" } else { code });
            log::debug!("Node {} was refused: {message}.", self.spec.name);
            return End::Refused;
        }
        self.accepted(&ack, with_code, opened.elapsed());
        let _registered = Gauge::raise(&stats.registered);
        if self.storm() {
            stats.misbehaved(Misbehaviour::ReconnectStorm);
            let linger = Duration::from_millis(self.rng.range(100, 1000));
            return if self.pause(linger).await {
                End::Stopped
            } else {
                End::Storm
            };
        }
        let end = self.serve(&mut io, conn).await;
        if let End::Lost { .. } = end {
            Stats::inc(&stats.connections_lost);
            return lost();
        }
        end
    }

    /// Counts an accepted registration and keeps the key it brought, if any.
    fn accepted(&mut self, ack: &RegistrationAck, with_code: bool, latency: Duration) {
        let stats = &self.shared.stats;
        stats.registration_latency(latency);
        Stats::inc(&stats.registrations_accepted);
        if with_code {
            Stats::inc(&stats.registrations_with_code);
        }
        if let Some(key) = &ack.totp_key
            && self.creds.accept_key(key)
        {
            Stats::inc(&stats.keys_received);
        }
    }
}

/// A TOTP code for a registration, and its step (`None`: a storm's code sent regardless).
struct Code {
    code: SecretString,
    step: Option<u64>,
}

/// Reading state of one connection.
struct Conn {
    splitter: FrameSplitter,
    /// Frames that arrived together with the ack, for the serving loop.
    early: Vec<Frame>,
}

impl Conn {
    /// Reads until the `RegistrationAck`; `None` when the connection ends first.
    async fn read_ack(&mut self, io: &mut Box<dyn Io>, stats: &Stats) -> Option<RegistrationAck> {
        let mut buf = vec![0u8; 1024];
        loop {
            let n = match io.read(&mut buf).await {
                Ok(0) => return None,
                Ok(n) => n,
                Err(_) => {
                    Stats::inc(&stats.io_errors);
                    return None;
                }
            };
            let mut frames = self.splitter.push(&buf[..n]).into_iter();
            while let Some(frame) = frames.next() {
                let Frame::Data(bytes) = &frame else {
                    Stats::inc(&stats.undecodable);
                    continue;
                };
                match decode_core_frame(bytes).map(|d| d.message) {
                    Ok(CoreToNode::RegistrationAck(ack)) => {
                        self.early.extend(frames);
                        return Some(ack);
                    }
                    Ok(CoreToNode::ProtocolError(e)) => stats.protocol_error(e.code.as_str()),
                    // Nothing else may come first; a real node would close here.
                    Ok(CoreToNode::NodeCommand(_)) | Err(_) => {
                        Stats::inc(&stats.undecodable);
                        return None;
                    }
                }
            }
        }
    }
}

async fn write(io: &mut Box<dyn Io>, bytes: &[u8], stats: &Stats) -> std::io::Result<()> {
    let result = io.write_all(bytes).await;
    if result.is_err() {
        Stats::inc(&stats.io_errors);
    }
    result
}
