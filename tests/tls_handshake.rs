//! TLS handshakes between the test helper's blocking client (`tests/common/certs.rs`, used by
//! the end-to-end fake node) and a tokio-rustls server built with `net::server_config`.
// Helpers outside #[test] fns are not "in tests" for clippy's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/certs.rs"]
mod certs;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use certs::{ClientCert, TestPki};
use honeybee_core::net::{LISTEN_BACKLOG, acceptor, bind_listener, server_config};
use rustls::ProtocolVersion;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// Starts a TLS server on its own thread: per connection it greets with
/// `hello certs=<number of client certificates>` and then echoes lines.
fn start_server(pki: &TestPki, client_ca: bool) -> SocketAddr {
    let config = server_config(
        &pki.server_cert,
        &pki.server_key,
        client_ca.then_some(pki.ca_cert.as_path()),
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let listener = bind_listener(addr, LISTEN_BACKLOG).unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let acceptor = acceptor(config);
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let certs = tls.get_ref().1.peer_certificates().map_or(0, |c| c.len());
                    let mut tls = tokio::io::BufReader::new(tls);
                    let hello = format!("hello certs={certs}\n");
                    tls.get_mut().write_all(hello.as_bytes()).await.unwrap();
                    let mut line = String::new();
                    while tls.read_line(&mut line).await.unwrap_or(0) > 0 {
                        tls.get_mut().write_all(line.as_bytes()).await.unwrap();
                        line.clear();
                    }
                });
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

/// Connects, checks the greeting and one echoed line.
fn talk(pki: &TestPki, addr: SocketAddr, cert: ClientCert, expected_certs: usize) {
    let stream = pki.connect_blocking(addr, cert).unwrap();
    assert_eq!(
        stream.conn.protocol_version(),
        Some(ProtocolVersion::TLSv1_3)
    );
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    stream.read_line(&mut line).unwrap();
    assert_eq!(line, format!("hello certs={expected_certs}\n"));
    stream.get_mut().write_all(b"ping\n").unwrap();
    line.clear();
    stream.read_line(&mut line).unwrap();
    assert_eq!(line, "ping\n");
}

fn assert_rejected(pki: &TestPki, addr: SocketAddr, cert: ClientCert, alert: &str) {
    let started = Instant::now();
    let err = pki.connect_blocking(addr, cert).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains(alert), "{cert:?}: {err}");
    // The verdict comes from the server's alert, not from the helper's timeout.
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn without_client_auth_any_client_connects() {
    let pki = TestPki::generate();
    let addr = start_server(&pki, false);
    talk(&pki, addr, ClientCert::None, 0);
    // A client certificate is not requested, so none is sent.
    talk(&pki, addr, ClientCert::Trusted, 0);
}

#[test]
fn with_client_ca_only_trusted_clients_connect() {
    let pki = TestPki::generate();
    let addr = start_server(&pki, true);
    talk(&pki, addr, ClientCert::Trusted, 1);
    assert_rejected(&pki, addr, ClientCert::None, "CertificateRequired");
    assert_rejected(&pki, addr, ClientCert::Untrusted, "UnknownCA");
    // The server is still fine afterwards.
    talk(&pki, addr, ClientCert::Trusted, 1);
}
