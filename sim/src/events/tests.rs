//! Every generated event is a valid `PotEvent` on the wire, with the fields the Core normalises.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, UNIX_EPOCH};

use honeybee_protocol::{NodeToCore, decode_node_frame, encode};

use super::*;

const NODE: u64 = 0x9000_0000_0000_0001;

/// `n` events of one pot, each checked to survive the Core's decoder unchanged.
fn stream(pot_type: &str, n: usize, seed: u64) -> Vec<PotEvent> {
    let mut rng = Rng::new(seed);
    let mut pot = PotEvents::new(pot_type, "sim-00001");
    let now = UNIX_EPOCH + Duration::from_micros(1_705_314_600_123_456);
    (0..n)
        .map(|_| {
            let event = pot.next(&mut rng, NODE, "pot-01", now);
            let message = NodeToCore::PotEvent(event.clone());
            let frame = encode(&message);
            assert!(frame.len() < 4096, "{} bytes", frame.len());
            let decoded = decode_node_frame(&frame[..frame.len() - 1])
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&frame)));
            assert_eq!(decoded.message, message);
            event
        })
        .collect()
}

fn field<'a>(data: &'a Map<String, Value>, key: &str, event: &PotEvent) -> &'a str {
    data.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{} lacks {key}: {:?}", event.event_type, event.data))
}

#[test]
fn cowrie_events_have_their_shapes_and_come_in_whole_sessions() {
    let events = stream("cowrie", 3000, 11);
    let mut kinds = BTreeMap::<String, usize>::new();
    let mut open: Option<String> = None;
    for event in &events {
        assert_eq!(event.node_id, NODE);
        assert_eq!(event.pot_type.as_deref(), Some("cowrie"));
        assert_eq!(
            event.timestamp.as_ref().map(Timestamp::as_str),
            Some("2024-01-15T10:30:00.123456Z")
        );
        let data = event.data.to_map();
        let ip: Ipv4Addr = field(&data, "src_ip", event).parse().unwrap();
        assert!(!ip.is_loopback() && !ip.is_private() && !ip.is_unspecified());
        assert_eq!(field(&data, "eventid", event), event.event_type);
        let session = field(&data, "session", event).to_owned();
        match event.event_type.as_str() {
            "cowrie.session.connect" => {
                assert!(open.is_none(), "a session opened inside another");
                open = Some(session);
            }
            other => {
                assert_eq!(open.as_ref(), Some(&session), "{other} outside its session");
                if other == "cowrie.session.closed" {
                    open = None;
                }
            }
        }
        match event.event_type.as_str() {
            "cowrie.login.failed" | "cowrie.login.success" => {
                let user = field(&data, "username", event);
                assert!(data["password"].is_string());
                assert!(
                    field(&data, "message", event).starts_with(&format!("login attempt [{user}/"))
                );
            }
            "cowrie.command.input" => assert!(!field(&data, "input", event).is_empty()),
            "cowrie.session.file_download" => {
                let shasum = field(&data, "shasum", event);
                assert_eq!(shasum.len(), 64);
                assert!(shasum.bytes().all(|b| b.is_ascii_hexdigit()));
                assert!(field(&data, "url", event).starts_with("http://"));
            }
            "cowrie.client.version" => {
                assert!(field(&data, "version", event).starts_with("SSH-2.0-"))
            }
            "cowrie.session.connect" | "cowrie.session.closed" => {}
            other => panic!("unexpected {other}"),
        }
        *kinds.entry(event.event_type.clone()).or_default() += 1;
    }
    for kind in [
        "cowrie.session.connect",
        "cowrie.client.version",
        "cowrie.login.failed",
        "cowrie.login.success",
        "cowrie.command.input",
        "cowrie.session.file_download",
        "cowrie.session.closed",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 10,
            "{kind}: {kinds:?}"
        );
    }
}

#[test]
fn honnypotter_events_probe_and_brute_force_wordpress() {
    let events = stream("honnypotter", 2000, 12);
    let mut kinds = BTreeSet::new();
    for event in &events {
        assert_eq!(event.pot_type.as_deref(), Some("honnypotter"));
        let data = event.data.to_map();
        field(&data, "src_ip", event).parse::<Ipv4Addr>().unwrap();
        field(&data, "user_agent", event);
        let path = field(&data, "path", event);
        match event.event_type.as_str() {
            "honnypotter.login.failed" => {
                assert_eq!(path, "/wp-login.php");
                field(&data, "username", event);
                field(&data, "password", event);
            }
            "honnypotter.xmlrpc" => {
                assert_eq!(path, "/xmlrpc.php");
                field(&data, "xmlrpc_method", event);
                field(&data, "username", event);
            }
            "honnypotter.request" => assert!(path.starts_with('/')),
            other => panic!("unexpected {other}"),
        }
        kinds.insert(event.event_type.clone());
    }
    assert_eq!(kinds.len(), 3, "{kinds:?}");
}

#[test]
fn other_pot_types_send_connections() {
    for event in stream("dionaea", 20, 13) {
        assert_eq!(event.event_type, "dionaea.connection");
        assert_eq!(event.pot_type.as_deref(), Some("dionaea"));
        assert!(event.data.to_map()["src_ip"].is_string());
    }
}

#[test]
fn sources_spread_over_many_addresses_with_repeat_offenders() {
    let mut rng = Rng::new(14);
    let mut counts = BTreeMap::<String, usize>::new();
    for _ in 0..20_000 {
        *counts.entry(src_ip(&mut rng)).or_default() += 1;
    }
    assert!(counts.len() > 8_000, "{} distinct", counts.len());
    let top = counts.values().max().copied().unwrap_or(0);
    assert!(top > 50, "the busiest offender sent {top}");
    assert!(counts.keys().any(|ip| ip.starts_with("203.0.113.")));
}
