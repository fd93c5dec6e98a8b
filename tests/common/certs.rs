//! A throwaway PKI for tests: a CA, a server certificate for localhost/127.0.0.1/::1, a client
//! certificate signed by the CA and one from another, untrusted CA, written as PEM files to a
//! temporary directory; plus rustls client configurations and a blocking TLS connect for fake
//! nodes. Also compiled into the library's unit tests (`src/net/tls/tests.rs`).
#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::version::{TLS12, TLS13};
use rustls::{ClientConfig, ClientConnection, ProtocolVersion, RootCertStore, StreamOwned};

/// How long `connect_blocking` waits for the TCP connect, each handshake read or write, and
/// the server's verdict on the client certificate.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which certificate a test client presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCert {
    /// No client certificate.
    None,
    /// `client_cert`/`client_key`, signed by the test CA (`ca_cert`).
    Trusted,
    /// `untrusted_client_cert`/`untrusted_client_key`, signed by another CA.
    Untrusted,
}

/// PEM files in `dir` (deleted on drop). Server and client certificate files hold the leaf
/// only; keys are PKCS#8.
#[derive(Debug)]
pub struct TestPki {
    pub dir: tempfile::TempDir,
    /// The test CA: trust anchor for the server certificate and for trusted clients.
    pub ca_cert: PathBuf,
    /// For `localhost`, `127.0.0.1` and `::1`, signed by the test CA.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// Signed by the test CA.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA the server does not trust.
    pub untrusted_ca_cert: PathBuf,
    /// Signed by `untrusted_ca_cert`.
    pub untrusted_client_cert: PathBuf,
    pub untrusted_client_key: PathBuf,
}

impl TestPki {
    /// Generates fresh keys and certificates (ECDSA P-256) into a new temporary directory.
    pub fn generate() -> TestPki {
        let dir = tempfile::tempdir().expect("create temp dir for test PKI");
        let path = |name: &str| dir.path().join(name);
        let pki = TestPki {
            ca_cert: path("ca.pem"),
            server_cert: path("server.pem"),
            server_key: path("server.key"),
            client_cert: path("client.pem"),
            client_key: path("client.key"),
            untrusted_ca_cert: path("untrusted-ca.pem"),
            untrusted_client_cert: path("untrusted-client.pem"),
            untrusted_client_key: path("untrusted-client.key"),
            dir,
        };

        let ca = new_ca("HoneyBee Test CA");
        write(&pki.ca_cert, &ca.pem());
        let server_names = ["localhost", "127.0.0.1", "::1"];
        let (cert, key) = new_leaf(&ca, &server_names, ExtendedKeyUsagePurpose::ServerAuth);
        write(&pki.server_cert, &cert);
        write(&pki.server_key, &key);
        let (cert, key) = new_leaf(&ca, &["node-1"], ExtendedKeyUsagePurpose::ClientAuth);
        write(&pki.client_cert, &cert);
        write(&pki.client_key, &key);

        let other_ca = new_ca("Untrusted Test CA");
        write(&pki.untrusted_ca_cert, &other_ca.pem());
        let (cert, key) = new_leaf(&other_ca, &["node-1"], ExtendedKeyUsagePurpose::ClientAuth);
        write(&pki.untrusted_client_cert, &cert);
        write(&pki.untrusted_client_key, &key);
        pki
    }

    /// A client configuration (ring provider, TLS 1.3 and 1.2) trusting only the test CA and
    /// presenting `client_cert`.
    pub fn client_config(&self, client_cert: ClientCert) -> Arc<ClientConfig> {
        self.client_config_with_versions(client_cert, &[&TLS13, &TLS12])
    }

    /// Like [`TestPki::client_config`], limited to the given protocol versions.
    pub fn client_config_with_versions(
        &self,
        client_cert: ClientCert,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        for cert in read_certs(&self.ca_cert) {
            roots.add(cert).expect("test CA is a valid trust anchor");
        }
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(versions)
                .expect("ring supports these protocol versions")
                .with_root_certificates(roots);
        let config = match self.client_files(client_cert) {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let key = PrivateKeyDer::from_pem_file(key).expect("read test client key");
                builder
                    .with_client_auth_cert(read_certs(cert), key)
                    .expect("test client certificate and key match")
            }
        };
        Arc::new(config)
    }

    /// The certificate and key files for `client_cert`.
    pub fn client_files(&self, client_cert: ClientCert) -> Option<(&Path, &Path)> {
        match client_cert {
            ClientCert::None => None,
            ClientCert::Trusted => Some((&self.client_cert, &self.client_key)),
            ClientCert::Untrusted => {
                Some((&self.untrusted_client_cert, &self.untrusted_client_key))
            }
        }
    }

    /// Connects to `addr` over TCP and completes the TLS handshake (server name: the IP of
    /// `addr`), presenting `cert`.
    ///
    /// In TLS 1.3 the client's handshake ends before the server has checked the client
    /// certificate, so this also waits (up to [`HANDSHAKE_TIMEOUT`]) for the server's first
    /// record after the handshake: the session tickets a rustls server sends once it accepts
    /// the client, or its alert when it rejects it. Any data the server sends is kept for the
    /// returned stream's reads.
    ///
    /// # Errors
    /// Connect or I/O errors; `InvalidData` when the server rejects the handshake (e.g. alert
    /// `CertificateRequired` or `UnknownCA`); `ConnectionAborted` when it closes instead.
    pub fn connect_blocking(
        &self,
        addr: SocketAddr,
        cert: ClientCert,
    ) -> io::Result<StreamOwned<ClientConnection, TcpStream>> {
        let name = ServerName::from(addr.ip());
        let mut conn =
            ClientConnection::new(self.client_config(cert), name).map_err(io::Error::other)?;
        let mut sock = TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT)?;
        sock.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        sock.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)?;
        }
        if conn.protocol_version() == Some(ProtocolVersion::TLSv1_3) {
            // Blocks until the server's tickets (accepted) or alert (an Err here) arrive.
            let (read, _) = conn.complete_io(&mut sock)?;
            if read == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "server closed the connection right after the TLS handshake",
                ));
            }
        }
        sock.set_read_timeout(None)?;
        sock.set_write_timeout(None)?;
        Ok(StreamOwned::new(conn, sock))
    }
}

fn new_ca(common_name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("generate CA key");
    CertifiedIssuer::self_signed(params, key).expect("self-sign test CA")
}

/// A leaf certificate for `names` signed by `issuer`: (certificate PEM, PKCS#8 key PEM).
fn new_leaf(
    issuer: &Issuer<'_, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).expect("valid SAN names");
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("generate leaf key");
    let cert = params
        .signed_by(&key, issuer)
        .expect("sign leaf certificate");
    (cert.pem(), key.serialize_pem())
}

fn read_certs(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .expect("open test certificate")
        .collect::<Result<_, _>>()
        .expect("parse test certificate")
}

fn write(path: &Path, pem: &str) {
    fs::write(path, pem).expect("write test PKI file");
}
