//! The HTTP API's routes over real TCP: the auth matrix, the audit log, nodes and honeypots,
//! enrollments and revocation, events and statistics, alerts, the live WebSocket stream, and
//! errors for bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::http::{Api, raw};
use common::{FakeNode, start_core, wait_until};
use honeybee_actors::auth::totp;
use honeybee_protocol::SecretString;
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-for-tests";
const READ: &str = "read-token-for-tests";
const TOKENS: &str =
    "[api]\ntoken = \"admin-token-for-tests\"\nread_tokens = [\"read-token-for-tests\"]\n";

fn event(node_id: u64, pot: &str, kind: &str, data: Value) -> Value {
    json!({"PotEvent": {"node_id": node_id, "pot_id": pot, "event_type": kind, "data": data}})
}

#[test]
fn every_api_route_needs_a_token_and_changes_need_an_admin() {
    let core = start_core(TOKENS);
    let routes = [
        ("GET", "/api/v1/nodes"),
        ("GET", "/api/v1/nodes/1"),
        ("GET", "/api/v1/honeypots"),
        ("GET", "/api/v1/honeypots/1/p/history"),
        ("GET", "/api/v1/events"),
        ("GET", "/api/v1/stats"),
        ("GET", "/api/v1/alerts"),
        ("GET", "/api/v1/audit"),
        ("GET", "/api/v1/enrollments"),
        ("POST", "/api/v1/enrollments"),
        ("POST", "/api/v1/enrollments/1/approve"),
        ("POST", "/api/v1/enrollments/1/reject"),
        ("DELETE", "/api/v1/nodes/1"),
        ("GET", "/api/v1/stream"),
        ("POST", "/api/v1/nodes/1/commands"),
        ("POST", "/api/v1/commands/broadcast"),
        ("GET", "/api/v1/commands/1"),
        ("GET", "/api/v1/nodes/1/commands"),
        ("POST", "/api/v1/stream/tickets"),
    ];
    for (method, path) in routes {
        for token in [None, Some("wrong"), Some(""), Some("admin-token-for-test")] {
            let answer = raw(core.api_addr, method, path, token, None);
            assert_eq!(answer.status, 401, "{method} {path} with {token:?}");
            assert_eq!(answer.code(), "unauthorized");
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
        }
        let read = raw(core.api_addr, method, path, Some(READ), None);
        if method == "GET" || path.ends_with("/tickets") {
            assert_ne!(read.status, 401, "{method} {path}");
            assert_ne!(read.status, 403, "{method} {path}");
        } else {
            assert_eq!(read.status, 403, "{method} {path}: {}", read.text());
            assert_eq!(read.code(), "forbidden");
        }
        let admin = raw(core.api_addr, method, path, Some(ADMIN), None);
        assert!(
            ![401, 403].contains(&admin.status),
            "{method} {path}: {}",
            admin.status
        );
    }
    // Probes and the OpenAPI document carry no fleet data.
    for path in ["/health", "/ready", "/", "/api/v1/openapi.json"] {
        assert_eq!(
            raw(core.api_addr, "GET", path, None, None).status,
            200,
            "{path}"
        );
    }
    let metrics = raw(core.api_addr, "GET", "/metrics", None, None);
    assert_eq!(metrics.status, 401);
    let metrics = raw(core.api_addr, "GET", "/metrics", Some(READ), None);
    assert_eq!(metrics.status, 200);
    for series in [
        "honeybee_frames_in_total",
        "honeybee_frames_out_total",
        "honeybee_bad_frames_total{code=\"MESSAGE_TOO_LARGE\"}",
        "honeybee_commands_total{outcome=\"timed_out\"}",
        "honeybee_auth_failures_total{reason=\"locked_out\"}",
        "honeybee_alerts_open",
    ] {
        assert!(metrics.text().contains(series), "{series} missing");
    }
}

