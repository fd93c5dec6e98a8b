//! Restarts nobody notices, on the real binary: an accepted TOTP step is durable before its
//! ack, so after a clean stop or a `kill -9` a node gets back in with its next code at once,
//! and the code accepted before still counts as a replay; a whole simulated fleet is back
//! within seconds of the Core's ports opening, without a lockout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::served::Served;
use common::totp::{code_for, enroll, register, step_now};
use common::{FakeNode, wait_until};
use honeybee_sim::{SimConfig, SimHandle};

/// A free port on 127.0.0.1, so a restarted Core listens where its nodes reconnect.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The sum of a counter's samples with `label` in `/metrics` (0 when absent).
fn metric(api: SocketAddr, name: &str, label: &str) -> u64 {
    let answer = common::http::raw(api, "GET", "/metrics", None, None);
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer
        .text()
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Registers node 8001 (`edge-r`) with the code of `step` and expects the answer to start with
/// `expected`.
fn expect_ack(addr: SocketAddr, key: &str, step: u64, expected: &str) {
    expect_ack_of(addr, (8001, "edge-r"), key, step, expected);
}

fn expect_ack_of(addr: SocketAddr, node: (u64, &str), key: &str, step: u64, expected: &str) {
    let mut fake = FakeNode::connect(addr, node.0);
    let ack = register(&mut fake, node.1, Some(code_for(key, step)));
    let said = if ack["accepted"] == true {
        "accepted".to_owned()
    } else {
        ack["message"].as_str().unwrap_or_default().to_owned()
    };
    assert!(said.starts_with(expected), "step {step}: {ack}");
    if ack["accepted"] == true {
        assert!(ack.get("totp_key").is_none(), "no new key: {ack}");
    }
}

/// Registers in step S, stops the Core with `signal` right after the ack, starts it again:
/// S is a replay (as often as anybody likes: never a lockout), S + 1 gets in at once.
fn next_code_right_after(signal: &str) {
    let port = free_port();
    // A commit interval far longer than the test: only the commit before the ack can have
    // stored the step before the kill.
    let config = format!(
        "[server]\nnode_port = {port}\n[api]\nport = 0\npublic_metrics = true\n\
         [auth]\ntotp = true\nmax_failures = 3\n[storage]\ncommit_interval_ms = 60000\n"
    );
    let served = Served::start_with(tempfile::tempdir().unwrap(), &config, "");
    let key = enroll(served.addr, 8001, "edge-r");
    let step = step_now();
    expect_ack(served.addr, &key, step, "accepted");
    served.signal(signal);
    let (_, dir) = served.wait_exit();

    let mut served = Served::start_with(dir, &config, "");
    for _ in 0..5 {
        expect_ack(served.addr, &key, step, "AUTHENTICATION_FAILED: replayed");
    }
    expect_ack(served.addr, &key, step + 1, "accepted");
    let api = served.api_addr();
    assert_eq!(metric(api, "honeybee_auth_failures_total", "locked_out"), 0);
    served.signal("TERM");
    served.wait_exit();
}

#[test]
fn after_sigterm_the_next_code_gets_in_and_the_last_one_is_a_replay() {
    next_code_right_after("TERM");
}

#[test]
fn after_kill_9_the_next_code_gets_in_and_the_last_one_is_a_replay() {
    next_code_right_after("KILL");
}

const FLEET: usize = 2_000;

/// The whole fleet registered again since `before` registrations with a code.
fn fleet_back(sim: &SimHandle, before: u64) -> bool {
    let report = sim.report();
    report.registered == FLEET as i64 && report.registrations_with_code >= before + FLEET as u64
}

/// Stops the Core with `signal` at least 30 s after the fleet's last registration (so the old
/// start-up floor would have refused every node), starts it again on the same ports and store,
/// and answers how long after its node port opened the whole fleet was registered again.
fn restart_fleet(
    served: Served,
    config: &str,
    sim: &SimHandle,
    signal: &str,
) -> (Served, Duration) {
    std::thread::sleep(Duration::from_secs(31));
    let before = sim.report().registrations_with_code;
    served.signal(signal);
    let (_, dir) = served.wait_exit();
    let mut served = Served::start_with(dir, config, "");
    let opened = Instant::now();
    wait_until(
        Duration::from_secs(60),
        "the fleet registered again",
        || fleet_back(sim, before),
    );
    let elapsed = opened.elapsed();
    // Not one line per node: a few, then a summary.
    std::thread::sleep(Duration::from_millis(200));
    let lines = served.lines_so_far();
    let churn = lines.iter().filter(|l| l.contains("registered")).count();
    assert!(
        churn <= 40,
        "{churn} log lines about registrations for {FLEET} nodes:\n{}",
        lines.join("\n")
    );
    (served, elapsed)
}

#[test]
fn a_whole_fleet_is_back_within_seconds_of_a_restart_clean_or_not() {
    let port = free_port();
    let config = format!(
        "[server]\nnode_port = {port}\n[api]\nport = 0\npublic_metrics = true\n\
         [auth]\ntotp = true\nenrollment = \"open\"\n[limits]\nmax_unregistered = {FLEET}\n"
    );
    let served = Served::start_with(tempfile::tempdir().unwrap(), &config, "");
    let sim = SimHandle::start(SimConfig {
        core: served.addr.to_string(),
        nodes: FLEET,
        // A bound in case the test fails half way; the test stops the fleet itself.
        duration: Some(Duration::from_secs(300)),
        events_per_sec: 100.0,
        heartbeat: Duration::from_secs(10),
        seed: 12,
        name_prefix: "restart".into(),
        backoff_initial: Duration::from_millis(200),
        backoff_max: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .unwrap();
    wait_until(Duration::from_secs(60), "every node enrolled", || {
        let r = sim.report();
        r.registered == FLEET as i64 && r.keys_received == FLEET as u64
    });
    // Every node has registered with a code once: its identity holds an accepted step.
    let enrolled = sim.report().registrations_with_code;
    sim.control()
        .drop_connections(1, Duration::from_millis(100));
    wait_until(
        Duration::from_secs(60),
        "every node back with a code",
        || fleet_back(&sim, enrolled),
    );

    let mut took = Vec::new();
    let mut served = served;
    for signal in ["TERM", "KILL"] {
        let (again, elapsed) = restart_fleet(served, &config, &sim, signal);
        served = again;
        took.push((signal, elapsed));
    }
    let mut served = served;
    let api = served.api_addr();
    let report = sim.stop().unwrap();
    eprintln!(
        "The fleet was back after: {took:?}; refusals: {:?}",
        report.refusals
    );
    for (signal, elapsed) in took {
        assert!(
            elapsed <= Duration::from_secs(10),
            "after {signal}: {elapsed:?} until all {FLEET} nodes were registered again"
        );
    }
    assert_eq!(metric(api, "honeybee_auth_failures_total", "locked_out"), 0);
    assert_eq!(
        report.refusals.get("LOCKED_OUT"),
        None,
        "{:?}",
        report.refusals
    );
    served.signal("TERM");
    served.wait_exit();
}

/// While the store cannot commit, an accepted registration gets no ack (an ack would promise
/// a step the store may never record): the Core closes the connection after its bound, and
/// once the store is back the step it took is a replay and the next one gets in.
#[test]
fn no_ack_is_written_before_the_step_is_stored() {
    let core = common::start_core("[auth]\ntotp = true\nenrollment = \"open\"");
    let key = enroll(core.node_addr, 8101, "edge-s");
    let db = rusqlite::Connection::open(core.dir().join("data").join("honeybee.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();

    let stream = std::net::TcpStream::connect(core.node_addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut node = FakeNode::over(Box::new(stream), 8101);
    let step = step_now();
    let asked = Instant::now();
    let mut registration = node.registration("edge-s");
    registration["NodeRegistration"]["totp_code"] = code_for(&key, step).into();
    node.send(registration);
    let frames = node.expect_closed();
    assert!(
        frames.is_empty(),
        "nothing before the store commits: {frames:?}"
    );
    assert!(
        asked.elapsed() >= Duration::from_secs(4),
        "closed after {:?}",
        asked.elapsed()
    );

    db.execute_batch("COMMIT").unwrap();
    let node = (8101, "edge-s");
    expect_ack_of(
        core.node_addr,
        node,
        &key,
        step,
        "AUTHENTICATION_FAILED: replayed",
    );
    expect_ack_of(core.node_addr, node, &key, step + 1, "accepted");
}
