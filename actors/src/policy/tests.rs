//! Table tests of the policies: each row is a named sequence of inputs and the answer each
//! must get, so a wrong rule names the row and the step.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use honeybee_protocol::{NodeStatus, PotStatus};

use super::*;
use Cause::{Answer, Unsolicited};
use PotStatus::{Failed, Installing, Running, Stopped};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---- RestartPolicy ---------------------------------------------------------------------

#[test]
fn restart_policy_names() {
    let table = [
        ("always", Some(RestartPolicy::Always)),
        ("on-failure", Some(RestartPolicy::OnFailure)),
        ("never", Some(RestartPolicy::Never)),
        ("Always", None),
        ("on_failure", None),
        ("onfailure", None),
        ("", None),
    ];
    for (name, expected) in table {
        assert_eq!(RestartPolicy::parse(name), expected, "parse({name:?})");
        if let Some(policy) = expected {
            assert_eq!(policy.as_str(), name);
            assert_eq!(policy.to_string(), name);
        }
    }
}

// ---- PotGuard ----------------------------------------------------------------------------

/// One input to a guard, at a time in seconds from the start.
#[derive(Debug, Clone, Copy)]
enum In {
    Status(Option<PotStatus>, PotStatus, Cause, u64),
    AttemptFailed(u64),
    Hold,
    Release,
    Policy(RestartPolicy),
}
use In::{AttemptFailed, Hold, Release, Status};

/// Limits of most rows: 4 restarts per 100 s, backoff 5 s doubling up to 15 s.
const LIMITS: RestartLimits = RestartLimits {
    max_restarts: 4,
    window: Duration::from_secs(100),
    backoff_initial: Duration::from_secs(5),
    backoff_max: Duration::from_secs(15),
};

fn restart(s: u64) -> Action {
    Action::Restart { after: secs(s) }
}

fn reinstall(s: u64) -> Action {
    Action::Reinstall { after: secs(s) }
}

fn gave_up(failures: u32, window: u64, max: u32) -> Action {
    let times = if failures == 1 { "time" } else { "times" };
    Action::GaveUp {
        reason: format!(
            "failed {failures} {times} within {window} s; the Core gave up restarting it \
             (at most {max} restarts per window)"
        ),
    }
}

struct GuardCase {
    name: &'static str,
    policy: RestartPolicy,
    limits: RestartLimits,
    steps: Vec<(In, Action)>,
    /// At the end: restarts ordered, held, given up.
    end: (u32, bool, bool),
}

fn case(
    name: &'static str,
    policy: RestartPolicy,
    steps: Vec<(In, Action)>,
    end: (u32, bool, bool),
) -> GuardCase {
    GuardCase {
        name,
        policy,
        limits: LIMITS,
        steps,
        end,
    }
}

fn run_guard(case: &GuardCase) {
    let t0 = Instant::now();
    let mut guard = PotGuard::new(case.policy, case.limits);
    for (i, (input, expected)) in case.steps.iter().enumerate() {
        let got = match *input {
            Status(from, to, cause, at) => guard.on_status(from, to, cause, t0 + secs(at)),
            AttemptFailed(at) => guard.on_attempt_failed(t0 + secs(at)),
            Hold => {
                guard.hold();
                Action::None
            }
            Release => {
                guard.release();
                Action::None
            }
            In::Policy(policy) => {
                guard.set_policy(policy);
                Action::None
            }
        };
        assert_eq!(&got, expected, "{}: step {i} ({input:?})", case.name);
    }
    let end = (guard.restarts(), guard.held(), guard.gave_up().is_some());
    assert_eq!(
        end, case.end,
        "{}: (restarts, held, gave up) at the end",
        case.name
    );
    if let Some(Action::GaveUp { reason }) = case.steps.last().map(|s| &s.1) {
        assert_eq!(guard.gave_up(), Some(reason.as_str()), "{}", case.name);
    }
}