#[test]
fn state_changing_requests_are_audited_with_who_and_from_where() {
    let core = start_core(&format!("{TOKENS}[auth]\ntotp = true\n"));
    let admin = Api::new(core.api_addr, ADMIN);
    let enrolled = admin.post("/api/v1/enrollments", &json!({"node_name": "edge-1"}));
    assert_eq!(enrolled.status, 201, "{}", enrolled.text());
    let read = Api::new(core.api_addr, READ);
    assert_eq!(read.delete("/api/v1/nodes/5").status, 403);
    // Requests without a valid token are counted, not audited one by one: anybody could send
    // them, with any path.
    let long_path = format!("/api/v1/{}", "x".repeat(5000));
    for path in ["/api/v1/enrollments", long_path.as_str()] {
        let anonymous = raw(core.api_addr, "POST", path, None, None);
        assert_eq!(anonymous.status, 401);
    }
    admin.ok("/api/v1/nodes"); // reads are not audited

    let audit = admin.ok("/api/v1/audit");
    let entries = audit["audit"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "read".into(),
                "DELETE /api/v1/nodes/{id}".into(),
                "403".into()
            ),
            (
                "admin".into(),
                "POST /api/v1/enrollments".into(),
                "201".into()
            ),
        ],
        "newest first: {audit}"
    );
    for entry in entries {
        assert!(
            entry["source"].as_str().unwrap().starts_with("127.0.0.1:"),
            "{entry}"
        );
        assert!(entry["at"].as_str().unwrap().ends_with('Z'));
    }
    // The audit log never holds the key it handed out.
    let key = enrolled.json()["totp_key"].as_str().unwrap().to_owned();
    assert!(!audit.to_string().contains(&key));
    let metrics = raw(core.api_addr, "GET", "/metrics", Some(ADMIN), None).text();
    assert!(
        metrics.contains("honeybee_api_unauthorized_total 2"),
        "{metrics}"
    );
}

