//! `decide` as tables: each scenario starts from a pot's state and feeds it inputs at given
//! times; every step lists exactly the effects it must answer.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use honeybee_protocol::{Command, InstallPot, PotStatus};

use super::lifecycle::Transition;
use super::{Effect, Input, PotState, Report, decide};
use crate::alerts::AlertKind;
use crate::commands::{Now, Origin};
use crate::policy::{DesiredEntry, DesiredPot, RestartLimits, RestartPolicy};
use crate::settings::PotSettings;

use Effect::{
    Alert, AttemptAfter, CheckSilenceAfter, Note, StoreHold, StoreRow, StoreTransition, Submit,
    Unexpected, ViewChanged,
};
use PotStatus::{Failed, Installing, Running, Stopped};

const POT: &str = "cowrie-01";

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn settings() -> PotSettings {
    PotSettings {
        policy: RestartPolicy::OnFailure,
        limits: RestartLimits {
            max_restarts: 2,
            window: secs(600.0),
            backoff_initial: secs(5.0),
            backoff_max: secs(300.0),
        },
        silence: secs(60.0),
    }
}

/// A scenario's clock: `t(s)` is `s` seconds after its start, on both clocks.
struct Clock(Instant);

impl Clock {
    fn t(&self, s: f64) -> Now {
        Now {
            instant: self.0 + secs(s),
            wall: wall(s),
        }
    }
}

fn wall(s: f64) -> SystemTime {
    UNIX_EPOCH + secs(1_700_000_000.0 + s)
}

fn report(status: PotStatus, s: f64, answer: bool) -> Input {
    Input::Report(Report {
        status,
        pot_type: "cowrie".into(),
        message: None,
        at: wall(s),
        answer,
        busy: false,
    })
}

/// First reported `Running` at `s`, unasked: learned, and the silence watch starts.
fn first_running(s: f64) -> (f64, Input, Vec<Effect>) {
    (
        s,
        report(Running, s, false),
        vec![
            transition(None, Running, s, true),
            CheckSilenceAfter(secs(60.0)),
            StoreRow,
            ViewChanged,
        ],
    )
}

fn transition(from: Option<PotStatus>, to: PotStatus, s: f64, expected: bool) -> Effect {
    StoreTransition(Transition {
        at: wall(s),
        from,
        to,
        message: None,
        expected,
    })
}

fn desired(pot_type: &str) -> DesiredEntry {
    DesiredEntry {
        pot: Some(DesiredPot::of_type(pot_type)),
        unwanted: false,
    }
}

fn install(pot_type: &str) -> Command {
    Command::InstallPot(InstallPot {
        pot_id: POT.into(),
        honeypot_type: pot_type.into(),
        git_url: None,
        git_branch: None,
        config: Some(Default::default()),
        auto_start: true,
    })
}

fn submit(command: Command, origin: Origin) -> Effect {
    Submit { command, origin }
}

fn note(line: &str) -> Effect {
    Note(line.into())
}

/// A pot of a connected, listed node, wanting `entry`.
fn pot(entry: DesiredEntry) -> PotState {
    let mut state = PotState::new(7, POT, entry, &settings());
    state.connected = true;
    state.listed = true;
    state
}

/// Feeds `steps` (seconds, input, the effects it must answer) and answers the state after.
fn run(name: &str, mut state: PotState, steps: Vec<(f64, Input, Vec<Effect>)>) -> PotState {
    let clock = Clock(Instant::now());
    for (i, (s, input, want)) in steps.into_iter().enumerate() {
        let got = decide(&mut state, input.clone(), clock.t(s), &settings());
        assert_eq!(got, want, "{name}, step {i}: {input:?}");
    }
    state
}

