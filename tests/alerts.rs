//! Alerts as durable state, end to end: the reconnect grace (a node lost and back within it
//! raises nothing; past it one `node_unknown` opens, and clears when the node returns), the
//! alert shape on the stream and in the API, a restarted Core giving its nodes the grace, and
//! — on the real binary under SIGTERM and `kill -9` — alert ids that are unique and
//! increasing across restarts and open alerts that keep their ids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::http::Api;
use common::served::Served;
use common::{FakeNode, start_core, test_config, wait_until};
use honeybee_core::runtime::CoreThread;
use honeybee_store::Store;
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-for-tests";
const WAIT: Duration = Duration::from_secs(15);

fn config(grace: &str) -> String {
    format!("[api]\ntoken = \"{ADMIN}\"\n[alerts]\nreconnect_grace_secs = {grace}\n")
}

fn alerts(api: &Api) -> Vec<Value> {
    api.ok("/api/v1/alerts")["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

/// The alerts of `kind` about `node_id`, open or cleared.
fn alerts_of(api: &Api, kind: &str, node_id: u64) -> Vec<Value> {
    alerts(api)
        .into_iter()
        .filter(|a| a["type"] == kind && a["node_id"] == node_id)
        .collect()
}

/// The open alert of `kind` about `node_id`, once there is one.
fn wait_open(api: &Api, kind: &str, node_id: u64) -> Value {
    let mut found = None;
    wait_until(
        WAIT,
        &format!("an open {kind} alert for node {node_id}"),
        || {
            found = alerts_of(api, kind, node_id)
                .into_iter()
                .find(|a| a["state"] == "open");
            found.is_some()
        },
    );
    found.unwrap()
}

fn id(alert: &Value) -> u64 {
    alert["alert_id"].as_u64().unwrap()
}

fn metrics(api: &Api) -> String {
    common::http::raw(api.addr, "GET", "/metrics", api.token.as_deref(), None).text()
}

fn connected(api: &Api, node_id: u64) -> bool {
    api.ok(&format!("/api/v1/nodes/{node_id}"))["connected"] == true
}

fn stream(api: SocketAddr, path: &str) -> tungstenite::WebSocket<TcpStream> {
    use tungstenite::client::IntoClientRequest;
    let tcp = TcpStream::connect(api).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let mut request = format!("ws://{api}{path}").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {ADMIN}").parse().unwrap());
    tungstenite::client(request, tcp)
        .map(|(socket, _)| socket)
        .unwrap_or_else(|e| panic!("stream handshake: {e:?}"))
}

/// The next stream message of `kind`.
fn next_of(socket: &mut tungstenite::WebSocket<TcpStream>, kind: &str) -> Value {
    loop {
        if let tungstenite::Message::Text(text) = socket.read().expect("a stream message") {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["kind"] == kind {
                return value;
            }
        }
    }
}

#[test]
fn a_node_lost_past_the_grace_raises_one_node_unknown_that_clears_when_it_returns() {
    let core = start_core(&config("0.3"));
    let api = Api::new(core.api_addr, ADMIN);
    let mut socket = stream(core.api_addr, "/api/v1/stream?node_id=21");
    let mut node = FakeNode::connect(core.node_addr, 21);
    node.register("edge-21");
    wait_until(WAIT, "node 21 connected", || connected(&api, 21));

    let lost = Instant::now();
    drop(node);
    let opened = next_of(&mut socket, "alert");
    assert!(
        lost.elapsed() >= Duration::from_millis(300),
        "the alert waited for the grace: {:?}",
        lost.elapsed()
    );
    let keys: Vec<&str> = opened
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "alert_id",
            "cleared_at",
            "kind",
            "message",
            "node_id",
            "node_id_str",
            "node_name",
            "opened_at",
            "pot_id",
            "state",
            "type"
        ],
        "{opened}"
    );
    assert_eq!(opened["type"], "node_unknown");
    assert_eq!(opened["state"], "open");
    assert_eq!(
        (&opened["node_id"], &opened["node_id_str"]),
        (&json!(21), &json!("21"))
    );
    assert_eq!(opened["node_name"], "edge-21");
    assert_eq!(
        (&opened["pot_id"], &opened["cleared_at"]),
        (&Value::Null, &Value::Null)
    );
    assert!(
        opened["opened_at"].as_str().unwrap().ends_with('Z'),
        "{opened}"
    );
    assert!(
        opened["message"]
            .as_str()
            .unwrap()
            .contains("did not come back within 0.3 s"),
        "{opened}"
    );
    let alert_id = id(&opened);

    // The API shows the same alert, once.
    let listed = alerts_of(&api, "node_unknown", 21);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let mut without_kind = opened.clone();
    without_kind.as_object_mut().unwrap().remove("kind");
    assert_eq!(listed[0], without_kind);

    // Back: the same alert clears.
    let mut node = FakeNode::connect(core.node_addr, 21);
    node.register("edge-21");
    let cleared = next_of(&mut socket, "alert");
    assert_eq!(
        (id(&cleared), &cleared["state"], &cleared["type"]),
        (alert_id, &json!("cleared"), &json!("node_unknown"))
    );
    assert!(cleared["cleared_at"].is_string(), "{cleared}");
    assert_eq!(cleared["opened_at"], opened["opened_at"]);
    let listed = alerts_of(&api, "node_unknown", 21);
    assert_eq!(listed.len(), 1, "one alert, opened once: {listed:?}");
    assert_eq!(
        (id(&listed[0]), &listed[0]["state"]),
        (alert_id, &json!("cleared"))
    );
    assert!(metrics(&api).contains("honeybee_alerts_open 0"));
    // `limit` bounds the cleared ones listed; open ones are always all listed.
    assert_eq!(api.ok("/api/v1/alerts?limit=0")["alerts"], json!([]));
    assert_eq!(
        api.ok("/api/v1/alerts?limit=1")["alerts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for bad in ["limit=10001", "limit=-1", "limit=many", "colour=red"] {
        let answer = api.get(&format!("/api/v1/alerts?{bad}"));
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text());
        assert_eq!(answer.code(), "invalid_request", "{bad}");
    }
}

