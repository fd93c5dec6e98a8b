//! Command tracking end to end: commands submitted to the registry reach a fake node over TCP,
//! its answers settle them as CORE.md's correlation table says, and every record lands in the
//! store with its outcome.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{FakeNode, start_core, test_config, wait_until};
use honeybee_actors::commands::CommandStatus;
use honeybee_actors::registry::{
    Broadcast, GetCommand, GetNode, NodeFilter, SubmitCommand, SubmitError, Submitted,
};
use honeybee_core::runtime::CoreThread;
use honeybee_protocol::{Command, CommandError, InstallPot};
use honeybee_store::CommandRow;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// Answers come quickly in these tests; the list window is short so node-level commands
/// queued behind the registration's `GetInstalledPots` do not wait long.
const QUICK: &str = "[commands]\nlist_window_ms = 200";

fn install(pot: &str) -> Command {
    Command::InstallPot(InstallPot {
        pot_id: pot.into(),
        honeypot_type: "cowrie".into(),
        git_url: None,
        git_branch: None,
        config: None,
        auto_start: true,
    })
}

fn submit(core: &CoreThread, node_id: u64, command: Command) -> Result<Submitted, SubmitError> {
    core.ask(SubmitCommand {
        node_id,
        command,
        queue: false,
    })
    .unwrap()
}

/// Submits a command that must be sent at once; returns its id.
fn send(core: &CoreThread, node_id: u64, command: Command) -> u64 {
    let submitted = submit(core, node_id, command.clone()).unwrap();
    assert_eq!(
        submitted.status,
        CommandStatus::Sent,
        "{command:?} sent at once"
    );
    submitted.command_id
}

fn stored(core: &CoreThread, id: u64) -> Option<CommandRow> {
    core.store.command(id).unwrap()
}

/// Waits until command `id` is stored with `status`; returns its row.
fn wait_stored(core: &CoreThread, id: u64, status: &str) -> CommandRow {
    wait_until(WAIT, &format!("command {id} stored as {status}"), || {
        stored(core, id).is_some_and(|r| r.status == status)
    });
    stored(core, id).unwrap()
}

fn result_of(row: &CommandRow) -> Value {
    serde_json::from_str(row.result.as_deref().expect("a result")).unwrap()
}

fn live_status(core: &CoreThread, id: u64) -> Option<CommandStatus> {
    core.ask(GetCommand { command_id: id })
        .unwrap()
        .map(|v| v.status)
}