#[test]
fn pot_guard() {
    use RestartPolicy::{Always, Never, OnFailure};
    let cases = vec![
        case(
            "unsolicited Failed is confirmed first, the answer restarts",
            OnFailure,
            vec![
                (
                    Status(Some(Running), Failed, Unsolicited, 0),
                    Action::Confirm,
                ),
                (Status(Some(Failed), Failed, Answer, 1), restart(5)),
            ],
            (1, false, false),
        ),
        case(
            "a pot first seen Failed",
            OnFailure,
            vec![
                (Status(None, Failed, Unsolicited, 0), Action::Confirm),
                (Status(None, Failed, Answer, 0), restart(5)),
            ],
            (1, false, false),
        ),
        case(
            "backoff doubles up to its cap, then the guard gives up",
            OnFailure,
            vec![
                (Status(Some(Running), Failed, Answer, 0), restart(5)),
                (Status(Some(Failed), Failed, Answer, 10), restart(10)),
                (Status(Some(Failed), Failed, Answer, 20), restart(15)),
                (Status(Some(Failed), Failed, Answer, 30), restart(15)),
                (Status(Some(Failed), Failed, Answer, 40), gave_up(5, 100, 4)),
            ],
            (4, false, true),
        ),
        case(
            "given up: every status gets nothing",
            Always,
            vec![
                (Status(Some(Running), Failed, Answer, 0), restart(5)),
                (Status(Some(Failed), Failed, Answer, 1), restart(10)),
                (Status(Some(Failed), Failed, Answer, 2), restart(15)),
                (Status(Some(Failed), Failed, Answer, 3), restart(15)),
                (Status(Some(Failed), Failed, Answer, 4), gave_up(5, 100, 4)),
                (Status(Some(Failed), Failed, Answer, 500), Action::None),
                (Status(Some(Failed), Failed, Unsolicited, 500), Action::None),
                (Status(Some(Failed), Stopped, Answer, 500), Action::None),
                (Status(Some(Installing), Failed, Answer, 500), Action::None),
                (AttemptFailed(500), Action::None),
            ],
            (4, false, true),
        ),
        case(
            "the window slides: restarts older than it no longer count",
            OnFailure,
            vec![
                (Status(Some(Running), Failed, Answer, 0), restart(5)),
                (Status(Some(Running), Failed, Answer, 10), restart(10)),
                (Status(Some(Running), Failed, Answer, 20), restart(15)),
                (Status(Some(Running), Failed, Answer, 30), restart(15)),
                // t=0 left the window: three within it, so the backoff is still doubled thrice.
                (Status(Some(Running), Failed, Answer, 100), restart(15)),
                (
                    Status(Some(Running), Failed, Answer, 101),
                    gave_up(5, 100, 4),
                ),
            ],
            (5, false, true),
        ),
        case(
            "after a quiet window the backoff starts over",
            OnFailure,
            vec![
                (Status(Some(Running), Failed, Answer, 0), restart(5)),
                (Status(Some(Running), Failed, Answer, 10), restart(10)),
                (Status(Some(Running), Failed, Answer, 110), restart(5)),
            ],
            (3, false, false),
        ),
        case(
            "Running does not reset the budget",
            OnFailure,
            vec![
                (Status(Some(Running), Failed, Answer, 0), restart(5)),
                (Status(Some(Failed), Running, Answer, 5), Action::None),
                (Status(Some(Running), Failed, Answer, 6), restart(10)),
                (Status(Some(Failed), Running, Unsolicited, 16), Action::None),
                (Status(Some(Running), Failed, Answer, 17), restart(15)),
            ],
            (3, false, false),
        ),
        case(
            "failed while installing: reinstall; failed while running: restart",
            OnFailure,
            vec![
                (Status(Some(Installing), Failed, Answer, 0), reinstall(5)),
                (Status(Some(Failed), Installing, Answer, 5), Action::None),
                (Status(Some(Installing), Running, Answer, 6), Action::None),
                (Status(Some(Running), Failed, Answer, 7), restart(10)),
            ],
            (2, false, false),
        ),
        case(
            "a confirmed install failure is reinstalled (the answer is Failed -> Failed)",
            OnFailure,
            vec![
                (
                    Status(Some(Installing), Failed, Unsolicited, 0),
                    Action::Confirm,
                ),
                (Status(Some(Failed), Failed, Answer, 1), reinstall(5)),
            ],
            (1, false, false),
        ),
        case(
            "a reinstall that fails again is reinstalled again",
            OnFailure,
            vec![
                (Status(Some(Installing), Failed, Answer, 0), reinstall(5)),
                (Status(Some(Failed), Failed, Answer, 5), reinstall(10)),
                (Status(Some(Failed), Installing, Answer, 15), Action::None),
                (Status(Some(Installing), Failed, Answer, 16), reinstall(15)),
                (AttemptFailed(31), reinstall(15)),
                (Status(Some(Failed), Stopped, Answer, 46), Action::None),
                (
                    Status(Some(Stopped), Failed, Answer, 47),
                    gave_up(5, 100, 4),
                ),
            ],
            (4, false, true),
        ),
        case(
            "a pot that was up again is restarted, not reinstalled",
            Always,
            vec![
                (Status(Some(Installing), Failed, Answer, 0), reinstall(5)),
                (Status(Some(Failed), Stopped, Answer, 5), restart(10)),
                (Status(Some(Stopped), Failed, Answer, 15), restart(15)),
            ],
            (3, false, false),
        ),
        case(
            "a refused attempt counts as a failure, of the same kind",
            OnFailure,
            vec![
                (Status(Some(Running), Failed, Answer, 0), restart(5)),
                (AttemptFailed(5), restart(10)),
                (AttemptFailed(15), restart(15)),
                (AttemptFailed(30), restart(15)),
                (AttemptFailed(45), gave_up(5, 100, 4)),
            ],
            (4, false, true),
        ),
        case(
            "held: nothing restarts the pot until it is released",
            Always,
            vec![
                (Hold, Action::None),
                (Status(Some(Running), Stopped, Answer, 0), Action::None),
                (Status(Some(Stopped), Stopped, Unsolicited, 1), Action::None),
                (Status(Some(Stopped), Failed, Answer, 2), Action::None),
                (
                    Status(Some(Installing), Failed, Unsolicited, 3),
                    Action::None,
                ),
                (AttemptFailed(4), Action::None),
                (Release, Action::None),
                (Status(Some(Running), Failed, Answer, 5), restart(5)),
            ],
            (1, false, false),
        ),
        case(
            "held stays held",
            OnFailure,
            vec![
                (Hold, Action::None),
                (Status(Some(Stopped), Running, Answer, 0), Action::None),
                (Status(Some(Running), Failed, Answer, 1), Action::None),
            ],
            (0, true, false),
        ),
        case(
            "release forgets the give-up and past attempts; the total stays",
            OnFailure,
            vec![
                (Status(Some(Running), Failed, Answer, 0), restart(5)),
                (Status(Some(Running), Failed, Answer, 1), restart(10)),
                (Status(Some(Running), Failed, Answer, 2), restart(15)),
                (Status(Some(Running), Failed, Answer, 3), restart(15)),
                (Status(Some(Running), Failed, Answer, 4), gave_up(5, 100, 4)),
                (Release, Action::None),
                (Status(Some(Running), Failed, Answer, 5), restart(5)),
            ],
            (5, false, false),
        ),
        case(
            "never: nothing, and failures count nothing",
            Never,
            vec![
                (Status(Some(Running), Failed, Unsolicited, 0), Action::None),
                (Status(Some(Running), Failed, Answer, 1), Action::None),
                (Status(Some(Installing), Failed, Answer, 2), Action::None),
                (Status(Some(Failed), Failed, Answer, 3), Action::None),
                (Status(Some(Running), Failed, Answer, 4), Action::None),
                (Status(Some(Running), Failed, Answer, 5), Action::None),
                (Status(Some(Running), Stopped, Answer, 6), Action::None),
                (AttemptFailed(7), Action::None),
                (In::Policy(OnFailure), Action::None),
                (Status(Some(Running), Failed, Answer, 8), restart(5)),
            ],
            (1, false, false),
        ),
        case(
            "on-failure: a stopped pot stays stopped",
            OnFailure,
            vec![
                (Status(Some(Running), Stopped, Unsolicited, 0), Action::None),
                (Status(Some(Running), Stopped, Answer, 1), Action::None),
                (Status(Some(Installing), Stopped, Answer, 2), Action::None),
                (Status(None, Stopped, Answer, 3), Action::None),
            ],
            (0, false, false),
        ),
        case(
            "always: a stopped pot is confirmed, then restarted",
            Always,
            vec![
                (
                    Status(Some(Running), Stopped, Unsolicited, 0),
                    Action::Confirm,
                ),
                (Status(Some(Stopped), Stopped, Answer, 1), restart(5)),
                (
                    Status(Some(Running), Failed, Unsolicited, 2),
                    Action::Confirm,
                ),
                (Status(Some(Failed), Failed, Answer, 3), restart(10)),
            ],
            (2, false, false),
        ),
        case(
            "Installing and Running never act",
            Always,
            vec![
                (Status(None, Installing, Unsolicited, 0), Action::None),
                (Status(None, Running, Answer, 0), Action::None),
                (Status(Some(Stopped), Installing, Answer, 0), Action::None),
                (Status(Some(Failed), Running, Unsolicited, 0), Action::None),
                (Status(Some(Installing), Running, Answer, 0), Action::None),
            ],
            (0, false, false),
        ),
        case(
            "a policy change applies from the next status",
            Always,
            vec![
                (Status(Some(Running), Stopped, Answer, 0), restart(5)),
                (In::Policy(OnFailure), Action::None),
                (Status(Some(Running), Stopped, Answer, 1), Action::None),
                (In::Policy(Never), Action::None),
                (Status(Some(Running), Failed, Answer, 2), Action::None),
            ],
            (1, false, false),
        ),
        GuardCase {
            name: "max_restarts 0: the first failure gives up",
            policy: OnFailure,
            limits: RestartLimits {
                max_restarts: 0,
                ..LIMITS
            },
            steps: vec![(Status(Some(Running), Failed, Answer, 0), gave_up(1, 100, 0))],
            end: (0, false, true),
        },
        GuardCase {
            name: "a window of a fraction of a second reads as such",
            policy: OnFailure,
            limits: RestartLimits {
                max_restarts: 1,
                window: Duration::from_millis(1500),
                ..LIMITS
            },
            steps: vec![
                (Status(Some(Running), Failed, Answer, 0), restart(5)),
                (
                    Status(Some(Running), Failed, Answer, 1),
                    Action::GaveUp {
                        reason: "failed 2 times within 1.5 s; the Core gave up restarting it \
                                 (at most 1 restarts per window)"
                            .to_owned(),
                    },
                ),
            ],
            end: (1, false, true),
        },
    ];
    for case in &cases {
        run_guard(case);
    }
}

