//! The `NodeSession` actor: one per node connection. It reads frames through the protocol
//! crate's splitter and decoder, applies PROTOCOL.md's session rules, reports to the registry,
//! and writes what the Core sends. It holds no fleet state: the registry does.

mod activity;
mod messages;
mod output;
mod reader;
mod route;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::io::WriteHandler;
use actix::prelude::*;
use bytes::Bytes;
use honeybee_protocol::{
    CoreToNode, ErrorCode, Frame, FrameSplitter, NodeToCore, PotEvent, ProtocolError,
    RegistrationAck, decode_node_frame, encode,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

pub use messages::*;
pub use route::{Phase, Route, route};

use crate::counters::Counters;
use crate::limited_log;
use crate::limits::ConnectionPermit;
use crate::log_limit::LogLimiter;
use crate::pipeline::ingest::PRESSURE_PAUSE;
use crate::pipeline::ingest::to_new_event;
use crate::pipeline::{Ingest, Pressure, RateGate};
use crate::registry::{Admitted, NodeReport, Refused, Register, Registry, Report, SessionEnded};
use crate::settings::SessionSettings;
use crate::supervise::ExitNotice;
use activity::Activity;
use output::{BadFrameCounter, Output};
use reader::FrameStream;

/// The read half of a node connection (plain TCP or TLS).
pub type NodeReader = Box<dyn AsyncRead + Unpin>;
/// The write half of a node connection.
pub type NodeWriter = Box<dyn AsyncWrite + Unpin>;

/// Log lines per peer per minute before suppression.
const LOG_BURST: u32 = 5;
/// Output a node may leave unread before its session is closed: at least this, or four frames.
const MIN_OUTPUT_BACKLOG: u64 = 1 << 20;

/// What every session of the Core shares (cheap to clone).
#[derive(Debug, Clone)]
pub struct SessionDeps {
    pub registry: Addr<Registry>,
    pub settings: Arc<SessionSettings>,
    pub ingest: Arc<Ingest>,
    /// Frame counters for `/metrics`.
    pub counters: Arc<Counters>,
    /// Turns true when the Core shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// Session ids, unique in the process; the registry links a node to the session it accepted.
static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

pub struct NodeSession {
    // Fixed for the session's life.
    settings: Arc<SessionSettings>,
    registry: Addr<Registry>,
    ingest: Arc<Ingest>,
    counters: Arc<Counters>,
    remote_addr: SocketAddr,
    session_id: u64,
    output_cap: u64,
    // State.
    phase: Phase,
    /// The node this session registered (or asked to register) as; kept while closing.
    node_id: Option<u64>,
    node_name: String,
    /// This node's pot types, to fill in events that do not name theirs.
    pot_types: HashMap<String, String>,
    gate: RateGate,
    /// Pots that sent events, for the registry (see `activity`).
    activity: Activity,
    writer: Output,
    permit: ConnectionPermit,
    last_frame: Instant,
    bad_frames: BadFrameCounter,
    version_logged: bool,
    log_limiter: LogLimiter,
    ending: Option<EndReason>,
    exit: ExitNotice<SessionEnded>,
    /// The registration deadline and the shutdown watch, needed only until the node is
    /// registered: from then on the registry closes the session at shutdown.
    until_registered: Option<[SpawnHandle; 2]>,
}

impl fmt::Debug for NodeSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeSession")
            .field("remote_addr", &self.remote_addr)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl NodeSession {
    /// Starts a session on the current arbiter for an accepted connection. It must register
    /// by `registration_deadline`; until it has, it closes when `shutdown` turns true (the
    /// registry closes registered sessions when the Core shuts down).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        reader: NodeReader,
        writer: NodeWriter,
        remote_addr: SocketAddr,
        permit: ConnectionPermit,
        deps: SessionDeps,
        registration_deadline: Instant,
    ) -> Addr<NodeSession> {
        let SessionDeps {
            registry,
            settings,
            ingest,
            counters,
            mut shutdown,
        } = deps;
        NodeSession::create(move |ctx| {
            let splitter = FrameSplitter::new(settings.max_frame_bytes);
            ctx.add_stream(FrameStream::new(reader, splitter));
            let session_id = NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed);
            let fallback = SessionEnded {
                node_id: None,
                session_id,
                reason: EndReason::Crashed,
            };
            let wait = registration_deadline.saturating_duration_since(Instant::now());
            let deadline = ctx.run_later(wait, |act, ctx| {
                if act.phase == Phase::Unregistered {
                    log::info!("{} did not register in time; closing.", act.peer());
                    act.close(EndReason::RegistrationTimeout, ctx);
                }
            });
            let shutdown = async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            };
            let shutdown = ctx.spawn(
                actix::fut::wrap_future::<_, NodeSession>(shutdown)
                    .map(|_, act, ctx| act.close(EndReason::Shutdown, ctx)),
            );
            NodeSession {
                until_registered: Some([deadline, shutdown]),
                exit: ExitNotice::new(registry.clone().recipient(), fallback),
                writer: Output::start(writer, ctx),
                output_cap: MIN_OUTPUT_BACKLOG.max(4 * settings.max_frame_bytes as u64),
                gate: RateGate::new(ingest.settings().node_events_per_sec, Instant::now()),
                settings,
                registry,
                ingest,
                counters,
                remote_addr,
                session_id,
                phase: Phase::Unregistered,
                node_id: None,
                node_name: String::new(),
                pot_types: HashMap::new(),
                activity: Activity::new(Instant::now()),
                permit,
                last_frame: Instant::now(),
                bad_frames: BadFrameCounter::default(),
                version_logged: false,
                log_limiter: LogLimiter::new(LOG_BURST, Duration::from_secs(60)),
                ending: None,
            }
        })
    }

    /// Who this session is, for log lines.
    fn peer(&self) -> String {
        match self.registered_id() {
            Some(node_id) => format!("Node {node_id} ({})", self.remote_addr),
            None => format!("Connection {}", self.remote_addr),
        }
    }

    fn registered_id(&self) -> Option<u64> {
        match self.phase {
            Phase::Registered { node_id, .. } => Some(node_id),
            _ => None,
        }
    }

    /// Queues a frame; a node that leaves more than `output_cap` bytes unread is dropped.
    fn write(&mut self, message: &CoreToNode, ctx: &mut Context<Self>) {
        let frame = encode(message);
        self.counters.frame_out();
        self.writer.write(&frame);
        let unread = self.writer.unread();
        if unread > self.output_cap {
            log::warn!(
                "{} left {unread} bytes unread; dropping the connection.",
                self.peer()
            );
            self.ending.get_or_insert(EndReason::OutputBacklog);
            ctx.stop();
        }
    }

    /// Ends the session: stop reading, flush what was written, then stop (or after the grace
    /// period if the peer does not read).
    fn close(&mut self, reason: EndReason, ctx: &mut Context<Self>) {
        if self.phase == Phase::Closing {
            return;
        }
        self.ending.get_or_insert(reason);
        self.phase = Phase::Closing;
        self.writer.close();
        ctx.run_later(self.settings.close_grace, |_, ctx| ctx.stop());
    }

    fn on_data(&mut self, frame: Bytes, ctx: &mut Context<Self>) {
        let decoded = match decode_node_frame(&frame) {
            Ok(decoded) => decoded,
            Err(e) => return self.bad_frame(e.code, &e.detail, ctx),
        };
        if let Some(warning) = decoded.warning()
            && !self.version_logged
        {
            self.version_logged = true;
            log::warn!(
                "{} speaks protocol version {} ({warning:?}); processing its frames as v2.",
                self.peer(),
                decoded.version
            );
        }
        match route(self.phase, &decoded.message) {
            Route::Register => {
                let NodeToCore::NodeRegistration(registration) = decoded.message else {
                    return;
                };
                self.register(registration, decoded.version, ctx);
            }
            Route::Reject(code) => {
                let detail = reject_detail(code, &decoded.message, self.registered_id());
                self.bad_frame(code, &detail, ctx);
            }
            Route::Report => self.report(decoded.message, ctx),
            Route::Goodbye => self.close(EndReason::NodeDrop, ctx),
            Route::Ignore => {}
        }
    }

    /// Asks the registry, holding every later frame (and timer) until it answers: `ctx.wait`
    /// stops the actor from reading its socket, so frames stay queued in order. The registry is
    /// in-process and always answers (once what it decided is durable, or with `NotStored`
    /// after its own bound); there is no timeout here to race with its decision.
    fn register(
        &mut self,
        registration: honeybee_protocol::NodeRegistration,
        version: u64,
        ctx: &mut Context<Self>,
    ) {
        let node_id = registration.node_id;
        self.node_id = Some(node_id);
        self.node_name.clone_from(&registration.node_name);
        self.exit.rearm(SessionEnded {
            node_id: Some(node_id),
            session_id: self.session_id,
            reason: EndReason::Crashed,
        });
        let request = Register {
            session: ctx.address(),
            session_id: self.session_id,
            registration,
            version,
            remote_addr: self.remote_addr,
        };
        let answer = self.registry.send(request);
        ctx.wait(
            answer
                .into_actor(self)
                .map(move |answer, act, ctx| match answer {
                    Ok(Ok(admitted)) => act.admitted(node_id, admitted, ctx),
                    Ok(Err(Refused::Ack(message))) => act.refused(node_id, message, ctx),
                    Ok(Err(Refused::Unavailable)) => act.close(EndReason::Shutdown, ctx),
                    Ok(Err(Refused::NotStored)) => act.close(EndReason::NotStored, ctx),
                    Err(e) => {
                        log::error!(
                            "Registry did not answer the registration of node {node_id}: {e}."
                        );
                        act.close(EndReason::IoError("registry unavailable".into()), ctx);
                    }
                }),
        );
    }

    fn admitted(&mut self, node_id: u64, admitted: Admitted, ctx: &mut Context<Self>) {
        let ack = CoreToNode::RegistrationAck(RegistrationAck {
            node_id: Some(node_id),
            accepted: true,
            message: Some("Registration successful".to_owned()),
            totp_key: admitted.totp_key,
        });
        self.phase = Phase::Registered {
            node_id,
            session_id: self.session_id,
        };
        self.permit.registered();
        for handle in self.until_registered.take().into_iter().flatten() {
            ctx.cancel_future(handle);
        }
        self.pot_types = admitted.pot_types.into_iter().collect();
        self.write(&ack, ctx);
        self.last_frame = Instant::now();
        self.check_heartbeat(ctx);
    }

    fn refused(&mut self, node_id: u64, message: String, ctx: &mut Context<Self>) {
        let ack = CoreToNode::RegistrationAck(RegistrationAck {
            node_id: Some(node_id),
            accepted: false,
            message: Some(message),
            totp_key: None,
        });
        self.write(&ack, ctx);
        self.close(EndReason::Refused, ctx);
    }

    fn report(&mut self, message: NodeToCore, ctx: &mut Context<Self>) {
        let Phase::Registered {
            node_id,
            session_id,
        } = self.phase
        else {
            return;
        };
        let report = match message {
            NodeToCore::NodeStatusUpdate(update) => Report::Status(update.status),
            NodeToCore::PotStatusUpdate(update) => {
                self.learn_pot_type(&update.pot_id, &update.pot_type);
                Report::Pot(update)
            }
            NodeToCore::NodeEvent(event) => Report::Event(event),
            NodeToCore::PotEvent(event) => {
                self.activity.event(&event.pot_id);
                self.ingest_event(node_id, event, ctx);
                // The registry only needs to hear now and then that the node and its pots are
                // alive.
                let refresh = self.settings.activity_refresh;
                match self.activity.due(Instant::now(), refresh) {
                    Some(pots) => Report::Active(pots),
                    None => return,
                }
            }
            NodeToCore::NodeRegistration(_) | NodeToCore::NodeDrop => return,
        };
        self.registry.do_send(NodeReport {
            node_id,
            session_id,
            report,
        });
    }

    fn learn_pot_type(&mut self, pot_id: &str, pot_type: &str) {
        if pot_type.is_empty() {
            return;
        }
        let known = self.pot_types.contains_key(pot_id);
        if known || self.pot_types.len() < crate::registry::MAX_POTS_PER_NODE {
            self.pot_types
                .insert(pot_id.to_owned(), crate::text::clip(pot_type, 64));
        }
    }

    /// Hands an event to the store, then pauses reading if this node or the store path says so
    /// (the time paused is not held against the node's heartbeat).
    fn ingest_event(&mut self, node_id: u64, event: PotEvent, ctx: &mut Context<Self>) {
        let known_type = self.pot_types.get(&event.pot_id).map(String::as_str);
        let event = to_new_event(
            node_id,
            &self.node_name,
            known_type,
            event,
            crate::clock::now(),
        );
        if let Err(e) = self.ingest.submit(event) {
            limited_log!(
                self.log_limiter,
                error,
                "{}: cannot hand an event to the store: {e}.",
                self.peer()
            );
        }
        let pressure = self.ingest.pressure();
        if let Some(pause) = self.gate.on_event(Instant::now(), pressure) {
            if pressure != Pressure::Clear {
                self.ingest.warn_paused(pressure);
            }
            self.hold(pause, ctx);
        }
    }

    /// Stops reading for `pause`, then for as long as the store path stays full.
    fn hold(&mut self, pause: Duration, ctx: &mut Context<Self>) {
        let paused = actix::clock::sleep(pause).into_actor(self);
        ctx.wait(paused.map(move |(), act, ctx| {
            act.last_frame += pause;
            if act.ingest.pressure() == Pressure::Full {
                act.hold(PRESSURE_PAUSE, ctx);
            }
        }));
    }

    /// Answers a bad frame with a `ProtocolError`, closing the connection once more than
    /// `max_bad_frames_per_minute` arrived within a minute.
    fn bad_frame(&mut self, code: ErrorCode, detail: &str, ctx: &mut Context<Self>) {
        let node_id = self.registered_id();
        self.counters.bad_frame(code);
        let count = self.bad_frames.count(Instant::now());
        if count > self.settings.max_bad_frames_per_minute {
            log::warn!(
                "{} sent more than {} bad frames in a minute; closing the connection.",
                self.peer(),
                self.settings.max_bad_frames_per_minute
            );
            let error = protocol_error(
                ErrorCode::RateLimited,
                "too many bad frames; closing the connection".to_owned(),
                node_id,
            );
            self.write(&error, ctx);
            return self.close(EndReason::RateLimited, ctx);
        }
        limited_log!(
            self.log_limiter,
            warn,
            "{} sent a bad frame ({code}): {detail}",
            self.peer()
        );
        self.write(&protocol_error(code, detail.to_owned(), node_id), ctx);
    }

    /// Closes the session once no frame arrived for `heartbeat_timeout`; re-arms itself for
    /// the time that is left otherwise.
    fn check_heartbeat(&mut self, ctx: &mut Context<Self>) {
        let timeout = self.settings.heartbeat_timeout;
        let idle = self.last_frame.elapsed();
        if idle >= timeout {
            log::warn!(
                "{} sent nothing for {:.1} s; marking it Unknown and closing.",
                self.peer(),
                idle.as_secs_f64()
            );
            return self.close(EndReason::HeartbeatTimeout, ctx);
        }
        ctx.run_later(timeout - idle, |act, ctx| {
            if act.phase != Phase::Closing {
                act.check_heartbeat(ctx);
            }
        });
    }
}

