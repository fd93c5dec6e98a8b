//! Events and alerts as Elastic Common Schema documents: `@timestamp`, `source.ip` (only a
//! valid address: the field is mapped as `ip`), `source.port`, `user.name`, `event.action` (the
//! event type), `event.dataset`, `event.id`, `observer.name`/`observer.type`, `url.full`,
//! `file.hash.sha256`, and `honeybee.*` for the rest, with the attacker-controlled `data`
//! object as `honeybee.data` (a `flattened` field).

use honeybee_protocol::Timestamp;
use serde_json::{Map, Value, json};

use super::item::Item;

pub(super) fn document(item: &Item) -> Value {
    match item {
        Item::Event(e) => {
            let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
            let mut doc = json!({
                "@timestamp": Timestamp::from_system_time(e.received_at).to_string(),
                "event": {
                    "kind": "event",
                    "action": e.event_type,
                    "dataset": format!("honeybee.{}", e.pot_type.as_deref().unwrap_or("events")),
                    "id": e.id.to_string(),
                    "created": e.timestamp,
                },
                "observer": {"name": e.node_name, "type": "honeypot"},
                "honeybee": {
                    "event_id": e.id,
                    "node_id": e.node_id.to_string(),
                    "node_name": e.node_name,
                    "pot_id": e.pot_id,
                    "pot_type": e.pot_type,
                    "event_type": e.event_type,
                    "timestamp": e.timestamp,
                    "timestamp_source": e.timestamp_source.as_str(),
                    "src_ip": e.src_ip,
                    "password": e.password,
                    "command": e.command,
                    "data": data,
                },
            });
            let Value::Object(map) = &mut doc else {
                return doc;
            };
            let mut source = Map::new();
            if let Some(ip) = e
                .src_ip
                .as_deref()
                .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
            {
                source.insert("ip".into(), ip.into());
            }
            if let Some(port) = data
                .get("src_port")
                .and_then(Value::as_u64)
                .filter(|p| *p <= 65_535)
            {
                source.insert("port".into(), port.into());
            }
            if !source.is_empty() {
                map.insert("source".into(), source.into());
            }
            if let Some(user) = &e.username {
                map.insert("user".into(), json!({ "name": user }));
            }
            if let Some(url) = &e.download_url {
                map.insert("url".into(), json!({ "full": url }));
            }
            if let Some(hash) = &e.sha256 {
                map.insert("file".into(), json!({"hash": {"sha256": hash}}));
            }
            doc
        }
        Item::Alert(c) => json!({
            "@timestamp": Timestamp::from_system_time(c.at).to_string(),
            "event": {
                "kind": "alert",
                "action": format!("alert_{}", c.state.as_str()),
                "dataset": "honeybee.alerts",
                "id": c.alert.alert_id.to_string(),
            },
            "message": c.alert.message,
            "observer": {"name": c.alert.node_name, "type": "honeypot"},
            "honeybee": {"alert": item.json()},
        }),
        Item::Summary(s) => json!({
            "@timestamp": Timestamp::from_system_time(item.at()).to_string(),
            "event": {"kind": "alert", "action": "alert_summary", "dataset": "honeybee.alerts"},
            "message": s.text(),
            "honeybee": {"alert_summary": item.json()},
        }),
    }
}
