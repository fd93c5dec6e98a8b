//! Webhooks: every request signed as OUTPUTS.md says (checked with an HMAC computed here),
//! a refused event dead-lettered and listed, and an alert delivered once when it opens and
//! once when it clears (JSON and Slack formats).

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::common::receiver::{Receiver, Request};
use super::common::wait_until;
use super::*;

const SECRET: &str = "whsec-test-signing-secret";

fn verify(r: &Request) {
    let ts = r.header("x-honeybee-timestamp").expect("a timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&r.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        r.header("x-honeybee-signature"),
        Some(&*format!("sha256={want}"))
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(ts.parse().unwrap()) < 60);
}

fn hook(name: &str, url: &str, what: &str, extra: &str) -> String {
    format!(
        "[[outputs]]\nname = {name:?}\ntype = \"webhook\"\nwhat = {what:?}\nurl = {url:?}\n\
         secret = {SECRET:?}\nretry_max_secs = 0.5\n{extra}\n"
    )
}

#[test]
fn webhook_bodies_are_signed_and_a_refused_event_is_dead_lettered() {
    let receiver = Receiver::start(|r| {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        if body["data"]["n"] == 5 {
            (422, json!({"error": "unprocessable"}).to_string())
        } else {
            (204, String::new())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let core = core_in(
        dir.path(),
        &hook("hook", &receiver.url("/in"), "events", ""),
    );
    let mut n = node(&core, 11, "edge-11");
    send_events(&mut n, 11, 1, 20);
    wait_until(WAIT, "the hook at 20", || {
        outputs(&core)["hook"]["position"]["last_event_id"] == 20
    });
    let requests = receiver.requests();
    assert_eq!(requests.len(), 20, "one event per request, each once");
    for (i, r) in requests.iter().enumerate() {
        verify(r);
        let id = i as u64 + 1;
        assert_eq!(r.header("x-honeybee-id"), Some(&*format!("event:{id}")));
        assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap()["id"], id);
    }
    let status = &outputs(&core)["hook"];
    assert_eq!(
        (status["sent"].as_u64(), status["dead"].as_u64()),
        (Some(19), Some(1))
    );
    let api = super::common::http::Api::new(core.api_addr, TOKEN);
    let dead = api.ok("/api/v1/outputs/hook/dead");
    assert_eq!(dead["total"], 1);
    assert_eq!(dead["dead"][0]["kind"], "event");
    assert_eq!(dead["dead"][0]["item_id"], 5);
    assert_eq!(dead["dead"][0]["status"], 422);
    assert!(
        dead["dead"][0]["error"]
            .as_str()
            .unwrap()
            .contains("unprocessable")
    );
    assert_eq!(api.get("/api/v1/outputs/nope/dead").status, 404);
    let metrics = api.get("/metrics").text();
    for series in [
        "honeybee_output_sent_total{sink=\"hook\"} 19",
        "honeybee_output_dead_total{sink=\"hook\"} 1",
        "honeybee_output_lag_events{sink=\"hook\"} 0",
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }
    core.stop();
}

#[test]
fn an_alert_reaches_a_webhook_once_when_it_opens_and_once_when_it_clears() {
    let receiver = Receiver::start(|_| (200, "ok".to_owned()));
    let dir = tempfile::tempdir().unwrap();
    let sinks = format!(
        "{}{}",
        hook("alerts", &receiver.url("/json"), "alerts", ""),
        hook(
            "chat",
            &receiver.url("/slack"),
            "alerts",
            "format = \"slack\""
        )
    );
    let core = core_in(dir.path(), &sinks);
    let n = node(&core, 12, "edge-12");
    drop(n); // lost: node_unknown opens (no reconnect grace in these tests)
    let alerts_for = |path: &str| -> Vec<Request> {
        receiver
            .requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    };
    wait_until(WAIT, "the open alert", || !alerts_for("/json").is_empty());
    let first: Value = serde_json::from_slice(&alerts_for("/json")[0].body).unwrap();
    let id = first["alert_id"].as_u64().unwrap();
    // Only this alert's messages (a later heartbeat timeout may raise another).
    let about = |path: &str| -> Vec<Request> {
        alerts_for(path)
            .into_iter()
            .filter(|r| {
                r.text().contains(&format!("\"alert_id\":{id},"))
                    || r.text().contains(&format!("alert {id} "))
            })
            .collect()
    };
    let _back = node(&core, 12, "edge-12"); // back: it clears
    wait_until(WAIT, "the cleared alert", || about("/json").len() == 2);
    wait_until(WAIT, "both on the chat hook", || about("/slack").len() == 2);
    let json: Vec<Value> = about("/json")
        .iter()
        .map(|r| {
            verify(r);
            serde_json::from_slice(&r.body).unwrap()
        })
        .collect();
    assert_eq!(json[0]["type"], "node_unknown");
    assert_eq!(json[0]["node_id"], 12);
    assert_eq!(
        (&json[0]["state"], &json[0]["cleared_at"]),
        (&json!("open"), &Value::Null)
    );
    assert_eq!(json[1]["alert_id"], id);
    assert_eq!(json[1]["state"], "cleared");
    assert!(json[1]["cleared_at"].is_string());
    assert_eq!(
        about("/json")[0].header("x-honeybee-id"),
        Some(&*format!("alert:{id}:open"))
    );
    let slack: Vec<String> = about("/slack")
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        slack[0].contains(&format!("alert {id} (node_unknown) on edge-12 open")),
        "{slack:?}"
    );
    assert!(
        slack[1].contains(&format!("alert {id} (node_unknown) on edge-12 cleared")),
        "{slack:?}"
    );
    // Once each: both sinks have settled past the clear and sent nothing more about it.
    wait_until(WAIT, "both positions past the clear", || {
        let o = outputs(&core);
        o["alerts"]["position"]["last_alert_seq"].as_u64() >= Some(2)
            && o["chat"]["position"]["last_alert_seq"].as_u64() >= Some(2)
    });
    assert_eq!(about("/json").len(), 2);
    assert_eq!(about("/slack").len(), 2);
    core.stop();
}
