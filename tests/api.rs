//! The HTTP API's unauthenticated probes over real TCP: `/health` and `/ready`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use common::{FakeNode, start_core, wait_until};
use serde_json::Value;

/// A plain HTTP/1.1 GET; the status code and the JSON body.
fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status: u16 = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
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