#[test]
fn a_node_back_within_the_grace_raises_nothing() {
    let core = start_core(&config("1"));
    let api = Api::new(core.api_addr, ADMIN);
    let mut flaky = FakeNode::connect(core.node_addr, 11);
    flaky.register("flaky");
    let mut gone = FakeNode::connect(core.node_addr, 12);
    gone.register("gone");
    wait_until(WAIT, "both connected", || {
        connected(&api, 11) && connected(&api, 12)
    });

    drop(flaky);
    wait_until(WAIT, "node 11 lost", || !connected(&api, 11));
    assert_eq!(api.ok("/api/v1/nodes/11")["status"], "Unknown");
    let mut flaky = FakeNode::connect(core.node_addr, 11);
    flaky.register("flaky");
    // Node 12 is lost after node 11 was: once its alert is open, node 11's grace is over too.
    drop(gone);
    wait_open(&api, "node_unknown", 12);
    assert!(connected(&api, 11));
    let all = alerts(&api);
    assert_eq!(all.len(), 1, "only node 12's alert: {all:?}");
    assert_eq!(api.ok("/api/v1/nodes/11")["alerts"], json!([]));
    assert_eq!(
        api.ok("/api/v1/nodes/12")["alerts"],
        json!(["node_unknown"])
    );
    drop(flaky);
}