#[test]
fn nodes_and_honeypots_with_their_history_and_filters() {
    let core = start_core(&format!("{TOKENS}[alerts]\nreconnect_grace_secs = 0.2\n"));
    let api = Api::new(core.api_addr, READ);
    let big = u64::MAX - 6; // beyond 2^53: JavaScript needs node_id_str
    let mut node = FakeNode::connect(core.node_addr, big);
    node.register("edge-big");
    let _ = node.expect_message("NodeCommand"); // the Core asks for its pots
    node.send(node.pot_status("cowrie-01", "Installing", None));
    node.send(node.pot_status("cowrie-01", "Running", Some("up")));
    let mut other = FakeNode::connect(core.node_addr, 42);
    other.register("edge-small");
    let _ = other.expect_message("NodeCommand");
    other.send(other.status("Failed"));

    wait_until(Duration::from_secs(5), "the pot is Running", || {
        api.ok("/api/v1/honeypots")["honeypots"][0]["status"] == "Running"
    });
    let nodes = api.ok("/api/v1/nodes");
    let list = nodes["nodes"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{nodes}");
    let big_node = list.iter().find(|n| n["node_name"] == "edge-big").unwrap();
    assert_eq!(big_node["node_id_str"], big.to_string());
    assert_eq!(big_node["node_id"].as_u64(), Some(big));
    for field in [
        "previous_ids",
        "name_shared",
        "node_type",
        "address",
        "port",
        "status",
        "connected",
        "protocol_version",
        "remote_addr",
        "last_seen",
        "registered_at",
        "enrollment",
        "pot_count",
        "alerts",
    ] {
        assert!(big_node.get(field).is_some(), "{field} missing: {big_node}");
    }
    assert_eq!(big_node["pot_count"], 1);
    assert_eq!(big_node["connected"], true);

    wait_until(Duration::from_secs(5), "a failed node alert", || {
        api.ok("/api/v1/nodes?status=Failed")["nodes"]
            .as_array()
            .is_some_and(|n| n.len() == 1 && n[0]["alerts"] == json!(["node_failed"]))
    });
    assert_eq!(api.ok("/api/v1/nodes?connected=false")["nodes"], json!([]));
    for bad in [
        "/api/v1/nodes?status=Sleeping",
        "/api/v1/nodes?connected=maybe",
        "/api/v1/nodes?colour=red",
        "/api/v1/nodes/12ab",
        "/api/v1/nodes/99999999999999999999999",
        "/api/v1/honeypots/x/cowrie-01/history",
    ] {
        let answer = api.get(bad);
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text());
        assert_eq!(answer.code(), "invalid_request");
    }
    assert_eq!(api.get("/api/v1/nodes/7").status, 404);
    assert_eq!(api.get("/api/v1/nodes/7").code(), "not_found");

    let detail = api.ok(&format!("/api/v1/nodes/{big}"));
    assert_eq!(detail["honeypots"][0]["pot_id"], "cowrie-01");
    assert_eq!(detail["honeypots"][0]["node_id_str"], big.to_string());
    assert_eq!(detail["status_history"][0]["to"], "Connected");
    assert!(detail["drift"].is_array() && detail["node_events"].is_array());

    let history = api.ok(&format!("/api/v1/honeypots/{big}/cowrie-01/history"));
    let steps: Vec<_> = history["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["from"].clone(), t["to"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, json!("Installing")),
            (json!("Installing"), json!("Running"))
        ]
    );
    assert_eq!(
        api.get(&format!("/api/v1/honeypots/{big}/nope/history"))
            .status,
        404
    );

    // A node that goes away is Unknown, with an alert once its reconnect grace has passed;
    // back, the alert clears.
    drop(other);
    wait_until(Duration::from_secs(5), "unknown alert", || {
        api.ok("/api/v1/alerts")["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "node_unknown" && a["cleared_at"].is_null())
    });
    let mut other = FakeNode::connect(core.node_addr, 42);
    other.register("edge-small");
    wait_until(Duration::from_secs(5), "unknown alert cleared", || {
        api.ok("/api/v1/alerts")["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "node_unknown" && a["cleared_at"].is_string())
    });
}

#[test]
fn events_pages_filters_and_stats() {
    let core = start_core(TOKENS);
    let api = Api::new(core.api_addr, READ);
    let mut node = FakeNode::connect(core.node_addr, 7);
    node.register("edge");
    for i in 0..25 {
        let (pot, kind) = if i % 5 == 0 {
            ("web-01", "honnypotter.request")
        } else {
            ("cowrie-01", "cowrie.login.failed")
        };
        node.send(event(
            7,
            pot,
            kind,
            json!({"src_ip": format!("203.0.113.{}", i % 3), "username": "root", "password": format!("p{i}")}),
        ));
    }
    wait_until(Duration::from_secs(5), "25 events stored", || {
        api.ok("/api/v1/stats")["total_events"] == 25
    });

    // Pages of 10 in order, following `next` to the end.
    let mut ids = Vec::new();
    let mut path = "/api/v1/events?limit=10".to_owned();
    loop {
        let page = api.ok(&path);
        ids.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_u64().unwrap()),
        );
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/events?limit=10&after={next}"),
            None => break,
        }
    }
    assert_eq!(ids, (1..=25).collect::<Vec<u64>>());

    let filtered = api.ok("/api/v1/events?pot_id=web-01&node_id=7");
    assert_eq!(filtered["events"].as_array().unwrap().len(), 5);
    let first = &filtered["events"][0];
    assert_eq!(first["node_id_str"], "7");
    assert_eq!(first["event_type"], "honnypotter.request");
    assert_eq!(first["src_ip"], "203.0.113.0");
    let by_ip = api.ok("/api/v1/events?src_ip=203.0.113.1&event_type=cowrie.login.failed");
    assert!(
        by_ip["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["src_ip"] == "203.0.113.1")
    );
    assert_eq!(by_ip["events"].as_array().unwrap().len(), 7);
    let future = api.ok("/api/v1/events?since=2999-01-01T00:00:00Z");
    assert_eq!(future["events"], json!([]));
    assert_eq!(api.ok("/api/v1/events?until=1")["events"], json!([]));
    assert_eq!(api.ok("/api/v1/events?node_id=8")["events"], json!([]));

    for bad in [
        "/api/v1/events?limit=0",
        "/api/v1/events?limit=10001",
        "/api/v1/events?limit=ten",
        "/api/v1/events?after=garbage",
        "/api/v1/events?since=yesterday",
        "/api/v1/events?node_id=-1",
        "/api/v1/events?sort=desc",
        "/api/v1/stats?since=soon",
    ] {
        let answer = api.get(bad);
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text());
        assert_eq!(answer.code(), "invalid_request", "{bad}");
    }

    let stats = api.ok("/api/v1/stats?node_id=7");
    assert_eq!(stats["total_events"], 25);
    assert_eq!(stats["by_event_type"]["cowrie.login.failed"], 20);
    assert_eq!(stats["by_node"]["7"], 25);
    assert_eq!(
        stats["top_usernames"][0],
        json!({"value": "root", "count": 25})
    );
    assert_eq!(stats["per_hour"][0]["count"], 25);
    assert!(
        stats["per_hour"][0]["hour"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

const SHA_A: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const SHA_B: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

#[test]
fn downloads_are_event_fields_statistics_and_exported() {
    let core = start_core(&format!(
        "{TOKENS}[export]\njsonl = \"{{dir}}/events.jsonl\"\n"
    ));
    let api = Api::new(core.api_addr, READ);
    let mut node = FakeNode::connect(core.node_addr, 9);
    node.register("edge-dl");
    let mut other = FakeNode::connect(core.node_addr, 10);
    other.register("edge-other");
    let download = |url: &str, shasum: &str| {
        json!({"src_ip": "203.0.113.5", "url": url, "shasum": shasum,
            "outfile": format!("var/lib/cowrie/downloads/{shasum}"), "destfile": "/tmp/x"})
    };
    let upper = SHA_A.to_ascii_uppercase();
    for (url, shasum) in [
        ("http://198.51.100.4/a.sh", SHA_A),
        ("http://198.51.100.4/a.sh", upper.as_str()),
        ("http://198.51.100.4/b.sh", SHA_B),
    ] {
        node.send(event(
            9,
            "cowrie-01",
            "cowrie.session.file_download",
            download(url, shasum),
        ));
    }
    node.send(event(
        9,
        "cowrie-01",
        "cowrie.session.file_upload",
        json!({"sha256": SHA_B, "filename": "up"}),
    ));
    node.send(event(
        9,
        "cowrie-01",
        "cowrie.login.failed",
        json!({"username": "root"}),
    ));
    other.send(event(
        10,
        "cowrie-01",
        "cowrie.session.file_download",
        download("http://192.0.2.9/c", SHA_B),
    ));
    wait_until(Duration::from_secs(5), "6 events stored", || {
        api.ok("/api/v1/stats")["total_events"] == 6
    });

    let events = api.ok("/api/v1/events?node_id=9")["events"].clone();
    let fields: Vec<(Value, Value)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["download_url"].clone(), e["sha256"].clone()))
        .collect();
    assert_eq!(
        fields,
        [
            (json!("http://198.51.100.4/a.sh"), json!(SHA_A)),
            (json!("http://198.51.100.4/a.sh"), json!(SHA_A)),
            (json!("http://198.51.100.4/b.sh"), json!(SHA_B)),
            (Value::Null, json!(SHA_B)),
            (Value::Null, Value::Null),
        ]
    );
    let login = &events[4];
    assert!(
        login.get("download_url").is_some() && login.get("sha256").is_some(),
        "{login}"
    );

    let fleet = api.ok("/api/v1/stats");
    assert_eq!(
        fleet["top_downloads"],
        json!([{"value": "http://198.51.100.4/a.sh", "count": 2},
            {"value": "http://192.0.2.9/c", "count": 1},
            {"value": "http://198.51.100.4/b.sh", "count": 1}])
    );
    assert_eq!(
        fleet["top_sha256"],
        json!([{"value": SHA_B, "count": 3}, {"value": SHA_A, "count": 2}])
    );
    let one = api.ok("/api/v1/stats?node_id=9");
    assert_eq!(
        one["top_downloads"],
        json!([{"value": "http://198.51.100.4/a.sh", "count": 2},
            {"value": "http://198.51.100.4/b.sh", "count": 1}])
    );
    assert_eq!(
        one["top_sha256"],
        json!([{"value": SHA_B, "count": 2}, {"value": SHA_A, "count": 2}])
    );

    drop((node, other));
    let dir = core.stop();
    let lines: Vec<Value> = std::fs::read_to_string(dir.path().join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    let first = lines
        .iter()
        .filter(|l| l["node_id"] == 9)
        .min_by_key(|l| l["id"].as_u64())
        .unwrap();
    assert_eq!(first["download_url"], "http://198.51.100.4/a.sh");
    assert_eq!(first["sha256"], SHA_A);
    let login = lines
        .iter()
        .find(|l| l["event_type"] == "cowrie.login.failed")
        .unwrap();
    assert_eq!(
        (&login["download_url"], &login["sha256"]),
        (&Value::Null, &Value::Null)
    );
}

#[test]
fn bad_requests_get_clear_errors() {
    let core = start_core(&format!(
        "{TOKENS}max_body_bytes = 1024\n[auth]\ntotp = true\n"
    ));
    let api = Api::new(core.api_addr, ADMIN);
    let answer = api.get("/api/v1/nowhere");
    assert_eq!((answer.status, answer.code().as_str()), (404, "not_found"));
    let answer = raw(core.api_addr, "GET", "/nowhere", None, None);
    assert_eq!((answer.status, answer.code().as_str()), (404, "not_found"));

    let big = json!({"node_name": "x".repeat(4096)});
    let answer = api.post("/api/v1/enrollments", &big);
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert_eq!(answer.code(), "payload_too_large");

    let answer = raw(
        core.api_addr,
        "POST",
        "/api/v1/enrollments",
        Some(ADMIN),
        Some(("application/json", b"{\"node_name\": ")),
    );
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (400, "invalid_request")
    );
    for body in [
        json!({}),
        json!({"node_id": -3}),
        json!({"node_id": "12x"}),
        json!({"node_id": [1]}),
        json!({"node_name": ""}),
        json!({"node_name": "bad\nname"}),
        json!({"node_name": "ok", "colour": "red"}),
    ] {
        let answer = api.post("/api/v1/enrollments", &body);
        assert_eq!(answer.status, 400, "{body}: {}", answer.text());
        assert_eq!(answer.code(), "invalid_request");
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn register_with(node: &mut FakeNode, name: &str, code: Option<String>) -> Value {
    let mut registration = node.registration(name);
    if let Some(code) = code {
        registration["NodeRegistration"]["totp_code"] = json!(code);
    }
    node.send(registration);
    node.expect_message("RegistrationAck")
}

#[test]
fn enrollment_approval_and_revocation_through_the_api() {
    let core = start_core(&format!(
        "{TOKENS}[auth]\ntotp = true\nenrollment = \"approve\"\n"
    ));
    let api = Api::new(core.api_addr, ADMIN);

    // Pre-enrolled by id: the key and its otpauth URI are handed out once.
    let answer = api.post(
        "/api/v1/enrollments",
        &json!({"node_id": "9007199254740993", "node_name": "edge-pre"}),
    );
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let enrolled = answer.json();
    assert_eq!(enrolled["node_id_str"], "9007199254740993");
    let key = enrolled["totp_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    let uri = enrolled["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&key),
        "{uri}"
    );
    let again = api.post(
        "/api/v1/enrollments",
        &json!({"node_id": 9007199254740993u64}),
    );
    assert_eq!((again.status, again.code().as_str()), (409, "conflict"));

    let mut pre = FakeNode::connect(core.node_addr, 9_007_199_254_740_993);
    let code = totp::code_at(&SecretString::new(&key), unix_now()).unwrap();
    assert_eq!(
        register_with(&mut pre, "edge-pre", Some(code))["accepted"],
        true
    );

    // A newcomer waits in the queue until approved, then gets its key.
    let mut newcomer = FakeNode::connect(core.node_addr, 555);
    let ack = register_with(&mut newcomer, "edge-new", None);
    assert!(
        ack["message"]
            .as_str()
            .unwrap()
            .starts_with("PENDING_APPROVAL"),
        "{ack}"
    );
    let pending = api.ok("/api/v1/enrollments?state=pending");
    assert_eq!(
        pending["enrollments"],
        json!([{"node_id": 555, "node_id_str": "555", "node_ids": [555],
                "node_name": "edge-new", "state": "pending", "name_shared": false}])
    );
    assert_eq!(api.get("/api/v1/enrollments?state=sleepy").status, 400);
    let approved = api.post("/api/v1/enrollments/555/approve", &json!(null));
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(approved.json()["state"], "active");
    let twice = api.post("/api/v1/enrollments/555/approve", &json!(null));
    assert_eq!((twice.status, twice.code().as_str()), (409, "conflict"));
    assert_eq!(
        api.post("/api/v1/enrollments/556/reject", &json!(null))
            .status,
        404
    );
    assert_eq!(
        api.ok("/api/v1/enrollments?state=pending")["enrollments"],
        json!([])
    );
    let mut newcomer = FakeNode::connect(core.node_addr, 555);
    let ack = register_with(&mut newcomer, "edge-new", None);
    assert_eq!(ack["accepted"], true, "{ack}");
    assert!(ack["totp_key"].is_string());
    let node = api.ok("/api/v1/nodes/555");
    assert_eq!(node["enrollment"], "active");

    // Revoked: the session is cut at once and the node stays refused.
    let revoked = api.delete("/api/v1/nodes/555");
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert_eq!(
        revoked.json(),
        json!({"node_id": 555, "node_id_str": "555", "state": "revoked"})
    );
    newcomer.expect_closed();
    assert_eq!(api.ok("/api/v1/nodes/555")["enrollment"], "revoked");
    assert_eq!(api.delete("/api/v1/nodes/4242").status, 404);
}

/// A WebSocket client on the API (blocking, with a read timeout).
fn websocket(
    api: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
) -> Result<tungstenite::WebSocket<TcpStream>, tungstenite::Error> {
    use tungstenite::client::IntoClientRequest;
    let stream = TcpStream::connect(api).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = format!("ws://{api}{path}").into_client_request().unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    }
    tungstenite::client(request, stream)
        .map(|(socket, _)| socket)
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => {
                tungstenite::Error::Io(std::io::ErrorKind::WouldBlock.into())
            }
        })
}

