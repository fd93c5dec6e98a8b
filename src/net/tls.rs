//! TLS for the node listener: a rustls `ServerConfig` from PEM files, always on the ring
//! provider (enabling a second provider makes rustls panic at runtime, STACK-FACTS.md), with
//! optional mandatory client certificates checked against a CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::version::{TLS12, TLS13};
use rustls::{RootCertStore, ServerConfig};

/// Why a TLS configuration could not be built. Messages name the file and the problem, never
/// key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be opened or is not well-formed PEM. `role` says what the file is
    /// for: "certificate", "private key" or "client CA".
    #[error("cannot read {role} file {}: {cause}", path.display())]
    Unreadable {
        role: &'static str,
        path: PathBuf,
        cause: String,
    },
    #[error(
        "no certificate in {role} file {}: expected a PEM \"BEGIN CERTIFICATE\" block",
        path.display()
    )]
    NoCertificate { role: &'static str, path: PathBuf },
    #[error(
        "no private key in {}: expected a PEM PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key",
        path.display()
    )]
    NoPrivateKey { path: PathBuf },
    /// rustls refused the pair: key and certificate do not match, or one cannot be parsed.
    #[error(
        "certificate {} and private key {} cannot be used together: {}",
        cert.display(),
        key.display(),
        describe_rejection(cause)
    )]
    CertKeyRejected {
        cert: PathBuf,
        key: PathBuf,
        cause: rustls::Error,
    },
    #[error("client CA file {} cannot be used to verify node certificates: {cause}", path.display())]
    BadClientCa { path: PathBuf, cause: String },
    /// The provider does not support the protocol versions (not expected with ring).
    #[error("TLS setup failed: {0}")]
    Setup(rustls::Error),
}

/// Builds the server configuration: TLS 1.3 and 1.2 on the ring provider, the certificate
/// chain of `cert` (leaf first) with the private key in `key`. With `client_ca`, every client
/// must present a certificate signed by a CA in that file; without it, there is no client
/// authentication.
///
/// # Errors
/// A [`TlsError`] naming the file at fault.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = load_certs(cert, "certificate")?;
    let key_der = load_private_key(key)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&TLS13, &TLS12])
        .map_err(TlsError::Setup)?;
    let builder = match client_ca {
        Some(ca) => builder.with_client_cert_verifier(client_verifier(ca, provider)?),
        None => builder.with_no_client_auth(),
    };
    let config =
        builder
            .with_single_cert(chain, key_der)
            .map_err(|cause| TlsError::CertKeyRejected {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                cause,
            })?;
    Ok(Arc::new(config))
}

/// A tokio acceptor for `config`.
pub fn acceptor(config: Arc<ServerConfig>) -> tokio_rustls::TlsAcceptor {
    tokio_rustls::TlsAcceptor::from(config)
}

/// A verifier that requires a client certificate chaining to a CA in `path`.
fn client_verifier(
    path: &Path,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let bad_ca = |cause: String| TlsError::BadClientCa {
        path: path.to_path_buf(),
        cause,
    };
    let mut roots = RootCertStore::empty();
    for ca in load_certs(path, "client CA")? {
        roots
            .add(ca)
            .map_err(|e| bad_ca(format!("not a usable CA certificate ({e})")))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| bad_ca(e.to_string()))
}

/// Every certificate in the PEM file at `path`, in file order; at least one. `role` names the
/// file in errors (the CLI reads the API's certificate with it too).
pub(crate) fn load_certs(
    path: &Path,
    role: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let unreadable = |e: pem::Error| TlsError::Unreadable {
        role,
        path: path.to_path_buf(),
        cause: describe_pem_error(&e),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(unreadable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            role,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first private key in the PEM file at `path`.
fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        },
        e => TlsError::Unreadable {
            role: "private key",
            path: path.to_path_buf(),
            cause: describe_pem_error(&e),
        },
    })
}

/// rustls's reason for refusing a certificate and key, in an operator's words where the
/// default text is cryptic.
fn describe_rejection(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            "the private key does not belong to the certificate (the first one in the file)".into()
        }
        e => e.to_string(),
    }
}

/// A PEM error in words that cannot carry file contents: `pem::Error`'s own messages may quote
/// a line of the file, which for a key file could be key material.
fn describe_pem_error(e: &pem::Error) -> String {
    match e {
        pem::Error::Io(io) => io.to_string(),
        pem::Error::MissingSectionEnd { .. } => "malformed PEM: a section has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "malformed PEM: bad BEGIN line".into(),
        pem::Error::Base64Decode(_) => "malformed PEM: invalid base64 in a section".into(),
        pem::Error::NoItemsFound => "no PEM section found".into(),
        pem::Error::SectionTooLarge => "malformed PEM: a section is larger than 256 MB".into(),
        _ => "malformed PEM".into(),
    }
}

#[cfg(test)]
mod tests;
