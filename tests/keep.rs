//! Keeping pots running, end to end with a fake node that fails pots on purpose: restarts with
//! backoff, giving up and its reset, an operator's stop respected, an unasked status confirmed
//! before the Core acts, a failed install reinstalled, the desired state installed on connect
//! and an undesired pot stopped, overrides through the API, drift, the silent-pot alert, and
//! the node policy; a pot held or given up on stays so across a restart of the Core.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::http::Api;
use common::{FakeNode, start_core, wait_until};
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-for-tests";
const WAIT: Duration = Duration::from_secs(10);

/// Short backoffs and windows, so that restarts happen in test time.
fn config(extra: &str) -> String {
    format!(
        "[api]\ntoken = \"{ADMIN}\"\n[commands]\nlist_window_ms = 100\ntimeout_secs = 2\n\
         [pots]\nbackoff_initial_secs = 0.05\nbackoff_max_secs = 0.2\nmax_restarts = 2\n\
         restart_window_secs = 60\nsilence_alert_secs = 0\n{extra}"
    )
}

/// The next command the node receives.
fn command(node: &mut FakeNode) -> Value {
    node.expect_message("NodeCommand")["command"].clone()
}

/// Connects, registers and answers the Core's `GetInstalledPots` with `pots` (id, status).
fn connect(
    core_addr: std::net::SocketAddr,
    id: u64,
    name: &str,
    pots: &[(&str, &str)],
) -> FakeNode {
    let mut node = FakeNode::connect(core_addr, id);
    node.register(name);
    assert_eq!(command(&mut node), json!({"GetInstalledPots": {}}));
    for (pot, status) in pots {
        node.send(node.pot_status(pot, status, None));
    }
    node
}

/// Waits until the Core's registry holds the pots the node reported on connecting: a report
/// and an API request travel different sockets, so a command posted at once could otherwise
/// reach the node before the report it crosses reaches the Core.
fn wait_listed(api: &Api, node_id: u64, pots: &[(&str, &str)]) {
    wait_until(WAIT, "the node's pots listed", || {
        pots.iter()
            .all(|(id, status)| pot(api, node_id, id)["status"] == *status)
    });
}

/// How many commands the Core has sent or queued for the node so far.
fn command_count(api: &Api, node_id: u64) -> usize {
    api.ok(&format!("/api/v1/nodes/{node_id}/commands?limit=1000"))["commands"]
        .as_array()
        .unwrap()
        .len()
}

fn pot(api: &Api, node_id: u64, pot_id: &str) -> Value {
    let detail = api.ok(&format!("/api/v1/nodes/{node_id}"));
    detail["honeypots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pot_id"] == pot_id)
        .cloned()
        .unwrap_or(Value::Null)
}

fn open_alert(api: &Api, kind: &str) -> Option<Value> {
    api.ok("/api/v1/alerts")["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == kind && a["cleared_at"].is_null())
        .cloned()
}

#[test]
fn a_failing_pot_is_confirmed_restarted_with_backoff_given_up_on_and_reset_by_an_operator() {
    let core = start_core(&config(""));
    let api = Api::new(core.api_addr, ADMIN);
    let mut node = connect(core.node_addr, 51, "edge", &[("cowrie-01", "Running")]);

    // Unasked: the Core confirms before it acts.
    node.send(node.pot_status("cowrie-01", "Failed", Some("segfault")));
    assert_eq!(command(&mut node), json!({"GetPotStatus": "cowrie-01"}));
    node.send(node.pot_status("cowrie-01", "Failed", Some("segfault")));
    // Confirmed: restarted after the backoff; each failed restart counts.
    for _ in 0..2 {
        assert_eq!(command(&mut node), json!({"RestartPot": "cowrie-01"}));
        node.send(node.pot_status("cowrie-01", "Failed", Some("segfault")));
    }
    // Past pots.max_restarts within the window: given up, said so, alerted.
    wait_until(WAIT, "a pot_gave_up alert", || {
        open_alert(&api, "pot_gave_up").is_some()
    });
    let given_up = pot(&api, 51, "cowrie-01");
    assert_eq!(given_up["status"], "Failed");
    assert_eq!(given_up["restarts"], 2, "{given_up}");
    assert!(
        given_up["message"].as_str().unwrap().contains("gave up"),
        "{given_up}"
    );
    let before = command_count(&api, 51);
    node.send(node.pot_status("cowrie-01", "Failed", None));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        command_count(&api, 51),
        before,
        "nothing more after giving up"
    );

    // An operator acts: the give-up is forgotten and the pot is supervised again.
    let deploy = api.post(
        "/api/v1/nodes/51/commands",
        &json!({"DeployPot": "cowrie-01"}),
    );
    assert_eq!(deploy.status, 202);
    assert_eq!(command(&mut node), json!({"DeployPot": "cowrie-01"}));
    wait_until(WAIT, "the alert cleared", || {
        open_alert(&api, "pot_gave_up").is_none()
    });
    node.send(node.pot_status("cowrie-01", "Running", None));
    node.send(node.pot_status("cowrie-01", "Failed", None));
    assert_eq!(command(&mut node), json!({"GetPotStatus": "cowrie-01"}));
}