// ---- NodeGuard ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum NodeIn {
    Status(NodeStatus, u64),
    AttemptFailed(u64),
    Release,
}

fn node_gave_up(failures: u32, window: u64, max: u32) -> NodeAction {
    let Action::GaveUp { reason } = gave_up(failures, window, max) else {
        unreachable!()
    };
    NodeAction::GaveUp { reason }
}

/// (name, policy, steps and their answers).
type NodeRow = (&'static str, RestartPolicy, Vec<(NodeIn, NodeAction)>);

#[test]
fn node_guard() {
    use NodeStatus::{Connected, Failed, Running, Stopped, Unknown};
    use RestartPolicy::{Always, Never, OnFailure};
    let restart = NodeAction::Restart;
    let none = NodeAction::None;
    // (name, policy, steps); every row has 2 restarts per 3600 s.
    let table: Vec<NodeRow> = vec![
        (
            "never: nothing",
            Never,
            vec![
                (NodeIn::Status(Failed, 0), none.clone()),
                (NodeIn::Status(Running, 1), none.clone()),
                (NodeIn::Status(Failed, 2), none.clone()),
                (NodeIn::AttemptFailed(3), none.clone()),
            ],
        ),
        (
            "on-failure: Failed restarts, within the budget, then gives up",
            OnFailure,
            vec![
                (NodeIn::Status(Connected, 0), none.clone()),
                (NodeIn::Status(Failed, 1), restart.clone()),
                (NodeIn::Status(Stopped, 2), none.clone()),
                (NodeIn::Status(Running, 3), none.clone()),
                (NodeIn::Status(Failed, 4), restart.clone()),
                (NodeIn::Status(Running, 5), none.clone()),
                (NodeIn::Status(Failed, 6), node_gave_up(3, 3600, 2)),
                (NodeIn::Status(Running, 7), none.clone()),
                (NodeIn::Status(Failed, 8), none.clone()),
            ],
        ),
        (
            "always acts like on-failure: only Failed restarts",
            Always,
            vec![
                (NodeIn::Status(Stopped, 0), none.clone()),
                (NodeIn::Status(Unknown, 1), none.clone()),
                (NodeIn::Status(Failed, 2), restart.clone()),
            ],
        ),
        (
            "a node first seen Failed is restarted",
            OnFailure,
            vec![(NodeIn::Status(Failed, 0), restart.clone())],
        ),
        (
            "a repeated Failed (heartbeat) does not restart again",
            OnFailure,
            vec![
                (NodeIn::Status(Failed, 0), restart.clone()),
                (NodeIn::Status(Failed, 30), none.clone()),
                (NodeIn::Status(Failed, 60), none.clone()),
                (NodeIn::Status(Unknown, 61), none.clone()),
                (NodeIn::Status(Failed, 62), restart.clone()),
            ],
        ),
        (
            "a refused Restart is retried within the budget",
            OnFailure,
            vec![
                (NodeIn::Status(Failed, 0), restart.clone()),
                (NodeIn::AttemptFailed(1), restart.clone()),
                (NodeIn::AttemptFailed(2), node_gave_up(3, 3600, 2)),
            ],
        ),
        (
            "the window slides",
            OnFailure,
            vec![
                (NodeIn::Status(Failed, 0), restart.clone()),
                (NodeIn::Status(Running, 1), none.clone()),
                (NodeIn::Status(Failed, 10), restart.clone()),
                (NodeIn::Status(Running, 11), none.clone()),
                (NodeIn::Status(Failed, 3600), restart.clone()),
                (NodeIn::Status(Running, 3601), none.clone()),
                (NodeIn::Status(Failed, 3602), node_gave_up(3, 3600, 2)),
            ],
        ),
        (
            "release forgets the give-up",
            OnFailure,
            vec![
                (NodeIn::Status(Failed, 0), restart.clone()),
                (NodeIn::AttemptFailed(1), restart.clone()),
                (NodeIn::AttemptFailed(2), node_gave_up(3, 3600, 2)),
                (NodeIn::Release, none.clone()),
                (NodeIn::AttemptFailed(3), restart.clone()),
            ],
        ),
    ];
    let t0 = Instant::now();
    for (name, policy, steps) in table {
        let mut guard = NodeGuard::new(policy, 2, secs(3600));
        let mut ordered = 0;
        for (i, (input, expected)) in steps.iter().enumerate() {
            let got = match *input {
                NodeIn::Status(status, at) => guard.on_status(status, t0 + secs(at)),
                NodeIn::AttemptFailed(at) => guard.on_attempt_failed(t0 + secs(at)),
                NodeIn::Release => {
                    guard.release();
                    NodeAction::None
                }
            };
            assert_eq!(&got, expected, "{name}: step {i} ({input:?})");
            ordered += u32::from(got == NodeAction::Restart);
            if let NodeAction::GaveUp { reason } = &got {
                assert_eq!(guard.gave_up(), Some(reason.as_str()), "{name}");
            }
        }
        assert_eq!(guard.restarts(), ordered, "{name}: restarts()");
    }
}

// ---- desired state -------------------------------------------------------------------------

fn pot(kind: &str) -> DesiredPot {
    DesiredPot::of_type(kind)
}

fn pot_with(kind: &str, config: &[(&str, &str)]) -> DesiredPot {
    DesiredPot {
        config: config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..pot(kind)
    }
}

fn file(pots: &[(&str, DesiredPot)]) -> FileNode {
    FileNode {
        pots: pots
            .iter()
            .map(|(id, p)| ((*id).to_owned(), p.clone()))
            .collect(),
    }
}

#[test]
fn fingerprint_is_pinned() {
    // Stored with overrides, so it must not change between runs or builds. A change to the
    // encoding must change these constants on purpose (and drop stored overrides' meaning).
    // The constants were computed by a separate implementation of the same encoding: FNV-1a
    // 64 over each text as its u64 LE byte length then its bytes, the config's entry count
    // (u64 LE) then its pairs in key order, and each option as 0, or 1 then the text.
    assert_eq!(pot("cowrie").fingerprint(), 0x2f5f_c45d_1eaa_4f12);
    let full = DesiredPot {
        pot_type: "cowrie".into(),
        config: [("hostname".to_owned(), "srv04".to_owned())].into(),
        restart: Some(RestartPolicy::Always),
        git_url: Some("https://github.com/example/pots.git".into()),
        git_branch: Some("main".into()),
    };
    assert_eq!(full.fingerprint(), 0xab41_dc4c_55da_1091);
    assert_eq!(full.fingerprint(), full.clone().fingerprint());
}

#[test]
fn fingerprint_sees_every_field() {
    let base = DesiredPot {
        pot_type: "cowrie".into(),
        config: [("a".to_owned(), "bc".to_owned())].into(),
        restart: None,
        git_url: None,
        git_branch: None,
    };
    let variants = [
        (
            "type",
            DesiredPot {
                pot_type: "cowrie2".into(),
                ..base.clone()
            },
        ),
        ("config value", pot_with("cowrie", &[("a", "bd")])),
        (
            "config split differently",
            pot_with("cowrie", &[("ab", "c")]),
        ),
        (
            "config key added",
            pot_with("cowrie", &[("a", "bc"), ("d", "")]),
        ),
        ("config empty", pot("cowrie")),
        (
            "restart",
            DesiredPot {
                restart: Some(RestartPolicy::Never),
                ..base.clone()
            },
        ),
        (
            "git_url empty",
            DesiredPot {
                git_url: Some(String::new()),
                ..base.clone()
            },
        ),
        (
            "git_branch empty",
            DesiredPot {
                git_branch: Some(String::new()),
                ..base.clone()
            },
        ),
        // The same text in another field.
        (
            "url vs branch",
            DesiredPot {
                git_url: Some("x".into()),
                ..base.clone()
            },
        ),
        (
            "branch vs url",
            DesiredPot {
                git_branch: Some("x".into()),
                ..base.clone()
            },
        ),
    ];
    let mut seen = BTreeSet::from([base.fingerprint()]);
    for (name, variant) in variants {
        assert!(
            seen.insert(variant.fingerprint()),
            "{name}: same fingerprint as another"
        );
    }
}

/// An override set against `entry` (the file's entry at the time).
fn over(desired: Option<DesiredPot>, entry: Option<&DesiredPot>) -> Override {
    Override {
        desired,
        file_fingerprint: entry.map(DesiredPot::fingerprint),
    }
}

#[test]
fn effective_desired_state() {
    let cowrie = pot("cowrie");
    let cowrie_v2 = pot_with("cowrie", &[("hostname", "srv05")]);
    let web = pot("honnypotter");
    struct Row {
        name: &'static str,
        file: Option<FileNode>,
        overrides: Vec<(&'static str, Override)>,
        managed: bool,
        pots: Vec<(&'static str, DesiredPot)>,
        not_desired: Vec<&'static str>,
        stale: Vec<&'static str>,
    }
    let rows = vec![
        Row {
            name: "nothing: unmanaged, nothing desired",
            file: None,
            overrides: vec![],
            managed: false,
            pots: vec![],
            not_desired: vec![],
            stale: vec![],
        },
        Row {
            name: "the file alone",
            file: Some(file(&[("c1", cowrie.clone()), ("w1", web.clone())])),
            overrides: vec![],
            managed: true,
            pots: vec![("c1", cowrie.clone()), ("w1", web.clone())],
            not_desired: vec![],
            stale: vec![],
        },
        Row {
            name: "a node listed with no pots is managed",
            file: Some(file(&[])),
            overrides: vec![],
            managed: true,
            pots: vec![],
            not_desired: vec![],
            stale: vec![],
        },
        Row {
            name: "PUT on an unmanaged node",
            file: None,
            overrides: vec![("c1", over(Some(cowrie.clone()), None))],
            managed: false,
            pots: vec![("c1", cowrie.clone())],
            not_desired: vec![],
            stale: vec![],
        },
        Row {
            name: "PUT over the file's entry wins while the entry is unchanged",
            file: Some(file(&[("c1", cowrie.clone()), ("w1", web.clone())])),
            overrides: vec![("c1", over(Some(cowrie_v2.clone()), Some(&cowrie)))],
            managed: true,
            pots: vec![("c1", cowrie_v2.clone()), ("w1", web.clone())],
            not_desired: vec![],
            stale: vec![],
        },
        Row {
            name: "PUT of a pot the file does not list, on a managed node",
            file: Some(file(&[("w1", web.clone())])),
            overrides: vec![("c1", over(Some(cowrie.clone()), None))],
            managed: true,
            pots: vec![("c1", cowrie.clone()), ("w1", web.clone())],
            not_desired: vec![],
            stale: vec![],
        },
        Row {
            name: "the file's entry changed: the file wins, the override is stale",
            file: Some(file(&[("c1", cowrie_v2.clone())])),
            overrides: vec![("c1", over(Some(web.clone()), Some(&cowrie)))],
            managed: true,
            pots: vec![("c1", cowrie_v2.clone())],
            not_desired: vec![],
            stale: vec!["c1"],
        },
        Row {
            name: "the file gained an entry for an overridden pot: the file wins",
            file: Some(file(&[("c1", cowrie.clone())])),
            overrides: vec![("c1", over(Some(web.clone()), None))],
            managed: true,
            pots: vec![("c1", cowrie.clone())],
            not_desired: vec![],
            stale: vec!["c1"],
        },
        Row {
            name: "the file lost the overridden entry: the file wins (not desired)",
            file: Some(file(&[("w1", web.clone())])),
            overrides: vec![("c1", over(Some(cowrie_v2.clone()), Some(&cowrie)))],
            managed: true,
            pots: vec![("w1", web.clone())],
            not_desired: vec![],
            stale: vec!["c1"],
        },
        Row {
            name: "the node left the file: overrides of file entries are stale",
            file: None,
            overrides: vec![
                ("c1", over(Some(cowrie_v2.clone()), Some(&cowrie))),
                ("w1", over(Some(web.clone()), None)),
            ],
            managed: false,
            pots: vec![("w1", web.clone())],
            not_desired: vec![],
            stale: vec!["c1"],
        },
        Row {
            name: "DELETE of a file entry removes it while the entry is unchanged",
            file: Some(file(&[("c1", cowrie.clone()), ("w1", web.clone())])),
            overrides: vec![("c1", over(None, Some(&cowrie)))],
            managed: true,
            pots: vec![("w1", web.clone())],
            not_desired: vec!["c1"],
            stale: vec![],
        },
        Row {
            name: "DELETE on an unmanaged node",
            file: None,
            overrides: vec![("c1", over(None, None))],
            managed: false,
            pots: vec![],
            not_desired: vec!["c1"],
            stale: vec![],
        },
        Row {
            name: "DELETE goes stale when the file's entry changes",
            file: Some(file(&[("c1", cowrie_v2.clone())])),
            overrides: vec![("c1", over(None, Some(&cowrie)))],
            managed: true,
            pots: vec![("c1", cowrie_v2.clone())],
            not_desired: vec![],
            stale: vec!["c1"],
        },
        Row {
            name: "several overrides: each judged on its own, stale ones in id order",
            file: Some(file(&[
                ("a", cowrie.clone()),
                ("b", cowrie.clone()),
                ("c", web.clone()),
            ])),
            overrides: vec![
                ("a", over(Some(web.clone()), Some(&web))),
                ("b", over(None, Some(&cowrie))),
                ("c", over(None, Some(&cowrie))),
                ("d", over(Some(web.clone()), None)),
            ],
            managed: true,
            pots: vec![
                ("a", cowrie.clone()),
                ("c", web.clone()),
                ("d", web.clone()),
            ],
            not_desired: vec!["b"],
            stale: vec!["a", "c"],
        },
    ];
    for row in rows {
        let overrides: BTreeMap<String, Override> = row
            .overrides
            .into_iter()
            .map(|(id, o)| (id.to_owned(), o))
            .collect();
        let (desired, stale) = effective(row.file.as_ref(), &overrides);
        let expected = Desired {
            managed: row.managed,
            pots: row
                .pots
                .into_iter()
                .map(|(id, p)| (id.to_owned(), p))
                .collect(),
            not_desired: row.not_desired.into_iter().map(str::to_owned).collect(),
        };
        assert_eq!(desired, expected, "{}", row.name);
        assert_eq!(stale, row.stale, "{}: stale", row.name);
    }
}

#[test]
fn override_new_records_the_file_entry() {
    let cowrie = pot("cowrie");
    let node = file(&[("c1", cowrie.clone())]);
    let set = Override::new(Some(pot("honnypotter")), Some(&node), "c1");
    assert_eq!(set.file_fingerprint, Some(cowrie.fingerprint()));
    assert_eq!(
        Override::new(None, Some(&node), "w1").file_fingerprint,
        None
    );
    assert_eq!(Override::new(None, None, "c1").file_fingerprint, None);
    let overrides = BTreeMap::from([("c1".to_owned(), set)]);
    let (desired, stale) = effective(Some(&node), &overrides);
    assert_eq!(desired.pots["c1"].pot_type, "honnypotter");
    assert!(stale.is_empty());
}

#[test]
fn unwanted() {
    let managed = Desired {
        managed: true,
        pots: BTreeMap::from([("c1".to_owned(), pot("cowrie"))]),
        not_desired: BTreeSet::from(["gone".to_owned()]),
    };
    let unmanaged = Desired {
        managed: false,
        ..managed.clone()
    };
    let table = [
        (&managed, "c1", false),
        (&managed, "gone", true),
        (&managed, "other", true),
        (&unmanaged, "c1", false),
        (&unmanaged, "gone", true),
        (&unmanaged, "other", false),
    ];
    for (desired, id, expected) in table {
        assert_eq!(
            desired.unwanted(id),
            expected,
            "{id} (managed: {})",
            desired.managed
        );
    }
}

// ---- plan and drift ------------------------------------------------------------------------

fn seen(kind: &str, status: PotStatus) -> Observed {
    Observed {
        pot_type: kind.to_owned(),
        status,
    }
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn desired(managed: bool, pots: &[(&str, &str)], not_desired: &[&str]) -> Desired {
    Desired {
        managed,
        pots: pots
            .iter()
            .map(|(id, k)| ((*id).to_owned(), pot(k)))
            .collect(),
        not_desired: ids(not_desired),
    }
}

fn install(id: &str, kind: &str) -> Step {
    Step::Install {
        pot_id: id.to_owned(),
        desired: pot(kind),
    }
}

fn deploy(id: &str) -> Step {
    Step::Deploy {
        pot_id: id.to_owned(),
    }
}

fn stop(id: &str) -> Step {
    Step::Stop {
        pot_id: id.to_owned(),
    }
}

struct PlanRow {
    name: &'static str,
    desired: Desired,
    observed: Vec<(&'static str, Observed)>,
    /// busy, held, gave up
    skip: [&'static [&'static str]; 3],
    steps: Vec<Step>,
    drift: Vec<(
        &'static str,
        DriftKind,
        Option<&'static str>,
        Option<&'static str>,
    )>,
}

fn plan_rows() -> Vec<PlanRow> {
    use DriftKind::{Missing, NotDesired, TypeDiffers};
    const NONE: [&[&str]; 3] = [&[], &[], &[]];
    let c = |status| seen("cowrie", status);
    let row = |name, desired, observed, steps, drift| PlanRow {
        name,
        desired,
        observed,
        skip: NONE,
        steps,
        drift,
    };
    vec![
        row(
            "desired, not observed: install",
            desired(true, &[("c1", "cowrie")], &[]),
            vec![],
            vec![install("c1", "cowrie")],
            vec![("c1", Missing, Some("cowrie"), None)],
        ),
        row(
            "observed with another type: reinstall with the desired type",
            desired(false, &[("c1", "cowrie")], &[]),
            vec![("c1", seen("honnypotter", Running))],
            vec![install("c1", "cowrie")],
            vec![("c1", TypeDiffers, Some("cowrie"), Some("honnypotter"))],
        ),
        row(
            "another type that is stopped: reinstall, not deploy",
            desired(true, &[("c1", "cowrie")], &[]),
            vec![("c1", seen("honnypotter", Stopped))],
            vec![install("c1", "cowrie")],
            vec![("c1", TypeDiffers, Some("cowrie"), Some("honnypotter"))],
        ),
        row(
            "desired and stopped: deploy",
            desired(true, &[("c1", "cowrie")], &[]),
            vec![("c1", c(Stopped))],
            vec![deploy("c1")],
            vec![],
        ),
        row(
            "desired and running: nothing",
            desired(true, &[("c1", "cowrie")], &[]),
            vec![("c1", c(Running))],
            vec![],
            vec![],
        ),
        row(
            "desired and failed: the guard's, not the plan's",
            desired(true, &[("c1", "cowrie")], &[]),
            vec![("c1", c(Failed))],
            vec![],
            vec![],
        ),
        row(
            "desired and installing: nothing",
            desired(true, &[("c1", "cowrie")], &[]),
            vec![("c1", c(Installing))],
            vec![],
            vec![],
        ),
        row(
            "deleted and running or installing: stop",
            desired(false, &[], &["c1", "c2"]),
            vec![("c1", c(Running)), ("c2", c(Installing))],
            vec![stop("c1"), stop("c2")],
            vec![
                ("c1", NotDesired, None, Some("cowrie")),
                ("c2", NotDesired, None, Some("cowrie")),
            ],
        ),
        row(
            "deleted and stopped or failed: nothing",
            desired(false, &[], &["c1", "c2"]),
            vec![("c1", c(Stopped)), ("c2", c(Failed))],
            vec![],
            vec![],
        ),
        row(
            "deleted and not observed: nothing",
            desired(true, &[], &["c1"]),
            vec![],
            vec![],
            vec![],
        ),
        row(
            "managed node, unlisted pot running: stop",
            desired(true, &[("c1", "cowrie")], &[]),
            vec![("c1", c(Running)), ("x9", seen("honnypotter", Running))],
            vec![stop("x9")],
            vec![("x9", NotDesired, None, Some("honnypotter"))],
        ),
        row(
            "unmanaged node, unlisted pots: left alone",
            desired(false, &[("c1", "cowrie")], &[]),
            vec![
                ("c1", c(Running)),
                ("x9", c(Running)),
                ("x8", c(Installing)),
            ],
            vec![],
            vec![],
        ),
        row(
            "steps come in pot id order, one per pot",
            desired(
                true,
                &[("b", "cowrie"), ("d", "cowrie"), ("a", "web")],
                &["e"],
            ),
            vec![
                ("e", c(Running)),
                ("d", c(Stopped)),
                ("c", c(Installing)),
                ("a", c(Running)),
            ],
            vec![
                install("a", "web"),
                install("b", "cowrie"),
                stop("c"),
                deploy("d"),
                stop("e"),
            ],
            vec![
                ("a", TypeDiffers, Some("web"), Some("cowrie")),
                ("b", Missing, Some("cowrie"), None),
                ("c", NotDesired, None, Some("cowrie")),
                ("e", NotDesired, None, Some("cowrie")),
            ],
        ),
        PlanRow {
            name: "busy pots are skipped (drift still shows them)",
            desired: desired(
                true,
                &[("a", "cowrie"), ("b", "cowrie"), ("d", "cowrie")],
                &[],
            ),
            observed: vec![("b", c(Stopped)), ("c", c(Running)), ("d", c(Stopped))],
            skip: [&["a", "b", "c"], &[], &[]],
            steps: vec![deploy("d")],
            drift: vec![
                ("a", Missing, Some("cowrie"), None),
                ("c", NotDesired, None, Some("cowrie")),
            ],
        },
        PlanRow {
            name: "held pots are skipped",
            desired: desired(
                true,
                &[("a", "cowrie"), ("b", "cowrie"), ("d", "cowrie")],
                &[],
            ),
            observed: vec![("b", c(Stopped)), ("c", c(Running)), ("d", c(Stopped))],
            skip: [&[], &["a", "b", "c"], &[]],
            steps: vec![deploy("d")],
            drift: vec![
                ("a", Missing, Some("cowrie"), None),
                ("c", NotDesired, None, Some("cowrie")),
            ],
        },
        PlanRow {
            name: "given-up pots are skipped",
            desired: desired(
                true,
                &[("a", "cowrie"), ("b", "cowrie"), ("d", "cowrie")],
                &[],
            ),
            observed: vec![("b", c(Stopped)), ("c", c(Running)), ("d", c(Stopped))],
            skip: [&[], &[], &["a", "b", "c"]],
            steps: vec![deploy("d")],
            drift: vec![
                ("a", Missing, Some("cowrie"), None),
                ("c", NotDesired, None, Some("cowrie")),
            ],
        },
    ]
}

#[test]
fn plan_table() {
    for row in plan_rows() {
        let observed: BTreeMap<String, Observed> = row
            .observed
            .into_iter()
            .map(|(id, o)| (id.to_owned(), o))
            .collect();
        let [busy, held, gave_up] = row.skip.map(ids);
        let steps = plan(&row.desired, &observed, &busy, &held, &gave_up);
        assert_eq!(steps, row.steps, "{}", row.name);
        let pot_ids: Vec<&str> = steps.iter().map(Step::pot_id).collect();
        let mut sorted = pot_ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(pot_ids, sorted, "{}: one step per pot, in order", row.name);
    }
}

#[test]
fn drift_table() {
    for row in plan_rows() {
        let observed: BTreeMap<String, Observed> = row
            .observed
            .into_iter()
            .map(|(id, o)| (id.to_owned(), o))
            .collect();
        let expected: Vec<Drift> = row
            .drift
            .into_iter()
            .map(|(id, kind, want, got)| Drift {
                pot_id: id.to_owned(),
                kind,
                desired_type: want.map(str::to_owned),
                observed_type: got.map(str::to_owned),
            })
            .collect();
        assert_eq!(drift(&row.desired, &observed), expected, "{}", row.name);
    }
}

#[test]
fn drift_kind_names() {
    assert_eq!(DriftKind::NotDesired.as_str(), "not_desired");
    assert_eq!(DriftKind::Missing.as_str(), "missing");
    assert_eq!(DriftKind::TypeDiffers.as_str(), "type_differs");
}

// ---- silence -------------------------------------------------------------------------------

/// (name, running since, last event, now, limit, silent), times in seconds.
type SilenceRow = (&'static str, u64, Option<u64>, u64, u64, bool);

#[test]
fn silence() {
    let table: &[SilenceRow] = &[
        ("limit 0 turns it off", 0, None, 1_000_000, 0, false),
        ("no event, not yet", 100, None, 3699, 3600, false),
        ("no event, exactly the limit", 100, None, 3700, 3600, true),
        ("no event, past the limit", 100, None, 9000, 3600, true),
        (
            "a later event restarts the count",
            100,
            Some(3000),
            3700,
            3600,
            false,
        ),
        (
            "a later event, then silence",
            100,
            Some(3000),
            6600,
            3600,
            true,
        ),
        (
            "an event before it ran counts from running",
            3000,
            Some(100),
            3700,
            3600,
            false,
        ),
        (
            "an event before it ran, then silence",
            3000,
            Some(100),
            6600,
            3600,
            true,
        ),
        (
            "a clock before the start is not silence",
            5000,
            None,
            10,
            1,
            false,
        ),
    ];
    let t0 = Instant::now();
    let at = |s: u64| t0 + secs(s);
    for &(name, since, event, now, limit, expected) in table {
        let got = silent(at(since), event.map(at), at(now), secs(limit));
        assert_eq!(got, expected, "{name}");
    }
}
