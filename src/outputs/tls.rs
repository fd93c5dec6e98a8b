//! TLS and HTTP clients for the sinks: rustls on the ring provider (like the rest of the Core),
//! trusting the system's CA certificates plus a sink's `ca` file; awc for HTTP(S), without
//! redirects (a redirect is reported, not followed with the sink's credentials), and the
//! [`Redactor`] that keeps secrets out of every error text, log line and API answer.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::OutputsError;

/// A client configuration trusting the system's roots and `ca` (PEM), presenting `client`
/// (certificate chain and key files) when given.
pub(super) fn client_config(
    ca: Option<&Path>,
    client: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, OutputsError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(ca) = ca {
        let certs = read_certs(ca)?;
        if certs.is_empty() {
            return Err(OutputsError::Tls(format!(
                "{}: no PEM certificate in it",
                ca.display()
            )));
        }
        roots.add_parsable_certificates(certs);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| OutputsError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => {
            let chain = read_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                OutputsError::Tls(format!("{}: no usable private key: {e}", key.display()))
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| OutputsError::Tls(format!("client certificate: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, OutputsError> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| OutputsError::Tls(format!("{}: {e}", path.display())))?;
    iter.collect::<Result<Vec<_>, _>>()
        .map_err(|e| OutputsError::Tls(format!("{}: {e}", path.display())))
}

/// An awc client for one sink (inside its own actix `System`).
pub(super) fn http_client(tls: Arc<ClientConfig>, timeout: Duration) -> awc::Client {
    let mut tls = Arc::unwrap_or_clone(tls);
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = awc::Connector::new()
        .timeout(timeout)
        .rustls_0_23(Arc::new(tls));
    awc::Client::builder()
        .connector(connector)
        .timeout(timeout)
        .disable_redirects()
        .finish()
}

/// Removes a sink's secrets from text before it reaches a log line, `last_error` or a dead
/// letter.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        Redactor {
            secrets: secrets.into_iter().filter(|s| s.len() >= 3).collect(),
        }
    }

    /// `text` without any secret, cut to 512 characters, control characters escaped.
    pub fn clean(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), "<redacted>");
        }
        honeybee_protocol::error::sanitize(&out, 512)
    }
}