#[test]
fn an_operators_stop_holds_and_always_restarts_an_unasked_stop() {
    let core = start_core(&config("restart = \"always\"\n"));
    let api = Api::new(core.api_addr, ADMIN);
    let mut node = connect(
        core.node_addr,
        52,
        "edge",
        &[("a", "Running"), ("b", "Running")],
    );
    // Unasked Stopped under `always`: confirmed, then restarted.
    node.send(node.pot_status("a", "Stopped", None));
    assert_eq!(command(&mut node), json!({"GetPotStatus": "a"}));
    node.send(node.pot_status("a", "Stopped", None));
    assert_eq!(command(&mut node), json!({"RestartPot": "a"}));
    node.send(node.pot_status("a", "Running", None));

    // The operator stops b: it stays stopped.
    assert_eq!(
        api.post("/api/v1/nodes/52/commands", &json!({"StopPot": "b"}))
            .status,
        202
    );
    assert_eq!(command(&mut node), json!({"StopPot": "b"}));
    node.send(node.pot_status("b", "Stopped", None));
    let before = command_count(&api, 52);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        command_count(&api, 52),
        before,
        "a held pot is not restarted"
    );
    let b = pot(&api, 52, "b");
    assert_eq!(
        (b["status"].as_str(), b["restarts"].as_u64()),
        (Some("Stopped"), Some(0))
    );
}

#[test]
fn a_pot_that_failed_installing_is_reinstalled() {
    let core = start_core(&config(""));
    let api = Api::new(core.api_addr, ADMIN);
    let mut node = connect(core.node_addr, 53, "edge", &[]);
    let install = json!({"InstallPot": {"pot_id": "web-01", "honeypot_type": "honnypotter",
        "config": {"port": 8080}, "auto_start": true}});
    assert_eq!(api.post("/api/v1/nodes/53/commands", &install).status, 202);
    let sent = command(&mut node);
    assert_eq!(sent["InstallPot"]["pot_id"], "web-01");
    node.send(node.pot_status("web-01", "Installing", None));
    node.send(node.pot_status("web-01", "Failed", Some("clone failed")));
    // Answered (the install was in flight): reinstalled from the InstallPot it last got.
    let again = command(&mut node);
    assert_eq!(again, sent, "the same InstallPot again");
}

