//! Commands with their outcomes, the audit log and desired-state overrides survive a restart.

use honeybee_store::{AuditRow, CommandRow, OverrideRow};

use crate::common::{BIG_ID, at, spawn};

fn command(id: u64, node_id: u64, status: &str) -> CommandRow {
    CommandRow {
        id,
        node_id,
        command: r#"{"DeployPot":"cowrie-01"}"#.into(),
        status: status.into(),
        created_at: at(id),
        updated_at: at(id + 1),
        result: (status == "completed").then(|| r#"{"status":"Running"}"#.into()),
    }
}

#[test]
fn commands_are_kept_with_their_latest_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = spawn(dir.path());
    writer.upsert_command(command(1, BIG_ID, "sent")).unwrap();
    writer.upsert_command(command(2, 7, "pending")).unwrap();
    writer
        .upsert_command(command(3, BIG_ID, "pending"))
        .unwrap();
    writer
        .upsert_command(command(1, BIG_ID, "completed"))
        .unwrap();
    writer.shutdown().unwrap();

    let (_, store) = spawn(dir.path());
    assert_eq!(
        store.command(1).unwrap(),
        Some(command(1, BIG_ID, "completed"))
    );
    assert_eq!(store.command(99).unwrap(), None);
    let ids: Vec<u64> = store
        .commands_of(&[BIG_ID, 7], 10)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [3, 2, 1], "newest first, across the node's ids");
    assert_eq!(store.commands_of(&[BIG_ID], 1).unwrap().len(), 1);
    assert_eq!(store.last_command_id().unwrap(), 3);
}

#[test]
fn the_audit_log_is_append_only_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    for (i, action) in ["POST /api/v1/nodes/1/commands", "DELETE /api/v1/nodes/2"]
        .iter()
        .enumerate()
    {
        writer
            .append_audit(AuditRow {
                at: at(i as u64),
                actor: "ops-alice".into(),
                source: "192.0.2.5".into(),
                action: (*action).into(),
                target: Some(format!("{}", i + 1)),
                outcome: "202".into(),
            })
            .unwrap();
    }
    writer.flush().unwrap();
    let log = store.audit(10).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].action, "DELETE /api/v1/nodes/2");
    assert_eq!(log[1].actor, "ops-alice");
}

#[test]
fn unfinished_commands_are_found_for_settling() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    for (id, status) in [
        (1, "completed"),
        (2, "sent"),
        (3, "pending"),
        (4, "timed_out"),
    ] {
        writer.upsert_command(command(id, 7, status)).unwrap();
    }
    writer.flush().unwrap();
    let ids: Vec<u64> = store
        .unfinished_commands()
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [2, 3]);
}

#[test]
fn overrides_are_replaced_dropped_and_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = spawn(dir.path());
    let row = |pot: &str, desired: Option<&str>, fingerprint: Option<u64>| OverrideRow {
        node_id: BIG_ID,
        pot_id: pot.into(),
        desired: desired.map(str::to_owned),
        file_fingerprint: fingerprint,
        set_at: at(5),
    };
    writer
        .set_override(row("a", Some("{\"pot_type\":\"cowrie\"}"), None))
        .unwrap();
    writer.set_override(row("b", None, Some(u64::MAX))).unwrap();
    writer.set_override(row("c", None, None)).unwrap();
    writer
        .set_override(row("a", Some("{\"pot_type\":\"web\"}"), Some(3)))
        .unwrap();
    writer.drop_override(BIG_ID, "c".into()).unwrap();
    writer.shutdown().unwrap();
    let (_, store) = spawn(dir.path());
    assert_eq!(
        store.load_overrides().unwrap(),
        [
            row("a", Some("{\"pot_type\":\"web\"}"), Some(3)),
            row("b", None, Some(u64::MAX)),
        ]
    );
}
