//! HTTPS to the Core's API: the certificates in `api.tls_cert` — the very file the Core serves
//! — are trusted. The certificate the Core presents is accepted when it is byte for byte one of
//! them (a pin: right for a self-signed certificate and for one whose CA is not in the file,
//! whatever name or address the CLI used to reach it); any other must chain to one of them and
//! name the host, as webpki checks. Always the ring provider, like the rest of the Core.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

use super::CliError;

/// A client configuration trusting the certificates in `cert_file`.
pub(super) fn client_config(cert_file: &Path) -> Result<Arc<ClientConfig>, CliError> {
    let pins = crate::net::load_certs(cert_file, "API certificate")
        .map_err(|e| CliError::Tls(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(pins.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| CliError::Tls(format!("{}: {e}", cert_file.display())))?;
    let verifier = Arc::new(Pinned { pins, webpki });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CliError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // HTTP/1.1 only: the live stream is a WebSocket upgrade.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts the pinned certificates as they are, anything else as webpki would.
#[derive(Debug)]
struct Pinned {
    pins: Vec<CertificateDer<'static>>,
    webpki: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self
            .pins
            .iter()
            .any(|pin| pin.as_ref() == end_entity.as_ref())
        {
            // The handshake signature, checked next by the methods below, proves that the
            // server holds this certificate's key.
            return Ok(ServerCertVerified::assertion());
        }
        (self.webpki).verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
