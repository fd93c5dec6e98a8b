//! Checks of single config values: each takes the key's path and its value and returns the
//! typed value or the messages saying what is wrong. Values are quoted through [`show`], which
//! hides the secret keys' values.

use std::net::IpAddr;
use std::time::Duration;

use config::ValueKind;
use honeybee_protocol::GitUrl;

use super::keys;

/// The typed value, or one message per problem (without the key).
pub(super) type Checked<T> = Result<T, Vec<String>>;

/// Largest `*_secs` value (about 31 years): keeps `Instant + duration` far from overflowing.
const MAX_SECS: u64 = 1_000_000_000;

/// Levels of `logging.level` (and of each directive of an env_logger filter).
const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// How a value is quoted in a message: strings in quotes, escaped and cut at 80 characters;
/// secrets never.
fn show(path: &str, v: &ValueKind) -> String {
    if keys::is_secret(path) {
        return "(value hidden)".to_owned();
    }
    match v {
        ValueKind::String(s) => quote(s),
        ValueKind::Float(f) => format!("{f:?}"),
        ValueKind::Array(_) => "a list".to_owned(),
        ValueKind::Table(_) => "a table".to_owned(),
        ValueKind::Nil => "nothing".to_owned(),
        other => other.to_string(),
    }
}

fn quote(s: &str) -> String {
    let short: String = s.chars().take(80).collect();
    if short.len() < s.len() {
        format!("{short:?}...")
    } else {
        format!("{s:?}")
    }
}

fn wrong<T>(path: &str, expected: &str, v: &ValueKind) -> Checked<T> {
    Err(vec![format!("must be {expected}, got {}", show(path, v))])
}

pub(super) fn boolean(path: &str, v: &ValueKind) -> Checked<bool> {
    match v {
        ValueKind::Boolean(b) => Ok(*b),
        _ => wrong(path, "true or false", v),
    }
}

/// An integer from `min` to `max`.
pub(super) fn integer(path: &str, v: &ValueKind, min: u64, max: u64) -> Checked<u64> {
    let n = match v {
        ValueKind::I64(n) => u64::try_from(*n).ok(),
        ValueKind::U64(n) => Some(*n),
        ValueKind::I128(n) => u64::try_from(*n).ok(),
        ValueKind::U128(n) => u64::try_from(*n).ok(),
        _ => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ if max == u64::MAX && min == 0 => wrong(path, "a non-negative integer", v),
        _ if max == u64::MAX => wrong(path, &format!("an integer of at least {min}"), v),
        _ => wrong(path, &format!("an integer from {min} to {max}"), v),
    }
}

/// A whole or fractional number of seconds, `> 0` if `positive`, at most [`MAX_SECS`].
pub(super) fn seconds(path: &str, v: &ValueKind, positive: bool) -> Checked<Duration> {
    let too_long = || {
        Err(vec![format!(
            "must be at most {MAX_SECS} seconds, got {}",
            show(path, v)
        )])
    };
    let duration = match v {
        ValueKind::I64(n) => u64::try_from(*n).ok().map(Duration::from_secs),
        ValueKind::U64(n) => Some(Duration::from_secs(*n)),
        ValueKind::Float(f) if *f >= 0.0 => Duration::try_from_secs_f64(*f).ok(),
        _ => None,
    };
    let expected = match positive {
        true => "a number of seconds greater than 0",
        false => "a non-negative number of seconds",
    };
    match duration {
        Some(d) if d > Duration::from_secs(MAX_SECS) => too_long(),
        Some(d) if !(positive && d.is_zero()) => Ok(d),
        // A float too large for a `Duration`, or infinity.
        None if matches!(v, ValueKind::Float(f) if *f > 0.0) => too_long(),
        _ => wrong(path, expected, v),
    }
}

/// A non-empty string.
pub(super) fn string(path: &str, v: &ValueKind) -> Checked<String> {
    match v {
        ValueKind::String(s) if s.trim().is_empty() => Err(vec!["must not be empty".to_owned()]),
        ValueKind::String(s) => Ok(s.clone()),
        _ => wrong(path, "a string", v),
    }
}

