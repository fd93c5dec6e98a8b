//! The identity book's rules, with real codes computed from the keys it hands out and an
//! injected clock.

use std::net::Ipv4Addr;

use honeybee_protocol::NodeType;

use super::*;

const T: u64 = 1_705_314_600; // a 30 s step boundary
const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11));

fn settings(enrollment: Enrollment) -> AuthSettings {
    AuthSettings {
        totp: true,
        enrollment,
        exempt_ids: HashSet::new(),
        exempt_names: HashSet::new(),
        max_failures: 3,
        lockout: Duration::from_secs(300),
        max_identities_per_source: 10,
        max_new_per_minute: 60,
        max_nodes: 1000,
    }
}

fn reg(node_id: NodeId, name: &str, code: Option<String>) -> NodeRegistration {
    NodeRegistration {
        node_id,
        node_name: name.into(),
        address: "10.0.0.1".into(),
        port: 22,
        node_type: NodeType::Full,
        totp_code: code.map(SecretString::new),
    }
}

fn code(key: &SecretString, unix: u64) -> Option<String> {
    totp::code_at(key, unix)
}

fn refusal(decision: &Decision) -> Option<RefusalCode> {
    match decision {
        Decision::Refuse { code, .. } => Some(*code),
        Decision::Accept { .. } => None,
    }
}

/// Registers in open mode and returns the key handed out.
fn enroll_open(book: &mut IdentityBook, node_id: NodeId, name: &str, now: Instant) -> SecretString {
    let (decision, changes) = book.decide(&reg(node_id, name, None), SRC, T, now);
    assert_eq!(changes.len(), 1);
    match decision {
        Decision::Accept {
            totp_key: Some(key),
            ..
        } => key,
        other => panic!("open enrollment refused: {other:?}"),
    }
}

#[test]
fn open_mode_trusts_first_use_then_requires_codes() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Open), []);
    // A code from a secret of the node's own is ignored on first use.
    let (first, _) = book.decide(&reg(1, "edge", Some("123456".into())), SRC, T, now);
    let Decision::Accept {
        totp_key: Some(key),
        ..
    } = first
    else {
        panic!("{first:?}")
    };
    assert!(totp::is_wire_key(key.expose()));
    // From now on: a code is required...
    let (missing, _) = book.decide(&reg(1, "edge", None), SRC, T + 30, now);
    match &missing {
        Decision::Refuse { code, reason, .. } => {
            assert_eq!(*code, RefusalCode::AuthenticationFailed);
            assert_eq!(reason, "this node is enrolled and must send totp_code");
        }
        other => panic!("{other:?}"),
    }
    // ...and a valid one gets in, without a new key.
    let (ok, changes) = book.decide(&reg(1, "edge", code(&key, T + 30)), SRC, T + 30, now);
    assert_eq!(
        ok,
        Decision::Accept {
            identity: 1,
            totp_key: None
        }
    );
    assert!(
        matches!(&changes[..], [IdentityChange::Upsert(i)] if i.last_step == Some((T + 30) / 30))
    );
}

#[test]
fn replay_is_refused_without_counting_and_the_next_step_gets_in() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Open), []);
    let key = enroll_open(&mut book, 1, "edge", now);
    let c = code(&key, T + 60);
    assert!(matches!(
        book.decide(&reg(1, "edge", c.clone()), SRC, T + 60, now).0,
        Decision::Accept { .. }
    ));
    // A node restarting within the same step sends the same code: refused, many times over,
    // without a lockout (replays do not count as failures)...
    for _ in 0..10 {
        let (d, changes) = book.decide(&reg(1, "edge", c.clone()), SRC, T + 70, now);
        assert_eq!(refusal(&d), Some(RefusalCode::AuthenticationFailed));
        assert!(changes.is_empty(), "a refused retry writes nothing");
    }
    // ...and gets in at the next step.
    let next = code(&key, T + 90);
    assert!(matches!(
        book.decide(&reg(1, "edge", next), SRC, T + 90, now).0,
        Decision::Accept { .. }
    ));
}

