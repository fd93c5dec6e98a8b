//! `git_url` checking: a strict parser for the URLs an `InstallPot` may name, and the allowed
//! sources (`pots.allowed_sources`) they are matched against, on the parsed scheme, host, port
//! and path segments — never as a string prefix, so `https://github.com` does not admit
//! `https://github.com.evil.net` or `https://github.com@evil.net`.
//!
//! The parser is deliberately narrower than RFC 3986: a node passes the URL to `git`, so
//! anything unusual (credentials, percent-encoding, `..` segments, queries, non-ASCII hosts,
//! scp-like `user@host:path`) is refused rather than interpreted.

use std::fmt;

use crate::error::sanitize;

/// Longest URL accepted.
pub const MAX_GIT_URL_LEN: usize = 2048;

/// The URL schemes git understands that may appear in a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Https,
    Http,
    Ssh,
    Git,
    /// Only when an allowed source names `file://` explicitly.
    File,
}

impl Scheme {
    fn parse(name: &str) -> Option<Scheme> {
        match name.to_ascii_lowercase().as_str() {
            "https" => Some(Scheme::Https),
            "http" => Some(Scheme::Http),
            "ssh" => Some(Scheme::Ssh),
            "git" => Some(Scheme::Git),
            "file" => Some(Scheme::File),
            _ => None,
        }
    }

    fn default_port(self) -> Option<u16> {
        match self {
            Scheme::Https => Some(443),
            Scheme::Http => Some(80),
            Scheme::Ssh => Some(22),
            Scheme::Git => Some(9418),
            Scheme::File => None,
        }
    }
}

/// Why a `git_url` (or an allowed source) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitUrlError {
    /// Not a URL this parser accepts.
    #[error("{0}")]
    Invalid(String),
    /// A valid URL that no allowed source admits.
    #[error("{url} is not under any allowed source (pots.allowed_sources)")]
    NotAllowed {
        /// The URL, sanitised.
        url: String,
    },
}

fn invalid(reason: impl fmt::Display) -> GitUrlError {
    GitUrlError::Invalid(reason.to_string())
}

/// A parsed git URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitUrl {
    scheme: Scheme,
    /// Lowercase, without a trailing dot; empty for `file://`.
    host: String,
    /// The explicit port, or the scheme's default.
    port: Option<u16>,
    /// The path's segments; a trailing `/` adds none.
    segments: Vec<String>,
}

