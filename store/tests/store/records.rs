//! Commands with their outcomes and the audit log survive a restart.

use honeybee_store::{AuditRow, CommandRow};

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
