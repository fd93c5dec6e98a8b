//! The API as its OpenAPI document describes it, beyond each route's own behaviour: methods a
//! path does not serve (405 with `Allow`), `HEAD`, bodies that are not JSON (415), the stream's
//! answer to a request that is not a WebSocket handshake, enrollment answers without `null`s,
//! `null` in request bodies, unknown fields inside commands, and ids beyond u64 in every path
//! and query that takes one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::http::{Answer, Api, raw, send_bytes};
use common::start_core;
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-for-tests";
const READ: &str = "read-token-for-tests";
const TOKENS: &str =
    "[api]\ntoken = \"admin-token-for-tests\"\nread_tokens = [\"read-token-for-tests\"]\n";

fn error_of(answer: &Answer) -> (u16, String) {
    (answer.status, answer.code())
}

#[test]
fn a_method_a_path_does_not_serve_is_405_with_allow() {
    let core = start_core(TOKENS);
    for (path, token, allow) in [
        ("/health", None, "GET, HEAD"),
        ("/", None, "GET, HEAD"),
        ("/api/v1/openapi.json", None, "GET, HEAD"),
        ("/metrics", Some(ADMIN), "GET, HEAD"),
        ("/api/v1/nodes", Some(ADMIN), "GET, HEAD"),
        ("/api/v1/nodes/7", Some(ADMIN), "GET, HEAD, DELETE"),
        ("/api/v1/enrollments", Some(ADMIN), "GET, HEAD, POST"),
        ("/api/v1/commands/broadcast", Some(ADMIN), "POST"),
        ("/api/v1/nodes/7/pots/p", Some(ADMIN), "PUT, DELETE"),
        ("/api/v1/stream/tickets", Some(ADMIN), "POST"),
    ] {
        let allowed: BTreeSet<&str> = allow.split(", ").collect();
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
            if allowed.contains(method) {
                continue;
            }
            let answer = raw(core.api_addr, method, path, token, None);
            assert_eq!(
                error_of(&answer),
                (405, "method_not_allowed".to_owned()),
                "{method} {path}: {}",
                answer.text()
            );
            assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
            assert!(
                answer.json()["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(allow),
                "{}",
                answer.text()
            );
        }
    }
    // Under /api/ the token is checked first, as for every other request.
    let anonymous = raw(core.api_addr, "PATCH", "/api/v1/nodes", None, None);
    assert_eq!(error_of(&anonymous), (401, "unauthorized".to_owned()));
    let read = raw(core.api_addr, "PATCH", "/api/v1/nodes", Some(READ), None);
    assert_eq!(error_of(&read), (403, "forbidden".to_owned()));
    // A path that does not exist is 404 whatever the method.
    for (path, token) in [("/api/v1/nowhere", Some(ADMIN)), ("/nowhere", None)] {
        let answer = raw(core.api_addr, "PATCH", path, token, None);
        assert_eq!(error_of(&answer), (404, "not_found".to_owned()), "{path}");
        assert_eq!(answer.header("allow"), None);
    }
}

#[test]
fn head_answers_like_get_without_the_body() {
    let core = start_core(TOKENS);
    for (path, token) in [
        ("/health", None),
        ("/ready", None),
        ("/", None),
        ("/api/v1/openapi.json", None),
        ("/metrics", Some(READ)),
        ("/api/v1/nodes", Some(READ)),
        ("/api/v1/events", Some(READ)),
        ("/api/v1/nodes/7", Some(READ)),
        ("/api/v1/nodes", None),
    ] {
        let get = raw(core.api_addr, "GET", path, token, None);
        let head = raw(core.api_addr, "HEAD", path, token, None);
        assert_eq!(head.status, get.status, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path}: {}", head.text());
        assert!(!get.body.is_empty(), "GET {path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {path}"
        );
        assert_eq!(
            head.header("www-authenticate"),
            get.header("www-authenticate")
        );
    }
    // The length of the body it would have sent.
    let get = raw(core.api_addr, "GET", "/api/v1/openapi.json", None, None);
    let head = raw(core.api_addr, "HEAD", "/api/v1/openapi.json", None, None);
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
}

