//! Secrets (a HEC token, a webhook secret, credentials in a URL) never reach the log, an error
//! text or the API, on the real binary with receivers that refuse them.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::json;

use super::common::http::Api;
use super::common::receiver::Receiver;
use super::*;

const BIN: &str = env!("CARGO_BIN_EXE_honeybee-core");
const HEC_SECRET: &str = "hec-3f9a1c7e-never-shown";
const HOOK_SECRET: &str = "whsec-never-shown-7d2b";
const ES_PASSWORD: &str = "Es-Pa55word-never-shown";

#[test]
fn secrets_never_appear_in_logs_errors_or_the_api() {
    let hec = Receiver::start(|_| (401, json!({"text": "Invalid token", "code": 4}).to_string()));
    let hook = Receiver::start(|_| (500, "boom".to_owned()));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("hook.secret");
    std::fs::write(&secret_file, format!("{HOOK_SECRET}\n")).unwrap();
    let config = format!(
        "[server]\nnode_port = 0\n[api]\nport = 0\ntoken = {TOKEN:?}\n[auth]\ntotp = false\n\
         [storage]\ndir = {:?}\n\
         [[outputs]]\nname = \"splunk\"\ntype = \"splunk_hec\"\nurl = {:?}\ntoken = {HEC_SECRET:?}\nretry_max_secs = 0.2\n\
         [[outputs]]\nname = \"hook\"\ntype = \"webhook\"\nurl = {:?}\nsecret_file = {:?}\nretry_max_secs = 0.2\n\
         [[outputs]]\nname = \"es\"\ntype = \"elasticsearch\"\nurl = \"http://elastic:{ES_PASSWORD}@{closed}/\"\nretry_max_secs = 0.2\n",
        dir.path().join("data").display().to_string(),
        hec.url("/services/collector/event"),
        hook.url("/hook"),
        secret_file.display().to_string(),
    );
    let conf = dir.path().join("core.toml");
    std::fs::write(&conf, config).unwrap();
    let log = dir.path().join("core.log");
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&conf)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Stopped (by pid) also when an assertion fails.
    let mut child = Child(child);
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let addr_after = |marker: &str| -> Option<std::net::SocketAddr> {
        let text = read_log();
        let rest = &text[text.find(marker)? + marker.len()..];
        let token = rest.split_whitespace().next()?;
        token
            .trim_start_matches("http://")
            .trim_end_matches('.')
            .parse()
            .ok()
    };
    let started = Instant::now();
    let (node_addr, api_addr) = loop {
        if let (Some(n), Some(a)) = (
            addr_after("Listening for nodes on "),
            addr_after("HTTP API listening on "),
        ) {
            break (n, a);
        }
        assert!(
            started.elapsed() < WAIT,
            "the Core did not start:\n{}",
            read_log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut node = FakeNode::connect(node_addr, 16);
    node.register("edge-16");
    node.send(node.pot_status("cowrie-01", "Running", None));
    send_events(&mut node, 16, 1, 5);
    let api = Api::new(api_addr, TOKEN);
    super::common::wait_until(WAIT, "every sink failing", || {
        let list = api.ok("/api/v1/outputs");
        list["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["failures"].as_u64() >= Some(2))
    });
    let mut seen = api.get("/api/v1/outputs").text();
    assert!(seen.contains("fix the token"), "{seen}");
    seen.push_str(&api.get("/metrics").text());
    for name in ["splunk", "hook", "es"] {
        seen.push_str(&api.get(&format!("/api/v1/outputs/{name}/dead")).text());
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let _ = child.0.wait();
    let mut log_text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut log_text)
        .unwrap();
    assert!(
        log_text.contains("Output splunk"),
        "the failures are logged:\n{log_text}"
    );
    for secret in [HEC_SECRET, HOOK_SECRET, ES_PASSWORD] {
        assert!(!seen.contains(secret), "{secret} in the API:\n{seen}");
        assert!(
            !log_text.contains(secret),
            "{secret} in the log:\n{log_text}"
        );
    }
    assert!(
        !seen.contains("elastic:"),
        "user information in the API:\n{seen}"
    );
}

/// The Core process, killed if the test ends before stopping it.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
