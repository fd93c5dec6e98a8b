//! HoneyBee Core's durable store: attack events, their statistics, and the fleet's records
//! (nodes with all their ids, pots, histories), in one SQLite database (`<dir>/honeybee.db`,
//! WAL, `synchronous=FULL`, versioned migrations applied at open).
//!
//! - [`StoreWriter`] owns the only write connection, on its own OS thread. Callers queue
//!   events and fleet changes through it without blocking; it commits them in batches (at
//!   least every `commit_interval`, at most `max_batch` events per transaction), publishes
//!   each commit to subscribers, and applies retention between batches.
//! - [`Store`] is the read side: event pages with cursors, statistics from hourly aggregates,
//!   the stored fleet, online backup. Synchronous: call it off async threads.
//!
//! The schema, its indexes and what each query costs are documented in `schema.rs`,
//! `read/events.rs` and `read/stats.rs`.
//!
//! ```
//! use std::time::SystemTime;
//! use honeybee_store::{EventQuery, NewEvent, StoreWriter, TimestampSource, WriterOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let (writer, store) = StoreWriter::spawn(dir.path(), WriterOptions::default()).unwrap();
//! writer
//!     .append(vec![NewEvent {
//!         node_id: 11_364_728_073_201_639_405,
//!         node_name: "bee-1".into(),
//!         pot_id: "cowrie-01".into(),
//!         pot_type: Some("cowrie".into()),
//!         event_type: "cowrie.login.failed".into(),
//!         timestamp: "2024-01-15T10:30:00Z".into(),
//!         timestamp_source: TimestampSource::Node,
//!         received_at: SystemTime::now(),
//!         src_ip: Some("203.0.113.7".into()),
//!         username: Some("root".into()),
//!         password: Some("123456".into()),
//!         command: None,
//!         download_url: None,
//!         sha256: None,
//!         data: r#"{"src_ip":"203.0.113.7"}"#.into(),
//!     }])
//!     .unwrap();
//! writer.flush().unwrap();
//! let page = store.events(&EventQuery::default()).unwrap();
//! assert_eq!(page.events[0].id, 1);
//! assert_eq!(page.events[0].node_id, 11_364_728_073_201_639_405);
//! ```

mod alert;
mod convert;
mod dim;
mod disk;
mod error;
mod event;
mod fleet;
mod output;
mod query;
mod read;
mod schema;
mod time_index;
mod writer;

pub use alert::{AlertChange, AlertRow, AlertState, CLEARED_ALERTS_KEPT};
pub use disk::free_disk_bytes;
pub use error::StoreError;
pub use event::{Committed, NewEvent, StoredEvent, TimestampSource};
pub use fleet::{
    AuditRow, CommandRow, Fleet, FleetNode, FleetPot, HISTORY_LOADED, IdentityRow, IdentityState,
    NodeEventRow, NodeRow, NodeStatusRow, OverrideRow, PotRow, TransitionRow,
};
pub use output::{
    DEAD_LETTERS_KEPT, DeadKind, DeadLetter, EventValues, INDICATORS_KEPT, Indicator,
    IndicatorKind, Observation, Observations, OutputPosition,
};
pub use query::{
    Cursor, DEFAULT_LIMIT, EventPage, EventQuery, MAX_LIMIT, Stats, StatsQuery, TOP_N,
};
pub use read::{OBSERVATION_SCAN_LIMIT, Store};
pub use schema::{DB_FILE, SCHEMA_VERSION};
pub use writer::{
    COMMIT_SECONDS_BUCKETS, SUBSCRIBER_CAPACITY, StoreWriter, WriterHandle, WriterMetrics,
    WriterOptions,
};
