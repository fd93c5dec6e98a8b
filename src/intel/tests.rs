use std::time::{Duration, SystemTime};

use super::*;
use crate::config::outputs::Cidr;

#[test]
fn since_takes_durations_and_times() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    for (text, back) in [("90m", 5400), ("24h", 86_400), ("7d", 604_800), ("30s", 30)] {
        assert_eq!(
            parse_since(text, now).unwrap(),
            now - Duration::from_secs(back),
            "{text}"
        );
    }
    assert_eq!(
        parse_since("1970-01-02T00:00:00Z", now).unwrap(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(86_400)
    );
    assert_eq!(
        parse_time("1970-01-01T00:00:01.250000+00:00"),
        Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1250))
    );
    assert_eq!(
        parse_time("1970-01-01T01:00:01.5+01:00"),
        Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1500))
    );
    assert_eq!(
        parse_since("86400", now).unwrap(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(86_400)
    );
    for bad in ["", "h", "24x", "-1h", "yesterday", "1.5h", " 1h"] {
        assert!(parse_since(bad, now).is_err(), "{bad:?}");
    }
}

#[test]
fn feeds_list_only_public_addresses_outside_the_allowlist() {
    let rules = IntelConfig {
        allowlist: vec![
            Cidr::parse("8.8.8.0/24").unwrap(),
            Cidr::parse("2606:4700::/32").unwrap(),
        ],
        include_private: false,
    };
    for (text, listed) in [
        ("45.155.205.233", true),
        ("8.8.8.8", false),
        ("8.8.9.1", true),
        ("10.1.2.3", false),
        ("172.20.0.1", false),
        ("192.168.1.1", false),
        ("127.0.0.1", false),
        ("169.254.1.1", false),
        ("100.64.0.1", false),
        ("192.0.2.7", false),
        ("198.51.100.7", false),
        ("203.0.113.7", false),
        ("224.0.0.1", false),
        ("255.255.255.255", false),
        ("0.0.0.0", false),
        ("::1", false),
        ("fe80::1", false),
        ("fd00::1", false),
        ("2001:db8::1", false),
        ("::ffff:10.0.0.1", false),
        ("::ffff:45.155.205.233", true),
        ("2a01:4f8::1", true),
        ("2606:4700::1111", false),
        ("not an address", false),
        ("45.155.205.233, 1.2.3.4", false),
    ] {
        assert_eq!(listable(text, &rules).is_some(), listed, "{text}");
    }
    let private = IntelConfig {
        include_private: true,
        ..rules
    };
    assert!(listable("10.1.2.3", &private).is_some());
    assert!(
        listable("8.8.8.8", &private).is_none(),
        "the allowlist still applies"
    );
}