#[test]
fn failures_lock_out_the_pair_until_the_lockout_expires() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Open), []);
    let key = enroll_open(&mut book, 1, "edge", now);
    let wrong = Some("000000".to_owned());
    let mut logged = 0;
    let mut codes = Vec::new();
    for _ in 0..5 {
        let (d, _) = book.decide(&reg(1, "edge", wrong.clone()), SRC, T + 30, now);
        if let Decision::Refuse { code, log, .. } = d {
            codes.push(code);
            logged += usize::from(log);
        }
    }
    use RefusalCode::*;
    assert_eq!(
        codes,
        [
            AuthenticationFailed,
            AuthenticationFailed,
            AuthenticationFailed,
            LockedOut,
            LockedOut
        ],
        "the failure that starts a lockout still hears what was wrong"
    );
    assert_eq!(logged, 1, "one log line per lockout");
    // Even a valid code waits out the lockout; another source is not affected.
    let good = code(&key, T + 30);
    assert_eq!(
        refusal(
            &book
                .decide(&reg(1, "edge", good.clone()), SRC, T + 30, now)
                .0
        ),
        Some(LockedOut)
    );
    assert_eq!(
        refusal(&book.decide(&reg(1, "edge", good), OTHER, T + 30, now).0),
        None
    );
    let later = now + Duration::from_secs(301);
    let good = code(&key, T + 330);
    assert_eq!(
        refusal(&book.decide(&reg(1, "edge", good), SRC, T + 330, later).0),
        None
    );
}

#[test]
fn a_returning_node_with_a_new_id_is_linked_by_name_and_code() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Open), []);
    let key = enroll_open(&mut book, 100, "edge", now);
    // The node restarts under a new random id, with its key.
    let (d, changes) = book.decide(&reg(200, "edge", code(&key, T + 30)), SRC, T + 30, now);
    assert_eq!(
        d,
        Decision::Accept {
            identity: 100,
            totp_key: None
        }
    );
    assert!(matches!(&changes[..], [IdentityChange::Upsert(i)] if i.node_ids == [100, 200]));
    assert_eq!(book.by_node_id(200).map(|i| i.key), Some(100));
    // Someone else using the name with a wrong code never touches that identity: in open mode
    // it becomes a new identity sharing the name.
    let (d, changes) = book.decide(&reg(300, "edge", Some("999999".into())), SRC, T + 60, now);
    let Decision::Accept { identity, totp_key } = d else {
        panic!("{d:?}")
    };
    assert_eq!(identity, 300);
    assert!(totp_key.is_some());
    assert!(book.get(300).unwrap().name_shared);
    assert!(book.get(100).unwrap().name_shared);
    assert_eq!(book.get(100).unwrap().node_ids, [100, 200]);
    assert_eq!(changes.len(), 2);
}

#[test]
fn closed_mode_admits_only_pre_enrolled_identities() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Closed), []);
    assert_eq!(
        refusal(&book.decide(&reg(1, "stranger", None), SRC, T, now).0),
        Some(RefusalCode::EnrollmentClosed)
    );
    // By node id.
    let (by_id, _) = book.enroll(Some(5), None);
    let key = by_id.secret.clone().unwrap();
    assert_eq!(
        refusal(&book.decide(&reg(5, "five", code(&key, T)), SRC, T, now).0),
        None
    );
    // By name: the node's first id is linked on its first valid code.
    let (by_name, _) = book.enroll(None, Some("named"));
    let key = by_name.secret.clone().unwrap();
    assert_eq!(
        refusal(&book.decide(&reg(77, "named", code(&key, T)), SRC, T, now).0),
        None
    );
    assert_eq!(book.by_node_id(77).map(|i| i.key), Some(by_name.key));
    // A wrong code under that name is refused, not enrolled.
    assert_eq!(
        refusal(
            &book
                .decide(&reg(78, "named", Some("000000".into())), SRC, T + 30, now)
                .0
        ),
        Some(RefusalCode::EnrollmentClosed)
    );
}

#[test]
fn approve_mode_holds_new_nodes_until_an_operator_approves() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Approve), []);
    let (d, changes) = book.decide(&reg(9, "new", None), SRC, T, now);
    assert_eq!(refusal(&d), Some(RefusalCode::PendingApproval));
    assert!(matches!(d, Decision::Refuse { log: true, .. }));
    assert_eq!(changes.len(), 1);
    let (d, changes) = book.decide(&reg(9, "new", None), SRC, T + 5, now);
    assert_eq!(refusal(&d), Some(RefusalCode::PendingApproval));
    assert!(changes.is_empty());
    assert!(book.approve(9).is_some());
    let (d, _) = book.decide(&reg(9, "new", None), SRC, T + 10, now);
    let Decision::Accept {
        totp_key: Some(key),
        ..
    } = d
    else {
        panic!("the first registration after approval gets the key: {d:?}")
    };
    assert_eq!(
        refusal(&book.decide(&reg(9, "new", None), SRC, T + 40, now).0),
        Some(RefusalCode::AuthenticationFailed)
    );
    assert_eq!(
        refusal(
            &book
                .decide(&reg(9, "new", code(&key, T + 40)), SRC, T + 40, now)
                .0
        ),
        None
    );
}