#[test]
fn a_body_that_is_not_json_is_415() {
    let core = start_core(TOKENS);
    let body = br#"{"node_name": "edge-415"}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let answer = raw(
            core.api_addr,
            "POST",
            "/api/v1/enrollments",
            Some(ADMIN),
            Some((content_type, body)),
        );
        assert_eq!(
            error_of(&answer),
            (415, "unsupported_media_type".to_owned()),
            "{content_type}: {}",
            answer.text()
        );
    }
    let untyped = send_bytes(
        core.api_addr,
        format!(
            "POST /api/v1/enrollments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{}",
            body.len(),
            String::from_utf8_lossy(body)
        )
        .as_bytes(),
    );
    assert_eq!(
        error_of(&untyped),
        (415, "unsupported_media_type".to_owned())
    );
    for (method, path, body) in [
        (
            "POST",
            "/api/v1/nodes/7/commands",
            &br#"{"DeployPot": "p"}"#[..],
        ),
        (
            "POST",
            "/api/v1/commands/broadcast",
            br#"{"command": "GetInstalledPots"}"#,
        ),
        (
            "PUT",
            "/api/v1/nodes/7/pots/p",
            br#"{"honeypot_type": "cowrie"}"#,
        ),
    ] {
        let answer = raw(
            core.api_addr,
            method,
            path,
            Some(ADMIN),
            Some(("text/plain", body)),
        );
        assert_eq!(
            error_of(&answer),
            (415, "unsupported_media_type".to_owned()),
            "{method} {path}"
        );
    }
    // JSON with a charset is JSON.
    let answer = raw(
        core.api_addr,
        "POST",
        "/api/v1/enrollments",
        Some(ADMIN),
        Some(("application/json; charset=utf-8", body)),
    );
    assert_eq!(answer.status, 201, "{}", answer.text());
}