pub(super) fn ip(path: &str, v: &ValueKind) -> Checked<IpAddr> {
    match v {
        ValueKind::String(s) if !s.trim().is_empty() => s.trim().parse().ok(),
        _ => None,
    }
    .map_or_else(
        || wrong(path, "an IP address (like 127.0.0.1, 0.0.0.0 or ::)", v),
        Ok,
    )
}

/// One of `options` (exactly, lowercase).
pub(super) fn one_of<T: Copy>(path: &str, v: &ValueKind, options: &[(&str, T)]) -> Checked<T> {
    if let ValueKind::String(s) = v
        && let Some((_, value)) = options.iter().find(|(name, _)| name == s)
    {
        return Ok(*value);
    }
    let names: Vec<String> = options
        .iter()
        .map(|(name, _)| format!("{name:?}"))
        .collect();
    wrong(path, &format!("one of {}", names.join(", ")), v)
}

/// A list whose entries each pass `entry`; every bad entry is its own message.
pub(super) fn list<T>(
    path: &str,
    v: &ValueKind,
    entry: fn(&str, &ValueKind) -> Checked<T>,
) -> Checked<Vec<T>> {
    let ValueKind::Array(items) = v else {
        return wrong(path, "a list of strings", v);
    };
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match entry(path, &item.kind) {
            Ok(s) => good.push(s),
            Err(messages) => bad.extend(messages.iter().map(|m| format!("entry {} {m}", i + 1))),
        }
    }
    if bad.is_empty() { Ok(good) } else { Err(bad) }
}

/// An API token: printable ASCII without spaces (it travels in an HTTP header).
/// Shortest API token accepted from the config (a guessable token is no protection).
const MIN_TOKEN_BYTES: usize = 16;

pub(super) fn token(path: &str, v: &ValueKind) -> Checked<String> {
    let s = string(path, v)?;
    if s.len() >= MIN_TOKEN_BYTES && s.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(s)
    } else {
        Err(vec![format!(
            "must be at least {MIN_TOKEN_BYTES} printable ASCII characters without spaces \
             (value hidden)"
        )])
    }
}

/// An `auth.totp_exempt` entry: a node name, or a node id (a string or an integer).
pub(super) fn node_ref(path: &str, v: &ValueKind) -> Checked<String> {
    match v {
        ValueKind::I64(n) if *n >= 0 => Ok(n.to_string()),
        _ => string(path, v),
    }
}

/// A `pots.allowed_sources` entry: a git URL prefix, parsed once here.
pub(super) fn source(path: &str, v: &ValueKind) -> Checked<GitUrl> {
    let s = string(path, v)?;
    GitUrl::parse(&s).map_err(|e| {
        vec![format!(
            "({}) is not a valid git URL source: {e}",
            quote(&s)
        )]
    })
}

/// `logging.level`: a level, or an env_logger filter of `level` and `module=level` directives
/// (with an optional `/regex`). A bare word that is not a level is refused: env_logger would
/// read it as a module name and silence everything else.
pub(super) fn log_filter(path: &str, v: &ValueKind) -> Checked<String> {
    let text = string(path, v)?;
    let spec = text.split_once('/').map_or(text.as_str(), |(spec, _)| spec);
    let directives: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let valid = |d: &&str| match d.split_once('=') {
        Some((module, level)) => is_module(module.trim()) && is_level(level.trim()),
        None => is_level(d),
    };
    if !directives.is_empty() && directives.iter().all(valid) {
        Ok(text)
    } else {
        let expected = "error, warn, info, debug, trace or off, or a filter like \"info,honeybee_actors=debug\"";
        wrong(path, expected, v)
    }
}

fn is_level(word: &str) -> bool {
    LEVELS.iter().any(|level| level.eq_ignore_ascii_case(word))
}

fn is_module(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}