fn protocol_error(code: ErrorCode, message: String, node_id: Option<u64>) -> CoreToNode {
    CoreToNode::ProtocolError(ProtocolError {
        code,
        message,
        node_id,
    })
}

fn reject_detail(code: ErrorCode, message: &NodeToCore, registered: Option<u64>) -> String {
    match (code, message.node_id(), registered) {
        (ErrorCode::NodeIdMismatch, Some(sent), Some(ours)) => {
            format!("node_id {sent} is not this connection's node {ours}")
        }
        (ErrorCode::AlreadyRegistered, _, _) => "this connection is already registered".into(),
        (ErrorCode::InvalidMessageFormat, _, _) => format!(
            "pot_id must match [A-Za-z0-9._-]{{1,64}} and not be . or .. ({})",
            message.name()
        ),
        (ErrorCode::NotRegistered, _, _) => format!(
            "{} before any NodeRegistration on this connection; register first",
            message.name()
        ),
        _ => code.as_str().to_owned(),
    }
}

impl Actor for NodeSession {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        self.exit.send(SessionEnded {
            node_id: self.node_id,
            session_id: self.session_id,
            reason: self.ending.take().unwrap_or(EndReason::Crashed),
        });
    }
}

impl StreamHandler<Result<Frame, io::Error>> for NodeSession {
    fn handle(&mut self, item: Result<Frame, io::Error>, ctx: &mut Context<Self>) {
        if self.phase == Phase::Closing {
            return;
        }
        self.last_frame = Instant::now();
        match item {
            Ok(Frame::Data(frame)) => {
                self.counters.frame_in();
                self.on_data(frame, ctx);
            }
            Ok(Frame::TooLarge) => {
                let detail = format!(
                    "frame over {} bytes; discarded through the end of its line",
                    self.settings.max_frame_bytes
                );
                self.bad_frame(ErrorCode::MessageTooLarge, &detail, ctx);
            }
            Ok(Frame::Overflow) => {
                log::warn!(
                    "{} sent a line over {} bytes without a newline; closing.",
                    self.peer(),
                    self.settings.max_frame_bytes * 4
                );
                self.close(EndReason::FramingOverflow, ctx);
            }
            Err(e) => {
                self.ending.get_or_insert(EndReason::IoError(e.to_string()));
                ctx.stop();
            }
        }
    }

    /// The node closed its side: flush what is still queued for it (within the close grace),
    /// then stop.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.close(EndReason::Eof, ctx);
    }
}

impl WriteHandler<io::Error> for NodeSession {
    fn error(&mut self, err: io::Error, _: &mut Context<Self>) -> Running {
        self.ending
            .get_or_insert(EndReason::IoError(err.to_string()));
        Running::Stop
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<Deliver> for NodeSession {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        if matches!(self.phase, Phase::Registered { .. }) {
            self.write(&msg.0, ctx);
        }
    }
}

impl Handler<CloseSession> for NodeSession {
    type Result = ();

    fn handle(&mut self, msg: CloseSession, ctx: &mut Context<Self>) {
        self.close(msg.0, ctx);
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<InjectPanic> for NodeSession {
    type Result = ();

    #[allow(clippy::panic)]
    fn handle(&mut self, _: InjectPanic, _: &mut Context<Self>) {
        panic!(
            "fault injection: session of {} panics on purpose",
            self.peer()
        );
    }
}
