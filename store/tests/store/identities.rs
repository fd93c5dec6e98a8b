//! Node identities survive a restart, and the file that holds their secrets is private.

use honeybee_protocol::SecretString;
use honeybee_store::{IdentityRow, IdentityState};

use crate::common::{BIG_ID, spawn};

fn identity(key: u64, state: IdentityState) -> IdentityRow {
    IdentityRow {
        key,
        name: Some("edge-1".into()),
        node_ids: vec![key, 7, u64::MAX],
        secret: Some(SecretString::new("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")),
        state,
        last_step: Some(56_843_820),
        key_delivered: true,
        name_shared: false,
    }
}

#[test]
fn identities_round_trip_and_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = spawn(dir.path());
    writer
        .upsert_identity(identity(BIG_ID, IdentityState::Active))
        .unwrap();
    writer
        .upsert_identity(identity(5, IdentityState::Pending))
        .unwrap();
    let mut revoked = identity(5, IdentityState::Revoked);
    revoked.secret = None;
    revoked.last_step = None;
    revoked.name = None;
    writer.upsert_identity(revoked.clone()).unwrap();
    writer.shutdown().unwrap();

    let (_, store) = spawn(dir.path());
    let loaded = store.load_identities().unwrap();
    assert_eq!(loaded.len(), 2);
    assert!(loaded.contains(&identity(BIG_ID, IdentityState::Active)));
    assert!(loaded.contains(&revoked));
}

#[cfg(unix)]
#[test]
fn the_store_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (writer, _) = spawn(&data);
    writer
        .upsert_identity(identity(1, IdentityState::Active))
        .unwrap();
    writer.flush().unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("honeybee.db")), 0o600);
    let wal = data.join("honeybee.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
}

/// A receipt answers once what was queued before it is on disk — within milliseconds, not a
/// commit interval — and a read connection opened then sees it.
#[test]
fn a_receipt_answers_once_the_change_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let options = honeybee_store::WriterOptions {
        commit_interval: std::time::Duration::from_secs(3600),
        ..Default::default()
    };
    let (writer, store) = honeybee_store::StoreWriter::spawn(dir.path(), options).unwrap();
    for round in 0..3u64 {
        let mut changed = identity(BIG_ID, IdentityState::Active);
        changed.last_step = Some(56_843_820 + round);
        writer.upsert_identity(changed.clone()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        writer.when_durable(move || tx.send(()).unwrap()).unwrap();
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the receipt was not answered");
        assert_eq!(store.load_identities().unwrap(), vec![changed]);
    }
}

/// Receipts from many callers at once share commits, and every one is answered.
#[test]
fn receipts_waiting_together_are_all_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    for key in 1..=500u64 {
        writer
            .upsert_identity(identity(key, IdentityState::Active))
            .unwrap();
        let tx = tx.clone();
        writer.when_durable(move || tx.send(key).unwrap()).unwrap();
    }
    let mut answered: Vec<u64> = (0..500)
        .map(|_| rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap())
        .collect();
    assert!(answered.is_sorted(), "receipts are answered in order");
    answered.dedup();
    assert_eq!(answered.len(), 500);
    assert_eq!(store.load_identities().unwrap().len(), 500);
}