/// A request to the stream with these handshake headers (the four that make one).
fn stream_request(core: std::net::SocketAddr, method: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = format!(
        "{method} /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READ}\r\n\
         Connection: close\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    send_bytes(core, request.as_bytes())
}

#[test]
fn the_stream_answers_a_request_that_is_not_a_handshake_with_the_json_error() {
    let core = start_core(TOKENS);
    let plain = raw(core.api_addr, "GET", "/api/v1/stream", Some(READ), None);
    assert_eq!(error_of(&plain), (400, "invalid_request".to_owned()));
    assert_eq!(plain.header("content-type"), Some("application/json"));
    assert_eq!(plain.header("sec-websocket-version"), Some("13"));
    assert!(
        plain.text().contains("Upgrade: websocket"),
        "{}",
        plain.text()
    );
    // `stream_request` always sends `Connection: close`, so none of these can become a
    // WebSocket: what fails before or at that header shows here (handshake.rs's table tests
    // name every part), and `close` itself is refused as an upgrade.
    let key = ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    let no_upgrade = stream_request(
        core.api_addr,
        "GET",
        &[
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            key,
        ],
    );
    assert_eq!(no_upgrade.status, 400);
    assert!(no_upgrade.text().contains("Connection: Upgrade"));
    let wrong_upgrade = stream_request(core.api_addr, "GET", &[("Upgrade", "h2c")]);
    assert_eq!(wrong_upgrade.status, 400);
    assert!(wrong_upgrade.text().contains("Upgrade: websocket"));
    let head = stream_request(core.api_addr, "HEAD", &[("Upgrade", "websocket")]);
    assert_eq!(head.status, 400);
    assert!(head.body.is_empty());
    // No token: 401 before anything else.
    let anonymous = raw(core.api_addr, "GET", "/api/v1/stream", None, None);
    assert_eq!(error_of(&anonymous), (401, "unauthorized".to_owned()));
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn enrollment_answers_leave_out_what_was_not_given_and_null_means_not_given() {
    let core = start_core(&format!("{TOKENS}[auth]\ntotp = true\n"));
    let api = Api::new(core.api_addr, ADMIN);
    let enroll = |body: Value| {
        let answer = api.post("/api/v1/enrollments", &body);
        assert_eq!(answer.status, 201, "{body}: {}", answer.text());
        answer.json()
    };
    let set = |names: &[&str]| {
        names
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<BTreeSet<_>>()
    };
    let by_id = enroll(json!({"node_id": 41}));
    assert_eq!(
        keys(&by_id),
        set(&["node_id", "node_id_str", "totp_key", "otpauth_uri"]),
        "{by_id}"
    );
    let by_name = enroll(json!({"node_name": "edge-41b"}));
    assert_eq!(
        keys(&by_name),
        set(&["node_name", "totp_key", "otpauth_uri"]),
        "{by_name}"
    );
    // An optional field sent as null is a field not given.
    let id_null_name = enroll(json!({"node_id": 42, "node_name": null}));
    assert_eq!(id_null_name["node_id_str"], "42");
    assert!(id_null_name.get("node_name").is_none(), "{id_null_name}");
    let null_id = enroll(json!({"node_id": null, "node_name": "edge-43"}));
    assert!(null_id.get("node_id").is_none(), "{null_id}");
    for body in [
        json!({"node_id": null, "node_name": null}),
        json!({"node_id": null}),
        json!({"node_name": null}),
    ] {
        let answer = api.post("/api/v1/enrollments", &body);
        assert_eq!(
            error_of(&answer),
            (400, "invalid_request".to_owned()),
            "{body}"
        );
    }
    // The id as written, not as serde_json would write it.
    let enroll_id = |text: &str| {
        let body = format!("{{\"node_id\": {text}}}");
        let answer = raw(
            core.api_addr,
            "POST",
            "/api/v1/enrollments",
            Some(ADMIN),
            Some(("application/json", body.as_bytes())),
        );
        (body, answer)
    };
    // A whole number is a whole number however it is spelled, and is read exactly.
    for (text, id) in [
        ("44.0", "44"),
        ("4.5e1", "45"),
        ("18446744073709551614", "18446744073709551614"),
        ("1.8446744073709551613e19", "18446744073709551613"),
    ] {
        let (body, answer) = enroll_id(text);
        assert_eq!(answer.status, 201, "{body}: {}", answer.text());
        assert_eq!(answer.json()["node_id_str"], id, "{body}");
    }
    for text in [
        "44.5",
        "-1",
        "18446744073709551616",
        "\"18446744073709551616\"",
        "true",
    ] {
        let (body, answer) = enroll_id(text);
        assert_eq!(
            error_of(&answer),
            (400, "invalid_request".to_owned()),
            "{body}"
        );
    }
}

#[test]
fn ids_beyond_u64_are_400_and_ids_that_name_nothing_404_everywhere() {
    let core = start_core(TOKENS);
    let api = Api::new(core.api_addr, ADMIN);
    let command = json!({"DeployPot": "p"});
    let desired = json!({"honeypot_type": "cowrie"});
    let routes: [(&str, &str, Option<&Value>); 10] = [
        ("GET", "/api/v1/nodes/{}", None),
        ("DELETE", "/api/v1/nodes/{}", None),
        ("GET", "/api/v1/nodes/{}/commands", None),
        ("POST", "/api/v1/nodes/{}/commands", Some(&command)),
        ("PUT", "/api/v1/nodes/{}/pots/p", Some(&desired)),
        ("DELETE", "/api/v1/nodes/{}/pots/p", None),
        ("GET", "/api/v1/honeypots/{}/p/history", None),
        ("POST", "/api/v1/enrollments/{}/approve", None),
        ("POST", "/api/v1/enrollments/{}/reject", None),
        ("GET", "/api/v1/commands/{}", None),
    ];
    let send = |method: &str, path: &str, body: Option<&Value>| {
        let bytes = body.map(|b| b.to_string().into_bytes());
        raw(
            core.api_addr,
            method,
            path,
            Some(ADMIN),
            bytes.as_deref().map(|b| ("application/json", b)),
        )
    };
    let over = "18446744073709551616";
    let too_long = "000000000000000000001";
    for (method, template, body) in routes {
        for bad in [over, too_long, "-1", "1.0", "%2B1"] {
            let path = template.replace("{}", bad);
            let answer = send(method, &path, body);
            assert_eq!(
                error_of(&answer),
                (400, "invalid_request".to_owned()),
                "{method} {path}: {}",
                answer.text()
            );
        }
        for unknown in ["18446744073709551615", "00000000000000000042"] {
            let path = template.replace("{}", unknown);
            let answer = send(method, &path, body);
            assert_eq!(
                error_of(&answer),
                (404, "not_found".to_owned()),
                "{method} {path}: {}",
                answer.text()
            );
        }
    }
    for query in [
        "/api/v1/events?node_id={}",
        "/api/v1/stats?node_id={}",
        "/api/v1/events?since={}",
        "/api/v1/events?until={}",
        "/api/v1/stats?since={}",
        "/api/v1/stats?until={}",
    ] {
        for bad in [over, too_long] {
            let path = query.replace("{}", bad);
            let answer = api.get(&path);
            assert_eq!(
                error_of(&answer),
                (400, "invalid_request".to_owned()),
                "{path}: {}",
                answer.text()
            );
        }
        let path = query.replace("{}", "18446744073709551615");
        assert_eq!(api.get(&path).status, 200, "{path}");
    }
}

#[test]
fn unknown_fields_are_refused_inside_commands_too_and_null_means_not_given() {
    let core = start_core(TOKENS);
    let api = Api::new(core.api_addr, ADMIN);
    for (path, body) in [
        (
            "/api/v1/nodes/7/commands",
            json!({"GetInstalledPots": {"x": 1}}),
        ),
        (
            "/api/v1/commands/broadcast",
            json!({"command": {"Restart": {"now": true}}}),
        ),
        (
            "/api/v1/commands/broadcast",
            json!({"command": {"InstallPot": {"pot_id": "p", "honeypot_type": "cowrie",
                "branch": "main"}}}),
        ),
        (
            "/api/v1/commands/broadcast",
            json!({"command": "GetInstalledPots", "colour": "red"}),
        ),
    ] {
        let answer = api.post(path, &body);
        assert_eq!(
            error_of(&answer),
            (400, "invalid_request".to_owned()),
            "{path} {body}: {}",
            answer.text()
        );
    }
    let broadcast = api.post(
        "/api/v1/commands/broadcast",
        &json!({"command": "GetInstalledPots", "node_type": null, "status": null}),
    );
    assert_eq!(broadcast.status, 202, "{}", broadcast.text());
    let desired = api.put(
        "/api/v1/nodes/7/pots/p",
        &json!({"honeypot_type": "cowrie", "restart": null, "git_url": null, "git_branch": null}),
    );
    assert_eq!(
        error_of(&desired),
        (404, "not_found".to_owned()),
        "{}",
        desired.text()
    );
}
