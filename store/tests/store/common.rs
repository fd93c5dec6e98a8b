//! Shared helpers: event builders, a store in a temporary directory, polling with a deadline.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use honeybee_protocol::{NodeStatus, NodeType};
use honeybee_store::{
    EventPage, EventQuery, NewEvent, NodeRow, Store, StoreWriter, StoredEvent, TimestampSource,
    WriterOptions,
};

/// A node id above 2^63 (real nodes use random u64s).
pub const BIG_ID: u64 = 11_364_728_073_201_639_405;

/// 2024-01-15T10:00:00Z.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_705_312_800)
}

pub fn at(seconds: u64) -> SystemTime {
    t0() + Duration::from_secs(seconds)
}

/// A registered node's record.
pub fn node(id: u64, name: &str) -> NodeRow {
    NodeRow {
        node_id: id,
        node_name: name.into(),
        node_type: NodeType::Full,
        address: "192.0.2.10".into(),
        port: 8080,
        status: NodeStatus::Running,
        protocol_version: 2,
        remote_addr: Some("192.0.2.10:51234".into()),
        last_seen: at(100) + Duration::from_micros(7),
        registered_at: at(1),
        awaited: true,
    }
}

/// A fully populated event.
pub fn event(node_id: u64, received_at: SystemTime) -> NewEvent {
    NewEvent {
        node_id,
        node_name: format!("bee-{node_id}"),
        pot_id: "cowrie-01".into(),
        pot_type: Some("cowrie".into()),
        event_type: "cowrie.login.failed".into(),
        timestamp: "2024-01-15T10:30:00.123456Z".into(),
        timestamp_source: TimestampSource::Node,
        received_at,
        src_ip: Some("203.0.113.7".into()),
        username: Some("root".into()),
        password: Some("hunter2".into()),
        command: None,
        download_url: None,
        sha256: None,
        data: r#"{"src_ip":"203.0.113.7","username":"root","password":"hunter2"}"#.into(),
    }
}

/// What a stored event must equal, given its id.
pub fn stored(id: u64, e: &NewEvent) -> StoredEvent {
    StoredEvent {
        id,
        node_id: e.node_id,
        node_name: e.node_name.clone(),
        pot_id: e.pot_id.clone(),
        pot_type: e.pot_type.clone(),
        event_type: e.event_type.clone(),
        timestamp: e.timestamp.clone(),
        timestamp_source: e.timestamp_source,
        received_at: e.received_at,
        src_ip: e.src_ip.clone(),
        username: e.username.clone(),
        password: e.password.clone(),
        command: e.command.clone(),
        download_url: e.download_url.clone(),
        sha256: e.sha256.clone(),
        data: e.data.clone(),
    }
}

pub fn fast_options() -> WriterOptions {
    WriterOptions {
        commit_interval: Duration::from_millis(20),
        ..WriterOptions::default()
    }
}

pub fn spawn(dir: &Path) -> (StoreWriter, Store) {
    StoreWriter::spawn(dir, fast_options()).unwrap()
}

/// Every event matching `query`, following cursors (through their string form) with `limit`.
pub fn all_pages(store: &Store, query: &EventQuery, limit: usize) -> Vec<StoredEvent> {
    let mut query = EventQuery {
        limit: Some(limit),
        ..query.clone()
    };
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let EventPage { events, next } = store.events(&query).unwrap();
        assert!(events.len() <= limit);
        out.extend(events);
        match next {
            Some(cursor) => {
                query.after = Some(honeybee_store::Cursor::parse(&cursor.to_string()).unwrap())
            }
            None => return out,
        }
    }
    panic!("pagination did not end");
}

/// Polls `check` until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    check()
}
