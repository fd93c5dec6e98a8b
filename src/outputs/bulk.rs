//! The Elasticsearch / OpenSearch sink: `POST <url>/_bulk` with one `create` action per item —
//! `_id` the event id (`alert-<id>-<state>` for an alert change), `_index` from the `index`
//! pattern and the item's `received_at` (so a retry lands in the same index) — and an
//! ECS-shaped document (`ecs.rs`). `create` makes a repeat harmless: the item answers 409, which
//! counts as delivered.
//!
//! Per item of the answer: 2xx or 409 delivered; 429 (`es_rejected_execution_exception`) and
//! 5xx retried from that item on; any other error refused for good (dead letter). At start, with
//! `template` other than `none`, an index template declares `honeybee.data` as `flattened`
//! (Elasticsearch) or `flat_object` (OpenSearch), so attacker-controlled keys cannot grow the
//! mapping.

use std::time::SystemTime;

use base64::Engine;
use serde_json::{Value, json};

use super::deliver::{Dead, Outcome};
use super::ecs;
use super::http::{self, Verdict};
use super::item::Item;
use super::tls::Redactor;
use crate::config::outputs::{ElasticConfig, Template};

pub(super) struct BulkSink {
    config: ElasticConfig,
    client: awc::Client,
    redactor: Redactor,
}

/// The index name for `pattern` at `at` (UTC): `%Y`, `%m`, `%d`, `%%`.
pub(super) fn index_name(pattern: &str, at: SystemTime) -> String {
    let ts = honeybee_protocol::Timestamp::from_system_time(at).to_string();
    // `YYYY-MM-DDT...`
    let (y, m, d) = (&ts[0..4], &ts[5..7], &ts[8..10]);
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(y),
            Some('m') => out.push_str(m),
            Some('d') => out.push_str(d),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

impl BulkSink {
    pub(super) fn new(config: ElasticConfig, client: awc::Client, redactor: Redactor) -> Self {
        BulkSink {
            config,
            client,
            redactor,
        }
    }

    fn base(&self) -> &str {
        self.config.url.url.trim_end_matches('/')
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if let Some(key) = &self.config.api_key {
            headers.push(("authorization", format!("ApiKey {}", key.expose())));
        } else if let Some(user) = &self.config.username {
            let pass = self.config.password.as_ref().map_or("", |p| p.expose());
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            headers.push(("authorization", format!("Basic {basic}")));
        }
        headers
    }

    /// The `_bulk` body for `items`.
    pub(super) fn body(&self, items: &[Item]) -> Vec<u8> {
        let mut body = Vec::with_capacity(items.len() * 800);
        for item in items {
            let (pattern, id) = match item {
                Item::Event(e) => (&self.config.index, e.id.to_string()),
                Item::Alert(c) => (
                    &self.config.alert_index,
                    format!("alert-{}-{}", c.alert.alert_id, c.state.as_str()),
                ),
                Item::Summary(s) => (
                    &self.config.alert_index,
                    format!("alert-summary-{}-{}", s.first_seq, s.last_seq),
                ),
            };
            let action = json!({"create": {"_index": index_name(pattern, item.at()), "_id": id}});
            let _ = serde_json::to_writer(&mut body, &action);
            body.push(b'\n');
            let _ = serde_json::to_writer(&mut body, &ecs::document(item));
            body.push(b'\n');
        }
        body
    }

    /// Installs the index template, unless `template = "none"`.
    pub(super) async fn prepare(&mut self) -> Result<(), String> {
        let kind = match self.config.template {
            Template::Flattened => "flattened",
            Template::FlatObject => "flat_object",
            Template::None => return Ok(()),
        };
        let patterns: Vec<String> = [&self.config.index, &self.config.alert_index]
            .iter()
            .map(|p| format!("{}*", p.split('%').next().unwrap_or(p)))
            .collect();
        let template = json!({
            "index_patterns": patterns,
            "priority": 200,
            "template": {"mappings": {"properties": {
                "@timestamp": {"type": "date"},
                "source": {"properties": {"ip": {"type": "ip"}, "port": {"type": "integer"}}},
                "honeybee": {"properties": {"data": {"type": kind}}}
            }}}
        });
        let url = format!("{}/_index_template/honeybee", self.base());
        let body = serde_json::to_vec(&template).unwrap_or_default();
        match http::put_json(&self.client, &url, &self.headers(), body).await {
            Ok(a) if a.status / 100 == 2 => Ok(()),
            Ok(a) => Err(self.redactor.clean(&format!(
                "installing the index template at {url}: {} {}",
                a.status,
                a.excerpt()
            ))),
            Err(e) => Err(self.redactor.clean(&e)),
        }
    }

    pub(super) async fn send(&mut self, items: &[Item]) -> Outcome {
        let url = format!("{}/_bulk", self.base());
        let mut headers = self.headers();
        headers.push(("content-type", "application/x-ndjson".to_owned()));
        let answer = match http::post(&self.client, &url, &headers, self.body(items)).await {
            Ok(a) => a,
            Err(e) => return Outcome::failed(0, self.redactor.clean(&e)),
        };
        match http::verdict(answer.status) {
            Verdict::Delivered => {}
            Verdict::Retry => {
                return Outcome::failed(
                    0,
                    self.redactor.clean(&format!(
                        "{url} answered {}: {}",
                        answer.status,
                        answer.excerpt()
                    )),
                );
            }
            Verdict::Refused => {
                let why = self.redactor.clean(&format!(
                    "refused with {}: {}",
                    answer.status,
                    answer.excerpt()
                ));
                return Outcome {
                    settled: items.len(),
                    dead: items
                        .iter()
                        .map(|i| Dead::of(i, Some(answer.status), why.clone()))
                        .collect(),
                    error: None,
                };
            }
        }
        let reply: Value = match serde_json::from_slice(&answer.body) {
            Ok(v) => v,
            Err(e) => return Outcome::failed(0, format!("{url}: the answer is not JSON: {e}")),
        };
        if reply.get("errors").and_then(Value::as_bool) == Some(false) {
            return Outcome::all(items.len());
        }
        let results = reply
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if results.len() != items.len() {
            return Outcome::failed(
                0,
                format!(
                    "{url}: the answer lists {} items for {} sent",
                    results.len(),
                    items.len()
                ),
            );
        }
        self.settle(items, &results)
    }

    /// Settles items in order up to the first one to retry.
    fn settle(&self, items: &[Item], results: &[Value]) -> Outcome {
        let mut outcome = Outcome::default();
        for (item, result) in items.iter().zip(results) {
            let result = result
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or(Value::Null);
            let status = result.get("status").and_then(Value::as_u64).unwrap_or(0);
            let status = u16::try_from(status).unwrap_or(0);
            let error = result
                .get("error")
                .map(|e| {
                    let kind = e.get("type").and_then(Value::as_str).unwrap_or("error");
                    let reason = e.get("reason").and_then(Value::as_str).unwrap_or("");
                    format!("{kind}: {reason}")
                })
                .unwrap_or_default();
            match status {
                200..=299 | 409 => outcome.settled += 1,
                429 | 500.. | 0 => {
                    outcome.error = Some(self.redactor.clean(&format!(
                        "item {} answered {status} ({error}); retrying from it",
                        item.dedupe_id()
                    )));
                    break;
                }
                _ => {
                    let why = self
                        .redactor
                        .clean(&format!("refused with {status}: {error}"));
                    outcome.dead.push(Dead::of(item, Some(status), why));
                    outcome.settled += 1;
                }
            }
        }
        outcome
    }
}
