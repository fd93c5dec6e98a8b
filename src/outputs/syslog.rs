//! The syslog sink: RFC 5424 messages over UDP (one datagram each: at-most-once, as UDP is),
//! TCP or TLS (octet-counted frames, one write per batch).
//!
//! A stream cannot say what the receiver processed, only that the connection is still up. So a
//! batch written is held in flight and settled once it has been on a connection that was
//! still open [`SETTLE`] later (a receiver that stops or dies closes it, and the batches not yet
//! settled are written again on the next connection: duplicates, same ids, never a gap). What a
//! receiver had read but not yet processed when it was killed (`kill -9`) cannot be seen by any
//! sender.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::deliver::Outcome;
use super::item::Item;
use super::rfc5424;
use crate::config::outputs::{SyslogConfig, Transport};

/// How long a batch must have been on a connection that stayed open before it counts as sent.
pub(super) const SETTLE: Duration = Duration::from_millis(250);

trait Stream: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Stream for T {}

pub(super) struct SyslogSink {
    config: SyslogConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    stream: Option<Box<dyn Stream>>,
    udp: Option<UdpSocket>,
    /// Batches written and not settled: when, and how many items.
    in_flight: VecDeque<(Instant, usize)>,
}

impl SyslogSink {
    pub(super) fn new(
        config: SyslogConfig,
        tls: Option<Arc<rustls::ClientConfig>>,
        timeout: Duration,
    ) -> Self {
        SyslogSink {
            config,
            tls,
            timeout,
            stream: None,
            udp: None,
            in_flight: VecDeque::new(),
        }
    }

    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.iter().map(|(_, n)| n).sum()
    }

    pub(super) fn reset(&mut self) {
        self.in_flight.clear();
        self.stream = None;
    }

    pub(super) async fn send(&mut self, items: &[Item]) -> Outcome {
        if self.config.transport == Transport::Udp {
            return self.send_udp(items).await;
        }
        let mut settled = match self.check().await {
            Ok(n) => n,
            Err(e) => return Outcome::failed(0, e),
        };
        let mut bytes = Vec::with_capacity(items.len() * 400);
        for item in items {
            let msg = rfc5424::message(item, self.config.format, self.config.facility, false);
            rfc5424::frame_octet_counted(&mut bytes, &msg);
        }
        if self.stream.is_none() {
            match self.connect().await {
                Ok(stream) => self.stream = Some(stream),
                Err(e) => return Outcome::failed(settled, e),
            }
        }
        let Some(stream) = self.stream.as_mut() else {
            return Outcome::failed(settled, "no connection");
        };
        let write = async {
            stream.write_all(&bytes).await?;
            stream.flush().await
        };
        match tokio::time::timeout(self.timeout, write).await {
            Ok(Ok(())) => {
                self.in_flight.push_back((Instant::now(), items.len()));
                settled += self.settle_due();
                Outcome {
                    settled,
                    ..Outcome::default()
                }
            }
            Ok(Err(e)) => {
                self.stream = None;
                Outcome::failed(settled, format!("write to {}: {e}", self.config.address))
            }
            Err(_) => {
                self.stream = None;
                Outcome::failed(
                    settled,
                    format!("write to {} timed out", self.config.address),
                )
            }
        }
    }

    /// Settles what has been in flight long enough on a connection still open.
    pub(super) async fn poll(&mut self) -> Outcome {
        match self.check().await {
            Ok(settled) => Outcome {
                settled,
                ..Outcome::default()
            },
            Err(e) => Outcome::failed(0, e),
        }
    }

    /// Whether the connection is still open (a receiver sends nothing, so anything readable is
    /// its end: EOF or a reset); settles what is due if it is.
    async fn check(&mut self) -> Result<usize, String> {
        let Some(stream) = self.stream.as_mut() else {
            if self.in_flight.is_empty() {
                return Ok(0);
            }
            return Err("the connection closed with messages in flight".into());
        };
        let mut probe = [0u8; 512];
        let closed =
            match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await {
                Err(_) => None,
                Ok(Ok(0)) => Some("closed by the receiver".to_owned()),
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e.to_string()),
            };
        if let Some(why) = closed {
            self.stream = None;
            return Err(format!("connection to {}: {why}", self.config.address));
        }
        Ok(self.settle_due())
    }

    fn settle_due(&mut self) -> usize {
        let mut settled = 0;
        while let Some((at, n)) = self.in_flight.front() {
            if at.elapsed() < SETTLE {
                break;
            }
            settled += n;
            self.in_flight.pop_front();
        }
        settled
    }

    async fn connect(&self) -> Result<Box<dyn Stream>, String> {
        let address = &self.config.address;
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect(address.as_str()))
            .await
            .map_err(|_| format!("connect to {address} timed out"))?
            .map_err(|e| format!("connect to {address}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        let host = host_of(address);
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| format!("TLS server name {host:?}: {e}"))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(tls));
        let stream = tokio::time::timeout(self.timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| format!("TLS handshake with {address} timed out"))?
            .map_err(|e| format!("TLS handshake with {address}: {e}"))?;
        Ok(Box::new(stream))
    }

    async fn send_udp(&mut self, items: &[Item]) -> Outcome {
        if self.udp.is_none() {
            let bind = if host_of(&self.config.address).contains(':') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            };
            let socket = match UdpSocket::bind(bind).await {
                Ok(s) => s,
                Err(e) => return Outcome::failed(0, format!("UDP socket: {e}")),
            };
            if let Err(e) = socket.connect(self.config.address.as_str()).await {
                return Outcome::failed(0, format!("UDP to {}: {e}", self.config.address));
            }
            self.udp = Some(socket);
        }
        let Some(socket) = &self.udp else {
            return Outcome::failed(0, "no UDP socket");
        };
        for (i, item) in items.iter().enumerate() {
            let datagram = rfc5424::udp_datagram(item, self.config.format, self.config.facility);
            // A datagram refused locally (e.g. ICMP port unreachable from the last one) is
            // dropped: UDP syslog is at-most-once.
            if let Err(e) = socket.send(&datagram).await
                && e.kind() != std::io::ErrorKind::ConnectionRefused
            {
                self.udp = None;
                return Outcome::failed(i, format!("UDP to {}: {e}", self.config.address));
            }
        }
        Outcome::all(items.len())
    }
}

/// The host part of `host:port` (without the brackets of an IPv6 address).
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}