impl GitUrl {
    /// Parses `scheme://[user@]host[:port]/path`.
    pub fn parse(url: &str) -> Result<GitUrl, GitUrlError> {
        if url.len() > MAX_GIT_URL_LEN {
            return Err(invalid(format_args!(
                "is longer than {MAX_GIT_URL_LEN} bytes"
            )));
        }
        if let Some(c) = url
            .chars()
            .find(|c| !c.is_ascii() || c.is_ascii_control() || c.is_ascii_whitespace())
        {
            return Err(invalid(format_args!(
                "contains '{}'; only printable ASCII without spaces is accepted",
                sanitize(&c.to_string(), 1)
            )));
        }
        if url.contains(['\\', '?', '#', '%']) {
            return Err(invalid(
                "must not contain '\\', a query, a fragment or percent-encoding",
            ));
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(invalid(
                "must be scheme://host/path (write scp-like user@host:path as ssh://user@host/path)",
            ));
        };
        let scheme = Scheme::parse(scheme)
            .ok_or_else(|| invalid("scheme must be https, http, ssh, git or file"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host_port = match authority.rsplit_once('@') {
            None => authority,
            Some((user, host_port)) => {
                if scheme != Scheme::Ssh {
                    return Err(invalid("only ssh:// URLs may name a user"));
                }
                if user.is_empty()
                    || !user
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
                {
                    return Err(invalid("user name must be [A-Za-z0-9._-]+ (no password)"));
                }
                host_port
            }
        };
        let (host, port) = split_port(host_port)?;
        let host = parse_host(scheme, host)?;
        let port = port.or(scheme.default_port());
        let segments = parse_path(path)?;
        if scheme == Scheme::File && segments.is_empty() {
            return Err(invalid("file:// URL needs a path"));
        }
        Ok(GitUrl {
            scheme,
            host,
            port,
            segments,
        })
    }

    /// Whether `self`, as an allowed source, admits `url`: same scheme, host and port, and
    /// `self`'s path segments are a prefix of `url`'s. A user name is not compared.
    pub fn admits(&self, url: &GitUrl) -> bool {
        self.scheme == url.scheme
            && self.host == url.host
            && self.port == url.port
            && url.segments.starts_with(&self.segments)
    }
}

fn split_port(host_port: &str) -> Result<(&str, Option<u16>), GitUrlError> {
    let port_sep = if host_port.starts_with('[') {
        host_port
            .find(']')
            .map(|end| end + 1)
            .filter(|&i| i < host_port.len())
    } else {
        host_port.rfind(':')
    };
    let Some(sep) = port_sep else {
        return Ok((host_port, None));
    };
    let (host, port) = (&host_port[..sep], &host_port[sep + 1..]);
    if host_port.as_bytes()[sep] != b':' {
        return Err(invalid("malformed host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok((host, Some(p))),
        _ => Err(invalid("port must be a number from 1 to 65535")),
    }
}

fn parse_host(scheme: Scheme, host: &str) -> Result<String, GitUrlError> {
    let host = host.to_ascii_lowercase();
    if scheme == Scheme::File {
        return match host.as_str() {
            "" | "localhost" => Ok(String::new()),
            _ => Err(invalid("file:// URLs must not name a host")),
        };
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(invalid("malformed IPv6 address"));
        }
        return Ok(host);
    }
    let name = host.strip_suffix('.').unwrap_or(&host);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(invalid("host must be a DNS name or an IP address"));
    }
    Ok(name.to_owned())
}

fn parse_path(path: &str) -> Result<Vec<String>, GitUrlError> {
    let Some(path) = path.strip_prefix('/') else {
        return Ok(Vec::new());
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty() {
        return Ok(Vec::new());
    }
    path.split('/')
        .map(|segment| {
            if segment.is_empty() {
                Err(invalid("path must not contain \"//\""))
            } else if segment == "." || segment == ".." {
                Err(invalid("path must not contain \".\" or \"..\" segments"))
            } else if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'-'))
            {
                Err(invalid("path segments must be [A-Za-z0-9._~+-]"))
            } else {
                Ok(segment.to_owned())
            }
        })
        .collect()
}

/// The sources an `InstallPot`'s `git_url` may come from. Empty: only the node's own pot
/// store (`git_url` null) is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedSources {
    sources: Vec<GitUrl>,
}

impl AllowedSources {
    /// No source: every `git_url` is refused.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses every source; on failure, names each bad entry (by index) and why.
    pub fn new<S: AsRef<str>>(
        sources: impl IntoIterator<Item = S>,
    ) -> Result<Self, Vec<(usize, GitUrlError)>> {
        let mut parsed = Vec::new();
        let mut errors = Vec::new();
        for (i, source) in sources.into_iter().enumerate() {
            match GitUrl::parse(source.as_ref()) {
                Ok(url) => parsed.push(url),
                Err(e) => errors.push((i, e)),
            }
        }
        if errors.is_empty() {
            Ok(AllowedSources { sources: parsed })
        } else {
            Err(errors)
        }
    }

    /// Sources parsed one by one already.
    pub fn of(sources: Vec<GitUrl>) -> Self {
        AllowedSources { sources }
    }

    /// Whether `url` parses and some source admits it.
    pub fn check(&self, url: &str) -> Result<(), GitUrlError> {
        let parsed = GitUrl::parse(url)?;
        if self.sources.iter().any(|source| source.admits(&parsed)) {
            Ok(())
        } else {
            Err(GitUrlError::NotAllowed {
                url: sanitize(url, 200),
            })
        }
    }
}

#[cfg(test)]
mod tests;