#[test]
fn revocation_leaves_a_tombstone_in_every_mode_until_re_enrolled() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Open), []);
    let key = enroll_open(&mut book, 1, "edge", now);
    book.revoke(1).unwrap();
    assert_eq!(book.get(1).unwrap().secret, None, "the secret is forgotten");
    for (id, name) in [(1, "edge"), (2, "edge")] {
        assert_eq!(
            refusal(
                &book
                    .decide(&reg(id, name, code(&key, T + 30)), SRC, T + 30, now)
                    .0
            ),
            Some(RefusalCode::Revoked),
            "{id} {name}"
        );
    }
    let (again, _) = book.enroll(Some(1), Some("edge"));
    let key = again.secret.unwrap();
    assert_eq!(
        refusal(
            &book
                .decide(&reg(1, "edge", code(&key, T + 60)), SRC, T + 60, now)
                .0
        ),
        None
    );
}

#[test]
fn exemptions_and_totp_off() {
    let now = Instant::now();
    let mut s = settings(Enrollment::Closed);
    s.exempt_names.insert("legacy".into());
    s.exempt_ids.insert(42);
    let mut book = IdentityBook::new(s, []);
    for (id, name) in [(1, "legacy"), (42, "whatever")] {
        let (d, _) = book.decide(&reg(id, name, None), SRC, T, now);
        assert_eq!(
            d,
            Decision::Accept {
                identity: id,
                totp_key: None
            },
            "{name}"
        );
    }
    let mut off = settings(Enrollment::Closed);
    off.totp = false;
    let mut book = IdentityBook::new(off, []);
    let (d, _) = book.decide(&reg(3, "anyone", None), SRC, T, now);
    assert_eq!(
        d,
        Decision::Accept {
            identity: 3,
            totp_key: None
        }
    );
}

#[test]
fn flood_limits_refuse_new_identities() {
    let now = Instant::now();
    let mut s = settings(Enrollment::Open);
    s.max_new_per_minute = 2;
    s.max_nodes = 3;
    let mut book = IdentityBook::new(s, []);
    assert_eq!(
        refusal(&book.decide(&reg(1, "a", None), SRC, T, now).0),
        None
    );
    assert_eq!(
        refusal(&book.decide(&reg(2, "b", None), SRC, T, now).0),
        None
    );
    assert_eq!(
        refusal(&book.decide(&reg(3, "c", None), SRC, T, now).0),
        Some(RefusalCode::EnrollmentLimit),
        "per source per minute"
    );
    assert_eq!(
        refusal(&book.decide(&reg(3, "c", None), OTHER, T, now).0),
        None
    );
    assert_eq!(
        refusal(
            &book
                .decide(&reg(4, "d", None), OTHER, T, now + Duration::from_secs(61))
                .0
        ),
        Some(RefusalCode::EnrollmentLimit),
        "auth.max_nodes"
    );
}

#[test]
fn secrets_never_appear_in_decisions_debug_output() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Open), []);
    let (d, changes) = book.decide(&reg(1, "edge", None), SRC, T, now);
    let Decision::Accept {
        totp_key: Some(key),
        ..
    } = &d
    else {
        panic!()
    };
    let printed = format!("{d:?} {changes:?}");
    assert!(!printed.contains(key.expose()), "{printed}");
}

#[test]
fn an_exempt_name_does_not_speak_for_another_node() {
    let now = Instant::now();
    let mut s = settings(Enrollment::Open);
    s.exempt_names.insert("legacy".into());
    let mut book = IdentityBook::new(s, []);
    enroll_open(&mut book, 1, "edge", now);
    assert_eq!(
        refusal(&book.decide(&reg(1, "legacy", None), SRC, T, now).0),
        Some(RefusalCode::AuthenticationFailed)
    );
    // The exempt node itself gets in without a code, every time.
    for _ in 0..2 {
        assert_eq!(
            refusal(&book.decide(&reg(9, "legacy", None), SRC, T, now).0),
            None
        );
    }
}