/// The next JSON message.
fn next_any(socket: &mut tungstenite::WebSocket<TcpStream>) -> Value {
    loop {
        if let tungstenite::Message::Text(text) = socket.read().expect("a stream message") {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// The next JSON message of `kind` (other kinds are skipped).
fn next_of(socket: &mut tungstenite::WebSocket<TcpStream>, kind: &str) -> Value {
    loop {
        match socket.read().expect("a stream message") {
            tungstenite::Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["kind"] == kind {
                    return value;
                }
            }
            _ => continue,
        }
    }
}

#[test]
fn the_stream_pushes_events_and_changes_with_filters_and_tickets() {
    let core = start_core(TOKENS);
    let api = Api::new(core.api_addr, READ);

    // A ticket opens one stream, once (a read token may take one).
    let ticket = api.post("/api/v1/stream/tickets", &json!(null));
    assert_eq!(ticket.status, 201, "{}", ticket.text());
    let ticket = ticket.json()["ticket"].as_str().unwrap().to_owned();
    let mut all = websocket(
        core.api_addr,
        &format!("/api/v1/stream?ticket={ticket}"),
        None,
    )
    .expect("the ticket opens the stream");
    let reused = websocket(
        core.api_addr,
        &format!("/api/v1/stream?ticket={ticket}"),
        None,
    );
    match reused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a used ticket must be refused: {other:?}"),
    }
    assert!(websocket(core.api_addr, "/api/v1/stream", None).is_err());
    let mut only_nine = websocket(
        core.api_addr,
        "/api/v1/stream?node_id=9&pot_id=web",
        Some(READ),
    )
    .unwrap();

    let mut eight = FakeNode::connect(core.node_addr, 8);
    eight.register("eight");
    let node = next_of(&mut all, "node");
    assert_eq!(
        (node["node_id_str"].as_str(), node["status"].as_str()),
        (Some("8"), Some("Connected"))
    );
    eight.send(event(
        8,
        "web",
        "cowrie.session.connect",
        json!({"src_ip": "198.51.100.1"}),
    ));
    let mut nine = FakeNode::connect(core.node_addr, 9);
    nine.register("nine");
    nine.send(event(
        9,
        "ssh",
        "cowrie.command.input",
        json!({"input": "uname -a"}),
    ));
    nine.send(event(
        9,
        "web",
        "honnypotter.request",
        json!({"ip": "198.51.100.2"}),
    ));
    nine.send(nine.pot_status("web", "Running", None));

    // Two connections: which node's event is stored first is not fixed.
    let first = (0..3)
        .map(|_| next_of(&mut all, "event"))
        .find(|e| e["node_id_str"] == "8")
        .expect("node 8's event on the unfiltered stream");
    assert_eq!(first["src_ip"], "198.51.100.1");
    assert!(first["id"].is_u64() && first["data"].is_object());
    // Events arrive once stored, changes at once: their order between kinds is not fixed.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let message = next_any(&mut only_nine);
        assert_eq!(message["node_id"], 9, "{message}");
        if message["kind"] == "event" || message["kind"] == "pot" {
            seen.push(message);
        }
    }
    seen.sort_by_key(|m| m["kind"].as_str().unwrap().to_owned());
    let (filtered, pot) = (&seen[0], &seen[1]);
    assert_eq!(filtered["kind"], "event");
    assert_eq!(
        (filtered["node_id"].as_u64(), filtered["pot_id"].as_str()),
        (Some(9), Some("web"))
    );
    assert_eq!(filtered["src_ip"], "198.51.100.2");
    assert_eq!(
        (pot["pot_id"].as_str(), pot["status"].as_str()),
        (Some("web"), Some("Running"))
    );
    // Nothing about node 8 or pot ssh reached the filtered stream.
    only_nine
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    while let Ok(message) = only_nine.read() {
        if let tungstenite::Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            assert!(
                ["node", "command"].contains(&value["kind"].as_str().unwrap())
                    && value["node_id"] == 9,
                "{value}"
            );
        }
    }
    let bad = websocket(core.api_addr, "/api/v1/stream?node_id=x", Some(READ));
    match bad {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 400),
        other => panic!("a bad filter must be refused: {other:?}"),
    }
}

