//! The table of every config key (CORE.md's "Config" table): its section, name, TOML kind and
//! default. The one place that knows which keys exist; `conf/default.toml` mirrors it.

use config::{File, FileFormat, ValueKind};

/// The TOML shape a key takes (ranges and meanings are checked in `read.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Bool,
    /// A non-negative integer.
    Int,
    /// A non-negative integer or fractional number of seconds.
    Secs,
    Str,
    /// A list of strings.
    List,
}

/// A key's default, embedded in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DefaultValue {
    /// Optional key: absent unless set.
    Unset,
    Bool(bool),
    Int(i64),
    Str(&'static str),
    EmptyList,
}

#[derive(Debug)]
pub(super) struct Key {
    pub section: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub default: DefaultValue,
}

const fn key(section: &'static str, name: &'static str, kind: Kind, default: DefaultValue) -> Key {
    Key {
        section,
        name,
        kind,
        default,
    }
}

use DefaultValue::{Bool as B, EmptyList, Int as I, Str as S, Unset};
use Kind::{Bool, Int, List, Secs, Str};

/// Sections in the order of `Config` (and of `conf/default.toml`).
pub(super) const SECTIONS: &[&str] = &[
    "server", "api", "tls", "auth", "protocol", "limits", "storage", "commands", "pots", "nodes",
    "alerts", "fleet", "export", "logging", "intel", "outputs",
];

/// Every key, grouped by section in `SECTIONS` order.
#[rustfmt::skip]
pub(super) const KEYS: &[Key] = &[
    key("server", "host", Str, S("127.0.0.1")),
    key("server", "node_port", Int, I(9001)),
    key("api", "host", Str, S("127.0.0.1")),
    key("api", "port", Int, I(9002)),
    key("api", "token", Str, Unset),
    key("api", "read_tokens", List, EmptyList),
    key("api", "tokens_file", Str, Unset), // `<storage.dir>/tokens.toml`, filled in by `read.rs`
    key("api", "max_body_bytes", Int, I(1_048_576)),
    key("api", "public_metrics", Bool, B(false)),
    key("api", "tls_cert", Str, Unset),
    key("api", "tls_key", Str, Unset),
    key("api", "ui_session_idle_secs", Secs, I(28_800)),
    key("api", "ui_session_max_secs", Secs, I(604_800)),
    key("api", "trusted_proxies", List, EmptyList),
    key("tls", "enabled", Bool, B(false)),
    key("tls", "cert", Str, Unset),
    key("tls", "key", Str, Unset),
    key("tls", "client_ca", Str, Unset),
    key("auth", "totp", Bool, B(true)),
    key("auth", "enrollment", Str, S("open")),
    key("auth", "totp_exempt", List, EmptyList),
    key("auth", "max_failures", Int, I(5)),
    key("auth", "lockout_secs", Secs, I(300)),
    key("auth", "max_new_per_minute", Int, I(60)),
    key("auth", "max_identities_per_source", Int, I(10)),
    key("auth", "max_nodes", Int, I(100_000)),
    key("protocol", "max_frame_bytes", Int, I(65_536)),
    key("protocol", "strict_version", Bool, B(false)),
    key("protocol", "registration_timeout_secs", Secs, I(10)),
    key("protocol", "heartbeat_timeout_secs", Secs, I(90)),
    key("protocol", "max_bad_frames_per_minute", Int, I(30)),
    key("limits", "max_connections", Int, I(0)),
    key("limits", "max_unregistered", Int, I(1000)),
    key("limits", "node_events_per_sec", Int, I(2000)),
    key("storage", "dir", Str, S("data")),
    key("storage", "commit_interval_ms", Int, I(100)),
    key("storage", "event_retention_days", Int, I(30)),
    key("storage", "max_events", Int, I(0)),
    key("storage", "min_free_disk_mb", Int, I(1024)),
    key("commands", "timeout_secs", Secs, I(30)),
    key("commands", "install_timeout_secs", Secs, I(600)),
    key("commands", "list_window_ms", Int, I(2000)),
    key("pots", "restart", Str, S("on-failure")),
    key("pots", "max_restarts", Int, I(5)),
    key("pots", "restart_window_secs", Secs, I(600)),
    key("pots", "backoff_initial_secs", Secs, I(5)),
    key("pots", "backoff_max_secs", Secs, I(300)),
    key("pots", "silence_alert_secs", Secs, I(3600)),
    key("pots", "allowed_sources", List, EmptyList),
    key("nodes", "restart", Str, S("never")),
    key("nodes", "max_restarts", Int, I(3)),
    key("nodes", "restart_window_secs", Secs, I(3600)),
    key("alerts", "reconnect_grace_secs", Secs, I(30)),
    key("fleet", "file", Str, Unset),
    key("export", "jsonl", Str, Unset),
    key("logging", "level", Str, S("info")),
    key("intel", "allowlist", List, EmptyList),
    key("intel", "include_private", Bool, B(false)),
];

