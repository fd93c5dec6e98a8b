//! Every command → the frames a real node sends back (PROTOCOL.md, "How real nodes answer").

use std::collections::BTreeMap;

use honeybee_protocol::{InstallPot, decode_node_frame, encode};
use serde_json::{Value, json};

use super::*;

const ID: u64 = 0x8000_0000_0000_0007;

fn node(fail_rate: f64) -> NodeModel {
    NodeModel::new(
        ID,
        &["cowrie".into(), "honnypotter".into(), "cowrie".into()],
        Behaviour {
            fail_rate,
            install_time: Duration::from_secs(2),
        },
    )
}

/// The wire JSON of a node frame's message, after a round trip through the Core's decoder.
fn wire(message: &NodeToCore) -> Value {
    let frame = encode(message);
    let decoded = decode_node_frame(&frame[..frame.len() - 1]).expect("the Core decodes it");
    assert_eq!(&decoded.message, message);
    serde_json::to_value(message).unwrap()
}

fn replies(replies: &[Reply]) -> Vec<Value> {
    replies
        .iter()
        .map(|reply| match reply {
            Reply::Now(message) => wire(message),
            Reply::Later { after, work } => json!({"later_ms": after.as_millis() as u64,
                "work": format!("{work:?}")}),
        })
        .collect()
}

fn status(pot_id: &str, pot_type: &str, status: &str) -> Value {
    json!({"PotStatusUpdate": {"node_id": ID, "pot_id": pot_id, "pot_type": pot_type,
        "status": status}})
}

fn failed(pot_id: &str, pot_type: &str, message: &str) -> Value {
    json!({"PotStatusUpdate": {"node_id": ID, "pot_id": pot_id, "pot_type": pot_type,
        "status": "Failed", "message": message}})
}

fn error(message: &str) -> Value {
    json!({"NodeEvent": {"type": "Error", "message": message}})
}

fn install(pot_id: &str, auto_start: bool) -> Command {
    Command::InstallPot(InstallPot {
        pot_id: pot_id.into(),
        honeypot_type: "cowrie".into(),
        git_url: None,
        git_branch: None,
        config: Some(BTreeMap::from([("hostname".into(), "srv04".into())])),
        auto_start,
    })
}

#[test]
fn the_configured_pots_are_installed_and_running() {
    let node = node(0.0);
    let ids: Vec<&str> = node.pots.keys().map(String::as_str).collect();
    assert_eq!(ids, ["cowrie-01", "cowrie-02", "honnypotter-01"]);
    assert_eq!(node.running_pots().len(), 3);
}

#[test]
fn every_command_is_answered_like_a_real_node() {
    let install_later = json!({"later_ms": 2000,
        "work": "FinishInstall { pot_id: \"new-01\", auto_start: true }"});
    let restart_later = json!({"later_ms": 200,
        "work": "FinishRestart { pot_id: \"cowrie-01\" }"});
    let cases: Vec<(Command, Vec<Value>)> = vec![
        (
            Command::GetInstalledPots,
            vec![
                status("cowrie-01", "cowrie", "Running"),
                status("cowrie-02", "cowrie", "Running"),
                status("honnypotter-01", "honnypotter", "Running"),
            ],
        ),
        (
            install("new-01", true),
            vec![status("new-01", "cowrie", "Installing"), install_later],
        ),
        (
            install("cowrie-01", true),
            vec![error("Pot cowrie-01 already exists")],
        ),
        (
            Command::DeployPot("cowrie-01".into()),
            vec![status("cowrie-01", "cowrie", "Running")],
        ),
        (
            Command::StopPot("cowrie-01".into()),
            vec![status("cowrie-01", "cowrie", "Stopped")],
        ),
        // Not running: nothing at all.
        (Command::StopPot("cowrie-01".into()), vec![]),
        (
            Command::RestartPot("cowrie-01".into()),
            vec![status("cowrie-01", "cowrie", "Stopped"), restart_later],
        ),
        (
            Command::GetPotStatus("honnypotter-01".into()),
            vec![status("honnypotter-01", "honnypotter", "Running")],
        ),
        (
            Command::GetPotInfo("honnypotter-01".into()),
            vec![
                json!({"PotStatusUpdate": {"node_id": ID, "pot_id": "honnypotter-01",
                "pot_type": "honnypotter", "status": "Running",
                "message": "honnypotter pot honnypotter-01"}}),
            ],
        ),
        (
            Command::GetPotLogs("cowrie-02".into()),
            vec![error("GetPotLogs not yet implemented (pot cowrie-02)")],
        ),
        (
            Command::GetPotMetrics("cowrie-02".into()),
            vec![error("GetPotMetrics not yet implemented (pot cowrie-02)")],
        ),
        (
            Command::UpdateConfig,
            vec![error("UpdateConfig not yet implemented")],
        ),
        (
            Command::Restart,
            vec![
                json!({"NodeStatusUpdate": {"node_id": ID, "status": "Stopped"}}),
                json!({"NodeStatusUpdate": {"node_id": ID, "status": "Running"}}),
                json!({"NodeEvent": {"type": "Started", "message": "Node restarted"}}),
            ],
        ),
    ];
    let mut node = node(0.0);
    for (command, expected) in cases {
        assert_eq!(replies(&node.on_command(&command)), expected, "{command:?}");
    }
}

