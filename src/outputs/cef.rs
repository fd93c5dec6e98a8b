//! ArcSight CEF 0 (the "Implementing ArcSight CEF" specification): a header of seven `|`
//! separated fields and an extension of `key=value` pairs, each with its own escaping — in the
//! header `\` and `|` are escaped with `\`; in extension values `\` and `=` are, and line
//! breaks are written `\n` / `\r`. Pure, table-tested against the specification's examples.

use std::time::{SystemTime, UNIX_EPOCH};

use honeybee_store::{AlertState, StoredEvent};

use super::item::{Item, Summary};

/// The version field of the header: this build's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Escapes a header field: `\` → `\\`, `|` → `\|`; line breaks (not allowed) become spaces.
pub(super) fn header_field(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an extension value: `\` → `\\`, `=` → `\=`, CR → `\r`, LF → `\n`.
pub(super) fn extension_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// The severity table of OUTPUTS.md: login success 8, file download 9, command input 7, login
/// failure 5, anything else 3.
pub(super) fn event_severity(event_type: &str) -> u8 {
    if event_type.ends_with("login.success") {
        8
    } else if event_type.contains("file_download") {
        9
    } else if event_type.ends_with("command.input") {
        7
    } else if event_type.ends_with("login.failed") {
        5
    } else {
        3
    }
}

/// A short name for an event type.
fn event_name(event_type: &str) -> &str {
    match event_severity(event_type) {
        8 => "Login succeeded",
        9 => "File download",
        7 => "Command input",
        5 => "Login failed",
        _ => event_type,
    }
}

fn millis(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// One CEF line (no trailing newline) for an item.
pub(super) fn encode(item: &Item) -> String {
    match item {
        Item::Event(e) => event(e),
        Item::Alert(c) => {
            let a = &c.alert;
            let (severity, act) = match c.state {
                AlertState::Open => (6, "opened"),
                AlertState::Cleared => (2, "cleared"),
            };
            let mut ext = Extension::default();
            ext.add("rt", &millis(c.at).to_string());
            ext.add("act", act);
            ext.add("cat", &a.kind);
            ext.add("msg", &a.message);
            if let Some(name) = &a.node_name {
                ext.add("dvchost", name);
            }
            if let Some(id) = a.node_id {
                ext.add("cs3Label", "node_id");
                ext.add("cs3", &id.to_string());
            }
            if let Some(pot) = &a.pot_id {
                ext.add("cs4Label", "pot_id");
                ext.add("cs4", pot);
            }
            ext.add("externalId", &a.alert_id.to_string());
            line(
                &format!("alert:{}", a.kind),
                &format!("Alert {act}: {}", a.kind),
                severity,
                &ext.0,
            )
        }
        Item::Summary(s) => summary(s),
    }
}

fn summary(s: &Summary) -> String {
    let mut ext = Extension::default();
    ext.add("rt", &millis(s.until.unwrap_or(UNIX_EPOCH)).to_string());
    ext.add("msg", &s.text());
    ext.add("cnt", &(s.opened + s.cleared).to_string());
    line("alert:summary", "Alert summary", 6, &ext.0)
}

fn event(e: &StoredEvent) -> String {
    let mut ext = Extension::default();
    ext.add("rt", &millis(e.received_at).to_string());
    if let Some(ip) = e
        .src_ip
        .as_deref()
        .and_then(|s| s.parse::<std::net::IpAddr>().ok())
    {
        match ip {
            std::net::IpAddr::V4(v4) => ext.add("src", &v4.to_string()),
            std::net::IpAddr::V6(v6) => {
                ext.add("c6a2", &v6.to_string());
                ext.add("c6a2Label", "Source IPv6 Address");
            }
        }
    }
    if let Some(port) = src_port(&e.data) {
        ext.add("spt", &port.to_string());
    }
    let mut optional = |key: &str, label: Option<(&str, &str)>, value: &Option<String>| {
        if let Some(v) = value {
            if let Some((label_key, label)) = label {
                ext.add(label_key, label);
            }
            ext.add(key, v);
        }
    };
    optional("suser", None, &e.username);
    optional("cs1", Some(("cs1Label", "password")), &e.password);
    optional("cs2", Some(("cs2Label", "command")), &e.command);
    optional("request", None, &e.download_url);
    optional("fileHash", None, &e.sha256);
    ext.add("cs3Label", "node_id");
    ext.add("cs3", &e.node_id.to_string());
    ext.add("cs4Label", "pot_id");
    ext.add("cs4", &e.pot_id);
    ext.add("dvchost", &e.node_name);
    ext.add("externalId", &e.id.to_string());
    line(
        &e.event_type,
        event_name(&e.event_type),
        event_severity(&e.event_type),
        &ext.0,
    )
}

/// `data.src_port` when it is a port number.
fn src_port(data: &str) -> Option<u16> {
    #[derive(serde::Deserialize)]
    struct Port {
        src_port: Option<serde_json::Value>,
    }
    let port = serde_json::from_str::<Port>(data).ok()?.src_port?;
    match port {
        serde_json::Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn line(class: &str, name: &str, severity: u8, extension: &str) -> String {
    format!(
        "CEF:0|HoneyBee|Core|{}|{}|{}|{severity}|{extension}",
        header_field(VERSION),
        header_field(class),
        header_field(name),
    )
}

/// `key=value` pairs separated by spaces.
#[derive(Default)]
struct Extension(String);

impl Extension {
    fn add(&mut self, key: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(key);
        self.0.push('=');
        self.0.push_str(&extension_value(value));
    }
}

#[cfg(test)]
pub(crate) mod tests;
