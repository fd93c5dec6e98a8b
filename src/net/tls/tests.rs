use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ProtocolVersion, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::*;
use crate::net::{LISTEN_BACKLOG, bind_listener};

#[path = "../../../tests/common/certs.rs"]
mod certs;

use certs::{ClientCert, TestPki};

fn write_file(pki: &TestPki, name: &str, contents: &str) -> PathBuf {
    let path = pki.dir.path().join(name);
    fs::write(&path, contents).unwrap();
    path
}

/// The base64 lines of a PEM file, which an error message must never contain.
fn pem_body_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 8)
        .map(|l| l[..16.min(l.len())].to_string())
        .collect()
}

fn assert_no_key_material(err: &TlsError, key: &Path) {
    let text = format!("{err} {err:?}");
    for line in pem_body_lines(key) {
        assert!(!text.contains(&line), "error shows key material: {text}");
    }
}

#[test]
fn loads_without_and_with_client_ca() {
    let pki = TestPki::generate();
    server_config(&pki.server_cert, &pki.server_key, None).unwrap();
    server_config(&pki.server_cert, &pki.server_key, Some(&pki.ca_cert)).unwrap();
}

#[test]
fn missing_certificate_file() {
    let pki = TestPki::generate();
    let missing = pki.dir.path().join("nope.pem");
    let err = server_config(&missing, &pki.server_key, None).unwrap_err();
    assert!(
        matches!(&err, TlsError::Unreadable { role: "certificate", path, .. } if *path == missing),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.starts_with(&format!(
        "cannot read certificate file {}: ",
        missing.display()
    )));
    assert!(text.contains("No such file"), "{text}");
}

#[test]
fn certificate_file_without_certificate() {
    let pki = TestPki::generate();
    let err = server_config(&pki.server_key, &pki.server_key, None).unwrap_err();
    assert!(
        matches!(&err, TlsError::NoCertificate { role: "certificate", path } if *path == pki.server_key),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "no certificate in certificate file {}: expected a PEM \"BEGIN CERTIFICATE\" block",
            pki.server_key.display()
        )
    );
}

#[test]
fn key_file_without_key() {
    let pki = TestPki::generate();
    let err = server_config(&pki.server_cert, &pki.server_cert, None).unwrap_err();
    assert!(
        matches!(&err, TlsError::NoPrivateKey { path } if *path == pki.server_cert),
        "{err:?}"
    );
    assert!(err.to_string().starts_with(&format!(
        "no private key in {}: ",
        pki.server_cert.display()
    )));
}

#[test]
fn missing_key_file() {
    let pki = TestPki::generate();
    let missing = pki.dir.path().join("nope.key");
    let err = server_config(&pki.server_cert, &missing, None).unwrap_err();
    assert!(
        matches!(&err, TlsError::Unreadable { role: "private key", path, .. } if *path == missing),
        "{err:?}"
    );
}

#[test]
fn malformed_key_is_reported_without_its_contents() {
    let pki = TestPki::generate();
    let pem = fs::read_to_string(&pki.server_key).unwrap();
    let mut lines: Vec<String> = pem.lines().map(str::to_string).collect();
    lines[1].replace_range(3..4, "!"); // not base64
    let bad = write_file(&pki, "bad.key", &(lines.join("\n") + "\n"));
    let err = server_config(&pki.server_cert, &bad, None).unwrap_err();
    assert!(
        matches!(&err, TlsError::Unreadable { role: "private key", path, .. } if *path == bad),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read private key file {}: malformed PEM: invalid base64 in a section",
            bad.display()
        )
    );
    assert_no_key_material(&err, &bad);
}

#[test]
fn mismatched_key_is_rejected() {
    let pki = TestPki::generate();
    let err = server_config(&pki.server_cert, &pki.client_key, None).unwrap_err();
    assert!(
        matches!(&err, TlsError::CertKeyRejected { cert, key, .. }
            if *cert == pki.server_cert && *key == pki.client_key),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "certificate {} and private key {} cannot be used together: the private key does \
             not belong to the certificate (the first one in the file)",
            pki.server_cert.display(),
            pki.client_key.display()
        )
    );
    assert_no_key_material(&err, &pki.client_key);
}

#[test]
fn client_ca_without_certificate() {
    let pki = TestPki::generate();
    let err = server_config(&pki.server_cert, &pki.server_key, Some(&pki.client_key)).unwrap_err();
    assert!(
        matches!(&err, TlsError::NoCertificate { role: "client CA", path } if *path == pki.client_key),
        "{err:?}"
    );
    assert_no_key_material(&err, &pki.client_key);
}