#[test]
fn the_desired_state_is_installed_on_connect_overridden_through_the_api_and_drift_shown() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        "[nodes.edge-d.pots.web-01]\ntype = \"honnypotter\"\n[nodes.edge-d.pots.web-01.config]\nport = 8080\n",
    )
    .unwrap();
    let core = start_core(&config(&format!(
        "[fleet]\nfile = {:?}\n",
        fleet.display().to_string()
    )));
    let api = Api::new(core.api_addr, ADMIN);
    // The node runs a pot nobody wants and lacks the desired one.
    let mut node = connect(core.node_addr, 54, "edge-d", &[("old", "Running")]);
    let mut got = vec![command(&mut node), command(&mut node)];
    got.sort_by_key(|c| c.to_string());
    assert_eq!(
        got,
        [
            json!({"InstallPot": {"pot_id": "web-01", "honeypot_type": "honnypotter",
                "git_url": null, "git_branch": null, "config": {"port": "8080"},
                "auto_start": true}}),
            json!({"StopPot": "old"}),
        ]
    );
    let detail = api.ok("/api/v1/nodes/54");
    let mut drift: Vec<(String, String)> = detail["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["pot_id"].as_str().unwrap().into(),
                d["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    drift.sort();
    assert_eq!(
        drift,
        [
            ("old".into(), "not_desired".into()),
            ("web-01".into(), "missing".into())
        ]
    );
    node.send(node.pot_status("old", "Stopped", None));
    for status in ["Installing", "Running"] {
        node.send(
            json!({"PotStatusUpdate": {"node_id": 54, "pot_id": "web-01",
            "pot_type": "honnypotter", "status": status}}),
        );
    }
    let mut last = Value::Null;
    let ok = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        last = api.ok("/api/v1/nodes/54");
        last["drift"] == json!([])
    });
    assert!(ok, "drift left: {}", last);
    assert_eq!(
        pot(&api, 54, "web-01")["desired"]["honeypot_type"],
        "honnypotter"
    );

    // An override through the API: a new pot is installed, then removed again.
    let put = api.put(
        "/api/v1/nodes/54/pots/ssh-01",
        &json!({"honeypot_type": "cowrie", "config": {"hostname": "srv04"}, "restart": "always"}),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["desired"]["restart"], "always");
    let install = command(&mut node);
    assert_eq!(install["InstallPot"]["pot_id"], "ssh-01");
    node.send(node.pot_status("ssh-01", "Running", None));
    let delete = api.delete("/api/v1/nodes/54/pots/ssh-01");
    assert_eq!(delete.status, 200, "{}", delete.text());
    assert_eq!(command(&mut node), json!({"StopPot": "ssh-01"}));
    for (path, body, status) in [
        (
            "/api/v1/nodes/54/pots/x",
            json!({"honeypot_type": "cowrie", "config": {"a": {"b": 1}}}),
            400,
        ),
        (
            "/api/v1/nodes/54/pots/..",
            json!({"honeypot_type": "cowrie"}),
            400,
        ),
        (
            "/api/v1/nodes/54/pots/x",
            json!({"honeypot_type": "cowrie", "restart": "sometimes"}),
            400,
        ),
        (
            "/api/v1/nodes/54/pots/x",
            json!({"honeypot_type": "cowrie", "git_url": "https://evil.example/x.git"}),
            403,
        ),
        (
            "/api/v1/nodes/999/pots/x",
            json!({"honeypot_type": "cowrie"}),
            404,
        ),
    ] {
        let answer = api.put(path, &body);
        assert_eq!(answer.status, status, "{path} {body}: {}", answer.text());
    }
}

#[test]
fn a_silent_running_pot_raises_an_alert_that_events_clear() {
    let core = start_core(&config("silence_alert_secs = 0.4\n"));
    let api = Api::new(core.api_addr, ADMIN);
    let mut node = connect(core.node_addr, 55, "edge", &[("cowrie-01", "Running")]);
    wait_until(WAIT, "a pot_silent alert", || {
        open_alert(&api, "pot_silent").is_some()
    });
    let alert = open_alert(&api, "pot_silent").unwrap();
    assert_eq!(
        (alert["node_id"].as_u64(), alert["pot_id"].as_str()),
        (Some(55), Some("cowrie-01"))
    );
    // Events resume (reports reach the registry at most once a second).
    let deadline = std::time::Instant::now() + WAIT;
    while open_alert(&api, "pot_silent").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the alert never cleared"
        );
        node.send(json!({"PotEvent": {"node_id": 55, "pot_id": "cowrie-01",
            "event_type": "cowrie.session.connect", "data": {}}}));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_failed_node_is_restarted_by_the_node_policy() {
    let core = start_core(&config(
        "[nodes]\nrestart = \"on-failure\"\nmax_restarts = 1\n",
    ));
    let api = Api::new(core.api_addr, ADMIN);
    let mut node = connect(core.node_addr, 56, "edge", &[]);
    node.send(node.status("Failed"));
    assert_eq!(command(&mut node), json!({"Restart": {}}));
    wait_until(WAIT, "a node_failed alert", || {
        open_alert(&api, "node_failed").is_some()
    });
}

