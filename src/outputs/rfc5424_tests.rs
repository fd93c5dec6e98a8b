use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::outputs::cef::tests::event;

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn header_tokens_keep_only_printusascii() {
    for (raw, max, want) in [
        ("mymachine.example.com", 255, "mymachine.example.com"),
        ("edge fra|1", 255, "edge_fra|1"),
        ("caf\u{e9}\u{1b}[31m", 255, "caf__[31m"),
        ("", 255, "-"),
        (
            "cowrie.session.file_download.extra",
            32,
            "cowrie.session.file_download.ext",
        ),
    ] {
        assert_eq!(header_token(raw, max), want, "{raw:?}");
    }
}

#[test]
fn param_values_escape_quote_backslash_and_bracket() {
    // RFC 5424 §6.3.3.
    assert_eq!(param_value(r#"a"b\c]d"#), r#"a\"b\\c\]d"#);
    assert_eq!(param_value("plain [x]"), r"plain [x\]");
}

#[test]
fn a_message_has_the_rfc_5424_structure() {
    let e = event("cowrie.login.failed");
    let msg = text(&message(&Item::Event(e), SyslogFormat::Cef, 16, false));
    // local0 (16) × 8 + informational (6): 134.
    let want_head = "<134>1 2024-01-15T10:30:00.123000Z edge_fra|1 honeybee - cowrie.login.failed \
                     [honeybee@32473 event_id=\"42\" node_id=\"11364728073201639405\"] CEF:0|";
    assert!(msg.starts_with(want_head), "{msg}");
    // auth (4) × 8 + warning (4) for a successful login: 36.
    let msg = text(&message(
        &Item::Event(event("cowrie.login.success")),
        SyslogFormat::Json,
        4,
        false,
    ));
    assert!(msg.starts_with("<36>1 "), "{msg}");
    let json_start = msg.find("] ").unwrap() + 2;
    let body: serde_json::Value = serde_json::from_str(&msg[json_start..]).unwrap();
    assert_eq!(body["id"], 42);
    assert_eq!(body["node_id_str"], "11364728073201639405");
}

#[test]
fn octet_counting_prefixes_the_length_in_bytes() {
    let mut out = Vec::new();
    frame_octet_counted(&mut out, "<34>1 - - - - - - é".as_bytes());
    frame_octet_counted(&mut out, b"x");
    assert_eq!(text(&out), "20 <34>1 - - - - - - é1 x");
}

#[test]
fn udp_datagrams_are_capped_and_marked() {
    let mut e = event("cowrie.command.input");
    e.command = Some("é".repeat(3000));
    e.received_at = UNIX_EPOCH + Duration::from_secs(1);
    let datagram = udp_datagram(&Item::Event(e.clone()), SyslogFormat::Cef, 16);
    assert!(datagram.len() <= UDP_MAX && datagram.len() >= UDP_MAX - 1);
    let datagram = text(&datagram);
    assert!(datagram.contains(" truncated=\"true\"]"), "{datagram}");
    e.command = Some("ls".into());
    let short = text(&udp_datagram(&Item::Event(e), SyslogFormat::Cef, 16));
    assert!(!short.contains("truncated"));
}