#[test]
fn a_failing_pot_is_confirmed_restarted_with_backoff_then_given_up_on() {
    let gave_up = "node 7 pot cowrie-01: failed 3 times within 600 s; the Core gave up \
                   restarting it (at most 2 restarts per window)";
    let state = run(
        "failing",
        pot(DesiredEntry::default()),
        vec![
            first_running(0.0),
            // Unasked: confirmed first.
            (
                1.0,
                report(Failed, 1.0, false),
                vec![
                    transition(Some(Running), Failed, 1.0, true),
                    Alert(AlertKind::PotSilent, None),
                    note("an unasked status; confirming it with GetPotStatus before acting"),
                    submit(Command::GetPotStatus(POT.into()), Origin::Core),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            // The confirmation answers Failed: a restart after the first backoff.
            (
                2.0,
                report(Failed, 2.0, true),
                vec![
                    note("Restart in 5s"),
                    AttemptAfter(secs(5.0)),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                7.0,
                Input::AttemptDue,
                vec![
                    submit(Command::RestartPot(POT.into()), Origin::PotPolicy),
                    ViewChanged,
                ],
            ),
            // The node answers the restart with an Error: a failed attempt, backoff doubled.
            (
                8.0,
                Input::Settled {
                    origin: Origin::PotPolicy,
                    unanswered: true,
                    busy: false,
                },
                vec![
                    note("Restart in 10s"),
                    AttemptAfter(secs(10.0)),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                18.0,
                Input::AttemptDue,
                vec![
                    submit(Command::RestartPot(POT.into()), Origin::PotPolicy),
                    ViewChanged,
                ],
            ),
            // It fails again, as the answer: past the budget, given up.
            (
                19.0,
                report(Failed, 19.0, true),
                vec![
                    Alert(AlertKind::PotGaveUp, Some(gave_up.into())),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            // Given up: nothing more, however it reports.
            (
                20.0,
                report(Failed, 20.0, true),
                vec![StoreRow, ViewChanged],
            ),
        ],
    );
    assert_eq!(state.guard.restarts(), 2);
    assert_eq!(
        state.guard.gave_up(),
        gave_up.strip_prefix("node 7 pot cowrie-01: ")
    );
    let view = state.view().unwrap();
    assert_eq!((view.status, view.restarts), (Failed, 2));
}

#[test]
fn an_operators_stop_holds_and_a_start_releases() {
    let state = run(
        "hold",
        pot(DesiredEntry::default()),
        vec![
            first_running(0.0),
            (
                1.0,
                Input::Operator(Command::StopPot(POT.into())),
                vec![StoreHold(true)],
            ),
            // Held: a failure is recorded, nothing restarts it.
            (
                2.0,
                report(Failed, 2.0, true),
                vec![
                    transition(Some(Running), Failed, 2.0, true),
                    Alert(AlertKind::PotSilent, None),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                3.0,
                Input::Operator(Command::DeployPot(POT.into())),
                vec![
                    StoreHold(false),
                    Alert(AlertKind::PotGaveUp, None),
                    StoreRow,
                    ViewChanged,
                ],
            ),
        ],
    );
    assert!(!state.guard.held());
}

#[test]
fn a_pot_that_failed_installing_is_reinstalled_from_its_desired_state() {
    let state = run(
        "reinstall",
        pot(desired("cowrie")),
        vec![
            (
                0.0,
                report(Installing, 0.0, true),
                vec![
                    transition(None, Installing, 0.0, true),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                1.0,
                report(Failed, 1.0, true),
                vec![
                    transition(Some(Installing), Failed, 1.0, true),
                    note("Reinstall in 5s"),
                    AttemptAfter(secs(5.0)),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                6.0,
                Input::AttemptDue,
                vec![
                    submit(install("cowrie"), Origin::PotPolicy),
                    StoreRow,
                    ViewChanged,
                ],
            ),
        ],
    );
    assert!(state.last_install.is_some());
}

#[test]
fn a_listed_node_converges_pot_by_pot() {
    // Desired, never seen: installed.
    run(
        "missing",
        pot(desired("cowrie")),
        vec![(
            0.0,
            Input::Listed { busy: false },
            vec![
                note("converging on its desired state: InstallPot"),
                submit(install("cowrie"), Origin::Core),
                StoreRow,
            ],
        )],
    );
    // Busy (a command in flight or waiting): nothing yet.
    run(
        "busy",
        pot(desired("cowrie")),
        vec![(0.0, Input::Listed { busy: true }, vec![])],
    );
    // Not desired on a managed node, and running: held, then stopped.
    let unwanted = DesiredEntry {
        pot: None,
        unwanted: true,
    };
    let mut state = pot(unwanted);
    state.listed = false;
    run(
        "unwanted",
        state,
        vec![
            (
                0.0,
                report(Running, 0.0, true),
                vec![
                    transition(None, Running, 0.0, true),
                    CheckSilenceAfter(secs(60.0)),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                1.0,
                Input::Listed { busy: false },
                vec![
                    StoreHold(true),
                    note("converging on its desired state: StopPot"),
                    submit(Command::StopPot(POT.into()), Origin::Core),
                ],
            ),
        ],
    );
    // Desired and found stopped unasked: confirmed first, then started within the budget.
    run(
        "stopped",
        pot(desired("cowrie")),
        vec![
            (
                0.0,
                report(Stopped, 0.0, false),
                vec![
                    transition(None, Stopped, 0.0, true),
                    note("an unasked status; confirming it with GetPotStatus before acting"),
                    submit(Command::GetPotStatus(POT.into()), Origin::Core),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                1.0,
                report(Stopped, 1.0, true),
                vec![
                    note("Start in 5s"),
                    AttemptAfter(secs(5.0)),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                6.0,
                Input::AttemptDue,
                vec![
                    submit(Command::DeployPot(POT.into()), Origin::PotPolicy),
                    ViewChanged,
                ],
            ),
        ],
    );
}

#[test]
fn a_new_desired_state_is_a_fresh_start() {
    let mut state = pot(desired("cowrie"));
    state.listed = false;
    let state = run(
        "fresh start",
        state,
        vec![
            (
                0.0,
                report(Failed, 0.0, false),
                vec![
                    transition(None, Failed, 0.0, true),
                    note("an unasked status; confirming it with GetPotStatus before acting"),
                    submit(Command::GetPotStatus(POT.into()), Origin::Core),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                1.0,
                Input::Operator(Command::StopPot(POT.into())),
                vec![StoreHold(true)],
            ),
            // Another type is wanted: the hold ends, and the failed pot is installed anew.
            (
                2.0,
                Input::Desired {
                    entry: desired("dionaea"),
                    by_operator: false,
                    busy: false,
                },
                vec![
                    StoreHold(false),
                    Alert(AlertKind::PotGaveUp, None),
                    submit(install("dionaea"), Origin::Core),
                    StoreRow,
                    ViewChanged,
                ],
            ),
        ],
    );
    assert!(!state.guard.held());
    assert_eq!(state.view().unwrap().desired, desired("dionaea").pot);
}

#[test]
fn offline_or_changed_pots_let_a_due_attempt_go() {
    let mut state = pot(DesiredEntry::default());
    state.reported = None;
    let mut state = run(
        "due",
        state,
        vec![
            (
                0.0,
                report(Failed, 0.0, true),
                vec![
                    transition(None, Failed, 0.0, true),
                    note("Restart in 5s"),
                    AttemptAfter(secs(5.0)),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (1.0, Input::Disconnected, vec![]),
            (5.0, Input::AttemptDue, vec![]),
        ],
    );
    assert_eq!(state.scheduled, None);
    // Back and running again before the backoff ended: nothing to do either.
    state.connected = true;
    run(
        "recovered",
        state,
        vec![
            (
                6.0,
                report(Failed, 6.0, true),
                vec![
                    note("Restart in 10s"),
                    AttemptAfter(secs(10.0)),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                7.0,
                report(Running, 7.0, false),
                vec![
                    transition(Some(Failed), Running, 7.0, true),
                    CheckSilenceAfter(secs(60.0)),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (16.0, Input::AttemptDue, vec![]),
        ],
    );
}

#[test]
fn a_silent_running_pot_raises_an_alert_its_events_clear() {
    let silent = "node 7 pot cowrie-01 is Running but sent no event for 60.0 s";
    run(
        "silence",
        pot(DesiredEntry::default()),
        vec![
            first_running(0.0),
            (30.0, Input::EventsSeen, vec![]),
            // Not silent yet: checked again when it would be.
            (
                60.0,
                Input::SilenceCheck,
                vec![CheckSilenceAfter(secs(30.0))],
            ),
            (
                90.0,
                Input::SilenceCheck,
                vec![Alert(AlertKind::PotSilent, Some(silent.into()))],
            ),
            (
                95.0,
                Input::EventsSeen,
                vec![
                    Alert(AlertKind::PotSilent, None),
                    CheckSilenceAfter(secs(60.0)),
                ],
            ),
            (
                96.0,
                Input::Disconnected,
                vec![Alert(AlertKind::PotSilent, None)],
            ),
        ],
    );
}

#[test]
fn a_transition_outside_the_lifecycle_is_recorded_and_flagged() {
    let flagged = Transition {
        at: wall(1.0),
        from: Some(Running),
        to: Installing,
        message: None,
        expected: false,
    };
    run(
        "unexpected",
        pot(DesiredEntry::default()),
        vec![
            (
                0.0,
                report(Running, 0.0, true),
                vec![
                    transition(None, Running, 0.0, true),
                    CheckSilenceAfter(secs(60.0)),
                    StoreRow,
                    ViewChanged,
                ],
            ),
            (
                1.0,
                report(Installing, 1.0, false),
                vec![
                    Unexpected(flagged.clone()),
                    StoreTransition(flagged),
                    Alert(AlertKind::PotSilent, None),
                    StoreRow,
                    ViewChanged,
                ],
            ),
        ],
    );
}

/// The restart state survives the store: a restored pot has its budget, give-up, hold and
/// last install back.
#[test]
fn the_restart_state_round_trips_through_its_row() {
    let clock = Clock(Instant::now());
    let s = settings();
    let mut state = pot(desired("cowrie"));
    for (i, (status, answer)) in [(Installing, true), (Failed, true)].into_iter().enumerate() {
        decide(
            &mut state,
            report(status, i as f64, answer),
            clock.t(i as f64),
            &s,
        );
    }
    decide(
        &mut state,
        Input::Operator(Command::StopPot(POT.into())),
        clock.t(2.0),
        &s,
    );
    let row = state.row(clock.t(3.0)).unwrap();
    let stored = honeybee_store::FleetPot {
        pot: row,
        transitions: Vec::new(),
    };
    let restored = PotState::restore(
        7,
        POT,
        (Some(stored), true),
        desired("cowrie"),
        &s,
        clock.t(3.0),
    );
    assert_eq!(restored.guard.memory(), state.guard.memory());
    assert_eq!(restored.status(), Some(Failed));
    assert_eq!(restored.guard.restarts(), 1);
}
