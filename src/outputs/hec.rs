//! The Splunk HTTP Event Collector sink: batches of `{"time","host","source":"honeybee",
//! "sourcetype":"honeybee:event"|"honeybee:alert","index"?,"event":{..},"fields":{..}}` objects
//! POSTed with `Authorization: Splunk <token>` (gzip-compressed with `gzip = true`). With
//! `ack = true` every request carries the sink's channel (`X-Splunk-Request-Channel`) and the
//! position moves only once the indexers acknowledged the batch's `ackId`.
//!
//! Answers, as Splunk documents them: code 0 delivered; 400 "Invalid data format" (6) and the
//! other event-format codes with `invalid-event-number: N` — events before N were indexed,
//! event N is refused for good, the rest is sent again; 413 — the batch is halved, a single
//! event that is still too large is refused; 429, 5xx ("Server is busy", 9) retried; and the
//! sink's own configuration problems — a bad or disabled token (401, 403), "Data channel is
//! missing" (10: the token wants acknowledgements, set `ack = true`) — retried with the error
//! shown, never dead-lettered (nothing about the events is wrong).

use std::io::Write;
use std::time::{Duration, Instant, UNIX_EPOCH};

use serde_json::{Value, json};

use super::deliver::{Dead, Outcome};
use super::http::{self, Answer};
use super::item::Item;
use super::tls::Redactor;
use crate::config::outputs::HecConfig;

/// How long acknowledgements are waited for before the batch is sent again.
const ACK_TIMEOUT: Duration = Duration::from_secs(60);
const ACK_POLL: Duration = Duration::from_millis(200);

pub(super) struct HecSink {
    config: HecConfig,
    client: awc::Client,
    redactor: Redactor,
    channel: String,
    ack_url: String,
}

/// Appends one HEC event object (compact JSON, no newline): written directly, with the
/// event's own JSON copied in as the API writes it (no parse and re-serialisation per event).
pub(super) fn write_hec_object(out: &mut Vec<u8>, item: &Item, index: Option<&str>) {
    let at = item.at().duration_since(UNIX_EPOCH).unwrap_or_default();
    let (host, sourcetype, fields) = match item {
        Item::Event(e) => (
            Some(e.node_name.as_str()),
            "honeybee:event",
            json!({"event_id": e.id.to_string()}),
        ),
        Item::Alert(c) => (
            c.alert.node_name.as_deref(),
            "honeybee:alert",
            json!({"alert_id": c.alert.alert_id.to_string(), "state": c.state.as_str()}),
        ),
        Item::Summary(s) => (
            None,
            "honeybee:alert",
            json!({"alert_summary": format!("{}-{}", s.first_seq, s.last_seq)}),
        ),
    };
    // A JSON number with microseconds, as HEC takes it.
    out.extend_from_slice(
        format!(
            "{{\"time\":{}.{:06},\"source\":\"honeybee\",\"sourcetype\":\"{sourcetype}\",",
            at.as_secs(),
            at.subsec_micros()
        )
        .as_bytes(),
    );
    // Writing strings and values to a Vec cannot fail.
    if let Some(host) = host.filter(|h| !h.is_empty()) {
        out.extend_from_slice(b"\"host\":");
        let _ = serde_json::to_writer(&mut *out, host);
        out.push(b',');
    }
    if let Some(index) = index {
        out.extend_from_slice(b"\"index\":");
        let _ = serde_json::to_writer(&mut *out, index);
        out.push(b',');
    }
    out.extend_from_slice(b"\"event\":");
    out.extend_from_slice(&item.json_text());
    out.extend_from_slice(b",\"fields\":");
    let _ = serde_json::to_writer(&mut *out, &fields);
    out.push(b'}');
}

