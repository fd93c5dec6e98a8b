//! The fleet simulator (`honeybee-sim`, through its library entry point) against an in-process
//! Core with TOTP and open enrollment: every node enrolls and gets its key, comes back with a
//! code after a forced reconnect, its events are stored, and commands sent through the API
//! complete with the simulated node's answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::http::Api;
use common::{start_core, wait_until};
use honeybee_sim::{SimConfig, SimHandle};
use serde_json::{Value, json};

const ADMIN: &str = "sim-test-admin-token";
const CONFIG: &str = "[auth]\ntotp = true\nenrollment = \"open\"\n\
[api]\ntoken = \"sim-test-admin-token\"\n\
[commands]\nlist_window_ms = 200\n";
const WAIT: Duration = Duration::from_secs(20);
const NODES: usize = 20;

/// Polls a command until it leaves `pending`/`sent`; its JSON.
fn outcome(api: &Api, id: u64) -> Value {
    let mut last = Value::Null;
    wait_until(WAIT, &format!("command {id} settled"), || {
        last = api.ok(&format!("/api/v1/commands/{id}"));
        !matches!(last["status"].as_str(), Some("pending" | "sent"))
    });
    last
}

fn send(api: &Api, node: &str, command: Value) -> u64 {
    let answer = api.post(&format!("/api/v1/nodes/{node}/commands"), &command);
    assert_eq!(answer.status, 202, "{}", answer.text());
    answer.json()["command_id"].as_u64().unwrap()
}

