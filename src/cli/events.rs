//! `events`: a page of stored events (oldest first) with the API's filters, or with `--follow`
//! the live stream (`/api/v1/stream`, a WebSocket), printed as events arrive until Ctrl-C.
//! Every field of an event may come from an attacker and is printed escaped.

use std::process::ExitCode;

use awc::ws::{Frame, Message};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

use super::client::{Api, with_api};
use super::escape::{escape, json_safe};
use super::table::{Table, field, id_field, items};
use super::{ApiArgs, CliError, print, show};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this node's events (any of its ids).
    #[arg(long)]
    pub node_id: Option<String>,
    /// Only this pot's events.
    #[arg(long)]
    pub pot_id: Option<String>,
    /// Only events of pots of this type (cowrie, honnypotter, ...).
    #[arg(long)]
    pub pot_type: Option<String>,
    /// Only events of this type (e.g. cowrie.login.failed).
    #[arg(long)]
    pub event_type: Option<String>,
    /// Only events from this source address.
    #[arg(long)]
    pub src_ip: Option<String>,
    /// From this time (RFC 3339), by when events were received.
    #[arg(long)]
    pub since: Option<String>,
    /// Until this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// At most this many (the API's default is 100, its maximum 10000).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Continue after this cursor (the `next` of an earlier page).
    #[arg(long)]
    pub after: Option<String>,
    /// Follow new events live until Ctrl-C.
    #[arg(long, short)]
    pub follow: bool,
    #[command(flatten)]
    pub api: ApiArgs,
}