#[test]
fn missing_client_ca() {
    let pki = TestPki::generate();
    let missing = pki.dir.path().join("nope-ca.pem");
    let err = server_config(&pki.server_cert, &pki.server_key, Some(&missing)).unwrap_err();
    assert!(
        matches!(&err, TlsError::Unreadable { role: "client CA", path, .. } if *path == missing),
        "{err:?}"
    );
}

#[test]
fn client_ca_that_is_not_a_certificate() {
    let pki = TestPki::generate();
    // Well-formed PEM whose DER is garbage.
    let bad = write_file(
        &pki,
        "garbage-ca.pem",
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    );
    let err = server_config(&pki.server_cert, &pki.server_key, Some(&bad)).unwrap_err();
    assert!(
        matches!(&err, TlsError::BadClientCa { path, .. } if *path == bad),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "client CA file {} cannot be used to verify node certificates: not a usable CA",
            bad.display()
        )),
        "{err}"
    );
}

// --- Real handshakes over 127.0.0.1 ---

/// What the server saw: the number of client certificates, or the handshake error.
type ServerResult = io::Result<usize>;

/// One connection: the server accepts, reads "ping", answers "pong"; the client sends "ping"
/// and reads "pong". Returns both sides' results; the client's carries the negotiated version.
async fn exchange(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
) -> (ServerResult, io::Result<ProtocolVersion>) {
    let listener =
        bind_listener(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), LISTEN_BACKLOG).unwrap();
    let addr = listener.local_addr().unwrap();
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = acceptor(server).accept(tcp).await?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ping");
        tls.write_all(b"pong").await?;
        tls.shutdown().await?;
        let (_, conn) = tls.get_ref();
        Ok(conn.peer_certificates().map_or(0, |c| c.len()))
    });
    let client_side = async {
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::from(addr.ip());
        let mut tls = TlsConnector::from(client).connect(name, tcp).await?;
        tls.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"pong");
        Ok(tls.get_ref().1.protocol_version().unwrap())
    };
    let run = async { tokio::join!(server_task, client_side) };
    let (server, client) = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("handshake test timed out");
    (server.unwrap(), client)
}

const VERSIONS: [(&SupportedProtocolVersion, ProtocolVersion); 2] = [
    (&rustls::version::TLS13, ProtocolVersion::TLSv1_3),
    (&rustls::version::TLS12, ProtocolVersion::TLSv1_2),
];

#[tokio::test]
async fn handshake_without_client_auth() {
    let pki = TestPki::generate();
    let server = server_config(&pki.server_cert, &pki.server_key, None).unwrap();
    for (version, expected) in VERSIONS {
        let client = pki.client_config_with_versions(ClientCert::None, &[version]);
        let (server_seen, client_seen) = exchange(server.clone(), client).await;
        assert_eq!(server_seen.unwrap(), 0);
        assert_eq!(client_seen.unwrap(), expected);
    }
}

#[tokio::test]
async fn client_auth_accepts_cert_signed_by_ca() {
    let pki = TestPki::generate();
    let server = server_config(&pki.server_cert, &pki.server_key, Some(&pki.ca_cert)).unwrap();
    for (version, expected) in VERSIONS {
        let client = pki.client_config_with_versions(ClientCert::Trusted, &[version]);
        let (server_seen, client_seen) = exchange(server.clone(), client).await;
        assert_eq!(server_seen.unwrap(), 1, "{expected:?}");
        assert_eq!(client_seen.unwrap(), expected);
    }
}

#[tokio::test]
async fn client_auth_rejects_missing_or_untrusted_cert() {
    let pki = TestPki::generate();
    let server = server_config(&pki.server_cert, &pki.server_key, Some(&pki.ca_cert)).unwrap();
    let cases = [
        (ClientCert::None, "no certificates"),
        (ClientCert::Untrusted, "UnknownIssuer"),
    ];
    for (cert, server_reason) in cases {
        for (version, _) in VERSIONS {
            let client = pki.client_config_with_versions(cert, &[version]);
            let (server_seen, client_seen) = exchange(server.clone(), client).await;
            let err = server_seen.unwrap_err();
            assert!(
                err.to_string().contains(server_reason),
                "{cert:?} {version:?}: {err}"
            );
            // TLS 1.2 fails the client's handshake; with 1.3 the alert arrives on its read.
            assert!(client_seen.is_err(), "{cert:?} {version:?}");
        }
    }
}
