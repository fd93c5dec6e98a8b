//! The node listener: the socket (backlog 4096, `SO_REUSEADDR`), the open-file limit it may use,
//! and the accept loop that counts each connection against the limits and starts its session
//! (TLS first, if on) on the next session arbiter.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_rt::ArbiterHandle;
use honeybee_actors::log_limit::LogLimiter;
use honeybee_actors::session::{NodeReader, NodeWriter, SessionDeps};
use honeybee_actors::{ConnectionLimits, ConnectionPermit, NodeSession, limited_log};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::net::{self, FdLimit};

/// File descriptors kept free for the store, logs and the API when deriving
/// `limits.max_connections` from the open-file limit.
const RESERVED_FDS: u64 = 512;
/// How long accept pauses when the process is out of file descriptors.
const EMFILE_BACKOFF: Duration = Duration::from_millis(100);

/// `limits.max_connections`, with 0 derived from the open-file limit (raised to its hard limit
/// first); warns when the limit cannot hold what was configured.
pub(super) fn max_connections(configured: usize) -> usize {
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
pub(super) struct AcceptLoop {
    pub(super) limits: ConnectionLimits,
    pub(super) arbiters: Vec<ArbiterHandle>,
    pub(super) tls: Option<TlsAcceptor>,
    pub(super) deps: SessionDeps,
}

impl AcceptLoop {
    pub(super) async fn run(self, listener: TcpListener) {
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
