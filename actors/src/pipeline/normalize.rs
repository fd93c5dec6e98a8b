//! Event normalisation: the fields CORE.md promises on every stored event (`src_ip`,
//! `username`, `password`, `command`, `download_url`, `sha256`), taken from a pot event's
//! `data`, and the cowrie message parsing for text-only events (one real node forwards
//! honeypot events as bare text).

use std::borrow::Cow;
use std::net::IpAddr;

use honeybee_protocol::EventData;
use serde::{Deserialize, Deserializer};

/// The normalised fields of one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalized {
    /// The event type, refined from the message for text-only events.
    pub event_type: String,
    /// The attacker's address in canonical form (IPv4-mapped IPv6 shown as IPv4).
    pub src_ip: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub command: Option<String>,
    /// What a download or upload fetched (cowrie's `session.file_download`: `url`).
    pub download_url: Option<String>,
    /// The file's SHA-256 (`shasum`, else `sha256`); 64 hex digits are lowercased.
    pub sha256: Option<String>,
}

/// The `event_type` of text-only events (PROTOCOL.md: an empty `PotStatusUpdate` status).
pub const TEXT_ONLY_EVENT: &str = "unknown";

/// Longest normalised field kept, in bytes (the full text stays in `data`).
const MAX_FIELD_LEN: usize = 1024;

/// The fields CORE.md names, each taken only when it is a string.
#[derive(Deserialize, Default)]
struct Fields<'a> {
    #[serde(borrow, default)]
    src_ip: Text<'a>,
    #[serde(borrow, default)]
    ip: Text<'a>,
    #[serde(borrow, default)]
    remote_ip: Text<'a>,
    #[serde(borrow, default)]
    username: Text<'a>,
    #[serde(borrow, default)]
    user: Text<'a>,
    #[serde(borrow, default)]
    password: Text<'a>,
    #[serde(borrow, default)]
    input: Text<'a>,
    #[serde(borrow, default)]
    command: Text<'a>,
    #[serde(borrow, default)]
    url: Text<'a>,
    #[serde(borrow, default)]
    shasum: Text<'a>,
    #[serde(borrow, default)]
    sha256: Text<'a>,
    #[serde(borrow, default)]
    message: Text<'a>,
}

/// A string field; any other JSON value reads as absent.
#[derive(Default)]
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any<'a> {
            Str(#[serde(borrow)] Cow<'a, str>),
            Other(serde::de::IgnoredAny),
        }
        Ok(match Any::deserialize(deserializer)? {
            Any::Str(s) => Text(Some(s)),
            Any::Other(_) => Text(None),
        })
    }
}

impl Text<'_> {
    fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

/// Normalises one event.
pub fn normalize(event_type: &str, data: &EventData) -> Normalized {
    let fields: Fields = serde_json::from_str(data.as_str()).unwrap_or_default();
    let mut out = Normalized {
        event_type: event_type.to_owned(),
        src_ip: [&fields.src_ip, &fields.ip, &fields.remote_ip]
            .into_iter()
            .find_map(|f| f.get().and_then(canonical_ip)),
        username: fields.username.get().or(fields.user.get()).map(clip),
        password: fields.password.get().map(clip),
        command: fields.input.get().or(fields.command.get()).map(clip),
        download_url: fields.url.get().map(clip),
        sha256: fields.shasum.get().or(fields.sha256.get()).map(hash),
    };
    if event_type == TEXT_ONLY_EVENT
        && let Some(message) = fields.message.get()
    {
        apply_cowrie_message(message, &mut out);
    }
    out
}

/// Reads what a cowrie log message says, for events that arrive as text only.
fn apply_cowrie_message(message: &str, out: &mut Normalized) {
    if let Some((user, pass, succeeded)) = parse_login(message) {
        out.username = Some(clip(&user));
        out.password = Some(clip(&pass));
        out.event_type = if succeeded {
            "cowrie.login.success"
        } else {
            "cowrie.login.failed"
        }
        .to_owned();
    } else if let Some(command) = message.strip_prefix("CMD: ") {
        out.command = Some(clip(command));
        out.event_type = "cowrie.command.input".to_owned();
    } else if let Some((url, sha256)) = parse_download(message) {
        out.download_url = Some(clip(url));
        out.sha256 = Some(hash(sha256));
        out.event_type = "cowrie.session.file_download".to_owned();
    } else if let Some(rest) = message.strip_prefix("New connection: ") {
        let peer = rest.split_whitespace().next().unwrap_or_default();
        out.src_ip = out.src_ip.take().or_else(|| canonical_ip(peer));
        out.event_type = "cowrie.session.connect".to_owned();
    }
}

/// `login attempt [USER/PASS] succeeded|failed`, also in the older `[b'USER'/b'PASS']` form.
/// The user may not contain `/`; the password may (the last `]` closes the pair).
fn parse_login(message: &str) -> Option<(String, String, bool)> {
    let rest = message.strip_prefix("login attempt [")?;
    let (pair, outcome) = rest.rsplit_once("] ")?;
    let succeeded = match outcome.trim_end() {
        "succeeded" => true,
        "failed" => false,
        _ => return None,
    };
    let (user, pass) = pair.split_once('/')?;
    Some((unwrap_bytes_repr(user), unwrap_bytes_repr(pass), succeeded))
}

/// `Downloaded URL (URL) with SHA-256 HASH to OUTFILE` (cowrie's `session.file_download`).
/// The URL may contain anything, so the last `) with SHA-256 ` closes it.
fn parse_download(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("Downloaded URL (")?;
    let (url, rest) = rest.rsplit_once(") with SHA-256 ")?;
    let sha256 = rest.split_once(' ').map_or(rest, |(hash, _)| hash);
    (!url.is_empty() && !sha256.is_empty()).then_some((url, sha256))
}

/// `b'root'` → `root` (how older cowrie versions printed credentials).
fn unwrap_bytes_repr(text: &str) -> String {
    text.strip_prefix("b'")
        .and_then(|t| t.strip_suffix('\''))
        .or_else(|| text.strip_prefix("b\"").and_then(|t| t.strip_suffix('"')))
        .unwrap_or(text)
        .to_owned()
}

/// The canonical text of an address given as `IP`, `IP:port`, `[IPv6]:port` or IPv4-mapped
/// IPv6; `None` if it is not an address.
pub fn canonical_ip(text: &str) -> Option<String> {
    let text = text.trim();
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))?;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    Some(ip.to_string())
}

fn clip(text: &str) -> String {
    crate::text::clip(text, MAX_FIELD_LEN)
}

/// A file hash as given, clipped; a well-formed SHA-256 (64 hex digits) in lower case, so the
/// same file counts once in the statistics however a pot spelled it.
fn hash(text: &str) -> String {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        text.to_ascii_lowercase()
    } else {
        clip(text)
    }
}

#[cfg(test)]
mod tests;