#[test]
fn the_fleet_file_is_reloaded_on_sighup_and_a_broken_one_is_refused() {
    use common::served::{BIN, Served};
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(&fleet, "[nodes.edge-h.pots.a]\ntype = \"cowrie\"\n").unwrap();
    let extra = format!(
        "[auth]\ntotp = false\n[commands]\nlist_window_ms = 100\n[fleet]\nfile = {:?}\n",
        fleet.display().to_string()
    );
    let mut served = Served::start_in(dir, &extra, "");
    let mut node = connect(served.addr, 57, "edge-h", &[]);
    assert_eq!(command(&mut node)["InstallPot"]["pot_id"], "a");
    node.send(node.pot_status("a", "Running", None));

    std::fs::write(
        &fleet,
        "[nodes.edge-h.pots.a]\ntype = \"cowrie\"\n[nodes.edge-h.pots.b]\ntype = \"cowrie\"\n",
    )
    .unwrap();
    served.signal("HUP");
    served.wait_for("Fleet file");
    assert_eq!(command(&mut node)["InstallPot"]["pot_id"], "b");

    // A broken file is refused with every problem named; the desired state in use stays.
    std::fs::write(&fleet, "[nodes.edge-h.pots.\"../x\"]\ntype = 5\n").unwrap();
    served.signal("HUP");
    let line = served.wait_for("invalid fleet file");
    assert!(line.contains("fleet.toml"), "{line}");
    served.wait_for("keeping the desired state in use");

    // At start, a broken file stops the Core, naming the file and the problem.
    let config = served.dir.path().join("broken.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nnode_port = 0\n[api]\nport = 0\n[storage]\ndir = {:?}\n[fleet]\nfile = {:?}\n",
            served.dir.path().join("other-data").display().to_string(),
            fleet.display().to_string()
        ),
    )
    .unwrap();
    let output = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fleet.toml") && stderr.contains("type"),
        "{stderr}"
    );
    // `check` says the same without starting anything.
    let checked = std::process::Command::new(BIN)
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(checked.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(
        stderr.contains("fleet.toml") && stderr.contains("type"),
        "{stderr}"
    );
    served.signal("TERM");
    let _ = served.wait_exit();
}

#[test]
fn back_to_back_reports_are_judged_on_the_latest_status() {
    let core = start_core(&config(""));
    let api = Api::new(core.api_addr, ADMIN);
    let mut node = connect(core.node_addr, 58, "edge", &[("web-01", "Stopped")]);
    wait_listed(&api, 58, &[("web-01", "Stopped")]);
    // An existing pot reinstalled by the operator fails installing, reported in one burst.
    let install = json!({"InstallPot": {"pot_id": "web-01", "honeypot_type": "honnypotter",
        "auto_start": true}});
    assert_eq!(api.post("/api/v1/nodes/58/commands", &install).status, 202);
    let sent = command(&mut node);
    node.send(node.pot_status("web-01", "Installing", None));
    node.send(node.pot_status("web-01", "Failed", Some("clone failed")));
    assert_eq!(command(&mut node), sent, "reinstalled, not restarted");
}

