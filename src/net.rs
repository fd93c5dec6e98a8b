//! Networking for the Core's listeners: sockets (backlog, `SO_REUSEADDR`, descriptor limits)
//! and TLS (rustls on the ring provider, optional client certificates).

mod socket;
mod tls;

pub use socket::{FdLimit, LISTEN_BACKLOG, bind_listener, is_fd_exhaustion, raise_fd_limit};
pub(crate) use tls::load_certs;
pub use tls::{TlsError, acceptor, server_config};
