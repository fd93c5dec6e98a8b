//! An event as `GET /api/v1/events` returns it (and as `export.jsonl` writes it).

use honeybee_protocol::Timestamp;
use honeybee_store::StoredEvent;
use serde::Serialize;
use serde_json::value::RawValue;

#[derive(Serialize)]
struct EventJson<'a> {
    id: u64,
    node_id: u64,
    node_id_str: String,
    node_name: &'a str,
    pot_id: &'a str,
    pot_type: Option<&'a str>,
    event_type: &'a str,
    timestamp: &'a str,
    timestamp_source: &'static str,
    received_at: String,
    src_ip: Option<&'a str>,
    username: Option<&'a str>,
    password: Option<&'a str>,
    command: Option<&'a str>,
    download_url: Option<&'a str>,
    sha256: Option<&'a str>,
    data: &'a RawValue,
}

/// Appends the event's compact JSON (no newline) to `out`.
pub fn write_event(out: &mut Vec<u8>, event: &StoredEvent) {
    let json = EventJson {
        id: event.id,
        node_id: event.node_id,
        node_id_str: event.node_id.to_string(),
        node_name: &event.node_name,
        pot_id: &event.pot_id,
        pot_type: event.pot_type.as_deref(),
        event_type: &event.event_type,
        timestamp: &event.timestamp,
        timestamp_source: event.timestamp_source.as_str(),
        received_at: Timestamp::from_system_time(event.received_at).to_string(),
        src_ip: event.src_ip.as_deref(),
        username: event.username.as_deref(),
        password: event.password.as_deref(),
        command: event.command.as_deref(),
        download_url: event.download_url.as_deref(),
        sha256: event.sha256.as_deref(),
        // The store keeps `data` as the JSON object text that was checked when it arrived.
        data: serde_json::from_str(&event.data).unwrap_or(RawValue::NULL),
    };
    // Invariant: these fields always serialise, and writing to a Vec cannot fail.
    #[allow(clippy::expect_used)]
    serde_json::to_writer(&mut *out, &json).expect("an event always serialises");
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use honeybee_store::TimestampSource;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_api_shape() {
        let event = StoredEvent {
            id: 7,
            node_id: 11_364_728_073_201_639_405,
            node_name: "edge".into(),
            pot_id: "cowrie-01".into(),
            pot_type: None,
            event_type: "cowrie.login.failed".into(),
            timestamp: "2024-01-15T10:30:00Z".into(),
            timestamp_source: TimestampSource::Core,
            received_at: UNIX_EPOCH + Duration::from_micros(1_705_314_600_123_456),
            src_ip: Some("203.0.113.7".into()),
            username: Some("root".into()),
            password: None,
            command: None,
            download_url: Some("http://198.51.100.4/x.sh".into()),
            sha256: None,
            data: r#"{"a":[1,{"b":null}]}"#.into(),
        };
        let mut out = Vec::new();
        write_event(&mut out, &event);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            value,
            json!({
                "id": 7, "node_id": 11_364_728_073_201_639_405u64,
                "node_id_str": "11364728073201639405", "node_name": "edge",
                "pot_id": "cowrie-01", "pot_type": null, "event_type": "cowrie.login.failed",
                "timestamp": "2024-01-15T10:30:00Z", "timestamp_source": "core",
                "received_at": "2024-01-15T10:30:00.123456Z", "src_ip": "203.0.113.7",
                "username": "root", "password": null, "command": null,
                "download_url": "http://198.51.100.4/x.sh", "sha256": null,
                "data": {"a": [1, {"b": null}]}
            })
        );
        assert!(!out.contains(&b'\n'));
    }
}
