//! Splunk HEC: batch shape, 503/429 and a killed receiver retried without loss, indexer
//! acknowledgements, "Data channel is missing", a dead sink beside a live one, and a restarted
//! Core resuming from its position.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};

use super::common::receiver::{Receiver, Request};
use super::common::wait_until;
use super::*;

const HEC_TOKEN: &str = "6d1f2c0a-hec-token-for-tests";

pub(crate) fn hec_ids(requests: &[Request]) -> Vec<Vec<u64>> {
    requests
        .iter()
        .filter(|r| r.path.ends_with("/event"))
        .map(|r| {
            serde_json::Deserializer::from_slice(&r.body)
                .into_iter::<Value>()
                .map(|o| {
                    o.unwrap()["fields"]["event_id"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap()
                })
                .collect()
        })
        .collect()
}

pub(crate) fn hec_sink(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[outputs]]\nname = {name:?}\ntype = \"splunk_hec\"\nurl = {url:?}\ntoken = {HEC_TOKEN:?}\n\
         batch_size = 50\nretry_max_secs = 0.5\n{extra}\n"
    )
}

#[test]
fn hec_gets_every_event_in_order_through_failures_and_a_restart() {
    // 503 for the 2nd request, 429 for the 5th; everything else indexed.
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    let mut hec = Receiver::start(move |r| {
        assert_eq!(
            r.header("authorization"),
            Some(&*format!("Splunk {HEC_TOKEN}"))
        );
        match c.fetch_add(1, Ordering::Relaxed) {
            1 => (
                503,
                json!({"text": "Server is busy", "code": 9}).to_string(),
            ),
            4 => (429, String::new()),
            _ => (200, json!({"text": "Success", "code": 0}).to_string()),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let core = core_in(
        dir.path(),
        &hec_sink(
            "splunk",
            &hec.url("/services/collector/event"),
            "gzip = true",
        ),
    );
    let mut n = node(&core, 7, "edge-7");
    send_events(&mut n, 7, 1, 300);
    wait_until(WAIT, "the first events at HEC", || {
        hec_ids(&hec.requests()).iter().flatten().count() > 100
    });
    hec.restart();
    send_events(&mut n, 7, 301, 300);
    wait_for_ids(600, "600 events at HEC", || {
        hec_ids(&hec.requests())
            .into_iter()
            .flatten()
            .collect::<BTreeSet<_>>()
    });
    let requests = hec.requests();
    assert_in_order(&hec_ids(&requests));
    // The shape of one object.
    let first: Value = serde_json::Deserializer::from_slice(&requests[0].body)
        .into_iter::<Value>()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first["source"], "honeybee");
    assert_eq!(first["sourcetype"], "honeybee:event");
    assert_eq!(first["host"], "edge-7");
    assert!(first["time"].as_f64().unwrap() > 1.7e9);
    assert_eq!(first["event"]["id"], 1);
    assert_eq!(first["event"]["event_type"], "cowrie.login.failed");
    assert_eq!(first["event"]["data"]["n"], 1);
    assert_eq!(requests[0].header("content-encoding"), Some("gzip"));
    let status = &outputs(&core)["splunk"];
    assert_eq!(status["position"]["last_event_id"], 600);
    assert!(status["failures"].as_u64().unwrap() >= 2, "{status}");
    assert_eq!(status["dead"], 0);
    core.stop();
}

#[test]
fn acknowledgements_move_the_position_and_a_missing_channel_is_an_error_to_fix() {
    // A token with indexer acknowledgement: no channel → code 10; with one → an ackId, acked on
    // the second poll.
    let next_ack = Arc::new(Mutex::new(0u64));
    let polls = Arc::new(AtomicU64::new(0));
    let (a, p) = (next_ack.clone(), polls.clone());
    let hec = Receiver::start(move |r| {
        if r.header("x-splunk-request-channel").is_none() {
            return (
                400,
                json!({"text": "Data channel is missing", "code": 10}).to_string(),
            );
        }
        if r.path.ends_with("/ack") {
            let ids: Value = serde_json::from_slice(&r.body).unwrap();
            let id = ids["acks"][0].as_u64().unwrap();
            let done = p.fetch_add(1, Ordering::Relaxed) % 2 == 1;
            return (200, json!({"acks": {id.to_string(): done}}).to_string());
        }
        let mut a = a.lock().unwrap();
        *a += 1;
        (
            200,
            json!({"text": "Success", "code": 0, "ackId": *a}).to_string(),
        )
    });
    let url = hec.url("/services/collector/event");
    let dir = tempfile::tempdir().unwrap();
    let core = core_in(
        dir.path(),
        &format!(
            "{}{}",
            hec_sink("acked", &url, "ack = true"),
            hec_sink("no-ack", &url, "")
        ),
    );
    let mut n = node(&core, 8, "edge-8");
    send_events(&mut n, 8, 1, 120);
    wait_until(WAIT, "the acked sink at 120", || {
        outputs(&core)["acked"]["position"]["last_event_id"] == 120
    });
    assert!(polls.load(Ordering::Relaxed) >= 2);
    let status = &outputs(&core)["no-ack"];
    assert_eq!(status["position"]["last_event_id"], 0);
    assert_eq!(status["dead"], 0, "nothing is wrong with the events");
    let error = status["last_error"]["message"].as_str().unwrap();
    assert!(
        error.contains("Data channel is missing") && error.contains("ack = true"),
        "{error}"
    );
    core.stop();
}

#[test]
fn a_dead_sink_leaves_ingestion_and_the_other_sinks_at_full_speed() {
    let hec = Receiver::start(|_| (200, json!({"text": "Success", "code": 0}).to_string()));
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sinks = format!(
        "{}{}[[outputs]]\nname = \"dead-syslog\"\ntype = \"syslog\"\naddress = \"{closed}\"\n",
        hec_sink("live", &hec.url("/services/collector/event"), ""),
        hec_sink(
            "dead-hec",
            &format!("http://{closed}/services/collector/event"),
            ""
        ),
    );
    let core = core_in(dir.path(), &sinks);
    let mut n = node(&core, 9, "edge-9");
    let started = Instant::now();
    send_events(&mut n, 9, 1, 3000);
    wait_until(WAIT, "3,000 events stored", || {
        core.store.event_count().unwrap() == 3000
    });
    let stored_in = started.elapsed();
    wait_for_ids(3000, "3,000 events at the live sink", || {
        hec_ids(&hec.requests()).into_iter().flatten().collect()
    });
    let delivered_in = started.elapsed();
    let status = outputs(&core);
    for dead in ["dead-hec", "dead-syslog"] {
        assert_eq!(status[dead]["position"]["last_event_id"], 0, "{dead}");
        assert!(status[dead]["failures"].as_u64().unwrap() >= 1, "{dead}");
        assert_eq!(status[dead]["state"], "retrying", "{dead}");
    }
    wait_until(WAIT, "the lag measured", || {
        outputs(&core)["dead-hec"]["lag_events"] == 3000
    });
    assert!(
        delivered_in < stored_in + Duration::from_secs(5),
        "the live sink followed within seconds: stored in {stored_in:?}, delivered in \
         {delivered_in:?}"
    );
    // Backoff (0.25 s doubling, capped at 0.5 s here), not a retry at every commit.
    let failures = outputs(&core)["dead-hec"]["failures"].as_u64().unwrap();
    let most = 4 * started.elapsed().as_secs() + 4;
    assert!(
        failures <= most,
        "{failures} attempts in {:?}",
        started.elapsed()
    );
    let api = super::common::http::Api::new(core.api_addr, TOKEN);
    assert_eq!(api.get("/ready").status, 200);
    core.stop();
}

#[test]
fn a_restarted_core_resumes_each_sink_from_its_position() {
    let hec = Receiver::start(|_| (200, json!({"text": "Success", "code": 0}).to_string()));
    let hook = Receiver::start(|_| (200, String::new()));
    let hook_ids = |requests: &[Request]| -> Vec<u64> {
        requests
            .iter()
            .flat_map(|r| serde_json::from_slice::<Vec<Value>>(&r.body).unwrap())
            .map(|e| e["id"].as_u64().unwrap())
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let sink = format!(
        "{}[[outputs]]\nname = \"hook\"\ntype = \"webhook\"\nurl = {:?}\nsecret = \"s3cret-hook\"\n\
         batch_size = 50\n",
        hec_sink("splunk", &hec.url("/services/collector/event"), ""),
        hook.url("/hook")
    );
    let core = core_in(dir.path(), &sink);
    let mut n = node(&core, 10, "edge-10");
    send_events(&mut n, 10, 1, 200);
    wait_until(WAIT, "200 events stored", || {
        core.store.event_count().unwrap() == 200
    });
    drop(n);
    // A clean stop sends everything stored (the receiver is up) and stores the position.
    core.stop();
    let before = hec.requests().len();
    let ids: BTreeSet<u64> = hec_ids(&hec.requests()).into_iter().flatten().collect();
    assert_eq!(ids.len(), 200);
    let hook_before = hook.requests().len();
    assert_eq!(hook_ids(&hook.requests()).len(), 200, "each event once");

    let core = core_in(dir.path(), &sink);
    let mut n = node(&core, 10, "edge-10");
    send_events(&mut n, 10, 201, 100);
    wait_for_ids(300, "300 events at HEC", || {
        hec_ids(&hec.requests()).into_iter().flatten().collect()
    });
    wait_until(WAIT, "the position at 300", || {
        outputs(&core)["splunk"]["position"]["last_event_id"] == 300
    });
    let after: Vec<u64> = hec_ids(&hec.requests()[before..])
        .into_iter()
        .flatten()
        .collect();
    assert!(
        after.iter().all(|id| *id > 200),
        "resent after the restart: {after:?}"
    );
    assert_eq!(outputs(&core)["splunk"]["position"]["last_event_id"], 300);
    wait_until(WAIT, "the hook at 300", || {
        outputs(&core)["hook"]["position"]["last_event_id"] == 300
    });
    let hook_after = hook_ids(&hook.requests()[hook_before..]);
    assert_eq!(hook_after, (201..=300).collect::<Vec<_>>());
    core.stop();
}

#[test]
fn a_lagging_sink_is_flagged_and_events_pruned_before_it_sent_them_are_counted() {
    let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let indexed: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let (u, got) = (up.clone(), indexed.clone());
    let hec = Receiver::start(move |r| {
        if u.load(Ordering::Relaxed) {
            got.lock()
                .unwrap()
                .extend(hec_ids(std::slice::from_ref(r)).concat());
            (200, json!({"text": "Success", "code": 0}).to_string())
        } else {
            (
                503,
                json!({"text": "Server is busy", "code": 9}).to_string(),
            )
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let core = core_with(
        dir.path(),
        "max_events = 100",
        &hec_sink(
            "slow",
            &hec.url("/services/collector/event"),
            "max_lag_events = 50",
        ),
    );
    let mut n = node(&core, 17, "edge-17");
    send_events(&mut n, 17, 1, 300);
    wait_until(WAIT, "flagged lagging", || {
        outputs(&core)["slow"]["lagging"] == true
    });
    let api = super::common::http::Api::new(core.api_addr, TOKEN);
    let lag_alert = |state: &str| {
        api.ok("/api/v1/alerts")["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| {
                a["type"] == "output_lagging" && a["pot_id"] == "output:slow" && a["state"] == state
            })
    };
    wait_until(WAIT, "an output_lagging alert open", || lag_alert("open"));
    wait_until(WAIT, "retention down to 100 events", || {
        core.store.event_count().unwrap() <= 100
    });
    up.store(true, Ordering::Relaxed);
    wait_until(WAIT, "the sink at 300", || {
        outputs(&core)["slow"]["position"]["last_event_id"] == 300
    });
    let delivered = indexed.lock().unwrap().clone();
    let first_kept = *delivered.iter().next().unwrap();
    assert_eq!(
        delivered,
        (first_kept..=300).collect(),
        "everything still stored arrived"
    );
    let status = outputs(&core);
    assert_eq!(status["slow"]["skipped"], first_kept - 1, "{status}");
    wait_until(WAIT, "caught up", || {
        outputs(&core)["slow"]["lagging"] == false
    });
    wait_until(WAIT, "the output_lagging alert cleared", || {
        lag_alert("cleared")
    });
    assert!(api.get("/metrics").text().contains(&format!(
        "honeybee_output_skipped_total{{sink=\"slow\"}} {}",
        first_kept - 1
    )));
    core.stop();
}

#[test]
fn max_events_per_sec_caps_a_sink() {
    let hec = Receiver::start(|_| (200, json!({"text": "Success", "code": 0}).to_string()));
    let dir = tempfile::tempdir().unwrap();
    let core = core_in(
        dir.path(),
        &hec_sink(
            "capped",
            &hec.url("/services/collector/event"),
            "max_events_per_sec = 200",
        ),
    );
    let mut n = node(&core, 18, "edge-18");
    send_events(&mut n, 18, 1, 500);
    wait_until(WAIT, "500 events stored", || {
        core.store.event_count().unwrap() == 500
    });
    let started = Instant::now();
    wait_until(WAIT, "the sink at 500", || {
        outputs(&core)["capped"]["position"]["last_event_id"] == 500
    });
    // The first second's 200 go at once; the other 300 take 1.5 s at 200/s.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1200), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    core.stop();
}

#[test]
fn a_new_sink_starts_from_the_oldest_event_or_from_now() {
    let indexed: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let got = indexed.clone();
    let hec = Receiver::start(move |r| {
        let sink = r.path.split('/').nth(1).unwrap_or("").to_owned();
        for id in hec_ids(std::slice::from_ref(r)).concat() {
            got.lock().unwrap().push((sink.clone(), id));
        }
        (200, json!({"text": "Success", "code": 0}).to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    // Retention keeps 30 of the first 50 events before any sink exists.
    let core = core_with(dir.path(), "max_events = 30", "");
    let mut n = node(&core, 20, "edge-20");
    send_events(&mut n, 20, 1, 50);
    wait_until(WAIT, "50 events stored", || {
        core.store.last_event_id().unwrap() == Some(50)
    });
    wait_until(WAIT, "pruned to 30", || {
        core.store.event_count().unwrap() == 30
    });
    drop(n);
    core.stop();
    let sinks = format!(
        "{}{}",
        hec_sink(
            "backfill",
            &hec.url("/backfill/services/collector/event"),
            ""
        ),
        hec_sink(
            "fresh",
            &hec.url("/fresh/services/collector/event"),
            "start = \"now\""
        ),
    );
    let core = core_in(dir.path(), &sinks);
    let mut n = node(&core, 20, "edge-20");
    send_events(&mut n, 20, 51, 10);
    wait_until(WAIT, "both sinks at 60", || {
        let o = outputs(&core);
        o["backfill"]["position"]["last_event_id"] == 60
            && o["fresh"]["position"]["last_event_id"] == 60
    });
    let of = |sink: &str| -> BTreeSet<u64> {
        indexed
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| s == sink)
            .map(|(_, id)| *id)
            .collect()
    };
    assert_eq!(
        of("backfill"),
        (21..=60).collect(),
        "the oldest still stored"
    );
    assert_eq!(of("fresh"), (51..=60).collect());
    let o = outputs(&core);
    assert_eq!(
        o["backfill"]["skipped"], 0,
        "pruned before it existed: not skipped"
    );
    assert_eq!(o["backfill"]["lagging"], false);
    core.stop();
}
