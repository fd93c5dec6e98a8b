//! The real `honeybee-core` binary: config errors with their exact text, `check`, and `serve`
//! on port 0 (bound port logged, a node served, a clean stop on SIGTERM).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::FakeNode;
use common::served::Served;

const BIN: &str = env!("CARGO_BIN_EXE_honeybee-core");

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

fn core_command() -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HONEYBEE__") {
            command.env_remove(key);
        }
    }
    command
}

#[test]
fn check_names_every_bad_key_exactly() {
    let output = core_command()
        .args(["check", "--config", "conf/test/bad.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let expected = std::fs::read_to_string(repo("conf/test/bad.expected")).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        format!("Invalid configuration (conf/test/bad.toml):\n{expected}")
    );
    for secret in ["12345", "hunter2", "s3cret-hec-token"] {
        assert!(
            !stderr.contains(secret),
            "a secret's value is never shown: {secret}"
        );
    }
}

#[test]
fn check_accepts_the_default_config() {
    let output = core_command()
        .args(["check", "--config", "conf/default.toml"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "Configuration OK (conf/default.toml).\n"
    );
}

#[test]
fn environment_overrides_are_validated_too() {
    let output = core_command()
        .args(["check", "--config", "conf/default.toml"])
        .env("HONEYBEE__SERVER__NODE_PORT", "abc")
        .env("HONEYBEE__SERVER__NODEPORT", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("server.node_port: ")
            && stderr.contains("(from HONEYBEE__SERVER__NODE_PORT)"),
        "{stderr}"
    );
    assert!(stderr.contains("HONEYBEE__SERVER__NODEPORT"), "{stderr}");
}

#[test]
fn serve_refuses_a_bad_config_before_binding() {
    let output = core_command()
        .args(["serve", "--config", "conf/test/bad.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("Invalid configuration"), "{stderr}");
    assert!(!stderr.contains("Listening"), "{stderr}");
}

#[test]
fn serve_logs_its_port_serves_nodes_and_stops_on_sigterm() {
    let mut served = Served::start("", "");
    assert_ne!(served.addr.port(), 0, "the bound port is logged");
    let mut node = FakeNode::connect(served.addr, 424242);
    node.register("via-binary");
    served.wait_for("Node 424242 (via-binary) registered");

    let pid = served.core.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let rest = node.expect_closed();
    assert!(
        rest.iter().all(|m| m.get("NodeCommand").is_some()),
        "{rest:?}"
    );
    served.wait_for("HoneyBee Core stopped.");
    let status = served.core.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn raises_its_open_file_limit_and_warns_when_it_is_below_max_connections() {
    // A soft limit of 256 under the machine's hard limit: the Core raises it to the hard limit
    // itself, and says that 1,000,000 connections do not fit.
    let hard = String::from_utf8(
        Command::new("sh")
            .args(["-c", "ulimit -H -n"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let hard = hard.trim();
    let served = Served::start(
        "[limits]\nmax_connections = 1000000\n",
        "ulimit -S -n 256 &&",
    );
    let raised = format!("Open-file limit {hard} (hard {hard})");
    assert!(served.logged(&raised), "{raised}");
    assert!(served.logged("limits.max_connections = 1000000 is above what the open-file limit"));
    served.signal("TERM");
    let _ = served.wait_exit();
}

#[test]
fn accept_backs_off_when_out_of_file_descriptors() {
    // 64 descriptors in all: the Core runs out long before 100 connections.
    let mut served = Served::start("[limits]\nmax_connections = 1000\n", "ulimit -n 64 &&");
    let mut first = FakeNode::connect(served.addr, 1);
    first.register("first");
    let flood: Vec<std::net::TcpStream> = (0..100)
        .map(|_| std::net::TcpStream::connect(served.addr).unwrap())
        .collect();
    served.wait_for("Out of file descriptors");
    // Backing off, not spinning: well under a quarter of a core over one second.
    let before = served.cpu_ticks();
    std::thread::sleep(Duration::from_secs(1));
    let used = served.cpu_ticks() - before;
    assert!(used < 25, "accept spins: {used} ticks of CPU in 1 s");
    // The registered node is still served.
    first.send(first.status("Running"));
    first.send(serde_json::json!({"NodeEvent": "Started"}));
    // Once descriptors are free again, new nodes get in.
    drop(flood);
    let mut late = FakeNode::connect(served.addr, 2);
    late.register("late");
}