#[test]
fn a_desired_pot_found_stopped_is_confirmed_and_started_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(&fleet, "[nodes.edge-s.pots.a]\ntype = \"cowrie\"\n").unwrap();
    let core = start_core(&config(&format!(
        "[fleet]\nfile = {:?}\n",
        fleet.display().to_string()
    )));
    let api = Api::new(core.api_addr, ADMIN);
    let mut node = connect(core.node_addr, 59, "edge-s", &[("a", "Running")]);
    // Stopped by nobody the Core knows of (on-failure policy): confirmed, then started, each
    // start counted against pots.max_restarts (2) until the Core gives up.
    for round in 0..3 {
        node.send(node.pot_status("a", "Running", None));
        node.send(node.pot_status("a", "Stopped", None));
        assert_eq!(
            command(&mut node),
            json!({"GetPotStatus": "a"}),
            "round {round}"
        );
        node.send(node.pot_status("a", "Stopped", None));
        if round < 2 {
            assert_eq!(
                command(&mut node),
                json!({"DeployPot": "a"}),
                "round {round}"
            );
        }
    }
    wait_until(WAIT, "given up", || {
        open_alert(&api, "pot_gave_up").is_some()
    });
    assert_eq!(pot(&api, 59, "a")["restarts"], 2);
}

#[test]
fn every_operator_stop_holds_and_one_failure_is_one_restart() {
    let core = start_core(&config(
        "restart = \"always\"\nbackoff_initial_secs = 0.5\nbackoff_max_secs = 1\n",
    ));
    let api = Api::new(core.api_addr, ADMIN);
    let mut node = connect(core.node_addr, 60, "edge", &[("a", "Running")]);
    wait_listed(&api, 60, &[("a", "Running")]);
    // A broadcast stop holds too.
    let stop = api.post(
        "/api/v1/commands/broadcast",
        &json!({"command": {"StopPot": "a"}}),
    );
    assert_eq!(stop.status, 202);
    assert_eq!(command(&mut node), json!({"StopPot": "a"}));
    node.send(node.pot_status("a", "Stopped", None));
    // A stop before the Core ever saw the pot holds too.
    assert_eq!(
        api.post("/api/v1/nodes/60/commands", &json!({"StopPot": "b"}))
            .status,
        202
    );
    assert_eq!(command(&mut node), json!({"StopPot": "b"}));
    node.send(node.pot_status("b", "Stopped", None));
    let before = command_count(&api, 60);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        command_count(&api, 60),
        before,
        "held pots are left stopped"
    );

    // Failed, confirmed, then the same failure reported again during the backoff: one restart.
    assert_eq!(
        api.post("/api/v1/nodes/60/commands", &json!({"DeployPot": "a"}))
            .status,
        202
    );
    assert_eq!(command(&mut node), json!({"DeployPot": "a"}));
    node.send(node.pot_status("a", "Running", None));
    node.send(node.pot_status("a", "Failed", None));
    assert_eq!(command(&mut node), json!({"GetPotStatus": "a"}));
    node.send(node.pot_status("a", "Failed", None));
    node.send(node.pot_status("a", "Failed", None));
    node.send(node.pot_status("a", "Failed", None));
    assert_eq!(command(&mut node), json!({"RestartPot": "a"}));
    node.send(node.pot_status("a", "Running", None));
    std::thread::sleep(Duration::from_millis(800));
    let restarts: usize = api.ok("/api/v1/nodes/60/commands?limit=1000")["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["command"] == json!({"RestartPot": "a"}))
        .count();
    assert_eq!(restarts, 1);
}

#[test]
fn a_reconnected_node_is_listed_again_before_it_converges_and_still_restarted_when_failed() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(&fleet, "[nodes.edge-r.pots.p]\ntype = \"cowrie\"\n").unwrap();
    let core = start_core(&config(&format!(
        "[fleet]\nfile = {:?}\n[nodes]\nrestart = \"on-failure\"\n",
        fleet.display().to_string()
    )));
    let mut node = connect(core.node_addr, 61, "edge-r", &[("p", "Running")]);
    node.send(node.status("Failed"));
    assert_eq!(command(&mut node), json!({"Restart": {}}));
    node.send(json!({"NodeDrop": {}}));
    drop(node);
    // A new session replaces nothing here, but the Core must list the pots again: it sends
    // nothing but GetInstalledPots until the node has answered.
    let mut node = connect(core.node_addr, 61, "edge-r", &[("p", "Running")]);
    // Still Failed after coming back: the node policy restarts it again.
    node.send(node.status("Failed"));
    assert_eq!(command(&mut node), json!({"Restart": {}}));
}

