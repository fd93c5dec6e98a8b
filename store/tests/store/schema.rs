//! Opening a store: migrations, reopening, and clear errors for bad directories and files.

use std::fs;

use honeybee_store::{
    DB_FILE, EventQuery, SCHEMA_VERSION, StatsQuery, Store, StoreError, StoreWriter,
};
use rusqlite::Connection;

use crate::common::{at, event, fast_options, node, spawn};

#[test]
fn migrates_an_empty_directory_to_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("nested").join("data");
    let (writer, store) = spawn(&store_dir);
    assert_eq!(store.event_count().unwrap(), 0);
    writer.shutdown().unwrap();

    let conn = Connection::open(store_dir.join(DB_FILE)).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        (version, mode.as_str(), page),
        (SCHEMA_VERSION, "wal", 16384)
    );
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        indexes,
        ["events_event_type", "events_node", "events_src_ip"]
    );
}

#[test]
fn reopening_keeps_events_and_continues_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = spawn(dir.path());
    writer
        .append(vec![event(1, at(0)), event(2, at(1))])
        .unwrap();
    writer.shutdown().unwrap();

    let (writer, store) = spawn(dir.path());
    assert_eq!(store.event_count().unwrap(), 2);
    writer.append(vec![event(3, at(2))]).unwrap();
    writer.flush().unwrap();
    let ids: Vec<u64> = store
        .events(&EventQuery::default())
        .unwrap()
        .events
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn a_file_that_is_not_a_database_fails_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    fs::write(&db, "this is not a database, just text long enough to look like a header....................................").unwrap();
    let err = StoreWriter::spawn(dir.path(), fast_options()).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&db.display().to_string()), "{text}");
    assert!(text.contains("not a SQLite database"), "{text}");
    assert!(
        Store::open(dir.path())
            .unwrap_err()
            .to_string()
            .contains(&db.display().to_string())
    );
}

#[test]
fn a_damaged_database_fails_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = spawn(dir.path());
    writer
        .append((0..2000).map(|i| event(i, at(i))).collect())
        .unwrap();
    writer.shutdown().unwrap();
    let db = dir.path().join(DB_FILE);
    let mut bytes = fs::read(&db).unwrap();
    // Keep the header's magic string; wreck the rest of the first page (the schema).
    for b in &mut bytes[100..16384] {
        *b = 0xA5;
    }
    fs::write(&db, bytes).unwrap();
    let err = StoreWriter::spawn(dir.path(), fast_options()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&db.display().to_string()), "{text}");
    assert!(text.contains("damaged"), "{text}");
}

#[test]
fn an_unusable_directory_fails_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let under_file = file.join("data");
    let err = StoreWriter::spawn(&under_file, fast_options()).unwrap_err();
    assert!(matches!(err, StoreError::Directory { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "store directory {} is not usable: ",
            under_file.display()
        )),
        "{err}"
    );

    // Permissions do not bind root; check them only when they apply.
    if !rustix::process::geteuid().is_root() {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.path().join("read-only");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
        let err = StoreWriter::spawn(&ro, fast_options()).unwrap_err();
        assert!(err.to_string().contains(&ro.display().to_string()), "{err}");
        assert!(err.to_string().contains("ermission denied"), "{err}");
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    spawn(dir.path()).0.shutdown().unwrap();
    let db = dir.path().join(DB_FILE);
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = StoreWriter::spawn(dir.path(), fast_options()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "store database {} has schema version 99; this build knows up to {SCHEMA_VERSION} (was it written by a newer HoneyBee Core?)",
            db.display()
        )
    );
}

#[test]
fn a_store_from_before_downloads_and_alerts_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = spawn(dir.path());
    writer.upsert_node(node(1, "bee")).unwrap();
    writer.append(vec![event(1, at(0))]).unwrap();
    writer.shutdown().unwrap();
    // Take the store back to schema version 5 (before migrations 6 to 10).
    let db = dir.path().join(DB_FILE);
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "ALTER TABLE events DROP COLUMN download_url;
             ALTER TABLE events DROP COLUMN sha256;
             DROP TABLE alert_changes;
             DROP TABLE alerts;
             ALTER TABLE nodes DROP COLUMN awaited;
             ALTER TABLE pots DROP COLUMN supervision;
             DROP TABLE output_positions;
             DROP TABLE output_dead;
             DROP TABLE intel_indicators;
             ALTER TABLE nodes DROP COLUMN last_event_at;
             DELETE FROM meta WHERE key = 'stats_through_id';
             PRAGMA user_version = 5;",
        )
        .unwrap();

    let (writer, store) = spawn(dir.path());
    let old = &store.events(&EventQuery::default()).unwrap().events[0];
    assert_eq!(
        (
            old.username.as_deref(),
            old.download_url.as_deref(),
            old.sha256.as_deref()
        ),
        (Some("root"), None, None)
    );
    let mut new = event(2, at(1));
    new.download_url = Some("http://x/y".into());
    writer.append(vec![new]).unwrap();
    writer.flush().unwrap();
    let events = store.events(&EventQuery::default()).unwrap().events;
    assert_eq!(events[1].download_url.as_deref(), Some("http://x/y"));
    assert!(store.alerts(10).unwrap().is_empty());
    assert_eq!(store.last_alert_id().unwrap(), 0);
    assert!(store.output_positions().unwrap().is_empty());
    // The node's last event found among the events stored before; the statistics, which
    // counted every event then, not counted again.
    writer.flush_stats().unwrap();
    assert_eq!(store.last_events(&[1]).unwrap(), [(1, at(0))].into());
    assert_eq!(store.stats(&StatsQuery::default()).unwrap().total_events, 2);
    writer.shutdown().unwrap();
    let version: i64 = Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn opening_a_missing_store_for_reading_fails() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("no store database here"), "{err}");
}