#[test]
fn guessing_codes_through_new_ids_is_locked_out() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Closed), []);
    let (identity, _) = book.enroll(None, Some("target"));
    let key = identity.secret.unwrap();
    for guess in 0..3u64 {
        let (d, _) = book.decide(
            &reg(1000 + guess, "target", Some(format!("{guess:06}"))),
            SRC,
            T,
            now,
        );
        assert_eq!(refusal(&d), Some(RefusalCode::EnrollmentClosed));
    }
    // Locked after max_failures (3): even the right code is no longer tried from there.
    let right = code(&key, T);
    assert_eq!(
        refusal(
            &book
                .decide(&reg(2000, "target", right.clone()), SRC, T, now)
                .0
        ),
        Some(RefusalCode::EnrollmentClosed)
    );
    assert_eq!(
        refusal(&book.decide(&reg(2000, "target", right), OTHER, T, now).0),
        None
    );
}

#[test]
fn an_approved_key_goes_only_to_the_pending_name() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Approve), []);
    book.decide(&reg(5, "real", None), SRC, T, now);
    book.approve(5).unwrap();
    let (d, _) = book.decide(&reg(5, "thief", None), OTHER, T, now);
    assert_eq!(refusal(&d), Some(RefusalCode::AuthenticationFailed));
    let (d, _) = book.decide(&reg(5, "real", None), SRC, T, now);
    assert!(
        matches!(
            d,
            Decision::Accept {
                totp_key: Some(_),
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn re_enrolling_keeps_the_node_ids_and_name() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Open), []);
    let key = enroll_open(&mut book, 100, "edge", now);
    book.decide(&reg(200, "edge", code(&key, T + 30)), SRC, T + 30, now);
    let (again, _) = book.enroll(Some(100), None);
    assert_eq!(again.node_ids, [100, 200]);
    assert_eq!(again.name.as_deref(), Some("edge"));
}

#[test]
fn revoking_an_impostor_does_not_lock_out_the_real_node() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Open), []);
    let key = enroll_open(&mut book, 100, "edge", now);
    // An impostor takes the name with a wrong code, and is revoked.
    book.decide(&reg(666, "edge", Some("000000".into())), OTHER, T, now);
    book.revoke(666).unwrap();
    // The real node restarts under a new id with its key: it is itself, not the tombstone.
    let (d, _) = book.decide(&reg(300, "edge", code(&key, T + 30)), SRC, T + 30, now);
    assert_eq!(
        d,
        Decision::Accept {
            identity: 100,
            totp_key: None
        }
    );
    // A stranger with no code is still refused by the name's tombstone.
    assert_eq!(
        refusal(&book.decide(&reg(301, "edge", None), OTHER, T + 30, now).0),
        Some(RefusalCode::Revoked)
    );
}

/// A restarted Core starts from the stored identities as they are: the replay guard holds the
/// last step acknowledged before the restart (it was durable before the ack), so the next step
/// gets in at once and the last one is refused as a replay, which counts as no failure.
#[test]
fn after_a_restart_the_next_step_gets_in_and_the_last_one_is_a_replay() {
    let now = Instant::now();
    let mut book = IdentityBook::new(settings(Enrollment::Open), []);
    let key = enroll_open(&mut book, 1, "edge", now);
    let (d, changes) = book.decide(&reg(1, "edge", code(&key, T)), SRC, T, now);
    assert_eq!(refusal(&d), None);
    let stored: Vec<Identity> = changes
        .into_iter()
        .map(|IdentityChange::Upsert(identity)| identity)
        .collect();
    assert_eq!(
        stored[0].last_step,
        Some(T / 30),
        "the step goes to the store"
    );

    for restart_at in [T + 1, T + 29] {
        let mut restarted = IdentityBook::new(settings(Enrollment::Open), stored.clone());
        // The last step again, more often than max_failures: refused, never locked out.
        for _ in 0..5 {
            let (d, _) = restarted.decide(&reg(1, "edge", code(&key, T)), SRC, restart_at, now);
            assert_eq!(refusal(&d), Some(RefusalCode::AuthenticationFailed));
        }
        let (d, changes) =
            restarted.decide(&reg(1, "edge", code(&key, T + 30)), SRC, restart_at, now);
        assert_eq!(
            d,
            Decision::Accept {
                identity: 1,
                totp_key: None
            },
            "restarted at +{} s",
            restart_at - T
        );
        assert_eq!(changes.len(), 1, "the newer step is stored in turn");
    }
}
