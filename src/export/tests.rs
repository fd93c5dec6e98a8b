//! The export sink against a real store in a temporary directory.

use std::time::SystemTime;

use honeybee_store::{NewEvent, StoreWriter, TimestampSource, WriterHandle, WriterOptions};

use super::*;

fn event(i: u64) -> NewEvent {
    NewEvent {
        node_id: u64::MAX - i,
        node_name: "edge".into(),
        pot_id: "cowrie-01".into(),
        pot_type: Some("cowrie".into()),
        event_type: "cowrie.command.input".into(),
        timestamp: "2024-01-15T10:30:00Z".into(),
        timestamp_source: TimestampSource::Node,
        received_at: SystemTime::now(),
        src_ip: None,
        username: None,
        password: None,
        command: Some(format!("echo {i}")),
        download_url: None,
        sha256: None,
        data: format!(r#"{{"input":"echo {i}","n":{i}}}"#),
    }
}

fn append(writer: &WriterHandle, range: std::ops::Range<u64>) {
    writer.append(range.map(event).collect()).unwrap();
    writer.flush().unwrap();
}

/// The ids in the export file, checking every line is a whole JSON event.
fn exported_ids(path: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'));
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["data"]["n"], value["id"].as_u64().unwrap() - 1);
            value["id"].as_u64().unwrap()
        })
        .collect()
}

struct Fixture {
    dir: tempfile::TempDir,
    writer: StoreWriter,
    store: Store,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let (writer, store) =
            StoreWriter::spawn(&dir.path().join("data"), WriterOptions::default()).unwrap();
        Fixture { dir, writer, store }
    }

    fn jsonl(&self) -> PathBuf {
        self.dir.path().join("events.jsonl")
    }

    fn sink(&self) -> ExportSink {
        ExportSink::start(
            self.jsonl(),
            self.dir.path().join("export.pos"),
            self.store.clone(),
            self.writer.subscribe(),
        )
        .unwrap()
    }
}

#[test]
fn every_event_once_in_order_across_restarts() {
    let f = Fixture::new();
    let sink = f.sink();
    append(&f.writer, 0..300);
    sink.finish();
    assert_eq!(exported_ids(&f.jsonl()), (1..=300).collect::<Vec<_>>());
    append(&f.writer, 300..450);
    let sink = f.sink();
    append(&f.writer, 450..500);
    sink.finish();
    assert_eq!(exported_ids(&f.jsonl()), (1..=500).collect::<Vec<_>>());
}

#[test]
fn a_torn_last_line_is_cut_and_rewritten() {
    let f = Fixture::new();
    append(&f.writer, 0..10);
    f.sink().finish();
    let mut file = OpenOptions::new().append(true).open(f.jsonl()).unwrap();
    file.write_all(b"{\"id\":11,\"node_id\":").unwrap();
    drop(file);
    append(&f.writer, 10..20);
    f.sink().finish();
    assert_eq!(exported_ids(&f.jsonl()), (1..=20).collect::<Vec<_>>());
}

#[test]
fn the_file_wins_over_a_stale_position_file() {
    let f = Fixture::new();
    append(&f.writer, 0..100);
    f.sink().finish();
    // A crash between writing lines and saving the position.
    std::fs::write(f.dir.path().join("export.pos"), "40\n").unwrap();
    append(&f.writer, 100..120);
    f.sink().finish();
    assert_eq!(exported_ids(&f.jsonl()), (1..=120).collect::<Vec<_>>());
}

#[test]
fn reopen_after_rotation_continues_in_a_new_file() {
    let f = Fixture::new();
    let sink = f.sink();
    append(&f.writer, 0..50);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sink.position() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "sink did not catch up"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let rotated = f.dir.path().join("events.jsonl.1");
    std::fs::rename(f.jsonl(), &rotated).unwrap();
    sink.reopen_and_wait();
    append(&f.writer, 50..80);
    sink.finish();
    assert_eq!(exported_ids(&rotated), (1..=50).collect::<Vec<_>>());
    assert_eq!(exported_ids(&f.jsonl()), (51..=80).collect::<Vec<_>>());
    // And a restart after the rotation resumes from the position file.
    append(&f.writer, 80..90);
    std::fs::rename(f.jsonl(), f.dir.path().join("events.jsonl.2")).unwrap();
    f.sink().finish();
    assert_eq!(exported_ids(&f.jsonl()), (81..=90).collect::<Vec<_>>());
}