#[test]
fn a_client_too_slow_for_the_stream_is_told_why_and_closed() {
    // A loaded CI machine may take a while over the flood: no heartbeat timeout meanwhile.
    let core = start_core(&format!(
        "{TOKENS}[protocol]\nheartbeat_timeout_secs = 120\n"
    ));
    let mut slow = websocket(core.api_addr, "/api/v1/stream", Some(READ)).unwrap();
    let mut node = FakeNode::connect(core.node_addr, 3);
    node.register("flapper");
    // Far more changes than the feed buffers, sent while the slow client reads nothing.
    let flood = std::thread::spawn(move || {
        let big = "x".repeat(2000);
        for i in 0..6_000 {
            let status = if (i / 500) % 2 == 0 {
                "Running"
            } else {
                "Stopped"
            };
            node.send(node.pot_status(&format!("p{}", i % 500), status, Some(&big)));
        }
        node
    });
    // Slow, not dead: it starts reading after a while, and finds the reason at the end of
    // what was buffered for it, then the close.
    std::thread::sleep(Duration::from_secs(2));
    slow.get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reason = None;
    loop {
        match slow.read() {
            Ok(tungstenite::Message::Text(text)) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["kind"] == "error" {
                    reason = Some(value);
                }
            }
            Ok(tungstenite::Message::Close(frame)) => {
                let frame = frame.expect("a close reason");
                assert!(
                    frame.reason.contains("behind") || frame.reason.contains("fast enough"),
                    "{frame:?}"
                );
                break;
            }
            Ok(_) => {}
            // Told why, then dropped: the close frame may be lost to a reset of the
            // connection, the reason may not.
            Err(e) if reason.is_some() => {
                eprintln!("the connection ended after the reason: {e}");
                break;
            }
            Err(e) => panic!("the stream ended without saying why: {e}"),
        }
    }
    let reason = reason.expect("an error message before the close");
    assert_eq!(reason["error"]["code"], "slow_consumer", "{reason}");
    // The Core went on: every change is applied and the API answers.
    let _node = flood.join().unwrap();
    let api = Api::new(core.api_addr, READ);
    wait_until(Duration::from_secs(30), "every change applied", || {
        api.ok("/api/v1/honeypots")["honeypots"]
            .as_array()
            .is_some_and(|p| p.len() == 500 && p.iter().all(|p| p["status"] == "Stopped"))
    });
}