/// Registers a v2 node and reads the Core's `GetInstalledPots`; returns the node and that
/// command's id.
fn connect(core: &CoreThread, node_id: u64) -> (FakeNode, u64) {
    let mut node = FakeNode::connect(core.node_addr, node_id);
    node.register(&format!("node-{node_id}"));
    assert_eq!(
        node.expect_message("NodeCommand"),
        json!({"node_id": node_id, "command": {"GetInstalledPots": {}}})
    );
    wait_until(WAIT, "the registration's list stored", || {
        !core.store.commands_of(&[node_id], 100).unwrap().is_empty()
    });
    let rows = core.store.commands_of(&[node_id], 100).unwrap();
    let list = rows.last().unwrap();
    assert_eq!(list.command, r#"{"GetInstalledPots":{}}"#);
    (node, list.id)
}

/// The command a node receives next.
fn received(node: &mut FakeNode) -> Value {
    node.expect_message("NodeCommand")["command"].clone()
}

fn event(kind: &str, message: Option<&str>) -> Value {
    json!({"NodeEvent": {"type": kind, "message": message}})
}

#[test]
fn pot_commands_are_settled_by_the_pot_reports_and_errors() {
    let core = start_core(QUICK);
    let (mut node, _) = connect(&core, 11);
    // (command, the node's answers, final status, result)
    let rows: Vec<(Command, Vec<Value>, &str, Value)> = vec![
        (
            install("a"),
            vec![
                node.pot_status("a", "Installing", None),
                node.pot_status("a", "Running", Some("up")),
            ],
            "completed",
            json!({"status": "Running", "message": "up"}),
        ),
        (
            install("b"),
            vec![node.pot_status("b", "Failed", Some("clone failed"))],
            "failed",
            json!({"status": "Failed", "message": "clone failed"}),
        ),
        (
            install("a"),
            vec![event("Error", Some("pot a already exists"))],
            "failed",
            json!({"status": "Error", "message": "pot a already exists"}),
        ),
        (
            Command::DeployPot("b".into()),
            vec![
                node.pot_status("b", "Stopped", None),
                node.pot_status("b", "Running", None),
            ],
            "completed",
            json!({"status": "Running"}),
        ),
        (
            Command::DeployPot("c".into()),
            vec![node.pot_status("c", "Failed", Some("port busy"))],
            "failed",
            json!({"status": "Failed", "message": "port busy"}),
        ),
        (
            Command::StopPot("a".into()),
            vec![node.pot_status("a", "Stopped", None)],
            "completed",
            json!({"status": "Stopped"}),
        ),
        (
            Command::StopPot("zz".into()),
            vec![event("Error", Some("zz is not running"))],
            "failed",
            json!({"status": "Error", "message": "zz is not running"}),
        ),
        (
            Command::RestartPot("b".into()),
            vec![
                node.pot_status("b", "Stopped", None),
                node.pot_status("b", "Running", None),
            ],
            "completed",
            json!({"status": "Running"}),
        ),
        (
            Command::RestartPot("c".into()),
            vec![node.pot_status("c", "Failed", None)],
            "failed",
            json!({"status": "Failed"}),
        ),
        (
            Command::GetPotStatus("b".into()),
            vec![node.pot_status("b", "Running", Some("fine"))],
            "completed",
            json!({"status": "Running", "message": "fine"}),
        ),
        (
            Command::GetPotInfo("c".into()),
            vec![node.pot_status("c", "Failed", None)],
            "completed",
            json!({"status": "Failed"}),
        ),
        (
            Command::GetPotStatus("nope".into()),
            vec![event("Error", Some("Unknown pot nope"))],
            "failed",
            json!({"status": "Error", "message": "Unknown pot nope"}),
        ),
        (
            Command::GetPotLogs("b".into()),
            vec![event("Error", Some("not yet implemented"))],
            "failed",
            json!({"status": "Error", "message": "not yet implemented"}),
        ),
        (
            Command::GetPotMetrics("b".into()),
            vec![event("Alarm", Some("metrics follow"))],
            "completed",
            json!({"status": "Alarm", "message": "metrics follow"}),
        ),
    ];
    for (command, answers, status, result) in rows {
        let wire = serde_json::to_value(&command).unwrap();
        let id = send(&core, 11, command);
        assert_eq!(received(&mut node), wire);
        for answer in answers {
            node.send(answer);
        }
        let row = wait_stored(&core, id, status);
        assert_eq!(result_of(&row), result, "{wire}");
        assert_eq!(
            serde_json::from_str::<Value>(&row.command).unwrap(),
            wire,
            "stored as the wire command's JSON"
        );
        assert_eq!(row.node_id, 11);
        assert!(row.updated_at >= row.created_at);
        assert_eq!(
            live_status(&core, id),
            None,
            "final: no longer tracked live"
        );
    }
    let history = core.store.commands_of(&[11], 100).unwrap();
    assert_eq!(
        history.len(),
        15,
        "the registration's list and the fourteen above"
    );
    assert!(
        history.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
}

#[test]
fn node_commands_are_settled_by_node_status_and_events() {
    let core = start_core(QUICK);
    let (mut node, list) = connect(&core, 12);
    // The registration's list holds the node's slot for its window: a node-level command waits.
    let first = submit(&core, 12, Command::Restart).unwrap();
    assert_eq!(first.status, CommandStatus::Pending);
    assert_eq!(
        live_status(&core, first.command_id),
        Some(CommandStatus::Pending)
    );
    assert_eq!(received(&mut node), json!({"Restart": {}}));
    assert_eq!(
        result_of(&wait_stored(&core, list, "completed")),
        json!({"pots": []})
    );
    node.send(node.status("Running"));
    node.send(node.status("Stopped"));
    node.send(node.status("Running"));
    let row = wait_stored(&core, first.command_id, "completed");
    assert_eq!(result_of(&row), json!({"status": "Running"}));

    let second = send(&core, 12, Command::Restart);
    received(&mut node);
    node.send(event("Started", Some("node up")));
    let row = wait_stored(&core, second, "completed");
    assert_eq!(
        result_of(&row),
        json!({"status": "Started", "message": "node up"})
    );

    let third = send(&core, 12, Command::Restart);
    received(&mut node);
    node.send(event("Error", Some("cannot restart")));
    wait_stored(&core, third, "failed");

    let update = send(&core, 12, Command::UpdateConfig);
    assert_eq!(received(&mut node), json!({"UpdateConfig": {}}));
    node.send(event("Alarm", Some("config reloaded")));
    let row = wait_stored(&core, update, "completed");
    assert_eq!(
        result_of(&row),
        json!({"status": "Alarm", "message": "config reloaded"})
    );

    let update = send(&core, 12, Command::UpdateConfig);
    received(&mut node);
    node.send(event("Error", Some("not yet implemented")));
    wait_stored(&core, update, "failed");
}

#[test]
fn get_installed_pots_lists_what_the_window_collected_or_nothing() {
    let core = start_core("[commands]\nlist_window_ms = 500");
    let started = Instant::now();
    let (mut node, list) = connect(&core, 13);
    // No answer: the window ends and the answer is an empty list.
    let row = wait_stored(&core, list, "completed");
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert!(row.updated_at.duration_since(row.created_at).unwrap() >= Duration::from_millis(500));
    assert_eq!(result_of(&row), json!({"pots": []}));

    let asked = send(&core, 13, Command::GetInstalledPots);
    assert_eq!(received(&mut node), json!({"GetInstalledPots": {}}));
    node.send(node.pot_status("cowrie-01", "Running", None));
    node.send(node.pot_status("web-01", "Stopped", Some("idle")));
    node.send(node.pot_status("cowrie-01", "Failed", Some("crashed")));
    assert_eq!(live_status(&core, asked), Some(CommandStatus::Sent));
    let row = wait_stored(&core, asked, "completed");
    assert_eq!(
        result_of(&row),
        json!({"pots": [
            {"pot_id": "cowrie-01", "pot_type": "cowrie", "status": "Failed", "message": "crashed"},
            {"pot_id": "web-01", "pot_type": "cowrie", "status": "Stopped", "message": "idle"},
        ]})
    );
}

#[test]
fn a_second_command_for_a_pot_waits_until_the_first_is_answered() {
    let core = start_core(QUICK);
    let (mut node, _) = connect(&core, 14);
    let deploy = send(&core, 14, Command::DeployPot("a".into()));
    let stop = submit(&core, 14, Command::StopPot("a".into())).unwrap();
    assert_eq!(stop.status, CommandStatus::Pending);
    // Another pot is not held up.
    let other = send(&core, 14, Command::DeployPot("b".into()));
    assert_eq!(received(&mut node), json!({"DeployPot": "a"}));
    assert_eq!(
        received(&mut node),
        json!({"DeployPot": "b"}),
        "StopPot a is not sent yet"
    );
    assert_eq!(wait_stored(&core, stop.command_id, "pending").result, None);

    node.send(node.pot_status("a", "Running", None));
    assert_eq!(received(&mut node), json!({"StopPot": "a"}));
    wait_stored(&core, deploy, "completed");
    wait_stored(&core, stop.command_id, "sent");
    node.send(node.pot_status("a", "Stopped", None));
    wait_stored(&core, stop.command_id, "completed");
    assert_eq!(live_status(&core, other), Some(CommandStatus::Sent));
}

#[test]
fn unanswered_commands_time_out_counting_from_when_they_were_sent() {
    let core = start_core(
        "[commands]\ntimeout_secs = 0.3\ninstall_timeout_secs = 1.5\nlist_window_ms = 100",
    );
    let (mut node, _) = connect(&core, 15);
    let started = Instant::now();
    let install = send(&core, 15, install("slow"));
    let first = send(&core, 15, Command::DeployPot("a".into()));
    let queued = submit(&core, 15, Command::StopPot("a".into())).unwrap();
    assert_eq!(queued.status, CommandStatus::Pending);
    received(&mut node);
    received(&mut node);

    let row = wait_stored(&core, first, "timed_out");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        result_of(&row),
        json!({"message": "no answer within 300ms"})
    );
    // The queued one is sent when the first times out; its own clock starts then.
    assert_eq!(received(&mut node), json!({"StopPot": "a"}));
    assert_eq!(
        live_status(&core, install),
        Some(CommandStatus::Sent),
        "InstallPot has its own, longer timeout"
    );
    let row = wait_stored(&core, queued.command_id, "timed_out");
    assert!(
        row.updated_at.duration_since(row.created_at).unwrap() >= Duration::from_millis(600),
        "timed out 0.3 s after it was sent, not after it was queued"
    );
    wait_stored(&core, install, "timed_out");
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[test]
fn an_error_fails_the_command_whose_pot_it_names_else_the_oldest() {
    let core = start_core(QUICK);
    let (mut node, list) = connect(&core, 16);
    wait_stored(&core, list, "completed");
    let a = send(&core, 16, Command::DeployPot("cowrie-01".into()));
    let b = send(&core, 16, Command::DeployPot("cowrie-011".into()));
    let c = send(&core, 16, Command::UpdateConfig);
    for _ in 0..3 {
        received(&mut node);
    }
    node.send(event("Error", Some("Pot cowrie-011: image missing")));
    let row = wait_stored(&core, b, "failed");
    assert_eq!(
        result_of(&row),
        json!({"status": "Error", "message": "Pot cowrie-011: image missing"})
    );
    assert_eq!(live_status(&core, a), Some(CommandStatus::Sent));
    node.send(event("Error", Some("Unknown command")));
    wait_stored(&core, a, "failed");
    assert_eq!(live_status(&core, c), Some(CommandStatus::Sent));
    node.send(event("Error", None));
    wait_stored(&core, c, "failed");
}

#[test]
fn queued_commands_for_an_offline_node_go_out_in_order_when_it_returns() {
    let core = start_core(QUICK);
    let (mut node, _) = connect(&core, 17);
    node.send(serde_json::json!({"NodeDrop": {}}));
    node.expect_closed();
    wait_until(WAIT, "node offline", || {
        !core
            .ask(GetNode { node_id: 17 })
            .unwrap()
            .unwrap()
            .node
            .connected
    });
    assert_eq!(
        submit(&core, 17, Command::DeployPot("a".into())),
        Err(SubmitError::Offline)
    );
    let queue = |command| {
        core.ask(SubmitCommand {
            node_id: 17,
            command,
            queue: true,
        })
        .unwrap()
        .unwrap()
    };
    // Queued in this order: b before a (not the order of their pot ids).
    let deploy_b = queue(Command::DeployPot("b".into()));
    let restart = queue(Command::Restart);
    let deploy_a = queue(Command::DeployPot("a".into()));
    for s in [deploy_a, restart, deploy_b] {
        assert_eq!(s.status, CommandStatus::Pending);
        wait_stored(&core, s.command_id, "pending");
    }

    let mut node = FakeNode::connect(core.node_addr, 17);
    node.register("node-17");
    assert_eq!(
        received(&mut node),
        json!({"GetInstalledPots": {}}),
        "the Core's own first"
    );
    assert_eq!(received(&mut node), json!({"DeployPot": "b"}));
    assert_eq!(received(&mut node), json!({"DeployPot": "a"}));
    // The node's slot is the list's until its window ends.
    assert_eq!(received(&mut node), json!({"Restart": {}}));
    for s in [deploy_a, restart, deploy_b] {
        wait_stored(&core, s.command_id, "sent");
    }
    node.send(node.pot_status("a", "Running", None));
    wait_stored(&core, deploy_a.command_id, "completed");
}

#[test]
fn in_flight_commands_fail_when_the_connection_is_lost() {
    let core = start_core(QUICK);
    let (mut node, _) = connect(&core, 18);
    let deploy = send(&core, 18, Command::DeployPot("a".into()));
    received(&mut node);
    drop(node);
    let row = wait_stored(&core, deploy, "failed");
    assert_eq!(
        result_of(&row),
        json!({"message": "the connection to the node was lost before it answered"})
    );
}

#[test]
fn v1_nodes_take_no_commands() {
    let core = start_core(QUICK);
    let mut old = FakeNode::connect(core.node_addr, 19);
    let frame = json!({"version": 1, "message": old.registration("old")});
    old.send_raw(format!("{frame}\n").as_bytes());
    old.expect_message("RegistrationAck");
    wait_until(WAIT, "v1 node connected", || {
        core.ask(GetNode { node_id: 19 })
            .unwrap()
            .is_some_and(|n| n.node.connected)
    });
    assert_eq!(
        submit(&core, 19, Command::Restart),
        Err(SubmitError::LegacyProtocol)
    );
    let queued = core
        .ask(SubmitCommand {
            node_id: 19,
            command: Command::Restart,
            queue: true,
        })
        .unwrap();
    assert_eq!(queued, Err(SubmitError::LegacyProtocol));
    let reached = core
        .ask(Broadcast {
            command: Command::Restart,
            filter: NodeFilter::default(),
        })
        .unwrap();
    assert!(
        reached.is_empty(),
        "a broadcast skips v1 nodes: {reached:?}"
    );
    assert!(core.store.commands_of(&[19], 10).unwrap().is_empty());
    assert_eq!(
        submit(&core, 999, Command::Restart),
        Err(SubmitError::UnknownNode)
    );
}

#[test]
fn broadcasts_are_tracked_per_node() {
    let core = start_core(QUICK);
    let (mut a, _) = connect(&core, 21);
    let (mut b, _) = connect(&core, 22);
    let reached = core
        .ask(Broadcast {
            command: Command::GetPotStatus("cowrie-01".into()),
            filter: NodeFilter::default(),
        })
        .unwrap();
    assert_eq!(
        reached.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [21, 22]
    );
    assert_ne!(reached[0].1, reached[1].1, "one command each");
    assert_eq!(received(&mut a), json!({"GetPotStatus": "cowrie-01"}));
    assert_eq!(received(&mut b), json!({"GetPotStatus": "cowrie-01"}));
    b.send(b.pot_status("cowrie-01", "Running", None));
    let row = wait_stored(&core, reached[1].1, "completed");
    assert_eq!(row.node_id, 22);
    assert_eq!(live_status(&core, reached[0].1), Some(CommandStatus::Sent));
}

#[test]
fn command_ids_continue_after_a_restart_and_nothing_is_left_pending() {
    let first = start_core(QUICK);
    let (mut node, list) = connect(&first, 23);
    let deploy = send(&first, 23, Command::DeployPot("a".into()));
    received(&mut node);
    node.send(node.pot_status("a", "Running", None));
    wait_stored(&first, deploy, "completed");
    assert!(deploy > list);
    let stop = submit(&first, 23, Command::StopPot("a".into())).unwrap();
    let waiting = submit(&first, 23, Command::StopPot("a".into())).unwrap();
    assert_eq!(waiting.status, CommandStatus::Pending);
    received(&mut node);
    let dir = first.stop();
    drop(node);

    let mut config = test_config(QUICK);
    config.storage.dir = dir.path().join("data");
    let second = CoreThread::start(config).unwrap();
    // What was in flight lost its connection; what waited was never sent.
    let stored_of = |id| second.store.command(id).unwrap().unwrap();
    assert_eq!(stored_of(deploy).status, "completed");
    assert_eq!(stored_of(stop.command_id).status, "failed");
    let row = stored_of(waiting.command_id);
    assert_eq!(row.status, "failed");
    assert_eq!(
        result_of(&row),
        json!({"message": "the Core shut down before it could send this command"})
    );
    let mut node = FakeNode::connect(second.node_addr, 23);
    node.register("node-23");
    received(&mut node);
    wait_until(WAIT, "the new list stored", || {
        second.store.commands_of(&[23], 100).unwrap().len() == 5
    });
    let newest = second.store.commands_of(&[23], 1).unwrap().remove(0);
    assert_eq!(
        newest.id,
        waiting.command_id + 1,
        "ids continue after the stored ones"
    );
    assert_eq!(newest.command, r#"{"GetInstalledPots":{}}"#);
}

#[test]
fn every_status_change_is_published_and_every_outcome_counted() {
    use honeybee_actors::counters::Outcome;
    use honeybee_actors::feed::Change;
    let core = start_core("[commands]\ntimeout_secs = 1\nlist_window_ms = 100");
    let mut feed = core.feed.subscribe();
    let (mut node, list) = connect(&core, 24);
    let deploy = send(&core, 24, Command::DeployPot("a".into()));
    let stop = submit(&core, 24, Command::StopPot("a".into())).unwrap();
    let silent = send(&core, 24, Command::DeployPot("b".into()));
    received(&mut node);
    received(&mut node);
    node.send(node.pot_status("a", "Running", None));
    assert_eq!(received(&mut node), json!({"StopPot": "a"}));
    node.send(event("Error", Some("a: cannot stop")));
    wait_stored(&core, stop.command_id, "failed");
    wait_stored(&core, silent, "timed_out");
    wait_stored(&core, list, "completed");

    let mut seen: std::collections::BTreeMap<u64, Vec<&str>> = Default::default();
    while let Ok(change) = feed.try_recv() {
        if let Change::Command(view) = &*change {
            assert_eq!(view.node_id, 24);
            seen.entry(view.command_id)
                .or_default()
                .push(view.status.as_str());
        }
    }
    let want: std::collections::BTreeMap<u64, Vec<&str>> = [
        (list, vec!["sent", "completed"]),
        (deploy, vec!["sent", "completed"]),
        (stop.command_id, vec!["pending", "sent", "failed"]),
        (silent, vec!["sent", "timed_out"]),
    ]
    .into_iter()
    .collect();
    assert_eq!(seen, want);
    let counted: Vec<(Outcome, u64)> = core.counters.commands().collect();
    assert_eq!(
        counted,
        [
            (Outcome::Completed, 2),
            (Outcome::Failed, 1),
            (Outcome::TimedOut, 1)
        ]
    );
}

#[test]
fn the_commands_waiting_for_a_node_are_bounded() {
    let core = start_core(QUICK);
    let (_node, _) = connect(&core, 25);
    send(&core, 25, Command::GetPotStatus("a".into()));
    for _ in 0..1000 {
        let waiting = submit(&core, 25, Command::GetPotStatus("a".into())).unwrap();
        assert_eq!(waiting.status, CommandStatus::Pending);
    }
    let refused = submit(&core, 25, Command::GetPotStatus("b".into()));
    assert_eq!(refused, Err(SubmitError::QueueFull));
    assert_eq!(
        SubmitError::QueueFull.to_string(),
        "too many commands already wait for this node; try again when some are done"
    );
}

#[test]
fn nothing_invalid_is_tracked_or_sent() {
    let core = start_core("[pots]\nallowed_sources = [\"https://github.com/honeybee/\"]");
    let (mut node, _) = connect(&core, 26);
    let bad_id = submit(&core, 26, Command::DeployPot("../etc".into()));
    assert!(
        matches!(bad_id, Err(SubmitError::Invalid(CommandError::Invalid(_)))),
        "{bad_id:?}"
    );
    let with_url = |url: &str| match install("p") {
        Command::InstallPot(i) => Command::InstallPot(InstallPot {
            git_url: Some(url.into()),
            ..i
        }),
        other => other,
    };
    let refused = submit(
        &core,
        26,
        with_url("https://github.com.evil.net/honeybee/p"),
    );
    assert!(
        matches!(refused, Err(SubmitError::Invalid(CommandError::GitUrl(_)))),
        "{refused:?}"
    );
    let reached = core
        .ask(Broadcast {
            command: Command::StopPot(String::new()),
            filter: NodeFilter::default(),
        })
        .unwrap();
    assert!(reached.is_empty(), "an invalid broadcast reaches nobody");
    send(&core, 26, with_url("https://github.com/honeybee/p"));
    assert_eq!(
        received(&mut node)["InstallPot"]["git_url"],
        "https://github.com/honeybee/p",
        "the first command the node sees after its list"
    );
    wait_until(WAIT, "two commands stored", || {
        core.store.commands_of(&[26], 10).unwrap().len() == 2
    });
}
