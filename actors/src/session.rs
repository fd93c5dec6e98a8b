//! The `NodeSession` actor: one per node connection. It reads frames through the protocol
//! crate's splitter and decoder, applies PROTOCOL.md's session rules, reports to the registry,
//! and writes what the Core sends. It holds no fleet state: the registry does.

mod messages;
mod route;

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::io::{WriteHandler, Writer};
use actix::prelude::*;
use bytes::Bytes;
use honeybee_protocol::{
    CoreToNode, ErrorCode, Frame, FrameSplitter, NodeToCore, ProtocolError, RegistrationAck,
    decode_node_frame, encode,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::FramedRead;

pub use messages::*;
pub use route::{Phase, Route, route};

use crate::limited_log;
use crate::limits::ConnectionPermit;
use crate::log_limit::LogLimiter;
use crate::registry::{Admitted, NodeReport, Refused, Register, Registry, Report, SessionEnded};
use crate::settings::SessionSettings;
use crate::supervise::ExitNotice;

/// The read half of a node connection (plain TCP or TLS).
pub type NodeReader = Box<dyn AsyncRead + Unpin>;
/// The write half of a node connection.
pub type NodeWriter = Box<dyn AsyncWrite + Unpin>;

/// Log lines per peer per minute before suppression.
const LOG_BURST: u32 = 5;

pub struct NodeSession {
    // Fixed for the session's life.
    settings: Arc<SessionSettings>,
    registry: Addr<Registry>,
    remote_addr: SocketAddr,
    // State.
    phase: Phase,
    /// (node id, session id) once registered; kept while closing.
    identity: Option<(u64, u64)>,
    writer: Writer<NodeWriter, io::Error>,
    permit: ConnectionPermit,
    last_frame: Instant,
    bad_frames: VecDeque<Instant>,
    version_logged: bool,
    log_limiter: LogLimiter,
    ending: Option<EndReason>,
    exit: ExitNotice<SessionEnded>,
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
    /// Starts a session on the current arbiter for an accepted connection.
    pub fn start(
        reader: NodeReader,
        writer: NodeWriter,
        remote_addr: SocketAddr,
        permit: ConnectionPermit,
        registry: Addr<Registry>,
        settings: Arc<SessionSettings>,
    ) -> Addr<NodeSession> {
        NodeSession::create(move |ctx| {
            let splitter = FrameSplitter::new(settings.max_frame_bytes);
            ctx.add_stream(FramedRead::new(reader, splitter));
            let fallback = SessionEnded {
                node_id: None,
                session_id: 0,
                reason: EndReason::Crashed,
            };
            NodeSession {
                exit: ExitNotice::new(registry.clone().recipient(), fallback),
                writer: Writer::new(writer, ctx),
                settings,
                registry,
                remote_addr,
                phase: Phase::Unregistered,
                identity: None,
                permit,
                last_frame: Instant::now(),
                bad_frames: VecDeque::new(),
                version_logged: false,
                log_limiter: LogLimiter::new(LOG_BURST, Duration::from_secs(60)),
                ending: None,
            }
        })
    }

    /// Who this session is, for log lines.
    fn peer(&self) -> String {
        match self.identity {
            Some((node_id, _)) => format!("Node {node_id} ({})", self.remote_addr),
            None => format!("Connection {}", self.remote_addr),
        }
    }

    fn registered_id(&self) -> Option<u64> {
        self.identity.map(|(node_id, _)| node_id)
    }

    fn write(&mut self, message: &CoreToNode) {
        self.writer.write(&encode(message));
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
            Route::Report => self.report(decoded.message),
            Route::Goodbye => self.close(EndReason::NodeDrop, ctx),
            Route::Ignore => {}
        }
    }

    /// Asks the registry, holding every later frame (and timer) until it answers: `ctx.wait`
    /// stops the actor from reading its socket, so frames stay queued in order.
    fn register(
        &mut self,
        registration: honeybee_protocol::NodeRegistration,
        version: u64,
        ctx: &mut Context<Self>,
    ) {
        let node_id = registration.node_id;
        let request = Register {
            session: ctx.address(),
            registration,
            version,
            remote_addr: self.remote_addr,
        };
        let answer = self
            .registry
            .send(request)
            .timeout(self.settings.registration_timeout);
        ctx.wait(
            answer
                .into_actor(self)
                .map(move |answer, act, ctx| match answer {
                    Ok(Ok(admitted)) => act.admitted(node_id, admitted, ctx),
                    Ok(Err(refused)) => act.refused(node_id, refused, ctx),
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
        self.write(&CoreToNode::RegistrationAck(RegistrationAck {
            node_id: Some(node_id),
            accepted: true,
            message: Some("Registration successful".to_owned()),
            totp_key: admitted.totp_key,
        }));
        self.phase = Phase::Registered {
            node_id,
            session_id: admitted.session_id,
        };
        self.identity = Some((node_id, admitted.session_id));
        self.permit.registered();
        self.exit.rearm(SessionEnded {
            node_id: Some(node_id),
            session_id: admitted.session_id,
            reason: EndReason::Crashed,
        });
        self.last_frame = Instant::now();
        self.check_heartbeat(ctx);
    }

    fn refused(&mut self, node_id: u64, refused: Refused, ctx: &mut Context<Self>) {
        self.write(&CoreToNode::RegistrationAck(RegistrationAck {
            node_id: Some(node_id),
            accepted: false,
            message: Some(refused.message),
            totp_key: None,
        }));
        self.close(EndReason::Refused, ctx);
    }

    fn report(&mut self, message: NodeToCore) {
        let Phase::Registered {
            node_id,
            session_id,
        } = self.phase
        else {
            return;
        };
        let report = match message {
            NodeToCore::NodeStatusUpdate(update) => Report::Status(update.status),
            NodeToCore::PotStatusUpdate(update) => Report::Pot(update),
            NodeToCore::NodeEvent(event) => Report::Event(event),
            // Events go to the event pipeline; the registry only learns the node is alive.
            NodeToCore::PotEvent(_) => Report::Seen,
            NodeToCore::NodeRegistration(_) | NodeToCore::NodeDrop => return,
        };
        self.registry.do_send(NodeReport {
            node_id,
            session_id,
            report,
        });
    }

    /// Answers a bad frame with a `ProtocolError`, closing the connection once more than
    /// `max_bad_frames_per_minute` arrived within a minute.
    fn bad_frame(&mut self, code: ErrorCode, detail: &str, ctx: &mut Context<Self>) {
        let now = Instant::now();
        while self
            .bad_frames
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            self.bad_frames.pop_front();
        }
        self.bad_frames.push_back(now);
        let node_id = self.registered_id();
        if self.bad_frames.len() > self.settings.max_bad_frames_per_minute as usize {
            log::warn!(
                "{} sent more than {} bad frames in a minute; closing the connection.",
                self.peer(),
                self.settings.max_bad_frames_per_minute
            );
            self.write(&protocol_error(
                ErrorCode::RateLimited,
                "too many bad frames; closing the connection".to_owned(),
                node_id,
            ));
            return self.close(EndReason::RateLimited, ctx);
        }
        limited_log!(
            self.log_limiter,
            warn,
            "{} sent a bad frame ({code}): {detail}",
            self.peer()
        );
        self.write(&protocol_error(code, detail.to_owned(), node_id));
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
        (ErrorCode::NotRegistered, _, _) => format!(
            "{} before any NodeRegistration on this connection; register first",
            message.name()
        ),
        _ => code.as_str().to_owned(),
    }
}

impl Actor for NodeSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_later(self.settings.registration_timeout, |act, ctx| {
            if act.phase == Phase::Unregistered {
                log::info!(
                    "{} did not register within {:?}; closing.",
                    act.peer(),
                    act.settings.registration_timeout
                );
                act.close(EndReason::RegistrationTimeout, ctx);
            }
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        let (node_id, session_id) = self.identity.unzip();
        self.exit.send(SessionEnded {
            node_id,
            session_id: session_id.unwrap_or(0),
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
            Ok(Frame::Data(frame)) => self.on_data(frame, ctx),
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

    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.ending.get_or_insert(EndReason::Eof);
        ctx.stop();
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

    fn handle(&mut self, msg: Deliver, _: &mut Context<Self>) {
        if matches!(self.phase, Phase::Registered { .. }) {
            self.write(&msg.0);
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
