//! The webhook sink: one POST per batch (`batch_size`, 1 by default) with a JSON body — the
//! event or alert itself, or with `batch_size > 1` always an array of them — signed as
//! OUTPUTS.md says:
//! `X-HoneyBee-Timestamp: <unix seconds>` and `X-HoneyBee-Signature: sha256=<hex
//! HMAC-SHA256(secret, "<timestamp>.<body>")>`; `X-HoneyBee-Id` carries the dedupe key of a
//! single item. `format = "slack"` posts `{"text": ...}` instead (Slack, Mattermost, Discord's
//! Slack-compatible endpoint), one line per item.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::deliver::{Dead, Outcome};
use super::http::{self, Verdict};
use super::item::Item;
use super::tls::Redactor;
use crate::config::outputs::{WebhookConfig, WebhookFormat};

pub(super) struct WebhookSink {
    config: WebhookConfig,
    /// `batch_size > 1`: bodies are always arrays (a receiver sees one shape).
    batched: bool,
    client: awc::Client,
    redactor: Redactor,
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// One line of text for a chat room.
pub(super) fn slack_line(item: &Item) -> String {
    match item {
        Item::Alert(c) => {
            let a = &c.alert;
            let icon = match c.state {
                honeybee_store::AlertState::Open => ":rotating_light:",
                honeybee_store::AlertState::Cleared => ":white_check_mark:",
            };
            let node = a
                .node_name
                .as_deref()
                .map(|n| format!(" on {n}"))
                .unwrap_or_default();
            format!(
                "{icon} HoneyBee alert {} ({}){node} {}: {}",
                a.alert_id,
                a.kind,
                c.state.as_str(),
                a.message
            )
        }
        Item::Summary(s) => format!(":information_source: HoneyBee: {}", s.text()),
        Item::Event(e) => {
            let from = e.src_ip.as_deref().unwrap_or("?");
            format!(
                "HoneyBee event {} `{}` from {from} on {}/{}",
                e.id, e.event_type, e.node_name, e.pot_id
            )
        }
    }
}

impl WebhookSink {
    pub(super) fn new(
        config: WebhookConfig,
        batched: bool,
        client: awc::Client,
        redactor: Redactor,
    ) -> Self {
        WebhookSink {
            config,
            batched,
            client,
            redactor,
        }
    }

    pub(super) fn body(&self, items: &[Item]) -> Vec<u8> {
        match self.config.format {
            WebhookFormat::Slack => {
                let text: Vec<String> = items.iter().map(slack_line).collect();
                serde_json::to_vec(&serde_json::json!({ "text": text.join("\n") }))
                    .unwrap_or_default()
            }
            WebhookFormat::Json if !self.batched && items.len() == 1 => items[0].json_text(),
            WebhookFormat::Json => {
                let mut out = vec![b'['];
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&item.json_text());
                }
                out.push(b']');
                out
            }
        }
    }

    pub(super) async fn send(&mut self, items: &[Item]) -> Outcome {
        let body = self.body(items);
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut headers = vec![
            ("content-type", "application/json".to_owned()),
            ("x-honeybee-timestamp", timestamp.to_string()),
            (
                "x-honeybee-signature",
                signature(self.config.secret.expose().as_bytes(), timestamp, &body),
            ),
        ];
        if let [item] = items {
            headers.push(("x-honeybee-id", item.dedupe_id()));
        }
        let answer = match http::post(&self.client, &self.config.url.url, &headers, body).await {
            Ok(answer) => answer,
            Err(e) => return Outcome::failed(0, self.redactor.clean(&e)),
        };
        match http::verdict(answer.status) {
            Verdict::Delivered => Outcome::all(items.len()),
            Verdict::Retry => Outcome::failed(
                0,
                self.redactor.clean(&format!(
                    "{} answered {}: {}",
                    self.config.url.url,
                    answer.status,
                    answer.excerpt()
                )),
            ),
            Verdict::Refused => {
                let why = self.redactor.clean(&format!(
                    "refused with {}: {}",
                    answer.status,
                    answer.excerpt()
                ));
                Outcome {
                    settled: items.len(),
                    dead: items
                        .iter()
                        .map(|i| Dead::of(i, Some(answer.status), why.clone()))
                        .collect(),
                    error: None,
                }
            }
        }
    }
}
