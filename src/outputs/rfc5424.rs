//! RFC 5424 syslog messages and their framing: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID
//! MSGID [SD] MSG`. HOSTNAME is the node's name with every character outside PRINTUSASCII
//! (33–126) replaced by `_` (at most 255); APP-NAME `honeybee`; MSGID the event type (same
//! rule, at most 32) or `alert`; structured data `[honeybee@32473 ...]` with PARAM-VALUEs
//! escaped as §6.3.3 says (`"`, `\` and `]` take a backslash). Over TCP and TLS each message is
//! framed by octet counting (RFC 6587 §3.4.1: `LEN SP MSG`); a UDP datagram is capped at
//! [`UDP_MAX`] bytes: a longer message is cut at a character boundary and its structured data
//! says `truncated="true"`. Pure, table-tested.

use honeybee_protocol::Timestamp;

use super::cef;
use super::item::Item;
use crate::config::outputs::SyslogFormat;

/// Largest UDP message sent.
pub const UDP_MAX: usize = 2048;
/// The private enterprise number in the structured data's SD-ID.
pub const SD_ID: &str = "honeybee@32473";

/// Replaces what RFC 5424 does not allow in HOSTNAME, APP-NAME and MSGID (PRINTUSASCII only)
/// and cuts to `max`; `-` (NILVALUE) when nothing is left.
pub fn header_token(text: &str, max: usize) -> String {
    let out: String = text
        .chars()
        .take(max)
        .map(|c| if ('!'..='~').contains(&c) { c } else { '_' })
        .collect();
    if out.is_empty() { "-".to_owned() } else { out }
}

/// Escapes an SD PARAM-VALUE: `"`, `\` and `]` are preceded by `\`.
pub fn param_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Syslog severity from a CEF severity: 8–10 warning (4), 6–7 notice (5), else informational
/// (6).
pub fn severity(cef: u8) -> u8 {
    match cef {
        8.. => 4,
        6 | 7 => 5,
        _ => 6,
    }
}

/// One message (without framing).
pub fn message(item: &Item, format: SyslogFormat, facility: u8, truncated: bool) -> Vec<u8> {
    let (host, msgid, cef_severity, params) = match item {
        Item::Event(e) => (
            header_token(&e.node_name, 255),
            header_token(&e.event_type, 32),
            cef::event_severity(&e.event_type),
            vec![
                ("event_id", e.id.to_string()),
                ("node_id", e.node_id.to_string()),
            ],
        ),
        Item::Alert(c) => {
            let mut params = vec![
                ("alert_id", c.alert.alert_id.to_string()),
                ("state", c.state.as_str().to_owned()),
            ];
            if let Some(id) = c.alert.node_id {
                params.push(("node_id", id.to_string()));
            }
            let severity = match c.state {
                honeybee_store::AlertState::Open => 6,
                honeybee_store::AlertState::Cleared => 2,
            };
            (
                header_token(c.alert.node_name.as_deref().unwrap_or(""), 255),
                "alert".to_owned(),
                severity,
                params,
            )
        }
        Item::Summary(s) => (
            "-".to_owned(),
            "alert".to_owned(),
            6,
            vec![("alert_summary", format!("{}-{}", s.first_seq, s.last_seq))],
        ),
    };
    let pri = u16::from(facility) * 8 + u16::from(severity(cef_severity));
    let time = Timestamp::from_system_time(item.at());
    let mut sd = format!("[{SD_ID}");
    for (name, value) in params {
        sd.push_str(&format!(" {name}=\"{}\"", param_value(&value)));
    }
    if truncated {
        sd.push_str(" truncated=\"true\"");
    }
    sd.push(']');
    let mut out = format!("<{pri}>1 {time} {host} honeybee - {msgid} {sd} ").into_bytes();
    match format {
        SyslogFormat::Cef => out.extend_from_slice(cef::encode(item).as_bytes()),
        SyslogFormat::Json => out.extend_from_slice(&item.json_text()),
    }
    out
}

/// A message framed for TCP or TLS: `LEN SP MSG` (octet counting).
pub fn frame_octet_counted(out: &mut Vec<u8>, msg: &[u8]) {
    out.extend_from_slice(msg.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(msg);
}

/// A message for one UDP datagram: at most [`UDP_MAX`] bytes, cut at a character boundary and
/// marked when longer.
pub fn udp_datagram(item: &Item, format: SyslogFormat, facility: u8) -> Vec<u8> {
    let msg = message(item, format, facility, false);
    if msg.len() <= UDP_MAX {
        return msg;
    }
    let mut msg = message(item, format, facility, true);
    let mut cut = UDP_MAX;
    // Back to the start of a UTF-8 character.
    while cut > 0 && msg.get(cut).is_some_and(|b| b & 0xC0 == 0x80) {
        cut -= 1;
    }
    msg.truncate(cut);
    msg
}

#[cfg(test)]
#[path = "rfc5424_tests.rs"]
mod tests;