/// A random channel id (a GUID, as HEC wants).
fn new_channel() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl HecSink {
    pub(super) fn new(config: HecConfig, client: awc::Client, redactor: Redactor) -> Self {
        let ack_url = match config.url.url.rsplit_once("/event") {
            Some((base, rest)) if rest.is_empty() || rest.starts_with('?') => format!("{base}/ack"),
            _ => format!("{}/ack", config.url.url.trim_end_matches('/')),
        };
        HecSink {
            config,
            client,
            redactor,
            channel: new_channel(),
            ack_url,
        }
    }

    fn headers(&self, gzip: bool) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            (
                "authorization",
                format!("Splunk {}", self.config.token.expose()),
            ),
            ("content-type", "application/json".to_owned()),
        ];
        if self.config.ack {
            headers.push(("x-splunk-request-channel", self.channel.clone()));
        }
        if gzip {
            headers.push(("content-encoding", "gzip".to_owned()));
        }
        headers
    }

    fn body(&self, items: &[Item]) -> Vec<u8> {
        let mut body = Vec::with_capacity(items.len() * 600);
        for item in items {
            write_hec_object(&mut body, item, self.config.index.as_deref());
            body.push(b'\n');
        }
        if !self.config.gzip {
            return body;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        match gz.write_all(&body).and_then(|()| gz.finish()) {
            Ok(out) => out,
            Err(_) => body,
        }
    }

    pub(super) async fn send(&mut self, items: &[Item]) -> Outcome {
        let mut outcome = Outcome::default();
        let mut chunk = items.len().max(1);
        while outcome.settled < items.len() {
            let end = (outcome.settled + chunk).min(items.len());
            let part = &items[outcome.settled..end];
            match self.send_part(part).await {
                Part::Done => outcome.settled = end,
                Part::Refused {
                    before,
                    status,
                    why,
                } => {
                    let dead_at = outcome.settled + before;
                    outcome
                        .dead
                        .push(Dead::of(&items[dead_at], Some(status), why));
                    outcome.settled = dead_at + 1;
                }
                Part::TooLarge if part.len() > 1 => chunk = part.len().div_ceil(2),
                Part::TooLarge => {
                    let why = "refused with 413: the event alone is larger than HEC takes";
                    outcome.dead.push(Dead::of(&part[0], Some(413), why.into()));
                    outcome.settled += 1;
                }
                Part::Retry(e) => {
                    outcome.error = Some(self.redactor.clean(&e));
                    break;
                }
            }
        }
        outcome
    }

    async fn send_part(&mut self, part: &[Item]) -> Part {
        let body = self.body(part);
        let headers = self.headers(self.config.gzip);
        let url = self.config.url.url.clone();
        let answer = match http::post(&self.client, &url, &headers, body).await {
            Ok(answer) => answer,
            Err(e) => return Part::Retry(e),
        };
        let reply: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let code = reply.get("code").and_then(Value::as_u64);
        match (answer.status, code) {
            (200..=299, _) => match reply.get("ackId").and_then(Value::as_u64) {
                Some(ack) if self.config.ack => self.wait_ack(ack).await,
                None if self.config.ack => Part::Retry(
                    "HEC answered without an ackId: indexer acknowledgement is off for this \
                     token; set ack = false"
                        .into(),
                ),
                _ => Part::Done,
            },
            (400, Some(10)) => Part::Retry(format!(
                "{url}: Data channel is missing (code 10): the token wants indexer \
                 acknowledgements; set ack = true"
            )),
            (401 | 403, _) => Part::Retry(format!(
                "{url} refused the token ({}: {}): fix the token",
                answer.status,
                answer.excerpt()
            )),
            (413, _) => Part::TooLarge,
            (400, _) => refused(&answer, &reply, part.len()),
            (status, _) if http::verdict(status) == http::Verdict::Refused => {
                refused(&answer, &reply, part.len())
            }
            (status, _) => Part::Retry(format!("{url} answered {status}: {}", answer.excerpt())),
        }
    }

    async fn wait_ack(&mut self, ack: u64) -> Part {
        let deadline = Instant::now() + ACK_TIMEOUT;
        let body = serde_json::to_vec(&json!({ "acks": [ack] })).unwrap_or_default();
        loop {
            let headers = self.headers(false);
            match http::post(&self.client, &self.ack_url, &headers, body.clone()).await {
                Ok(a) if a.status == 200 => {
                    let reply: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
                    if reply
                        .pointer(&format!("/acks/{ack}"))
                        .and_then(Value::as_bool)
                        == Some(true)
                    {
                        return Part::Done;
                    }
                }
                Ok(a) => {
                    return Part::Retry(format!(
                        "{} answered {}: {}",
                        self.ack_url,
                        a.status,
                        a.excerpt()
                    ));
                }
                Err(e) => return Part::Retry(e),
            }
            if Instant::now() >= deadline {
                return Part::Retry(format!(
                    "ackId {ack} not acknowledged within {} s; sending the batch again",
                    ACK_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(ACK_POLL).await;
        }
    }
}

/// The answer to one request.
enum Part {
    Done,
    /// Events before `before` were indexed; the one at `before` is refused for good.
    Refused {
        before: usize,
        status: u16,
        why: String,
    },
    TooLarge,
    Retry(String),
}

fn refused(answer: &Answer, reply: &Value, len: usize) -> Part {
    let before = reply
        .get("invalid-event-number")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n < len)
        .unwrap_or(0);
    Part::Refused {
        before,
        status: answer.status,
        why: format!("refused with {}: {}", answer.status, answer.excerpt()),
    }
}