#[test]
fn a_simulated_fleet_enrolls_reconnects_with_codes_sends_events_and_answers_commands() {
    let core = start_core(CONFIG);
    let api = Api::new(core.api_addr, ADMIN);
    let sim = SimHandle::start(SimConfig {
        core: core.node_addr.to_string(),
        nodes: NODES,
        // A bound in case the test fails half way; the test stops the fleet itself.
        duration: Some(Duration::from_secs(60)),
        events_per_sec: 200.0,
        heartbeat: Duration::from_secs(1),
        seed: 42,
        name_prefix: "e2e".into(),
        install_time: Duration::from_millis(200),
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .unwrap();

    // Open enrollment: every node registers without a code and is handed its key.
    wait_until(WAIT, "every node registered with a key", || {
        let r = sim.report();
        r.registered == NODES as i64 && r.keys_received == NODES as u64
    });
    // A forced reconnect: every node comes back, this time with a TOTP code of its key.
    sim.control()
        .drop_connections(1, Duration::from_millis(100));
    wait_until(WAIT, "every node back with a code", || {
        let r = sim.report();
        r.registrations_with_code == NODES as u64 && r.registered == NODES as i64
    });

    // The Core agrees: twenty enrolled nodes, all connected again, each one lost and back.
    let mut nodes = Vec::new();
    wait_until(WAIT, "every node connected in the API", || {
        nodes = api.ok("/api/v1/nodes")["nodes"].as_array().unwrap().clone();
        nodes.len() == NODES && nodes.iter().all(|n| n["connected"] == true)
    });
    for node in &nodes {
        assert_eq!(node["enrollment"], "active", "{node}");
        assert!(node["node_id"].as_u64().unwrap() >= 1 << 63, "{node}");
        assert!(node["node_name"].as_str().unwrap().starts_with("e2e-"));
        let id = node["node_id_str"].as_str().unwrap();
        let detail = api.ok(&format!("/api/v1/nodes/{id}"));
        let history: Vec<&str> = detail["status_history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["to"].as_str().unwrap())
            .collect();
        let lost = history.iter().position(|s| *s == "Unknown");
        assert!(
            lost.is_some_and(|at| history[at..].contains(&"Connected")),
            "{id}: {history:?}"
        );
        // Its pots, learned from its answer to GetInstalledPots.
        let mut pots: Vec<&str> = detail["honeypots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pot_id"].as_str().unwrap())
            .collect();
        pots.sort_unstable();
        assert_eq!(pots, ["cowrie-01", "honnypotter-01"], "{id}");
    }

    // Commands through the API complete with the simulated node's answers.
    let target = nodes[3]["node_id_str"].as_str().unwrap().to_owned();
    let install = send(
        &api,
        &target,
        json!({"InstallPot": {"pot_id": "web-02", "honeypot_type": "honnypotter",
            "config": {"port": 8080}, "auto_start": true}}),
    );
    let done = outcome(&api, install);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["status"], "Running", "{done}");
    let status = outcome(&api, send(&api, &target, json!({"GetPotStatus": "web-02"})));
    assert_eq!(status["status"], "completed", "{status}");
    let logs = outcome(
        &api,
        send(&api, &target, json!({"GetPotLogs": "cowrie-01"})),
    );
    assert_eq!(logs["status"], "failed", "{logs}");
    let stop = outcome(&api, send(&api, &target, json!({"StopPot": "cowrie-01"})));
    assert_eq!(stop["result"]["status"], "Stopped", "{stop}");

    // Let the events flow for a couple of seconds (200/s) before stopping the fleet.
    wait_until(WAIT, "500 events sent", || sim.report().events_sent >= 500);
    let report = sim.stop().unwrap();
    assert_eq!(
        report.registrations_accepted,
        2 * NODES as u64,
        "{report:?}"
    );
    assert!(report.refusals.is_empty(), "{:?}", report.refusals);
    assert!(
        report.protocol_errors.is_empty(),
        "{:?}",
        report.protocol_errors
    );
    assert_eq!(report.commands_by_kind["InstallPot"], 1);
    assert!(report.commands_by_kind["GetInstalledPots"] >= 2 * NODES as u64);
    assert!(report.events_sent >= 500, "{report:?}");

    // Every event the fleet sent is stored, and they are the kinds the pots make.
    let mut stats = Value::Null;
    wait_until(WAIT, "every event stored", || {
        stats = api.ok("/api/v1/stats");
        stats["total_events"].as_u64() == Some(report.events_sent)
    });
    assert!(stats["by_pot_type"]["cowrie"].as_u64() > Some(0), "{stats}");
    assert!(
        stats["by_pot_type"]["honnypotter"].as_u64() > Some(0),
        "{stats}"
    );
    assert!(
        stats["top_src_ips"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
}

#[test]
fn a_simulated_fleet_connects_over_tls_with_client_certificates() {
    let pki = common::certs::TestPki::generate();
    let core = start_core(&format!(
        "[tls]\nenabled = true\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\n\
         [api]\ntoken = \"sim-test-admin-token\"\n",
        pki.server_cert.display().to_string(),
        pki.server_key.display().to_string(),
        pki.ca_cert.display().to_string(),
    ));
    let api = Api::new(core.api_addr, ADMIN);
    let sim = SimHandle::start(SimConfig {
        core: core.node_addr.to_string(),
        nodes: 5,
        duration: Some(Duration::from_secs(60)),
        events_per_sec: 50.0,
        seed: 7,
        name_prefix: "tls".into(),
        tls: Some(honeybee_sim::tls::TlsSettings {
            ca: pki.ca_cert.clone(),
            server_name: "127.0.0.1".into(),
            client_cert: Some((pki.client_cert.clone(), pki.client_key.clone())),
        }),
        ..SimConfig::default()
    })
    .unwrap();
    wait_until(WAIT, "5 TLS nodes sending events", || {
        let r = sim.report();
        r.registered == 5 && r.events_sent >= 20
    });
    let nodes = api.ok("/api/v1/nodes")["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 5);
    assert!(nodes.iter().all(|n| n["connected"] == true), "{nodes:?}");
    let report = sim.stop().unwrap();
    assert_eq!(report.connect_failures + report.io_errors, 0, "{report:?}");
    wait_until(WAIT, "the TLS fleet's events stored", || {
        api.ok("/api/v1/stats")["total_events"].as_u64() == Some(report.events_sent)
    });
}
