//! The operator CLI through the real binary: the token commands on a tokens file; the API
//! commands against a stub API (requests, tables, escaping, `--json`, errors, exit codes, the
//! live stream, HTTPS) and against a running Core with a fake node.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "cli/stub.rs"]
mod stub;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use honeybee_core::tokens::{Role, TokenFile, sha256_hex};
use serde_json::{Value, json};
use stub::{Answer, Stub};

const BIN: &str = env!("CARGO_BIN_EXE_honeybee-core");
const TOKEN: &str = "cli-test-admin-token";

/// What a run of the binary left.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

/// The binary with `args`, run in `dir` (no conf/default.toml there), with `HONEYBEE_TOKEN`
/// set to `token` when given and no other HoneyBee variable.
fn command(dir: &Path, args: &[&str], token: Option<&str>) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env_remove("RUST_LOG");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HONEYBEE") {
            command.env_remove(name);
        }
    }
    if let Some(token) = token {
        command.env("HONEYBEE_TOKEN", token);
    }
    command
}

fn hb(dir: &Path, args: &[&str], token: Option<&str>) -> Run {
    command(dir, args, token).output().unwrap().into()
}

/// A temporary directory with `core.toml` holding `config` (`{dir}` = the directory).
fn workdir(config: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core.toml");
    let config = config.replace("{dir}", &dir.path().display().to_string());
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------
// token create | list | revoke

#[test]
fn token_create_list_and_revoke() {
    let (dir, config) = workdir("[storage]\ndir = \"{dir}/data\"\n");
    let config = config.to_str().unwrap();
    let tokens_file = dir.path().join("data").join("tokens.toml");

    let created = hb(
        dir.path(),
        &[
            "token", "create", "--name", "ops", "--role", "admin", "-c", config,
        ],
        None,
    );
    assert_eq!(created.code, 0, "{}", created.stderr);
    let token = created.stdout.trim().to_owned();
    assert!(token.starts_with("hb_") && token.len() >= 46, "{token}");
    assert_eq!(
        created.stdout,
        format!("{token}\n"),
        "stdout holds the token alone"
    );
    assert!(
        created.stderr.contains("only this once"),
        "{}",
        created.stderr
    );
    assert!(created.stderr.contains("SIGHUP"), "{}", created.stderr);
    assert!(
        !created.stderr.contains(&token),
        "the token is printed once"
    );

    let stored = std::fs::read_to_string(&tokens_file).unwrap();
    assert!(stored.contains(&sha256_hex(&token)), "{stored}");
    assert!(!stored.contains(&token), "{stored}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&tokens_file), 0o600);
        assert_eq!(mode(tokens_file.parent().unwrap()), 0o700);
    }
    let file = TokenFile::load(&tokens_file).unwrap();
    assert_eq!(file.verify(&token), Some(("ops", Role::Admin)));

    let reader = hb(
        dir.path(),
        &[
            "token", "create", "--name", "grafana", "--role", "read", "-c", config,
        ],
        None,
    );
    assert_eq!(reader.code, 0, "{}", reader.stderr);
    let read_token = reader.stdout.trim().to_owned();

    let listed = hb(dir.path(), &["token", "list", "-c", config], None);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", listed.stdout);
    assert!(
        lines[0].starts_with("NAME")
            && lines[0].contains("ROLE")
            && lines[0].contains("CREATED_AT")
    );
    assert!(
        lines[1].starts_with("ops ") && lines[1].contains(" admin "),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("grafana ") && lines[2].contains(" read "),
        "{}",
        lines[2]
    );
    let hashes = [sha256_hex(&token), sha256_hex(&read_token)];
    for secret in [&token, &read_token, &hashes[0], &hashes[1]] {
        assert!(
            !listed.stdout.contains(secret.as_str()),
            "{}",
            listed.stdout
        );
        assert!(!listed.stdout.contains(&secret[..12]), "{}", listed.stdout);
    }
    let json_list = hb(dir.path(), &["token", "list", "--json", "-c", config], None);
    let value: Value = serde_json::from_str(&json_list.stdout).unwrap();
    assert_eq!(value["tokens"][1]["name"], "grafana");
    assert_eq!(value["tokens"][1]["role"], "read");
    assert!(!json_list.stdout.contains("sha256") && !json_list.stdout.contains(&hashes[1]));

    let again = hb(
        dir.path(),
        &[
            "token", "create", "--name", "ops", "--role", "read", "-c", config,
        ],
        None,
    );
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert!(again.stdout.is_empty());

    let revoked = hb(
        dir.path(),
        &["token", "revoke", "grafana", "-c", config],
        None,
    );
    assert_eq!(revoked.code, 0, "{}", revoked.stderr);
    let file = TokenFile::load(&tokens_file).unwrap();
    assert_eq!(file.verify(&read_token), None);
    assert_eq!(file.verify(&token), Some(("ops", Role::Admin)));
    let listed = hb(dir.path(), &["token", "list", "-c", config], None);
    assert!(!listed.stdout.contains("grafana"), "{}", listed.stdout);
    let unknown = hb(
        dir.path(),
        &["token", "revoke", "grafana", "-c", config],
        None,
    );
    assert_ne!(unknown.code, 0);
    assert!(
        unknown.stderr.contains("no token named \"grafana\""),
        "{}",
        unknown.stderr
    );
}

#[test]
fn token_names_and_roles_are_checked() {
    let (dir, config) = workdir("[storage]\ndir = \"{dir}/data\"\n");
    let config = config.to_str().unwrap();
    let bad_role = hb(
        dir.path(),
        &[
            "token", "create", "--name", "x", "--role", "root", "-c", config,
        ],
        None,
    );
    assert_eq!(bad_role.code, 2, "{}", bad_role.stderr);
    assert!(bad_role.stderr.contains("admin") && bad_role.stderr.contains("read"));
    let bad_name = hb(
        dir.path(),
        &[
            "token", "create", "--name", "a b", "--role", "read", "-c", config,
        ],
        None,
    );
    assert_eq!(bad_name.code, 1);
    assert!(
        bad_name.stderr.contains("invalid token name"),
        "{}",
        bad_name.stderr
    );
    assert!(!dir.path().join("data").join("tokens.toml").exists());
}

#[test]
fn the_tokens_file_follows_the_config_and_a_bad_one_is_named() {
    let (dir, config) = workdir("[api]\ntokens_file = \"{dir}/etc/api-tokens.toml\"\n");
    let config = config.to_str().unwrap();
    let created = hb(
        dir.path(),
        &[
            "token", "create", "--name", "ci", "--role", "read", "-c", config,
        ],
        None,
    );
    assert_eq!(created.code, 0, "{}", created.stderr);
    let path = dir.path().join("etc").join("api-tokens.toml");
    assert!(path.exists());
    assert!(!dir.path().join("data").join("tokens.toml").exists());

    std::fs::write(
        &path,
        "[[token]]\nname = \"ci\"\nrole = \"admin\"\nsha256 = \"hb_oops\"\n",
    )
    .unwrap();
    let listed = hb(dir.path(), &["token", "list", "-c", config], None);
    assert_eq!(listed.code, 1);
    assert!(
        listed.stderr.contains(&path.display().to_string()),
        "{}",
        listed.stderr
    );
    assert!(
        listed.stderr.contains("sha256 must be 64 hex digits"),
        "{}",
        listed.stderr
    );
    assert!(!listed.stderr.contains("hb_oops"), "{}", listed.stderr);
}

#[test]
fn a_token_is_never_taken_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = hb(
        dir.path(),
        &["nodes", "--token", "abc", "--api", "http://127.0.0.1:9"],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn no_token_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let run = hb(dir.path(), &["nodes", "--api", "http://127.0.0.1:9"], None);
    assert_eq!(run.code, 1);
    for place in ["HONEYBEE_TOKEN", "--token-file", "api.token", "api-token"] {
        assert!(run.stderr.contains(place), "{place} in {}", run.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// Against a stub API

fn hostile_nodes() -> Value {
    json!({"nodes": [
        {"node_id": 11_364_728_073_201_639_405u64, "node_id_str": "11364728073201639405",
         "previous_ids": [], "node_name": "edge\u{1b}]0;owned\u{7}\u{9b}2J", "name_shared": false,
         "node_type": "Full", "address": "10.0.0.5", "port": 2222, "status": "Running",
         "connected": true, "protocol_version": 2, "remote_addr": "203.0.113.9:50412",
         "last_seen": "2024-01-15T10:30:00Z", "registered_at": "2024-01-01T00:00:00Z",
         "enrollment": "enrolled", "pot_count": 3, "alerts": ["pot_silent"]}
    ]})
}

#[test]
fn nodes_are_a_table_with_hostile_text_escaped() {
    let stub = Stub::start(|_| Answer::Json(200, hostile_nodes().to_string()));
    let dir = tempfile::tempdir().unwrap();
    let run = hb(
        dir.path(),
        &[
            "nodes",
            "--status",
            "Running",
            "--connected",
            "true",
            "--api",
            &stub.url,
        ],
        Some(TOKEN),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("NODE_ID "), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("11364728073201639405  edge\\x1b]0;owned\\x07\\x9b2J  Full"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{9b}'));
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].target,
        "/api/v1/nodes?status=Running&connected=true"
    );
    assert_eq!(
        requests[0].header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
}

#[test]
fn json_prints_the_document_as_sent_but_terminal_safe() {
    let alerts = json!({"alerts": [{"alert_id": 1, "type": "node_failed", "state": "open",
        "node_id": 7, "node_id_str": "7", "node_name": "x", "pot_id": null,
        "message": "node 7 (x\u{9b}31m) reports Failed",
        "opened_at": "2024-01-15T10:30:00Z", "cleared_at": null}]});
    let body = alerts.to_string();
    assert!(body.contains('\u{9b}'), "serde_json leaves C1 controls raw");
    let stub = Stub::start(move |_| Answer::Json(200, body.clone()));
    let dir = tempfile::tempdir().unwrap();
    let run = hb(
        dir.path(),
        &["alerts", "--json", "--api", &stub.url],
        Some(TOKEN),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(!run.stdout.contains('\u{9b}'));
    assert_eq!(serde_json::from_str::<Value>(&run.stdout).unwrap(), alerts);

    let table = hb(dir.path(), &["alerts", "--api", &stub.url], Some(TOKEN));
    assert!(
        table.stdout.contains("node_failed") && table.stdout.contains("open"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("(x\\x9b31m)"), "{}", table.stdout);
}

#[test]
fn the_url_and_token_come_from_the_config() {
    let stub = Stub::start(|_| Answer::Json(200, json!({"honeypots": []}).to_string()));
    let port = stub.url.rsplit(':').next().unwrap().to_owned();
    let (dir, config) = workdir(&format!(
        "[api]\nhost = \"0.0.0.0\"\nport = {port}\ntoken = \"from-config-0123456789\"\n"
    ));
    let run = hb(dir.path(), &["pots", "-c", config.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "No honeypots.\n");
    assert_eq!(
        stub.requests()[0].header("authorization"),
        Some("Bearer from-config-0123456789")
    );

    // Without api.token: <storage.dir>/api-token; HONEYBEE_TOKEN wins over both.
    let (dir, config) = workdir(&format!(
        "[api]\nport = {port}\n[storage]\ndir = \"{{dir}}/data\"\n"
    ));
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data").join("api-token"), "generated-one\n").unwrap();
    let config = config.to_str().unwrap();
    assert_eq!(hb(dir.path(), &["pots", "-c", config], None).code, 0);
    assert_eq!(
        stub.requests()[1].header("authorization"),
        Some("Bearer generated-one")
    );
    assert_eq!(
        hb(dir.path(), &["pots", "-c", config], Some("from-env")).code,
        0
    );
    assert_eq!(
        stub.requests()[2].header("authorization"),
        Some("Bearer from-env")
    );
    let file = dir.path().join("my-token");
    std::fs::write(&file, "from-file").unwrap();
    let args = ["pots", "-c", config, "--token-file", file.to_str().unwrap()];
    assert_eq!(hb(dir.path(), &args, None).code, 0);
    assert_eq!(
        stub.requests()[3].header("authorization"),
        Some("Bearer from-file")
    );
}

#[test]
fn refusals_say_what_went_wrong() {
    let stub = Stub::start(|request| {
        match request.path() {
        "/api/v1/nodes" => Answer::Json(
            401,
            json!({"error": {"code": "unauthorized", "message": "a valid bearer token is required"}})
                .to_string(),
        ),
        "/api/v1/nodes/7" => Answer::Json(
            403,
            json!({"error": {"code": "forbidden", "message": "read tokens cannot change anything"}})
                .to_string(),
        ),
        _ => Answer::Json(
            404,
            json!({"error": {"code": "not_found", "message": "no node 8\u{1b}[2J"}}).to_string(),
        ),
    }
    });
    let dir = tempfile::tempdir().unwrap();
    let unauthorized = hb(dir.path(), &["nodes", "--api", &stub.url], Some("wrong"));
    assert_eq!(unauthorized.code, 1);
    assert!(
        unauthorized.stderr.contains("401"),
        "{}",
        unauthorized.stderr
    );
    assert!(
        unauthorized.stderr.contains("HONEYBEE_TOKEN"),
        "{}",
        unauthorized.stderr
    );
    assert!(
        !unauthorized.stderr.contains("wrong"),
        "{}",
        unauthorized.stderr
    );

    let forbidden = hb(
        dir.path(),
        &["revoke", "7", "--api", &stub.url],
        Some("reader"),
    );
    assert_eq!(forbidden.code, 1);
    assert!(forbidden.stderr.contains("403"), "{}", forbidden.stderr);
    assert!(
        forbidden.stderr.contains("read token"),
        "{}",
        forbidden.stderr
    );
    assert_eq!(stub.requests()[1].method, "DELETE");

    let missing = hb(
        dir.path(),
        &["revoke", "8", "--api", &stub.url],
        Some(TOKEN),
    );
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("404 not_found: no node 8\\x1b[2J"),
        "{}",
        missing.stderr
    );
}

#[test]
fn connection_refused_names_the_url() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let run = hb(dir.path(), &["stats", "--api", &url], Some(TOKEN));
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains(&url), "{}", run.stderr);
    assert!(
        run.stderr.contains("The Core may not be running"),
        "{}",
        run.stderr
    );
}

/// A stub that accepts a command as id 12 and reports `statuses` in turn (the last one
/// repeats) to `GET /api/v1/commands/12`.
fn command_stub(statuses: &'static [&'static str]) -> Stub {
    let polls = AtomicUsize::new(0);
    Stub::start(
        move |request| match (request.method.as_str(), request.path()) {
            ("POST", "/api/v1/nodes/7/commands") => {
                Answer::Json(202, json!({"command_id": 12, "status": "sent"}).to_string())
            }
            ("GET", "/api/v1/commands/12") => {
                let n = polls.fetch_add(1, Ordering::SeqCst).min(statuses.len() - 1);
                let result = json!({"status": "Running", "message": null, "pots": []});
                Answer::Json(
                    200,
                    json!({"command_id": 12, "node_id": 7, "node_id_str": "7",
                    "command": {"DeployPot": "cowrie-01"}, "status": statuses[n],
                    "created_at": "2024-01-15T10:30:00Z", "updated_at": "2024-01-15T10:30:01Z",
                    "result": result})
                    .to_string(),
                )
            }
            _ => Answer::Json(404, "{}".into()),
        },
    )
}

#[test]
fn send_waits_for_the_outcome_and_exits_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let command = r#"{"DeployPot":"cowrie-01"}"#;

    let stub = command_stub(&["sent", "sent", "completed"]);
    let run = hb(
        dir.path(),
        &["send", "7", command, "--api", &stub.url],
        Some(TOKEN),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Status      completed"),
        "{}",
        run.stdout
    );
    let requests = stub.requests();
    assert_eq!(requests[0].target, "/api/v1/nodes/7/commands");
    assert_eq!(
        serde_json::from_str::<Value>(&requests[0].body).unwrap(),
        json!({"DeployPot": "cowrie-01"})
    );
    assert_eq!(requests.len(), 4, "a POST and three polls");

    let stub = command_stub(&["failed"]);
    let run = hb(
        dir.path(),
        &[
            "send", "7", command, "--queue", "--json", "--api", &stub.url,
        ],
        Some(TOKEN),
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap()["status"],
        "failed"
    );
    assert_eq!(
        stub.requests()[0].target,
        "/api/v1/nodes/7/commands?queue=true"
    );

    let stub = command_stub(&["timed_out"]);
    assert_eq!(
        hb(
            dir.path(),
            &["send", "7", command, "--api", &stub.url],
            Some(TOKEN)
        )
        .code,
        1
    );

    let stub = command_stub(&["sent"]);
    let run = hb(
        dir.path(),
        &["send", "7", command, "--wait-secs", "1", "--api", &stub.url],
        Some(TOKEN),
    );
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("No outcome after 1 s"),
        "{}",
        run.stdout
    );

    let run = hb(
        dir.path(),
        &["send", "7", command, "--wait-secs", "0", "--api", &stub.url],
        Some(TOKEN),
    );
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "Command 12 is sent.\n");

    let run = hb(
        dir.path(),
        &["send", "7", "{DeployPot", "--api", &stub.url],
        Some(TOKEN),
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not JSON"), "{}", run.stderr);
}

fn stream_event(username: &str) -> String {
    json!({"kind": "event", "id": 42, "node_id": 7, "node_id_str": "7", "node_name": "edge",
        "pot_id": "cowrie-01", "pot_type": "cowrie", "event_type": "cowrie.login.failed",
        "timestamp": "2024-01-15T10:30:00Z", "timestamp_source": "node",
        "received_at": "2024-01-15T10:30:00.123456Z", "src_ip": "203.0.113.7",
        "username": username, "password": "x", "command": null, "data": {}})
    .to_string()
}

#[test]
fn events_follow_prints_events_escaped_and_reports_a_dropped_stream() {
    let stub = Stub::start(|_| {
        Answer::WebSocket(
            vec![
                json!({"kind": "node", "node_id": 7}).to_string(),
                stream_event("root\u{1b}[2J\n"),
                json!({"kind": "error", "error": {"code": "slow_client",
                    "message": "the client did not keep up"}})
                .to_string(),
            ],
            Some((1008, "slow client".to_owned())),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "events",
        "--follow",
        "--event-type",
        "cowrie.login.failed",
        "--api",
        &stub.url,
    ];
    let run = hb(dir.path(), &args, Some(TOKEN));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "2024-01-15T10:30:00.123456Z  edge  cowrie-01  cowrie.login.failed  src=203.0.113.7  \
         user=root\\x1b[2J\\n  pass=x\n"
    );
    assert!(
        run.stderr
            .contains("slow_client: the client did not keep up"),
        "{}",
        run.stderr
    );
    let request = &stub.requests()[0];
    assert_eq!(
        request.target,
        "/api/v1/stream?event_type=cowrie.login.failed"
    );
    assert_eq!(
        request.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
}

#[cfg(unix)]
#[test]
fn events_follow_runs_until_ctrl_c() {
    use std::io::BufRead;
    let stub = Stub::start(|_| Answer::WebSocket(vec![stream_event("admin")], None));
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(
        dir.path(),
        &["events", "-f", "--json", "--api", &stub.url],
        Some(TOKEN),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&line).unwrap()["username"],
        "admin"
    );
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn https_trusts_the_api_certificate_from_the_config() {
    let pki = common::certs::TestPki::generate();
    let stub = Stub::start_tls(&pki.server_cert, &pki.server_key, |_| {
        Answer::Json(200, json!({"nodes": []}).to_string())
    });
    let port = stub.url.rsplit(':').next().unwrap().to_owned();
    let (dir, config) = workdir(&format!(
        "[api]\nport = {port}\ntls_cert = {:?}\ntls_key = {:?}\n",
        pki.server_cert.display().to_string(),
        pki.server_key.display().to_string()
    ));
    let config = config.to_str().unwrap();
    let run = hb(dir.path(), &["nodes", "-c", config], Some(TOKEN));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "No nodes.\n");
    let by_name = format!("https://localhost:{port}");
    let run = hb(
        dir.path(),
        &["nodes", "-c", config, "--api", &by_name],
        Some(TOKEN),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(stub.requests().len(), 2);

    // A certificate that is not the one the API presents (nor its issuer) is refused.
    let (dir, config) = workdir(&format!(
        "[api]\nport = {port}\ntls_cert = {:?}\ntls_key = {:?}\n",
        pki.untrusted_client_cert.display().to_string(),
        pki.untrusted_client_key.display().to_string()
    ));
    let run = hb(
        dir.path(),
        &["nodes", "-c", config.to_str().unwrap()],
        Some(TOKEN),
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("https://127.0.0.1:"), "{}", run.stderr);
    assert_eq!(stub.requests().len(), 2, "no request went out");
}

// ---------------------------------------------------------------------------------------------
// Against a running Core. These need the API routes of CORE.md (enrollments, nodes, commands,
// events and the stream, alerts).

/// An admin token, and nodes that stay connected while a test's CLI runs come and go.
const CORE_WITH_TOKEN: &str =
    "[api]\ntoken = \"cli-test-admin-token\"\n[protocol]\nheartbeat_timeout_secs = 60\n";

fn api_url(core: &common::TestCore) -> String {
    format!("http://{}", core.api_addr)
}

/// Runs the CLI until `done(stdout)` holds (within 10 s).
fn poll_cli(dir: &Path, args: &[&str], what: &str, done: impl Fn(&str) -> bool) -> Run {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let run = hb(dir, args, Some(TOKEN));
        if run.code == 0 && done(&run.stdout) {
            return run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}: {}{}",
            run.stdout,
            run.stderr
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn core_enroll_prints_the_secret_and_a_qr_code() {
    let core = common::start_core(CORE_WITH_TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let url = api_url(&core);
    let run = hb(
        dir.path(),
        &[
            "enroll",
            "--node-id",
            "77",
            "--name",
            "edge-77",
            "--api",
            &url,
        ],
        Some(TOKEN),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Enrolled node 77 (edge-77)."),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("TOTP secret:  "), "{}", run.stdout);
    assert!(
        run.stdout.contains("otpauth URI:  otpauth://totp/"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains('\u{2588}'), "a QR code: {}", run.stdout);

    let json_run = hb(
        dir.path(),
        &["enroll", "--name", "edge-78", "--json", "--api", &url],
        Some(TOKEN),
    );
    assert_eq!(json_run.code, 0, "{}", json_run.stderr);
    let enrolled: Value = serde_json::from_str(&json_run.stdout).unwrap();
    assert!(
        enrolled["totp_key"].as_str().is_some_and(|k| !k.is_empty()),
        "{enrolled}"
    );
    assert!(
        enrolled["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://")
    );
}

#[test]
fn core_nodes_lists_a_registered_node() {
    let core = common::start_core(CORE_WITH_TOKEN);
    let mut node = common::FakeNode::connect(core.node_addr, 4242);
    node.register("edge-cli");
    let dir = tempfile::tempdir().unwrap();
    let url = api_url(&core);
    let run = poll_cli(dir.path(), &["nodes", "--api", &url], "the node", |out| {
        out.contains("edge-cli")
    });
    let row = run.stdout.lines().find(|l| l.starts_with("4242 ")).unwrap();
    assert!(row.contains("edge-cli") && row.contains("yes"), "{row}");
    let json_run = hb(
        dir.path(),
        &["nodes", "--connected", "true", "--json", "--api", &url],
        Some(TOKEN),
    );
    let nodes: Value = serde_json::from_str(&json_run.stdout).unwrap();
    assert_eq!(nodes["nodes"][0]["node_id_str"], "4242");
    let offline = hb(
        dir.path(),
        &["nodes", "--connected", "false", "--api", &url],
        Some(TOKEN),
    );
    assert_eq!(offline.stdout, "No nodes.\n");
}

#[test]
fn core_send_reaches_the_node_and_reports_completed() {
    let core = common::start_core(CORE_WITH_TOKEN);
    let mut node = common::FakeNode::connect(core.node_addr, 5151);
    node.register("edge-send");
    let answering = std::thread::spawn(move || {
        // Skip the Core's own GetInstalledPots; answer the DeployPot with the pot Running.
        loop {
            let command = node.expect_message("NodeCommand");
            if command["command"] == json!({"DeployPot": "cowrie-01"}) {
                node.send(node.pot_status("cowrie-01", "Running", None));
                return node;
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let url = api_url(&core);
    let args = [
        "send",
        "5151",
        r#"{"DeployPot":"cowrie-01"}"#,
        "--wait-secs",
        "10",
        "--api",
        &url,
    ];
    let run = hb(dir.path(), &args, Some(TOKEN));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Status      completed"),
        "{}",
        run.stdout
    );
    let _node = answering.join().unwrap();

    let unknown = hb(
        dir.path(),
        &["send", "999", r#""Restart""#, "--api", &url],
        Some(TOKEN),
    );
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("404"), "{}", unknown.stderr);
}

#[test]
fn core_events_are_listed_and_followed_escaped() {
    let core = common::start_core(CORE_WITH_TOKEN);
    let mut node = common::FakeNode::connect(core.node_addr, 6161);
    node.register("edge-events");
    let event = |n: u32, user: &str| {
        json!({"PotEvent": {"node_id": 6161, "pot_id": "cowrie-01", "event_type": "cowrie.login.failed",
            "data": {"src_ip": "203.0.113.7", "username": user, "password": "p", "n": n}}})
    };
    node.send(event(1, "root\u{1b}[2J"));
    let dir = tempfile::tempdir().unwrap();
    let url = api_url(&core);
    let listed = poll_cli(
        dir.path(),
        &["events", "--node-id", "6161", "--api", &url],
        "the event",
        |out| out.contains("cowrie.login.failed"),
    );
    assert!(listed.stdout.contains("root\\x1b[2J"), "{}", listed.stdout);
    assert!(!listed.stdout.contains('\u{1b}'));

    let mut follower = command(
        dir.path(),
        &["events", "--follow", "--node-id", "6161", "--api", &url],
        Some(TOKEN),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines_tx.send(line);
        }
    });
    // Keep sending until the stream (connected some time after the spawn) shows one.
    let mut n = 2;
    let line = loop {
        node.send(event(n, "admin\u{7}"));
        n += 1;
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(300)) {
            break line;
        }
        assert!(n < 40, "no event on the stream");
    };
    let _ = follower.kill();
    let _ = follower.wait();
    assert!(
        line.contains("edge-events  cowrie-01  cowrie.login.failed"),
        "{line}"
    );
    assert!(line.contains("user=admin\\x07"), "{line}");
}

#[test]
fn core_alerts_show_a_failed_node() {
    let core = common::start_core(CORE_WITH_TOKEN);
    let mut node = common::FakeNode::connect(core.node_addr, 7171);
    node.register("edge-alerts");
    node.send(node.status("Failed"));
    let dir = tempfile::tempdir().unwrap();
    let url = api_url(&core);
    let run = poll_cli(dir.path(), &["alerts", "--api", &url], "the alert", |out| {
        out.contains("node_failed")
    });
    let row = run
        .stdout
        .lines()
        .find(|l| l.contains("node_failed"))
        .unwrap();
    assert!(row.contains("7171") && row.contains("open"), "{row}");
    let json_run = hb(
        dir.path(),
        &["alerts", "--json", "--api", &url],
        Some(TOKEN),
    );
    let alerts: Value = serde_json::from_str(&json_run.stdout).unwrap();
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "node_failed" && a["state"] == "open")
    );
    // --limit reaches the API (it bounds the cleared alerts listed).
    let none_cleared = hb(
        dir.path(),
        &["alerts", "--limit", "0", "--json", "--api", &url],
        Some(TOKEN),
    );
    assert_eq!(none_cleared.code, 0, "{}", none_cleared.stderr);
    let too_many = hb(
        dir.path(),
        &["alerts", "--limit", "10001", "--api", &url],
        Some(TOKEN),
    );
    assert_eq!(too_many.code, 1);
    assert!(
        too_many
            .stderr
            .contains("limit must be between 0 and 10000"),
        "{}",
        too_many.stderr
    );
}