#[test]
fn the_api_speaks_https_when_given_a_certificate() {
    use std::io::{Read, Write};
    let pki = common::certs::TestPki::generate();
    let core = start_core(&format!(
        "{TOKENS}tls_cert = {:?}\ntls_key = {:?}\n",
        pki.server_cert.display().to_string(),
        pki.server_key.display().to_string()
    ));
    let mut tls = pki
        .connect_blocking(core.api_addr, common::certs::ClientCert::None)
        .expect("a TLS handshake");
    write!(
        tls,
        "GET /api/v1/nodes HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {READ}\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = tls.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("{\"nodes\":[]}"), "{response}");
    // Plain HTTP gets no answer from a TLS listener.
    let mut plain = TcpStream::connect(core.api_addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("\"status\":\"ok\""));
}

#[test]
fn low_disk_raises_an_alert() {
    let core = start_core(&format!(
        "{TOKENS}[storage]\nmin_free_disk_mb = 1000000000\n"
    ));
    let api = Api::new(core.api_addr, READ);
    wait_until(Duration::from_secs(10), "a disk_low alert", || {
        api.ok("/api/v1/alerts")["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "disk_low" && a["cleared_at"].is_null() && a["node_id"].is_null())
    });
    let metrics = raw(core.api_addr, "GET", "/metrics", Some(READ), None).text();
    assert!(metrics.contains("honeybee_alerts_open 1"), "{metrics}");
}

#[test]
fn open_streams_neither_hold_up_shutdown_nor_outlive_their_token() {
    let core = start_core(TOKENS);
    let named = core.dir().join("data").join("tokens.toml");
    let mut file = honeybee_core::tokens::TokenFile::load(&named).unwrap();
    let viewer = file
        .create("viewer", honeybee_core::tokens::Role::Read)
        .unwrap();
    file.save(&named).unwrap();
    let api = Api::new(core.api_addr, &viewer);
    wait_until(Duration::from_secs(10), "the named token loaded", || {
        api.get("/api/v1/nodes").status == 200
    });
    let mut revoked_stream = websocket(core.api_addr, "/api/v1/stream", Some(&viewer)).unwrap();
    let mut kept = websocket(core.api_addr, "/api/v1/stream", Some(READ)).unwrap();
    let mut file = honeybee_core::tokens::TokenFile::load(&named).unwrap();
    file.revoke("viewer");
    file.save(&named).unwrap();
    // The revoked token's stream is told why and closed (within the recheck period).
    revoked_stream
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut reason = None;
    loop {
        match revoked_stream.read() {
            Ok(tungstenite::Message::Text(text)) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["kind"] == "error" {
                    reason = Some(value["error"]["code"].clone());
                }
            }
            Ok(tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    assert_eq!(reason, Some(json!("unauthorized")));
    // A stream still open does not hold the shutdown up.
    let started = std::time::Instant::now();
    drop(core.stop());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        started.elapsed()
    );
    kept.get_ref()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    loop {
        match kept.read() {
            Ok(tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

#[test]
fn revoking_a_node_without_an_identity_still_cuts_its_connection() {
    let core = start_core(TOKENS); // auth.totp = false: nodes get no identity
    let api = Api::new(core.api_addr, ADMIN);
    let mut node = FakeNode::connect(core.node_addr, 77);
    node.register("no-identity");
    let answer = api.delete("/api/v1/nodes/77");
    assert_eq!((answer.status, answer.code().as_str()), (409, "conflict"));
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connection was closed")
    );
    node.expect_closed();
}

#[test]
fn every_operation_in_the_openapi_document_is_served() {
    let core = start_core(TOKENS);
    let document: Value = serde_json::from_str(include_str!("../src/api/openapi.json")).unwrap();
    assert_eq!(
        raw(core.api_addr, "GET", "/api/v1/openapi.json", None, None).json(),
        document
    );
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "1")
            .replace("{node_id}", "1")
            .replace("{pot_id}", "p");
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let body = matches!(method, "post" | "put").then_some(("application/json", &b"{}"[..]));
            let answer = raw(
                core.api_addr,
                &method.to_uppercase(),
                &concrete,
                Some(ADMIN),
                body,
            );
            let no_route = answer.status == 404
                && answer.json()["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("no route"));
            assert!(!no_route, "{method} {path} is documented but not served");
            assert_ne!(
                answer.status, 405,
                "{method} {path} is documented but refused"
            );
            checked += 1;
        }
        // Every method the document does not list for the path is refused with 405, and `Allow`
        // names exactly the documented ones (and HEAD with GET).
        let mut documented: Vec<String> = ["get", "put", "post", "delete", "patch"]
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .map(str::to_uppercase)
            .collect();
        if item.get("get").is_some() {
            documented.push("HEAD".to_owned());
        }
        documented.sort();
        let answer = raw(core.api_addr, "OPTIONS", &concrete, Some(ADMIN), None);
        assert_eq!(answer.status, 405, "OPTIONS {path}: {}", answer.text());
        let mut allow: Vec<String> = answer
            .header("allow")
            .unwrap_or_default()
            .split(", ")
            .map(str::to_owned)
            .collect();
        allow.sort();
        assert_eq!(allow, documented, "Allow of {path}");
    }
    assert!(checked >= 26, "only {checked} operations documented");
}