#[test]
fn unknown_pots_get_an_error_naming_them() {
    let mut node = node(0.0);
    for command in [
        Command::DeployPot("ghost-9".into()),
        Command::StopPot("ghost-9".into()),
        Command::RestartPot("ghost-9".into()),
        Command::GetPotStatus("ghost-9".into()),
        Command::GetPotInfo("ghost-9".into()),
    ] {
        assert_eq!(
            replies(&node.on_command(&command)),
            vec![error("Pot ghost-9 not found")],
            "{command:?}"
        );
    }
    assert_eq!(
        serde_json::to_value(unknown_command()).unwrap(),
        error("Unknown command")
    );
}

#[test]
fn an_install_finishes_running_or_stopped_or_failed() {
    let mut rng = Rng::new(1);
    for (auto_start, fail_rate, expected) in [
        (true, 0.0, status("new-01", "cowrie", "Running")),
        (false, 0.0, status("new-01", "cowrie", "Stopped")),
        (
            true,
            1.0,
            failed(
                "new-01",
                "cowrie",
                "Failed to install cowrie: git clone exited with status 128",
            ),
        ),
    ] {
        let mut node = node(fail_rate);
        let replies = node.on_command(&install("new-01", auto_start));
        let Some(Reply::Later { work, .. }) = replies.last() else {
            panic!("{replies:?}");
        };
        let done: Vec<Value> = node.finish(work, &mut rng).iter().map(wire).collect();
        assert_eq!(done, vec![expected]);
        // A failed install leaves nothing behind: the Core can install it again.
        assert_eq!(node.pots.contains_key("new-01"), fail_rate == 0.0);
        // Finishing twice sends nothing more.
        assert!(node.finish(work, &mut rng).is_empty());
    }
}

#[test]
fn a_restart_finishes_running_or_failed() {
    let mut rng = Rng::new(2);
    for (fail_rate, expected) in [
        (0.0, status("cowrie-01", "cowrie", "Running")),
        (
            1.0,
            failed(
                "cowrie-01",
                "cowrie",
                "container exited with code 1 while starting",
            ),
        ),
    ] {
        let mut node = node(fail_rate);
        let work = Deferred::FinishRestart {
            pot_id: "cowrie-01".into(),
        };
        let done: Vec<Value> = node.finish(&work, &mut rng).iter().map(wire).collect();
        assert_eq!(done, vec![expected]);
    }
}

#[test]
fn a_crash_fails_a_running_pot_and_stops_its_events() {
    let mut rng = Rng::new(3);
    let mut node = node(0.0);
    for left in [2, 1, 0] {
        let update = node.crash_a_pot(&mut rng).expect("a pot was running");
        assert_eq!(wire(&update)["PotStatusUpdate"]["status"], "Failed");
        assert_eq!(node.running_pots().len(), left);
    }
    assert!(node.crash_a_pot(&mut rng).is_none());
}

#[test]
fn registration_and_heartbeat_frames() {
    let node = node(0.0);
    assert_eq!(
        wire(&node.registration("sim-00001", "127.0.0.2", 2222, None)),
        json!({"NodeRegistration": {"node_id": ID, "node_name": "sim-00001",
            "address": "127.0.0.2", "port": 2222, "node_type": "Full"}})
    );
    let with_code = node.registration("n", "a", 1, Some(SecretString::new("123456")));
    assert_eq!(wire(&with_code)["NodeRegistration"]["totp_code"], "123456");
    assert_eq!(
        wire(&node.heartbeat()),
        json!({"NodeStatusUpdate": {"node_id": ID, "status": "Running"}})
    );
}