#[test]
fn a_pot_an_operator_stopped_stays_stopped_after_the_core_restarts() {
    let extra = config("restart = \"always\"\n");
    let first = start_core(&extra);
    let api = Api::new(first.api_addr, ADMIN);
    let mut node = connect(first.node_addr, 62, "edge", &[("a", "Running")]);
    wait_listed(&api, 62, &[("a", "Running")]);
    assert_eq!(
        api.post("/api/v1/nodes/62/commands", &json!({"StopPot": "a"}))
            .status,
        202
    );
    assert_eq!(command(&mut node), json!({"StopPot": "a"}));
    node.send(node.pot_status("a", "Stopped", None));
    wait_until(WAIT, "the stop completed", || {
        api.ok("/api/v1/nodes/62/commands")["commands"][0]["status"] == "completed"
    });
    drop(node);
    let dir = first.stop();

    let mut restarted = common::test_config(&extra);
    restarted.storage.dir = dir.path().join("data");
    let second = honeybee_core::runtime::CoreThread::start(restarted).unwrap();
    let api = Api::new(second.api_addr, ADMIN);
    let mut node = connect(second.node_addr, 62, "edge", &[("a", "Stopped")]);
    std::thread::sleep(Duration::from_millis(600));
    let commands = api.ok("/api/v1/nodes/62/commands?limit=1000");
    let after_restart: Vec<&Value> = commands["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["command"] != json!({"GetInstalledPots": {}}) && c["status"] != "completed")
        .collect();
    assert!(after_restart.is_empty(), "{commands}");
    // Started again by the operator, it is supervised again.
    assert_eq!(
        api.post("/api/v1/nodes/62/commands", &json!({"DeployPot": "a"}))
            .status,
        202
    );
    assert_eq!(command(&mut node), json!({"DeployPot": "a"}));
    second.stop();
}

/// A pot's restart state is stored with it: a pot the Core gave up on is still given up after
/// the Core restarts (its alert open, nothing restarted), until an operator starts it again.
#[test]
fn a_given_up_pot_stays_given_up_after_the_core_restarts() {
    let extra = config("");
    let first = start_core(&extra);
    let api = Api::new(first.api_addr, ADMIN);
    let mut node = connect(first.node_addr, 63, "edge-g", &[("c", "Running")]);
    node.send(node.pot_status("c", "Failed", None));
    assert_eq!(command(&mut node), json!({"GetPotStatus": "c"}));
    node.send(node.pot_status("c", "Failed", None));
    for _ in 0..2 {
        assert_eq!(command(&mut node), json!({"RestartPot": "c"}));
        node.send(node.pot_status("c", "Failed", None));
    }
    wait_until(WAIT, "given up", || {
        pot(&api, 63, "c")["message"]
            .as_str()
            .is_some_and(|m| m.contains("gave up"))
    });
    drop(node);
    let dir = first.stop();

    let mut restarted = common::test_config(&extra);
    restarted.storage.dir = dir.path().join("data");
    let second = honeybee_core::runtime::CoreThread::start(restarted).unwrap();
    let api = Api::new(second.api_addr, ADMIN);
    let given_up = pot(&api, 63, "c");
    assert!(
        given_up["message"].as_str().unwrap().contains("gave up"),
        "{given_up}"
    );
    assert_eq!(given_up["restarts"], 2, "{given_up}");
    assert!(open_alert(&api, "pot_gave_up").is_some());
    let mut node = connect(second.node_addr, 63, "edge-g", &[("c", "Failed")]);
    wait_listed(&api, 63, &[("c", "Failed")]);
    // Its failure is not judged again: no confirmation, no restart.
    node.send(node.pot_status("c", "Failed", None));
    let before = command_count(&api, 63);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(command_count(&api, 63), before, "nothing after the restart");
    assert_eq!(
        api.post("/api/v1/nodes/63/commands", &json!({"RestartPot": "c"}))
            .status,
        202
    );
    assert_eq!(command(&mut node), json!({"RestartPot": "c"}));
    wait_until(WAIT, "the alert cleared", || {
        open_alert(&api, "pot_gave_up").is_none()
    });
    second.stop();
}
