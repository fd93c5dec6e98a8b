//! Where the running Core's API is and which token to show it: the URL from `api.host` and
//! `api.port` (or `--api`), HTTPS when the config gives the API a certificate, and the token
//! from `HONEYBEE_TOKEN`, `--token-file`, `api.token` or `<storage.dir>/api-token` — never from
//! the command line, where `ps` would show it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::CliError;
use crate::config::Config;

/// The environment variable that carries the token.
pub const TOKEN_ENV: &str = "HONEYBEE_TOKEN";

/// The API to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http(s)://host:port`, without a trailing slash.
    pub base: String,
    /// The certificate file to trust as the root for HTTPS (`api.tls_cert`).
    pub root_cert: Option<PathBuf>,
}

impl Target {
    /// The target from `--api` when given, else from the config.
    pub fn resolve(config: &Config, api: Option<&str>) -> Result<Target, CliError> {
        let root_cert = match (&config.api.tls_cert, &config.api.tls_key) {
            (Some(cert), Some(_)) => Some(cert.clone()),
            _ => None,
        };
        let base = match api {
            Some(url) => {
                let url = url.trim_end_matches('/');
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(CliError::Usage(format!(
                        "--api wants an http:// or https:// URL, not {url:?}"
                    )));
                }
                url.to_owned()
            }
            None if config.api.port == 0 => {
                return Err(CliError::Usage(
                    "api.port is 0 in the config (any free port): give the Core's URL with --api"
                        .to_owned(),
                ));
            }
            None => {
                let scheme = if root_cert.is_some() { "https" } else { "http" };
                format!("{scheme}://{}:{}", host(config.api.host), config.api.port)
            }
        };
        if base.starts_with("https://") && root_cert.is_none() {
            return Err(CliError::Usage(
                "an https URL needs the Core's certificate: set api.tls_cert and api.tls_key in \
                 the config given with --config"
                    .to_owned(),
            ));
        }
        Ok(Target { base, root_cert })
    }
}

/// The host part of a URL for an address the API binds to: the unspecified addresses mean
/// "every interface", so the loopback one reaches it.
fn host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".to_owned(),
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// Where a token was found (for error messages: never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenSource {
    Env,
    File(PathBuf),
    Config,
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env => write!(f, "{TOKEN_ENV}"),
            TokenSource::File(path) => write!(f, "{}", path.display()),
            TokenSource::Config => f.write_str("api.token in the config"),
        }
    }
}

/// The token to present, and where it came from: `env_token` (the value of
/// `HONEYBEE_TOKEN`), else `token_file`, else the config's `api.token`, else
/// `<storage.dir>/api-token` when it exists.
pub(super) fn find_token(
    env_token: Option<String>,
    token_file: Option<&Path>,
    config: &Config,
) -> Result<(String, TokenSource), CliError> {
    if let Some(token) = env_token.filter(|t| !t.trim().is_empty()) {
        return checked(token.trim(), TokenSource::Env);
    }
    if let Some(path) = token_file {
        return read_token(path);
    }
    if let Some(token) = &config.api.token {
        return checked(token.trim(), TokenSource::Config);
    }
    let generated = config.storage.dir.join("api-token");
    if generated.exists() {
        return read_token(&generated);
    }
    Err(CliError::NoToken {
        looked: format!(
            "{TOKEN_ENV} is not set, no --token-file was given, the config has no api.token, \
             and {} does not exist",
            generated.display()
        ),
    })
}

fn read_token(path: &Path) -> Result<(String, TokenSource), CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::NoToken {
        looked: format!("cannot read the token file {}: {e}", path.display()),
    })?;
    checked(text.trim(), TokenSource::File(path.to_path_buf()))
}

/// A token usable in an `Authorization` header: visible ASCII, no spaces.
fn checked(token: &str, source: TokenSource) -> Result<(String, TokenSource), CliError> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CliError::NoToken {
            looked: format!(
                "the token from {source} is empty or has characters a bearer token cannot have"
            ),
        });
    }
    Ok((token.to_owned(), source))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        crate::config::load_str(toml, Vec::<(String, String)>::new()).unwrap()
    }

    #[test]
    fn the_url_follows_the_config() {
        let table = [
            ("", "http://127.0.0.1:9002"),
            (
                "[api]\nhost = \"0.0.0.0\"\nport = 8080",
                "http://127.0.0.1:8080",
            ),
            ("[api]\nhost = \"::\"", "http://[::1]:9002"),
            ("[api]\nhost = \"::1\"", "http://[::1]:9002"),
            ("[api]\nhost = \"10.1.2.3\"", "http://10.1.2.3:9002"),
        ];
        for (toml, url) in table {
            assert_eq!(
                Target::resolve(&config(toml), None).unwrap().base,
                url,
                "{toml}"
            );
        }
    }

    #[test]
    fn https_when_the_api_has_a_certificate_which_becomes_the_root() {
        let c = config("[api]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"");
        let target = Target::resolve(&c, None).unwrap();
        assert_eq!(target.base, "https://127.0.0.1:9002");
        assert_eq!(target.root_cert, Some(PathBuf::from("c.pem")));
    }

    #[test]
    fn api_overrides_the_config() {
        let c = config("[api]\nport = 0");
        assert!(
            Target::resolve(&c, None)
                .unwrap_err()
                .to_string()
                .contains("--api")
        );
        let target = Target::resolve(&c, Some("http://127.0.0.1:1234/")).unwrap();
        assert_eq!(target.base, "http://127.0.0.1:1234");
        assert!(Target::resolve(&c, Some("127.0.0.1:1234")).is_err());
        let e = Target::resolve(&c, Some("https://core.example:9002")).unwrap_err();
        assert!(e.to_string().contains("api.tls_cert"), "{e}");
    }

    #[test]
    fn the_token_comes_from_the_first_place_that_has_one() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let c = config(&format!(
            "[storage]\ndir = {:?}",
            data.display().to_string()
        ));
        let e = find_token(None, None, &c).unwrap_err().to_string();
        assert!(
            e.contains("HONEYBEE_TOKEN") && e.contains("api-token"),
            "{e}"
        );

        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("api-token"), "generated\n").unwrap();
        let (token, source) = find_token(None, None, &c).unwrap();
        assert_eq!(token, "generated");
        assert_eq!(source, TokenSource::File(data.join("api-token")));

        let with_token = config(&format!(
            "[storage]\ndir = {:?}\n[api]\ntoken = \"configured-token-0123\"",
            data.display().to_string()
        ));
        assert_eq!(
            find_token(None, None, &with_token).unwrap().0,
            "configured-token-0123"
        );

        let file = dir.path().join("my-token");
        std::fs::write(&file, "  from-file \n").unwrap();
        assert_eq!(
            find_token(None, Some(&file), &with_token).unwrap().0,
            "from-file"
        );
        let missing = dir.path().join("nope");
        let e = find_token(None, Some(&missing), &with_token)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope"), "{e}");

        let env = Some("from-env".to_owned());
        assert_eq!(
            find_token(env, Some(&file), &with_token).unwrap().0,
            "from-env"
        );
        assert_eq!(
            find_token(Some(" ".into()), None, &c).unwrap().0,
            "generated"
        );
    }

    #[test]
    fn tokens_that_cannot_be_a_header_are_refused_without_being_shown() {
        let c = config("");
        let e = find_token(Some("has space\u{1}".into()), None, &c).unwrap_err();
        assert!(!e.to_string().contains("has space"), "{e}");
    }
}
