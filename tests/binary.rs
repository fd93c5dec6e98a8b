//! The real `honeybee-core` binary: config errors with their exact text, `check`, and `serve`
//! on port 0 (bound port logged, a node served, a clean stop on SIGTERM).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::FakeNode;

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
    assert!(
        !stderr.contains("12345"),
        "the token's value is never shown"
    );
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

/// Kills the child if a test fails before it stops.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_logs_its_port_serves_nodes_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("core.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nnode_port = 0\n[api]\nport = 0\n[storage]\ndir = {:?}\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let child = core_command()
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut core = Running(child);
    let (lines_tx, lines) = mpsc::channel();
    let stderr = core.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let wait_for = |needle: &str| -> String {
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no log line containing {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    };
    let listening = wait_for("Listening for nodes on ");
    let addr: SocketAddr = listening
        .split("Listening for nodes on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(addr.port(), 0, "the bound port is logged");

    let mut node = FakeNode::connect(addr, 424242);
    node.register("via-binary");
    wait_for("Node 424242 (via-binary) registered");

    let pid = core.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let rest = node.expect_closed();
    assert!(
        rest.iter().all(|m| m.get("NodeCommand").is_some()),
        "{rest:?}"
    );
    wait_for("HoneyBee Core stopped.");
    let status = core.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