impl EventsArgs {
    fn query(&self) -> Vec<(&'static str, String)> {
        let limit = self.limit.map(|n| n.to_string());
        [
            ("node_id", self.node_id.clone()),
            ("pot_id", self.pot_id.clone()),
            ("pot_type", self.pot_type.clone()),
            ("event_type", self.event_type.clone()),
            ("src_ip", self.src_ip.clone()),
            ("since", self.since.clone()),
            ("until", self.until.clone()),
            ("limit", limit),
            ("after", self.after.clone()),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect()
    }
}

pub(super) fn run(args: &EventsArgs, config: &Config) -> Result<ExitCode, CliError> {
    let query = args.query();
    if args.follow {
        return with_api(&args.api, config, async |api| {
            follow(api, &query, args.api.json).await
        });
    }
    let reply = with_api(&args.api, config, async |api| {
        api.get("/api/v1/events", &query).await
    })?;
    show(args.api.json, &reply, events_table);
    if !args.api.json
        && let Some(next) = reply.json["next"].as_str()
    {
        eprintln!("More events: add --after {}", escape(next));
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn events_table(document: &Value) -> String {
    let mut table = Table::new(&[
        "ID",
        "RECEIVED_AT",
        "NODE",
        "POT_ID",
        "EVENT_TYPE",
        "SRC_IP",
        "USERNAME",
        "PASSWORD",
        "COMMAND",
        "DOWNLOAD_URL",
        "SHA256",
    ]);
    for event in items(document, "events") {
        table.row(vec![
            field(event, "id"),
            field(event, "received_at"),
            node(event),
            field(event, "pot_id"),
            field(event, "event_type"),
            field(event, "src_ip"),
            field(event, "username"),
            field(event, "password"),
            field(event, "command"),
            field(event, "download_url"),
            field(event, "sha256"),
        ]);
    }
    if table.is_empty() {
        return "No events.\n".to_owned();
    }
    table.render()
}

/// An event from the stream on one line: time, node, pot, type, then the fields it has.
pub(super) fn event_line(event: &Value) -> String {
    let mut line = [
        field(event, "received_at"),
        node(event),
        field(event, "pot_id"),
        field(event, "event_type"),
    ]
    .map(|part| escape(&part).into_owned())
    .join("  ");
    for (key, label) in [
        ("src_ip", "src"),
        ("username", "user"),
        ("password", "pass"),
        ("command", "cmd"),
        ("download_url", "url"),
        ("sha256", "sha256"),
    ] {
        if let Some(value) = event[key].as_str() {
            line.push_str(&format!("  {label}={}", escape(value)));
        }
    }
    line.push('\n');
    line
}

/// The node's name, or its id when it has none.
fn node(event: &Value) -> String {
    match event["node_name"].as_str() {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => id_field(event, "node_id"),
    }
}

/// Prints the stream's events until Ctrl-C (success) or the Core ends the stream (failure).
async fn follow(api: &Api, query: &[(&str, String)], json: bool) -> Result<ExitCode, CliError> {
    let mut socket = api.stream("/api/v1/stream", query).await?;
    eprintln!("Following events (Ctrl-C to stop).");
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    loop {
        // Biased: the Ctrl-C handler is installed (first poll) before anything is printed.
        let frame = tokio::select! {
            biased;
            interrupted = &mut interrupt => {
                let _ = socket.send(Message::Close(None)).await;
                return match interrupted {
                    Ok(()) => Ok(ExitCode::SUCCESS),
                    Err(e) => Err(CliError::Stream(format!("cannot watch for Ctrl-C: {e}"))),
                };
            }
            frame = socket.next() => frame,
        };
        let message = match frame {
            None => {
                return Err(CliError::Stream(
                    "the Core closed the connection".to_owned(),
                ));
            }
            Some(Err(e)) => return Err(CliError::Stream(e.to_string())),
            Some(Ok(Frame::Text(text))) => text.to_vec(),
            // The Core sends each message as one frame (actix-ws does not fragment).
            Some(Ok(Frame::Continuation(_))) => {
                return Err(CliError::Stream(
                    "the Core sent a fragmented message, which this CLI does not read".to_owned(),
                ));
            }
            Some(Ok(Frame::Ping(payload))) => {
                let _ = socket.send(Message::Pong(payload)).await;
                continue;
            }
            Some(Ok(Frame::Close(reason))) => {
                let why = reason.and_then(|r| r.description).unwrap_or_default();
                let mut detail = "the Core closed the stream".to_owned();
                if !why.is_empty() {
                    detail.push_str(&format!(": {}", escape(&why)));
                }
                return Err(CliError::Stream(detail));
            }
            Some(Ok(Frame::Binary(_) | Frame::Pong(_))) => continue,
        };
        on_message(&String::from_utf8_lossy(&message), json)?;
    }
}

/// Prints one stream message if it is an event; an error message ends the stream.
fn on_message(text: &str, json: bool) -> Result<(), CliError> {
    let message: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    match message["kind"].as_str() {
        Some("event") if json => print(&format!("{}\n", json_safe(text.trim()))),
        Some("event") => print(&event_line(&message)),
        Some("error") => {
            let error = &message["error"];
            return Err(CliError::Stream(format!(
                "{}: {}",
                escape(error["code"].as_str().unwrap_or("error")),
                escape(error["message"].as_str().unwrap_or("-"))
            )));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hostile() -> Value {
        json!({"kind": "event", "id": 42, "node_id": 7, "node_id_str": "7",
            "node_name": "edge\u{1b}]0;owned\u{7}", "pot_id": "cowrie-01", "pot_type": "cowrie",
            "event_type": "cowrie.login.failed", "timestamp": "2024-01-15T10:30:00Z",
            "timestamp_source": "node", "received_at": "2024-01-15T10:30:00.123456Z",
            "src_ip": "203.0.113.7", "username": "root\r\n", "password": "\u{1b}[2J",
            "command": null, "download_url": "http://x/\u{1b}[5m", "sha256": "ab12",
            "data": {}})
    }

    #[test]
    fn a_stream_event_is_one_escaped_line() {
        assert_eq!(
            event_line(&hostile()),
            "2024-01-15T10:30:00.123456Z  edge\\x1b]0;owned\\x07  cowrie-01  \
             cowrie.login.failed  src=203.0.113.7  user=root\\r\\n  pass=\\x1b[2J  \
             url=http://x/\\x1b[5m  sha256=ab12\n"
        );
    }

    #[test]
    fn the_events_table_escapes_every_field() {
        let table = events_table(&json!({"events": [hostile()], "next": null}));
        assert!(
            !table.contains('\u{1b}') && !table.contains('\r'),
            "{table}"
        );
        assert_eq!(table.lines().count(), 2, "{table}");
        assert!(
            table.contains("user") || table.contains("root\\r\\n"),
            "{table}"
        );
        assert_eq!(
            events_table(&json!({"events": [], "next": null})),
            "No events.\n"
        );
    }

    #[test]
    fn only_events_are_printed_and_errors_end_the_stream() {
        assert!(on_message(r#"{"kind":"node","node_id":1}"#, false).is_ok());
        let e = on_message(
            r#"{"kind":"error","error":{"code":"slow_client","message":"too slow\u001b"}}"#,
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the live stream ended: slow_client: too slow\\x1b"
        );
    }

    #[test]
    fn filters_become_the_query() {
        let args = EventsArgs {
            node_id: Some("7".into()),
            pot_id: None,
            pot_type: None,
            event_type: Some("cowrie.login.failed".into()),
            src_ip: None,
            since: None,
            until: None,
            limit: Some(5),
            after: None,
            follow: false,
            api: ApiArgs {
                config: None,
                api: None,
                token_file: None,
                json: false,
            },
        };
        assert_eq!(
            args.query(),
            [
                ("node_id", "7".to_owned()),
                ("event_type", "cowrie.login.failed".to_owned()),
                ("limit", "5".to_owned())
            ]
        );
    }
}