#[test]
fn a_restarted_core_gives_its_nodes_the_grace_and_its_shutdown_raises_nothing() {
    let first = start_core(&config("1.5"));
    let mut back = FakeNode::connect(first.node_addr, 31);
    back.register("comes-back");
    let mut away = FakeNode::connect(first.node_addr, 32);
    away.register("stays-away");
    let api = Api::new(first.api_addr, ADMIN);
    wait_until(WAIT, "both connected", || {
        connected(&api, 31) && connected(&api, 32)
    });
    let dir = first.stop();
    drop((back, away));
    let store = Store::open(&dir.path().join("data")).unwrap();
    assert_eq!(store.alerts(100).unwrap(), [], "a shutdown raises nothing");
    let fleet = store.load_fleet().unwrap();
    assert!(
        fleet.nodes.iter().all(|n| n.node.awaited),
        "both are awaited by the next start"
    );

    let mut config = test_config(&config("1.5"));
    config.storage.dir = dir.path().join("data");
    let second = CoreThread::start(config).unwrap();
    let api = Api::new(second.api_addr, ADMIN);
    let mut back = FakeNode::connect(second.node_addr, 31);
    back.register("comes-back");
    // Both graces started with the Core: once node 32's alert is open, node 31's grace is over.
    let alert = wait_open(&api, "node_unknown", 32);
    assert!(
        alert["message"]
            .as_str()
            .unwrap()
            .starts_with("node 32 (stays-away) is Unknown"),
        "{alert}"
    );
    assert_eq!(api.ok("/api/v1/nodes/32")["status"], "Unknown");
    let all = alerts(&api);
    assert_eq!(all.len(), 1, "only node 32's alert: {all:?}");
    assert!(connected(&api, 31));
    drop(back);
    drop(second);
}

/// The API of a served Core (its address from the log, the generated admin token).
fn served_api(served: &mut Served) -> Api {
    let line = served.wait_for("HTTP API listening on ");
    let addr = line
        .split("://")
        .nth(1)
        .unwrap()
        .trim_end_matches('.')
        .parse()
        .unwrap();
    let token = std::fs::read_to_string(served.data_dir().join("api-token")).unwrap();
    Api::new(addr, token.trim())
}

/// `ALERT <id> (<type>) opened: <message>` lines: id → (type, message).
fn opened_in_log(lines: &[String], seen: &mut BTreeMap<u64, (String, String)>) -> Vec<u64> {
    let mut ids = Vec::new();
    for line in lines {
        let Some(rest) = line.split("ALERT ").nth(1) else {
            continue;
        };
        let (id, rest) = rest.split_once(" (").unwrap();
        let (kind, message) = rest.split_once(") opened: ").unwrap();
        let id: u64 = id.parse().unwrap();
        let entry = (kind.to_owned(), message.to_owned());
        if let Some(before) = seen.insert(id, entry.clone()) {
            assert_eq!(before, entry, "alert id {id} logged for two alerts");
            panic!("alert id {id} opened twice in the logs");
        }
        ids.push(id);
    }
    ids
}

/// Waits for a log line containing `needle`, among those read already or the next ones.
fn wait_logged(served: &mut Served, needle: &str) {
    if !served.logged(needle) {
        served.wait_for(needle);
    }
}

fn stopped_log(mut served: Served, signal: &str) -> (Vec<String>, tempfile::TempDir) {
    served.signal(signal);
    let rest = served.rest_of_log();
    let mut lines = served.log_read().to_vec();
    lines.extend(rest.lines().map(str::to_owned));
    let (_, dir) = served.wait_exit();
    (lines, dir)
}