pub(super) fn is_section(name: &str) -> bool {
    SECTIONS.contains(&name)
}

pub(super) fn find(section: &str, name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.section == section && k.name == name)
}

/// `section.key` → its entry.
pub(super) fn find_path(path: &str) -> Option<&'static Key> {
    let (section, name) = path.split_once('.')?;
    find(section, name)
}

/// Keys whose values are secrets: never quoted in a message.
pub(super) fn is_secret(path: &str) -> bool {
    matches!(path, "api.token" | "api.read_tokens")
}

impl DefaultValue {
    /// The default as a config value; `None` for an optional key.
    pub(super) fn value(self) -> Option<ValueKind> {
        match self {
            DefaultValue::Unset => None,
            DefaultValue::Bool(b) => Some(ValueKind::Boolean(b)),
            DefaultValue::Int(i) => Some(ValueKind::I64(i)),
            DefaultValue::Str(s) => Some(ValueKind::String(s.to_owned())),
            DefaultValue::EmptyList => Some(ValueKind::Array(Vec::new())),
        }
    }
}

/// Where a problem sorts: section order, then the section itself, its known keys in table
/// order, its unknown keys; anything that is not a `section.key` of a known section last.
pub(super) fn rank(path: &str) -> (usize, u8, usize, String) {
    if let Some(rest) = path.strip_prefix("outputs[") {
        // `outputs[N].key`: by table, then the key's name.
        let index = rest.split(']').next().and_then(|n| n.parse().ok());
        let s = SECTIONS.iter().position(|&known| known == "outputs");
        return (
            s.unwrap_or(SECTIONS.len()),
            3,
            index.unwrap_or(0),
            path.to_owned(),
        );
    }
    let (section, name) = path.split_once('.').unwrap_or((path, ""));
    let Some(s) = SECTIONS.iter().position(|&known| known == section) else {
        return (SECTIONS.len(), 0, 0, path.to_owned());
    };
    let k = KEYS
        .iter()
        .position(|k| k.section == section && k.name == name);
    let class = match (name.is_empty(), k) {
        (true, _) => 0,
        (false, Some(_)) => 1,
        (false, None) => 2,
    };
    (s, class, k.unwrap_or(0), path.to_owned())
}

/// Converts an environment override's text to the key's kind. Text that does not convert
/// stays a string, so that validation reports it like any other wrong value.
pub(super) fn env_value(kind: Kind, raw: &str) -> ValueKind {
    let text = raw.trim();
    let converted = match kind {
        Kind::Bool => env_bool(text).map(ValueKind::Boolean),
        Kind::Int => text.parse::<i64>().ok().map(ValueKind::I64),
        Kind::Secs => (text.parse::<i64>().ok().map(ValueKind::I64))
            .or_else(|| text.parse::<f64>().ok().map(ValueKind::Float)),
        Kind::Str => None,
        Kind::List if text.starts_with('[') => toml_array(text),
        Kind::List => Some(comma_list(text)),
    };
    converted.unwrap_or_else(|| ValueKind::String(raw.to_owned()))
}

fn env_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn comma_list(text: &str) -> ValueKind {
    let items = text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty());
    ValueKind::Array(items.map(|item| ValueKind::from(item).into()).collect())
}

/// Parses a TOML array literal (`["a", "b"]`) with the config crate's own TOML reader.
fn toml_array(text: &str) -> Option<ValueKind> {
    let source = File::from_str(&format!("v = {text}\n"), FileFormat::Toml);
    let parsed = config::Config::builder().add_source(source).build().ok()?;
    let ValueKind::Table(mut table) = parsed.cache.kind else {
        return None;
    };
    match table.remove("v")?.kind {
        array @ ValueKind::Array(_) => Some(array),
        _ => None,
    }
}
