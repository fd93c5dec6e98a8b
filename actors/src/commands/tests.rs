//! The command book against every row of CORE.md's correlation table, its slots and queues,
//! its timeouts and its bounds, with an injected clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use honeybee_protocol::{Command, InstallPot, NodeEventKind, NodeStatus, PotStatus};
use serde_json::{Value, json};

use super::*;
use crate::settings::CommandSettings;

/// An operator's command.
fn order(id: u64, command: Command, place: Place) -> Order {
    Order {
        id,
        command,
        origin: Origin::Operator,
        place,
    }
}

fn settings() -> CommandSettings {
    CommandSettings {
        timeout: Duration::from_secs(30),
        install_timeout: Duration::from_secs(600),
        list_window: Duration::from_secs(2),
        max_waiting: 3,
        ..CommandSettings::default()
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn install(pot: &str) -> Command {
    Command::InstallPot(InstallPot {
        pot_id: pot.into(),
        honeypot_type: "cowrie".into(),
        git_url: None,
        git_branch: None,
        config: None,
        auto_start: false,
    })
}

fn deploy(pot: &str) -> Command {
    Command::DeployPot(pot.into())
}

/// What the node does next, at `at` seconds after the command was sent.
#[derive(Debug, Clone, Copy)]
enum Input {
    Pot(&'static str, PotStatus, Option<&'static str>),
    Event(NodeEventKind, Option<&'static str>),
    Status(NodeStatus),
    /// The command's deadline check fires this many seconds after it was sent.
    Expire(f64),
}

use Input::{Event, Expire, Pot, Status};
use NodeEventKind as E;
use PotStatus as P;

struct Tracked {
    book: CommandBook,
    t0: Now,
    next_id: u64,
}

impl Tracked {
    fn new() -> Tracked {
        Tracked {
            book: CommandBook::default(),
            t0: Now::current(),
            next_id: 1,
        }
    }

    fn at(&self, s: f64) -> Now {
        self.t0.after(secs(s))
    }

    /// Submits to a connected node at `s`; returns the id and the changes.
    fn submit_at(&mut self, s: f64, command: Command) -> (u64, Changes) {
        let id = self.next_id;
        self.next_id += 1;
        let now = self.at(s);
        let changes = self
            .book
            .submit(order(id, command, Place::Back), true, now, &settings())
            .unwrap();
        (id, changes)
    }

    fn feed(&mut self, id: u64, input: Input, s: f64) -> Changes {
        let now = self.at(s);
        let settings = settings();
        match input {
            Pot(pot, status, message) => self
                .book
                .pot_report(pot, "cowrie", status, message, now, &settings),
            Event(kind, text) => self.book.node_event(kind, text, now, &settings),
            Status(status) => self.book.node_status(status, now, &settings),
            Expire(after) => self.book.expire(id, self.at(after), &settings),
        }
    }
}

fn statuses(changes: &Changes) -> Vec<(u64, CommandStatus)> {
    changes.iter().map(|r| (r.id, r.status)).collect()
}

/// Every row of the correlation table: a command, what the node answers, and how the command
/// ends (`None`: still `sent`) with which result.
#[test]
fn correlation_table() {
    use CommandStatus::{Completed, Failed, TimedOut};
    let rows: Vec<(Command, Vec<Input>, Option<CommandStatus>, Value)> = vec![
        // InstallPot: Installing is progress; Stopped or Running completes it.
        (
            install("a"),
            vec![Pot("a", P::Installing, None)],
            None,
            Value::Null,
        ),
        (
            install("a"),
            vec![
                Pot("a", P::Installing, None),
                Pot("a", P::Stopped, Some("installed")),
            ],
            Some(Completed),
            json!({"status": "Stopped", "message": "installed"}),
        ),
        (
            install("a"),
            vec![Pot("a", P::Running, None)],
            Some(Completed),
            json!({"status": "Running"}),
        ),
        (
            install("a"),
            vec![Pot("a", P::Failed, Some("clone failed"))],
            Some(Failed),
            json!({"status": "Failed", "message": "clone failed"}),
        ),
        (
            install("a"),
            vec![Event(E::Error, Some("pot a already exists"))],
            Some(Failed),
            json!({"status": "Error", "message": "pot a already exists"}),
        ),
        (
            install("a"),
            vec![Pot("b", P::Running, None)],
            None,
            Value::Null,
        ),
        // DeployPot: Running; Failed or Error.
        (
            deploy("a"),
            vec![Pot("a", P::Stopped, None)],
            None,
            Value::Null,
        ),
        (
            deploy("a"),
            vec![Pot("a", P::Stopped, None), Pot("a", P::Running, None)],
            Some(Completed),
            json!({"status": "Running"}),
        ),
        (
            deploy("a"),
            vec![Pot("a", P::Failed, Some("port busy"))],
            Some(Failed),
            json!({"status": "Failed", "message": "port busy"}),
        ),
        (
            deploy("a"),
            vec![Event(E::Error, None)],
            Some(Failed),
            json!({"status": "Error"}),
        ),
        // StopPot: Stopped; only an Error fails it.
        (
            Command::StopPot("a".into()),
            vec![Pot("a", P::Running, None), Pot("a", P::Failed, None)],
            None,
            Value::Null,
        ),
        (
            Command::StopPot("a".into()),
            vec![Pot("a", P::Stopped, None)],
            Some(Completed),
            json!({"status": "Stopped"}),
        ),
        (
            Command::StopPot("a".into()),
            vec![Event(E::Error, Some("not running"))],
            Some(Failed),
            json!({"status": "Error", "message": "not running"}),
        ),
        // RestartPot: Running after it was sent (Stopped on the way); Failed or Error.
        (
            Command::RestartPot("a".into()),
            vec![Pot("a", P::Stopped, None)],
            None,
            Value::Null,
        ),
        (
            Command::RestartPot("a".into()),
            vec![Pot("a", P::Stopped, None), Pot("a", P::Running, None)],
            Some(Completed),
            json!({"status": "Running"}),
        ),
        (
            Command::RestartPot("a".into()),
            vec![Pot("a", P::Failed, None)],
            Some(Failed),
            json!({"status": "Failed"}),
        ),
        (
            Command::RestartPot("a".into()),
            vec![Event(E::Error, None)],
            Some(Failed),
            json!({"status": "Error"}),
        ),
        // GetPotStatus, GetPotInfo: any report for that pot; Error.
        (
            Command::GetPotStatus("a".into()),
            vec![Pot("b", P::Running, None)],
            None,
            Value::Null,
        ),
        (
            Command::GetPotStatus("a".into()),
            vec![Pot("a", P::Installing, None)],
            Some(Completed),
            json!({"status": "Installing"}),
        ),
        (
            Command::GetPotInfo("a".into()),
            vec![Pot("a", P::Failed, Some("crashed"))],
            Some(Completed),
            json!({"status": "Failed", "message": "crashed"}),
        ),
        (
            Command::GetPotStatus("a".into()),
            vec![Event(E::Error, Some("Unknown pot a"))],
            Some(Failed),
            json!({"status": "Error", "message": "Unknown pot a"}),
        ),
        (
            Command::GetPotInfo("a".into()),
            vec![Event(E::Error, None)],
            Some(Failed),
            json!({"status": "Error"}),
        ),
        // GetInstalledPots: the end of the window, with the pots reported (none is an answer);
        // nothing fails it.
        (
            Command::GetInstalledPots,
            vec![
                Pot("a", P::Running, None),
                Pot("b", P::Stopped, Some("idle")),
                Pot("a", P::Stopped, None),
                Event(E::Error, Some("boom")),
                Expire(1.9),
            ],
            None,
            Value::Null,
        ),
        (
            Command::GetInstalledPots,
            vec![
                Pot("a", P::Running, None),
                Pot("b", P::Stopped, Some("idle")),
                Pot("a", P::Stopped, None),
                Expire(2.0),
            ],
            Some(Completed),
            json!({"pots": [
                {"pot_id": "a", "pot_type": "cowrie", "status": "Stopped", "message": null},
                {"pot_id": "b", "pot_type": "cowrie", "status": "Stopped", "message": "idle"}]}),
        ),
        (
            Command::GetInstalledPots,
            vec![Expire(2.0)],
            Some(Completed),
            json!({"pots": []}),
        ),
        // Restart: Started, or Running after a Stopped; Error.
        (
            Command::Restart,
            vec![Status(NodeStatus::Running), Event(E::Alarm, None)],
            None,
            Value::Null,
        ),
        (
            Command::Restart,
            vec![Event(E::Started, Some("node up"))],
            Some(Completed),
            json!({"status": "Started", "message": "node up"}),
        ),
        (
            Command::Restart,
            vec![
                Status(NodeStatus::Stopped),
                Status(NodeStatus::Deploying),
                Status(NodeStatus::Running),
            ],
            Some(Completed),
            json!({"status": "Running"}),
        ),
        (
            Command::Restart,
            vec![Event(E::Error, Some("cannot"))],
            Some(Failed),
            json!({"status": "Error", "message": "cannot"}),
        ),
        // UpdateConfig, GetPotLogs, GetPotMetrics: any non-error event; Error.
        (
            Command::UpdateConfig,
            vec![Event(E::Alarm, Some("config reloaded"))],
            Some(Completed),
            json!({"status": "Alarm", "message": "config reloaded"}),
        ),
        (
            Command::UpdateConfig,
            vec![Event(E::Error, Some("not yet implemented"))],
            Some(Failed),
            json!({"status": "Error", "message": "not yet implemented"}),
        ),
        (
            Command::GetPotLogs("a".into()),
            vec![Pot("a", P::Running, None)],
            None,
            Value::Null,
        ),
        (
            Command::GetPotLogs("a".into()),
            vec![Event(E::Stopped, None)],
            Some(Completed),
            json!({"status": "Stopped"}),
        ),
        (
            Command::GetPotMetrics("a".into()),
            vec![Event(E::Started, None)],
            Some(Completed),
            json!({"status": "Started"}),
        ),
        (
            Command::GetPotMetrics("a".into()),
            vec![Event(E::Error, None)],
            Some(Failed),
            json!({"status": "Error"}),
        ),
        // No answer before the timeout (InstallPot has its own).
        (deploy("a"), vec![Expire(29.9)], None, Value::Null),
        (
            deploy("a"),
            vec![Expire(30.0)],
            Some(TimedOut),
            json!({"message": "no answer within 30s"}),
        ),
        (
            Command::Restart,
            vec![Expire(30.0)],
            Some(TimedOut),
            json!({"message": "no answer within 30s"}),
        ),
        (install("a"), vec![Expire(599.0)], None, Value::Null),
        (
            install("a"),
            vec![Expire(600.0)],
            Some(TimedOut),
            json!({"message": "no answer within 600s"}),
        ),
    ];
    for (row, (command, inputs, want, want_result)) in rows.into_iter().enumerate() {
        let mut t = Tracked::new();
        let (id, sent) = t.submit_at(0.0, command.clone());
        assert_eq!(statuses(&sent), [(id, CommandStatus::Sent)], "row {row}");
        let mut changes = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            changes.extend(t.feed(id, *input, 0.1 * (i + 1) as f64));
        }
        let what = format!("row {row}: {command:?} after {inputs:?}");
        match want {
            None => {
                assert!(changes.is_empty(), "{what}: {changes:?}");
                assert_eq!(
                    t.book.get(id).map(|r| r.status),
                    Some(CommandStatus::Sent),
                    "{what}"
                );
            }
            Some(status) => {
                assert_eq!(statuses(&changes), [(id, status)], "{what}");
                assert_eq!(changes[0].result.as_ref(), Some(&want_result), "{what}");
                assert_eq!(changes[0].deadline, sent[0].deadline, "{what}");
                assert_eq!((t.book.in_flight(), t.book.waiting()), (0, 0), "{what}");
            }
        }
    }
}

#[test]
fn pot_verdicts_follow_the_table_exactly() {
    use PotStatus::*;
    let c = Some(Verdict::Completed);
    let f = Some(Verdict::Failed);
    // Installing, Running, Stopped, Failed
    let table: Vec<(Command, [Option<Verdict>; 4])> = vec![
        (install("a"), [None, c, c, f]),
        (deploy("a"), [None, c, None, f]),
        (Command::StopPot("a".into()), [None, None, c, None]),
        (Command::RestartPot("a".into()), [None, c, None, f]),
        (Command::GetPotStatus("a".into()), [c, c, c, c]),
        (Command::GetPotInfo("a".into()), [c, c, c, c]),
        (Command::GetPotLogs("a".into()), [None; 4]),
        (Command::GetPotMetrics("a".into()), [None; 4]),
        (Command::Restart, [None; 4]),
        (Command::UpdateConfig, [None; 4]),
        (Command::GetInstalledPots, [None; 4]),
    ];
    for (command, want) in table {
        let got = [Installing, Running, Stopped, Failed].map(|s| pot_verdict(&command, s));
        assert_eq!(got, want, "{command:?}");
    }
}

#[test]
fn one_command_in_flight_per_pot_and_per_node_the_rest_queue_in_order() {
    let mut t = Tracked::new();
    let (deploy_a, c1) = t.submit_at(0.0, deploy("a"));
    let (stop_a, c2) = t.submit_at(0.0, Command::StopPot("a".into()));
    let (status_a, c3) = t.submit_at(0.0, Command::GetPotStatus("a".into()));
    let (deploy_b, c4) = t.submit_at(0.0, deploy("b"));
    let (restart, c5) = t.submit_at(0.0, Command::Restart);
    let (update, c6) = t.submit_at(0.0, Command::UpdateConfig);
    assert_eq!(statuses(&c1), [(deploy_a, CommandStatus::Sent)]);
    assert_eq!(statuses(&c2), [(stop_a, CommandStatus::Pending)]);
    assert_eq!(statuses(&c3), [(status_a, CommandStatus::Pending)]);
    assert_eq!(statuses(&c4), [(deploy_b, CommandStatus::Sent)]);
    assert_eq!(statuses(&c5), [(restart, CommandStatus::Sent)]);
    assert_eq!(statuses(&c6), [(update, CommandStatus::Pending)]);
    assert_eq!((t.book.in_flight(), t.book.waiting()), (3, 3));

    // The pot's answer settles its command and releases the next one for that pot only.
    let changes = t.feed(0, Pot("a", P::Running, None), 1.0);
    assert_eq!(
        statuses(&changes),
        [
            (deploy_a, CommandStatus::Completed),
            (stop_a, CommandStatus::Sent)
        ]
    );
    let changes = t.feed(0, Pot("a", P::Stopped, None), 2.0);
    assert_eq!(
        statuses(&changes),
        [
            (stop_a, CommandStatus::Completed),
            (status_a, CommandStatus::Sent)
        ]
    );
    let changes = t.feed(0, Event(E::Started, None), 3.0);
    assert_eq!(
        statuses(&changes),
        [
            (restart, CommandStatus::Completed),
            (update, CommandStatus::Sent)
        ]
    );
    assert_eq!(t.book.waiting(), 0);
}

#[test]
fn waiting_commands_do_not_time_out_their_clock_starts_when_sent() {
    let mut t = Tracked::new();
    let (first, _) = t.submit_at(0.0, deploy("a"));
    let (second, _) = t.submit_at(0.0, Command::StopPot("a".into()));
    assert!(
        t.feed(second, Expire(31.0), 0.0).is_empty(),
        "pending: no deadline"
    );
    let changes = t.feed(0, Pot("a", P::Running, None), 25.0);
    assert_eq!(changes[1].id, second);
    assert_eq!(changes[1].deadline, Some(t.at(55.0).instant));
    assert!(t.feed(second, Expire(54.9), 0.0).is_empty());
    let changes = t.feed(second, Expire(55.0), 0.0);
    assert_eq!(statuses(&changes), [(second, CommandStatus::TimedOut)]);
    assert!(
        t.feed(first, Expire(100.0), 0.0).is_empty(),
        "already final"
    );
}

#[test]
fn a_timeout_releases_the_next_command_for_its_slot() {
    let mut t = Tracked::new();
    let (first, _) = t.submit_at(0.0, Command::UpdateConfig);
    let (second, _) = t.submit_at(0.0, Command::Restart);
    let changes = t.feed(first, Expire(30.0), 0.0);
    assert_eq!(
        statuses(&changes),
        [
            (first, CommandStatus::TimedOut),
            (second, CommandStatus::Sent)
        ]
    );
}

#[test]
fn an_error_fails_the_command_whose_pot_it_names_else_the_oldest() {
    let mut t = Tracked::new();
    let (list, _) = t.submit_at(0.0, Command::GetInstalledPots);
    let (a, _) = t.submit_at(0.1, deploy("cowrie-01"));
    let (b, _) = t.submit_at(0.2, deploy("cowrie-011"));
    let (c, _) = t.submit_at(0.3, Command::GetPotStatus("web".into()));
    let named = t.feed(
        0,
        Event(E::Error, Some("Pot cowrie-011 failed to start")),
        1.0,
    );
    assert_eq!(statuses(&named), [(b, CommandStatus::Failed)]);
    let named = t.feed(0, Event(E::Error, Some("Unknown pot: web.")), 1.0);
    assert_eq!(statuses(&named), [(c, CommandStatus::Failed)]);
    // No pot named: the oldest that can fail (GetInstalledPots cannot).
    let oldest = t.feed(0, Event(E::Error, Some("Unknown command")), 1.0);
    assert_eq!(statuses(&oldest), [(a, CommandStatus::Failed)]);
    assert!(t.feed(0, Event(E::Error, Some("again")), 1.0).is_empty());
    assert_eq!(
        t.book.get(list).map(|r| r.status),
        Some(CommandStatus::Sent)
    );
}

#[test]
fn names_pot_matches_whole_ids_only() {
    let cases = [
        ("pot cowrie-01 exists", "cowrie-01", true),
        ("cowrie-01", "cowrie-01", true),
        ("Unknown pot: cowrie-01.", "cowrie-01", true),
        ("(cowrie-01)", "cowrie-01", true),
        ("pot cowrie-011 exists", "cowrie-01", false),
        ("pot xcowrie-01 exists", "cowrie-01", false),
        ("pot cowrie-01_b", "cowrie-01", false),
        ("", "a", false),
        ("anything", "", false),
        ("é cowrie é", "cowrie", true),
    ];
    for (message, pot, want) in cases {
        assert_eq!(names_pot(message, pot), want, "{message:?} names {pot:?}");
    }
}

#[test]
fn started_answers_a_restart_before_any_other_event_command() {
    let mut t = Tracked::new();
    let (logs, _) = t.submit_at(0.0, Command::GetPotLogs("a".into()));
    let (restart, _) = t.submit_at(0.1, Command::Restart);
    let (metrics, _) = t.submit_at(0.2, Command::GetPotMetrics("b".into()));
    let started = t.feed(0, Event(E::Started, None), 1.0);
    assert_eq!(statuses(&started), [(restart, CommandStatus::Completed)]);
    let alarm = t.feed(0, Event(E::Alarm, None), 1.0);
    assert_eq!(statuses(&alarm), [(logs, CommandStatus::Completed)]);
    let stopped = t.feed(0, Event(E::Stopped, None), 1.0);
    assert_eq!(statuses(&stopped), [(metrics, CommandStatus::Completed)]);
    assert!(
        t.feed(0, Event(E::Alarm, None), 1.0).is_empty(),
        "nothing left to answer"
    );
}

#[test]
fn the_started_that_trails_a_restart_answers_nothing_else() {
    // A real node answers Restart with Stopped, Running, then NodeEvent Started.
    let mut t = Tracked::new();
    let (restart, _) = t.submit_at(0.0, Command::Restart);
    let (update, _) = t.submit_at(0.1, Command::UpdateConfig);
    assert!(t.feed(0, Status(NodeStatus::Stopped), 0.5).is_empty());
    let running = t.feed(0, Status(NodeStatus::Running), 1.0);
    assert_eq!(
        statuses(&running),
        [
            (restart, CommandStatus::Completed),
            (update, CommandStatus::Sent)
        ]
    );
    assert!(!t.book.is_idle(), "the trailing Started is still expected");
    assert!(t.feed(0, Event(E::Started, None), 1.5).is_empty());
    let answered = t.feed(0, Event(E::Alarm, None), 2.0);
    assert_eq!(statuses(&answered), [(update, CommandStatus::Completed)]);
    // Past the grace, a Started answers the command an event answers, as before.
    let (restart2, _) = t.submit_at(3.0, Command::Restart);
    t.feed(0, Status(NodeStatus::Stopped), 3.5);
    t.feed(0, Status(NodeStatus::Running), 4.0);
    let (logs, _) = t.submit_at(4.1, Command::GetPotLogs("a".into()));
    let grace = super::ledger::STARTED_GRACE.as_secs_f64();
    let late = t.feed(0, Event(E::Started, None), 4.0 + grace + 1.0);
    assert_eq!(statuses(&late), [(logs, CommandStatus::Completed)]);
    let _ = restart2;
}

#[test]
fn the_queue_is_bounded_per_node() {
    let mut t = Tracked::new();
    t.submit_at(0.0, deploy("a"));
    for _ in 0..3 {
        t.submit_at(0.0, deploy("a"));
    }
    let refused = t.book.submit(
        order(99, deploy("b"), Place::Back),
        true,
        t.at(0.0),
        &settings(),
    );
    assert_eq!(refused, Err(QueueFull(3)));
    assert!(t.book.get(99).is_none());
    assert_eq!(
        QueueFull(3).to_string(),
        "3 commands already wait for this node"
    );
    // The Core's own list at a registration is never refused.
    let front = t
        .book
        .submit(
            order(100, Command::GetInstalledPots, Place::Front),
            true,
            t.at(0.0),
            &settings(),
        )
        .unwrap();
    assert_eq!(statuses(&front), [(100, CommandStatus::Sent)]);
}

#[test]
fn offline_commands_wait_and_go_out_in_order_after_the_cores_list() {
    let mut t = Tracked::new();
    let now = t.at(0.0);
    let s = CommandSettings {
        max_waiting: 10,
        ..settings()
    };
    let mut submit = |id, command, place| {
        t.book
            .submit(order(id, command, place), false, now, &s)
            .unwrap()
    };
    assert_eq!(
        statuses(&submit(1, deploy("b"), Place::Back)),
        [(1, CommandStatus::Pending)]
    );
    submit(2, Command::Restart, Place::Back);
    submit(3, deploy("a"), Place::Back);
    submit(4, Command::StopPot("b".into()), Place::Back);
    // The node registers: the Core's GetInstalledPots goes first, then every free slot.
    let list = t
        .book
        .submit(
            order(5, Command::GetInstalledPots, Place::Front),
            true,
            t.at(1.0),
            &s,
        )
        .unwrap();
    assert_eq!(statuses(&list), [(5, CommandStatus::Sent)]);
    let sent = t.book.dispatch_all(t.at(1.0), &s);
    assert_eq!(
        statuses(&sent),
        [(1, CommandStatus::Sent), (3, CommandStatus::Sent)]
    );
    // The node's slot frees at the end of the window: the Restart follows.
    let after_window = t.book.expire(5, t.at(3.0), &s);
    assert_eq!(
        statuses(&after_window),
        [(5, CommandStatus::Completed), (2, CommandStatus::Sent)]
    );
    assert_eq!(t.book.waiting(), 1, "StopPot b waits for DeployPot b");
}

#[test]
fn a_lost_connection_fails_what_was_in_flight_and_keeps_what_waits() {
    let mut t = Tracked::new();
    let (a, _) = t.submit_at(0.0, deploy("a"));
    let (b, _) = t.submit_at(0.0, deploy("a"));
    let lost = t.book.connection_lost(t.at(1.0));
    assert_eq!(statuses(&lost), [(a, CommandStatus::Failed)]);
    assert_eq!(
        lost[0].result,
        Some(json!({"message": "the connection to the node was lost before it answered"}))
    );
    assert_eq!(lost[0].updated_at, t.at(1.0).wall);
    assert_eq!(
        t.book.get(b).map(|r| r.status),
        Some(CommandStatus::Pending)
    );
    let refused = t.book.refuse_waiting("speaks v1", t.at(2.0));
    assert_eq!(statuses(&refused), [(b, CommandStatus::Failed)]);
    assert_eq!(refused[0].result, Some(json!({"message": "speaks v1"})));
    assert!(t.book.is_idle());
}

#[test]
fn records_keep_their_creation_time_and_track_updates() {
    let mut t = Tracked::new();
    let (a, _) = t.submit_at(0.0, deploy("a"));
    let (b, created) = t.submit_at(1.0, deploy("a"));
    assert_eq!(created[0].created_at, t.at(1.0).wall);
    assert_eq!(created[0].deadline, None);
    let changes = t.feed(a, Pot("a", P::Running, None), 5.0);
    let sent = changes.iter().find(|r| r.id == b).unwrap();
    assert_eq!(
        (sent.created_at, sent.updated_at),
        (t.at(1.0).wall, t.at(5.0).wall)
    );
    assert_eq!(sent.view(7).node_id, 7);
    assert_eq!(sent.view(7).command_id, b);
}

#[test]
fn a_list_names_each_pot_once_and_at_most_its_bound() {
    let mut t = Tracked::new();
    let (list, _) = t.submit_at(0.0, Command::GetInstalledPots);
    let s = settings();
    for i in 0..MAX_LISTED_POTS + 5 {
        let pot = format!("p{i}");
        t.book
            .pot_report(&pot, "cowrie", P::Running, None, t.at(0.1), &s);
    }
    t.book
        .pot_report("p0", "cowrie", P::Failed, None, t.at(0.1), &s);
    let done = t.book.expire(list, t.at(2.0), &s);
    let pots = done[0].result.as_ref().unwrap()["pots"].as_array().unwrap();
    assert_eq!(pots.len(), MAX_LISTED_POTS);
    assert_eq!(pots[0]["status"], "Failed");
}

/// What settled each command, typed: only an `Error` or a timeout is the node not doing it.
#[test]
fn settlements_say_what_ended_each_command() {
    let mut t = Tracked::new();
    let (error, _) = t.submit_at(0.0, deploy("a"));
    let (answered, _) = t.submit_at(0.0, deploy("b"));
    let (silent, _) = t.submit_at(0.0, deploy("c"));
    let (lost, _) = t.submit_at(0.0, deploy("d"));
    let mut settled = t.feed(error, Event(E::Error, Some("pot a failed")), 1.0);
    settled.extend(t.feed(answered, Pot("b", P::Running, None), 1.0));
    settled.extend(t.feed(silent, Expire(100.0), 100.0));
    settled.extend(t.book.connection_lost(t.at(101.0)));
    let by_id = |id: u64| settled.iter().find(|r| r.id == id).unwrap();
    assert_eq!(by_id(error).settlement, Some(Settlement::NodeError));
    assert_eq!(by_id(answered).settlement, Some(Settlement::Answered));
    assert_eq!(by_id(silent).settlement, Some(Settlement::TimedOut));
    assert_eq!(by_id(lost).settlement, Some(Settlement::ConnectionLost));
    let unanswered: Vec<u64> = settled
        .iter()
        .filter(|r| r.unanswered())
        .map(|r| r.id)
        .collect();
    assert_eq!(unanswered, [error, silent]);
}