#[test]
fn alert_ids_never_repeat_and_open_alerts_keep_theirs_across_sigterm_and_kill_9() {
    let extra =
        |grace: &str| format!("[auth]\ntotp = false\n[alerts]\nreconnect_grace_secs = {grace}\n");
    let mut logged = BTreeMap::new();

    // Run 1: a failed node and a lost one; then SIGTERM with node 801 still connected.
    let mut served = Served::start(&extra("0.3"), "");
    let api = served_api(&mut served);
    let mut failed = FakeNode::connect(served.addr, 801);
    failed.register("edge-failed");
    failed.send(failed.status("Failed"));
    let mut gone = FakeNode::connect(served.addr, 802);
    gone.register("edge-gone");
    wait_until(WAIT, "802 connected", || connected(&api, 802));
    drop(gone);
    let a1 = id(&wait_open(&api, "node_failed", 801));
    let b1 = id(&wait_open(&api, "node_unknown", 802));
    assert!(a1 < b1);
    wait_logged(&mut served, &format!("ALERT {a1} "));
    wait_logged(&mut served, &format!("ALERT {b1} "));
    let (log1, dir) = stopped_log(served, "TERM");
    drop(failed);
    assert_eq!(opened_in_log(&log1, &mut logged), [a1, b1]);
    assert!(
        log1.iter().any(|l| l.contains(&format!(
            "ALERT {a1} (node_failed) opened: node 801 (edge-failed) reports Failed."
        ))),
        "{log1:#?}"
    );
    // The shutdown closed node 801's session and raised nothing.
    let stored = Store::open(&dir.path().join("data"))
        .unwrap()
        .alerts(100)
        .unwrap();
    let stored: Vec<(u64, &str, bool)> = stored
        .iter()
        .map(|a| (a.alert_id, a.kind.as_str(), a.cleared_at.is_none()))
        .collect();
    assert_eq!(
        stored,
        [(a1, "node_failed", true), (b1, "node_unknown", true)]
    );

    // Run 2: the open alerts are back with their ids; node 801, connected at the SIGTERM and
    // not back, gets the grace, then its alert; a new failure before a kill -9.
    let mut served = Served::start_in(dir, &extra("3"), "");
    let api = served_api(&mut served);
    let open: Vec<(u64, Value)> = alerts(&api)
        .iter()
        .map(|a| (id(a), a["state"].clone()))
        .collect();
    assert_eq!(open, [(a1, json!("open")), (b1, json!("open"))]);
    // The registry holds them again: the nodes list them and the metric counts them.
    assert_eq!(
        api.ok("/api/v1/nodes/801")["alerts"],
        json!(["node_failed"])
    );
    assert_eq!(
        api.ok("/api/v1/nodes/802")["alerts"],
        json!(["node_unknown"])
    );
    assert!(metrics(&api).contains("honeybee_alerts_open 2"));
    let c1 = id(&wait_open(&api, "node_unknown", 801));
    assert!(c1 > b1, "{c1} after {b1}");
    let mut crashed = FakeNode::connect(served.addr, 803);
    crashed.register("edge-crashed");
    crashed.send(crashed.status("Failed"));
    let d1 = id(&wait_open(&api, "node_failed", 803));
    assert!(d1 > c1, "{d1} after {c1}");
    // Announced (logged) only once stored: wait for the line before the crash.
    wait_logged(&mut served, &format!("ALERT {c1} "));
    wait_logged(&mut served, &format!("ALERT {d1} "));
    let (log2, dir) = stopped_log(served, "KILL");
    drop(crashed);
    assert_eq!(opened_in_log(&log2, &mut logged), [c1, d1]);

    // Run 3: after the crash, node 803's alert is still open with its id, new alerts continue
    // after it, and node 803 (connected at the kill) gets the grace before its node_unknown.
    let mut served = Served::start_in(dir, &extra("2"), "");
    let api = served_api(&mut served);
    let failed_803 = alerts_of(&api, "node_failed", 803);
    assert_eq!(failed_803.len(), 1);
    assert_eq!(
        (id(&failed_803[0]), &failed_803[0]["state"]),
        (d1, &json!("open"))
    );
    let mut late = FakeNode::connect(served.addr, 804);
    late.register("edge-late");
    late.send(late.status("Failed"));
    let e1 = id(&wait_open(&api, "node_failed", 804));
    let f1 = id(&wait_open(&api, "node_unknown", 803));
    assert!(e1 > d1 && f1 > d1 && e1 != f1, "{e1} and {f1} after {d1}");
    wait_logged(&mut served, &format!("ALERT {e1} "));
    wait_logged(&mut served, &format!("ALERT {f1} "));
    // Node 802 returns at last: its alert from run 1 clears, under its id.
    let mut returned = FakeNode::connect(served.addr, 802);
    returned.register("edge-gone");
    wait_until(WAIT, "node 802's alert cleared", || {
        alerts_of(&api, "node_unknown", 802)
            .iter()
            .map(|a| (id(a), a["state"].clone()))
            .collect::<Vec<_>>()
            == [(b1, json!("cleared"))]
    });
    let (log3, _dir) = stopped_log(served, "TERM");
    drop((late, returned));
    let mut third = opened_in_log(&log3, &mut logged);
    third.sort_unstable();
    let mut want = vec![e1, f1];
    want.sort_unstable();
    assert_eq!(third, want);
    let ids: Vec<u64> = logged.keys().copied().collect();
    assert_eq!(ids, [a1, b1, c1, d1, want[0], want[1]]);
}
