//! The threat-intel feeds' rules and shapes, pure: which addresses a feed may list (never the
//! allowlist, nor private, loopback, link-local, documentation or other special ranges unless
//! `intel.include_private`), `since` as a duration or a time, and the STIX 2.1 objects with
//! deterministic ids (UUIDv5), so that a repeated pull updates rather than duplicates.

pub mod stix;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime};

use crate::config::outputs::{Cidr, IntelConfig};

/// Why a feed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntelError {
    #[error("since must be a duration (like 90m, 24h or 7d) or an RFC 3339 time, got {0:?}")]
    BadSince(String),
}

/// `since`: a duration back from `now` (`30s`, `90m`, `24h`, `7d`), an RFC 3339 time, or
/// unix seconds (like the API's other `since` filters).
pub fn parse_since(text: &str, now: SystemTime) -> Result<SystemTime, IntelError> {
    let bad = || IntelError::BadSince(text.chars().take(40).collect());
    if let Some(secs) = crate::api::error::u64_digits(text) {
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs.min(i64::MAX as u64 / 2)));
    }
    if let Some(unit) = text.chars().last().filter(|c| c.is_ascii_alphabetic())
        && text.len() > 1
        && text[..text.len() - 1].bytes().all(|b| b.is_ascii_digit())
    {
        let n: u64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
        let secs = match unit {
            's' => n,
            'm' => n.checked_mul(60).ok_or_else(bad)?,
            'h' => n.checked_mul(3600).ok_or_else(bad)?,
            'd' => n.checked_mul(86_400).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        let secs = secs.min(100 * 365 * 86_400);
        return Ok(now
            .checked_sub(Duration::from_secs(secs))
            .unwrap_or(SystemTime::UNIX_EPOCH));
    }
    parse_time(text).ok_or_else(bad)
}

/// An RFC 3339 time to the microsecond (TAXII's `added_after` compares `date_added`s that
/// differ by less than a second).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let t = honeybee_protocol::Timestamp::parse_rfc3339(text).ok()?;
    // Any time before 1970 is before everything the Core stored.
    let Ok(secs) = u64::try_from(t.unix_seconds()) else {
        return Some(SystemTime::UNIX_EPOCH);
    };
    // The canonical form is UTC: `...:SS[.ffffff]Z`.
    let micros = t
        .as_str()
        .split_once('.')
        .map(|(_, frac)| {
            let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
            format!("{digits:0<6}")[..6].parse::<u64>().unwrap_or(0)
        })
        .unwrap_or(0);
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros))
}

/// Whether `ip` is in a range no feed lists by default: private, shared (CGNAT), loopback,
/// link-local, documentation, benchmarking, multicast, reserved, unspecified or broadcast
/// (IPv4-mapped IPv6 addresses are judged as their IPv4 address).
pub fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => special_v4(v4),
            None => special_v6(v6),
        },
    }
}

fn special_v4(ip: Ipv4Addr) -> bool {
    const RANGES: &[(&str, u8)] = &[
        ("0.0.0.0", 8),
        ("10.0.0.0", 8),
        ("100.64.0.0", 10),
        ("127.0.0.0", 8),
        ("169.254.0.0", 16),
        ("172.16.0.0", 12),
        ("192.0.0.0", 24),
        ("192.0.2.0", 24),
        ("192.168.0.0", 16),
        ("198.18.0.0", 15),
        ("198.51.100.0", 24),
        ("203.0.113.0", 24),
        ("224.0.0.0", 4),
        ("240.0.0.0", 4),
    ];
    in_ranges(IpAddr::V4(ip), RANGES)
}

fn special_v6(ip: Ipv6Addr) -> bool {
    const RANGES: &[(&str, u8)] = &[
        ("::", 128),
        ("::1", 128),
        ("64:ff9b:1::", 48),
        ("100::", 64),
        ("2001:db8::", 32),
        ("3fff::", 20),
        ("fc00::", 7),
        ("fe80::", 10),
        ("ff00::", 8),
    ];
    in_ranges(IpAddr::V6(ip), RANGES)
}

fn in_ranges(ip: IpAddr, ranges: &[(&str, u8)]) -> bool {
    ranges.iter().any(|(net, prefix)| {
        net.parse().is_ok_and(|addr| {
            Cidr {
                addr,
                prefix: *prefix,
            }
            .contains(ip)
        })
    })
}

/// Whether a feed may list `text` as an attacker address: it is an IP address, not in
/// `intel.allowlist`, and not special unless `intel.include_private`.
pub fn listable(text: &str, rules: &IntelConfig) -> Option<IpAddr> {
    let ip: IpAddr = text.trim().parse().ok()?;
    if rules.allowlist.iter().any(|c| c.contains(ip)) {
        return None;
    }
    if !rules.include_private && is_special(ip) {
        return None;
    }
    Some(ip)
}

#[cfg(test)]
mod tests;
