//! The HTTP API's unauthenticated probes over real TCP: `/health` and `/ready`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use common::{FakeNode, start_core, wait_until};
use serde_json::Value;

/// A plain HTTP/1.1 GET, with a bearer token if given; the status code and the raw body.
fn get_raw(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status: u16 = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, body.to_owned())
}

/// [`get_raw`] without a token, the body as JSON.
fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) = get_raw(addr, path, None);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn health_and_ready_answer_without_a_token() {
    let core = start_core("");
    assert_ne!(core.api_addr, core.node_addr, "a separate listener");
    let (status, body) = get(core.api_addr, "/health");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["nodes_connected"], 0);
    assert_eq!(body["events_stored"], 0);

    let mut node = FakeNode::connect(core.node_addr, 1);
    node.register("probe");
    node.send(serde_json::json!({"PotEvent": {"node_id": 1, "pot_id": "p", "event_type": "e", "data": {}}}));
    wait_until(std::time::Duration::from_secs(5), "health counts", || {
        let (_, body) = get(core.api_addr, "/health");
        body["nodes_connected"] == 1 && body["events_stored"] == 1
    });
    let (status, body) = get(core.api_addr, "/ready");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
}

#[test]
fn ready_says_why_when_the_disk_is_low() {
    // A watermark no disk can meet: the Core stops reading events and says so.
    let core = start_core("[storage]\nmin_free_disk_mb = 1000000000");
    wait_until(std::time::Duration::from_secs(10), "not ready", || {
        get(core.api_addr, "/ready").0 == 503
    });
    let (_, body) = get(core.api_addr, "/ready");
    let reasons = body["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().contains("min_free_disk_mb")),
        "{body}"
    );
}

#[test]
fn metrics_need_a_token_and_count_what_was_ingested() {
    let core = start_core(
        "[api]\ntoken = \"admin-token-1-for-tests\"\nread_tokens = [\"reader-token-2-for-tests\"]",
    );
    assert_eq!(get_raw(core.api_addr, "/metrics", None).0, 401);
    assert_eq!(get_raw(core.api_addr, "/metrics", Some("wrong")).0, 401);
    let mut node = FakeNode::connect(core.node_addr, 5);
    node.register("metered");
    for _ in 0..3 {
        node.send(serde_json::json!({"PotEvent": {"node_id": 5, "pot_id": "p", "event_type": "e", "data": {}}}));
    }
    node.send(node.pot_status("p", "Running", None));
    wait_until(std::time::Duration::from_secs(5), "events stored", || {
        let (_, text) = get_raw(core.api_addr, "/metrics", Some("reader-token-2-for-tests"));
        text.contains("honeybee_events_stored_total 3")
    });
    let (status, text) = get_raw(core.api_addr, "/metrics", Some("admin-token-1-for-tests"));
    assert_eq!(status, 200);
    for line in [
        "honeybee_connections 1",
        "honeybee_nodes{status=\"Connected\",connected=\"true\"} 1",
        "honeybee_nodes{status=\"Connected\",connected=\"false\"} 0",
        "honeybee_nodes{status=\"Running\",connected=\"false\"} 0",
        "honeybee_events_ingested_total 3",
        "honeybee_ingest_backlog 0",
        "honeybee_store_commit_seconds_bucket{le=\"+Inf\"}",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("admin-token-1"));
    // A node that says Running and leaves (NodeDrop) keeps its status, but is no longer
    // connected: dashboards must not count it as a running, reachable node.
    node.send(node.status("Running"));
    wait_until(
        std::time::Duration::from_secs(5),
        "the node Running",
        || {
            get_raw(core.api_addr, "/metrics", Some("reader-token-2-for-tests"))
                .1
                .contains("honeybee_nodes{status=\"Running\",connected=\"true\"} 1")
        },
    );
    node.send(serde_json::json!({"NodeDrop": {}}));
    wait_until(std::time::Duration::from_secs(5), "the node gone", || {
        get_raw(core.api_addr, "/metrics", Some("reader-token-2-for-tests"))
            .1
            .contains("honeybee_connections 0")
    });
    let (_, text) = get_raw(core.api_addr, "/metrics", Some("reader-token-2-for-tests"));
    for line in [
        "honeybee_nodes{status=\"Running\",connected=\"false\"} 1",
        "honeybee_nodes{status=\"Running\",connected=\"true\"} 0",
        "honeybee_connections 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn metrics_can_be_public() {
    let core = start_core("[api]\npublic_metrics = true");
    let (status, text) = get_raw(core.api_addr, "/metrics", None);
    assert_eq!(status, 200);
    assert!(
        text.contains("# TYPE honeybee_store_commit_seconds histogram"),
        "{text}"
    );
}
