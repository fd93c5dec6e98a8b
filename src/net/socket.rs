//! Listening sockets for many connections: the file-descriptor limit, a listener with a large
//! backlog and `SO_REUSEADDR`, and recognising descriptor exhaustion in `accept`.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Backlog for the node and API listeners. `TcpListener::bind` uses 128, which turns a burst
/// of thousands of connects into seconds of SYN retries (STACK-FACTS.md).
pub const LISTEN_BACKLOG: u32 = 4096;

/// `EMFILE` on Linux: this process has no file descriptor left.
const EMFILE: i32 = 24;
/// `ENFILE` on Linux: the whole system has no file descriptor left.
const ENFILE: i32 = 23;

/// The `RLIMIT_NOFILE` limits of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the limits in force
/// afterwards. The hard limit itself cannot be raised without `CAP_SYS_RESOURCE`, so it bounds
/// the number of node connections one Core process can hold.
///
/// # Errors
/// The `getrlimit`/`setrlimit` error, if either call fails.
pub fn raise_fd_limit() -> io::Result<FdLimit> {
    // Capped at the hard limit (and, on macOS, at kern.maxfilesperproc) by the crate.
    rlimit::increase_nofile_limit(u64::MAX)?;
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    Ok(FdLimit { soft, hard })
}

/// Binds a TCP listener on `addr` with `SO_REUSEADDR` (so a restarted Core can rebind while
/// old connections sit in `TIME_WAIT`) and the given listen `backlog`.
///
/// Must be called within a tokio runtime: the listener registers with its reactor.
///
/// # Errors
/// `Other` when called outside a tokio runtime; otherwise the error of socket creation,
/// `setsockopt`, `bind` (e.g. `AddrInUse`) or `listen`.
pub fn bind_listener(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    // TcpSocket::listen panics without a runtime; report that as an error instead.
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(io::Error::other(format!(
            "cannot listen on {addr}: bind_listener was called outside a tokio runtime"
        )));
    }
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Whether an `accept` error means file descriptors ran out (`EMFILE`/`ENFILE`). The accept
/// loop must then back off for a moment instead of retrying at once: the pending connection
/// stays in the backlog and every retry would fail the same way, spinning a core.
pub fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(EMFILE | ENFILE))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};

    use super::*;

    fn loopback(port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    #[tokio::test]
    async fn binds_port_zero_twice() {
        let a = bind_listener(loopback(0), LISTEN_BACKLOG).unwrap();
        let b = bind_listener(loopback(0), LISTEN_BACKLOG).unwrap();
        let (pa, pb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_ne!(pa.port(), 0);
        assert_ne!(pa.port(), pb.port());
        // Both really listen.
        let _ca = TcpStream::connect(pa).await.unwrap();
        let _cb = TcpStream::connect(pb).await.unwrap();
        a.accept().await.unwrap();
        b.accept().await.unwrap();
    }

    #[tokio::test]
    async fn binds_ipv6_when_available() {
        // Some sandboxes have no IPv6 at all; only check the v6 path when ::1 exists.
        let addr: SocketAddr = "[::1]:0".parse().unwrap();
        if std::net::TcpListener::bind(addr).is_err() {
            return;
        }
        let l = bind_listener(addr, LISTEN_BACKLOG).unwrap();
        assert!(l.local_addr().unwrap().is_ipv6());
    }

    /// A server-side close leaves the listening port in `TIME_WAIT`; a plain socket cannot
    /// rebind it, `bind_listener` can.
    #[tokio::test]
    async fn rebinds_port_in_time_wait() {
        let listener = bind_listener(loopback(0), LISTEN_BACKLOG).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server_side, _) = listener.accept().await.unwrap();
        server_side.write_all(b"bye").await.unwrap();
        // The server closes first (active close), as a Core shutting down does.
        drop(server_side);
        let mut buf = Vec::new();
        client.read_to_end(&mut buf).await.unwrap();
        assert_eq!(buf, b"bye");
        drop(client);
        drop(listener);
        tokio::time::sleep(Duration::from_millis(50)).await;

        // Control: without SO_REUSEADDR the port is still taken.
        let plain = TcpSocket::new_v4().unwrap();
        let err = plain.bind(addr).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");

        let again = bind_listener(addr, LISTEN_BACKLOG).unwrap();
        assert_eq!(again.local_addr().unwrap(), addr);
    }

    #[test]
    fn bind_outside_runtime_is_an_error_not_a_panic() {
        let err = bind_listener(loopback(0), LISTEN_BACKLOG).unwrap_err();
        assert!(err.to_string().contains("outside a tokio runtime"), "{err}");
    }

    #[test]
    fn raises_soft_fd_limit_to_hard() {
        let limit = raise_fd_limit().unwrap();
        assert_eq!(limit.soft, limit.hard);
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert_eq!(FdLimit { soft, hard }, limit);
    }

    #[test]
    fn recognises_fd_exhaustion() {
        assert!(is_fd_exhaustion(&std::io::Error::from_raw_os_error(24)));
        assert!(is_fd_exhaustion(&std::io::Error::from_raw_os_error(23)));
        assert!(!is_fd_exhaustion(&std::io::Error::from_raw_os_error(104)));
        assert!(!is_fd_exhaustion(&std::io::Error::other("EMFILE")));
    }
}
