//! The database file: opening it (writer and reader connections, their pragmas), and the
//! versioned schema migrations applied when the writer opens it.
//!
//! # Schema and why its indexes are these
//!
//! Every secondary index is paid on every insert (STACK-FACTS.md: ~230k rows/s with none,
//! ~61k rows/s with six), so `events` has exactly three, each composite with `id` so that a
//! filtered page is a range scan that is already in id (= cursor) order:
//!
//! - `events_node (id >> 14, node_id, id)`: events of a node (the API resolves "any of its ids"
//!   to a list; one range per id and bucket of 16,384 ids, merged);
//! - `events_src_ip (id >> 14, src_ip, id) WHERE src_ip IS NOT NULL`: events of an attacker
//!   address (partial: events without an address cost nothing). These two lead with the id's
//!   bucket (migration 11) so that a commit's entries land in the newest bucket's pages rather
//!   than a page per node or address anywhere in the index;
//! - `events_event_type (event_type, id)`: events of a type.
//!
//! `pot_id` and `pot_type` have no index: a pot belongs to a node, so a pot query almost always
//! comes with its node and is served by `events_node`; `pot_type` is low-cardinality (a handful
//! of pot kinds), so filtering it on top of an id-range or index scan finds a page quickly. Such
//! residual filters scan a bounded id window per page (see `read/events.rs`).
//! `received_at` has no index either: the writer keeps it non-decreasing in id order, so a
//! time range becomes an id range by binary search on the primary key.
//!
//! Statistics never scan `events`: the writer counts committed batches in memory and upserts
//! one row per distinct key into two aggregate tables every two seconds (`writer/aggregate.rs`;
//! `meta.stats_through_id` says how far they go, and the events past it are counted again at
//! open):
//!
//! - `stats_hourly (dim, hour, value, count)`: the whole fleet, per hour, for every dimension
//!   (total, node, event type, pot type, source address, username, password, command,
//!   download URL, SHA-256); keyed
//!   dimension-first so that one dimension over an hour range is one range scan;
//! - `stats_node_hourly (hour, node_id, dim, value, count)`: event types and pot types per node
//!   (a node's total is the `stats_hourly` node dimension; its top addresses, credentials,
//!   commands and downloads are counted from its events, see `read/stats.rs`); keyed
//!   hour-first so inserts stay in the current hour's region and retention deletes a prefix; a
//!   node-filtered query
//!   looks up each (hour, node, dim) prefix.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;

/// The database file inside the store directory.
pub const DB_FILE: &str = "honeybee.db";

/// The migrations, in order; migration `i` (0-based) brings the schema to version `i + 1`,
/// recorded in `PRAGMA user_version`, in the same transaction as its statements.
const MIGRATIONS: &[&str] = &[
    // 1: events, statistics, fleet.
    "
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        node_id INTEGER NOT NULL,
        node_name TEXT NOT NULL,
        pot_id TEXT NOT NULL,
        pot_type TEXT,
        event_type TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        timestamp_source INTEGER NOT NULL,
        src_ip TEXT,
        username TEXT,
        password TEXT,
        command TEXT,
        data TEXT NOT NULL
    );
    CREATE INDEX events_node ON events (node_id, id);
    CREATE INDEX events_src_ip ON events (src_ip, id) WHERE src_ip IS NOT NULL;
    CREATE INDEX events_event_type ON events (event_type, id);

    CREATE TABLE stats_hourly (
        dim INTEGER NOT NULL,
        hour INTEGER NOT NULL,
        value TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (dim, hour, value)
    ) WITHOUT ROWID;
    CREATE TABLE stats_node_hourly (
        hour INTEGER NOT NULL,
        node_id INTEGER NOT NULL,
        dim INTEGER NOT NULL,
        value TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (hour, node_id, dim, value)
    ) WITHOUT ROWID;

    CREATE TABLE nodes (
        node_id INTEGER PRIMARY KEY,
        node_name TEXT NOT NULL,
        node_type TEXT NOT NULL,
        address TEXT NOT NULL,
        port INTEGER NOT NULL,
        status TEXT NOT NULL,
        protocol_version INTEGER NOT NULL,
        remote_addr TEXT,
        last_seen INTEGER NOT NULL,
        registered_at INTEGER NOT NULL
    );
    CREATE TABLE node_ids (
        alias_id INTEGER PRIMARY KEY,
        node_id INTEGER NOT NULL
    );
    CREATE INDEX node_ids_node ON node_ids (node_id);
    CREATE TABLE node_status_history (
        seq INTEGER PRIMARY KEY,
        node_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL
    );
    CREATE INDEX node_status_history_node ON node_status_history (node_id, seq);
    CREATE TABLE node_events (
        seq INTEGER PRIMARY KEY,
        node_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        message TEXT
    );
    CREATE INDEX node_events_node ON node_events (node_id, seq);

    CREATE TABLE pots (
        node_id INTEGER NOT NULL,
        pot_id TEXT NOT NULL,
        pot_type TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT,
        updated_at INTEGER NOT NULL,
        restarts INTEGER NOT NULL,
        gave_up INTEGER NOT NULL,
        PRIMARY KEY (node_id, pot_id)
    ) WITHOUT ROWID;
    CREATE TABLE pot_transitions (
        seq INTEGER PRIMARY KEY,
        node_id INTEGER NOT NULL,
        pot_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        message TEXT,
        expected INTEGER NOT NULL
    );
    CREATE INDEX pot_transitions_pot ON pot_transitions (node_id, pot_id, seq);
    ",
    // 2: node identities (secret, ids, name, state, replay guard).
    "
    CREATE TABLE identities (
        key INTEGER PRIMARY KEY,
        name TEXT,
        node_ids TEXT NOT NULL,
        secret TEXT,
        state TEXT NOT NULL,
        last_step INTEGER,
        key_delivered INTEGER NOT NULL,
        name_shared INTEGER NOT NULL
    );
    ",
    // 3: commands and their outcomes, and the audit log.
    "
    CREATE TABLE commands (
        id INTEGER PRIMARY KEY,
        node_id INTEGER NOT NULL,
        command TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        result TEXT
    );
    CREATE INDEX commands_node ON commands (node_id, id);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        source TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL
    );
    ",
    // 4: operators' overrides of the desired state (PUT/DELETE .../pots/{pot_id}).
    "
    CREATE TABLE desired_overrides (
        node_id INTEGER NOT NULL,
        pot_id TEXT NOT NULL,
        desired TEXT,
        file_fingerprint INTEGER,
        set_at INTEGER NOT NULL,
        PRIMARY KEY (node_id, pot_id)
    );
    ",
    // 5: pots an operator stopped (held stopped until started again).
    "
    CREATE TABLE pot_holds (
        node_id INTEGER NOT NULL,
        pot_id TEXT NOT NULL,
        PRIMARY KEY (node_id, pot_id)
    );
    ",
    // 6: downloads as event fields (no index: they are a statistics dimension, not a filter).
    "
    ALTER TABLE events ADD COLUMN download_url TEXT;
    ALTER TABLE events ADD COLUMN sha256 TEXT;
    ",
    // 7: alerts as durable state (`alert.rs`): the alerts, their change log for followers, and
    // the nodes a restarted Core waits for (connected, or lost within the reconnect grace).
    // `alerts_cleared` serves both listings: the open ones (NULL) and the newest cleared.
    "
    CREATE TABLE alerts (
        alert_id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        node_id INTEGER,
        node_name TEXT,
        pot_id TEXT,
        message TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        cleared_at INTEGER,
        cleared_seq INTEGER
    );
    CREATE INDEX alerts_cleared ON alerts (cleared_seq);
    CREATE TABLE alert_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id INTEGER NOT NULL,
        state TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX alert_changes_alert ON alert_changes (alert_id);
    ALTER TABLE nodes ADD COLUMN awaited INTEGER NOT NULL DEFAULT 0;
    ",
    // 8: each pot's restart state (budget, give-up, how it was last installed), kept by its
    // actor so that a restarted actor or Core goes on where it was.
    "
    ALTER TABLE pots ADD COLUMN supervision TEXT;
    ",
    // 9: the outputs (`output.rs`): each sink's durable position, its dead letters (read newest
    // first per sink), and the threat-intel indicators with their fixed `date_added` (TAXII
    // pages by `seq`, which follows `date_added`; a value is one row, found by its key).
    "
    CREATE TABLE output_positions (
        sink TEXT PRIMARY KEY,
        last_event_id INTEGER NOT NULL,
        last_alert_seq INTEGER NOT NULL,
        skipped INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE output_dead (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sink TEXT NOT NULL,
        kind TEXT NOT NULL,
        item_id INTEGER NOT NULL,
        change_seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        status INTEGER,
        error TEXT NOT NULL
    );
    CREATE INDEX output_dead_sink ON output_dead (sink, seq);
    CREATE TABLE intel_indicators (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        date_added INTEGER NOT NULL,
        UNIQUE (kind, value)
    );
    ",
    // 10: each node's newest event time, kept by the writer with the statistics (deferred:
    // `meta.stats_through_id` says how far they go); filled in from the events stored so far.
    "
    ALTER TABLE nodes ADD COLUMN last_event_at INTEGER;
    UPDATE nodes SET last_event_at = (
        SELECT max(received_at) FROM events WHERE id IN (
            SELECT (SELECT max(id) FROM events x WHERE x.node_id = a.alias_id)
            FROM node_ids a WHERE a.node_id = nodes.node_id
            UNION ALL
            SELECT max(id) FROM events x WHERE x.node_id = nodes.node_id));
    ",
    // 11: the two indexes whose keys scatter (a node's events, an address's events) lead with
    // the id's bucket (`id >> 14`, see `BUCKET_SHIFT`): a commit's entries all land in the
    // newest bucket's few pages instead of one page per node or address anywhere in an index
    // that grows with the table, so what a commit writes no longer grows with the table.
    // Reads walk the buckets of their id range (`read/events.rs`).
    "
    DROP INDEX events_node;
    DROP INDEX events_src_ip;
    CREATE INDEX events_node ON events ((id >> 14), node_id, id);
    CREATE INDEX events_src_ip ON events ((id >> 14), src_ip, id) WHERE src_ip IS NOT NULL;
    ",
];

/// Ids per bucket of the bucketed event indexes is `1 << BUCKET_SHIFT` (migration 11; the
/// number is in their definitions, so it cannot change without a migration). 16,384: a commit's
/// entries touch a bucket's few pages, and a read of a node's events over a whole table of
/// 100 M events walks ~6,100 buckets (one index seek each).
pub(crate) const BUCKET_SHIFT: u32 = 14;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Where the database of the store in `dir` lives.
pub(crate) fn db_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

/// Creates `dir` if needed and checks that it is a writable directory.
fn prepare_dir(dir: &Path) -> Result<(), StoreError> {
    let fail = |source| StoreError::Directory {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".honeybee-write-probe");
    fs::write(&probe, b"probe").map_err(fail)?;
    fs::remove_file(&probe).map_err(fail)
}

/// Opens (creating if needed) the store in `dir` for writing: WAL, `synchronous=FULL`, and
/// every pending migration applied.
pub(crate) fn open_writer(dir: &Path) -> Result<Connection, StoreError> {
    prepare_dir(dir)?;
    let path = db_path(dir);
    if !path.exists() {
        create_private(&path).map_err(|source| StoreError::Directory {
            path: path.clone(),
            source,
        })?;
    }
    let mut conn = Connection::open(&path).map_err(|e| StoreError::open(&path, &e))?;
    restrict_to_owner(dir, &path)?;
    configure_writer(&conn).map_err(|e| StoreError::open(&path, &e))?;
    migrate(&mut conn, &path)?;
    Ok(conn)
}

/// Creates an empty file only its owner may read (SQLite accepts an empty file as a new
/// database), so no secret is ever written to a file others can open.
pub(crate) fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// The store holds node secrets: only its owner may read it (SQLite gives the WAL and shared
/// memory files the database file's mode).
fn restrict_to_owner(dir: &Path, path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let set = |p: &Path, mode| {
            fs::set_permissions(p, fs::Permissions::from_mode(mode)).map_err(|source| {
                StoreError::Directory {
                    path: p.to_path_buf(),
                    source,
                }
            })
        };
        set(dir, 0o700)?;
        set(path, 0o600)?;
    }
    #[cfg(not(unix))]
    let _ = (dir, path);
    Ok(())
}

fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    // 16 KiB pages (for a new file only): measured ~1.3-1.5x the insert rate of 4 KiB with
    // the three event indexes (fewer page splits and B-tree levels per row).
    conn.execute_batch("PRAGMA page_size = 16384;")?;
    // This statement reads the header: a file that is not a database fails here.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!(
                "cannot switch to WAL mode (journal mode is {mode})"
            )),
        ));
    }
    // FULL: every commit is on disk before the export sink can read it, so a power loss never
    // takes back events that were already exported (one fsync per commit, ~10 a second).
    // A 32 MiB page cache: the writer needs the tables' right edges and the index pages it
    // touches; a bigger one only grew the Core's memory as the file grew (128 MiB was ~13 KiB
    // per node of a 10,000-node fleet, reached whether the fleet sent much or little).
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32768;
         PRAGMA wal_autocheckpoint = 0;
         PRAGMA journal_size_limit = 134217728;",
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| StoreError::open(path, &e))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let version = index as i64 + 1;
        let fail = |source| StoreError::Migration {
            path: path.to_path_buf(),
            version,
            source,
        };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        log::info!(
            "Store {} migrated to schema version {version}.",
            path.display()
        );
    }
    Ok(())
}

/// Opens a read connection on an existing store (the writer, or a previous run, created it).
pub(crate) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::open(path, &e))?;
    let check = |conn: &Connection| -> rusqlite::Result<i64> {
        conn.execute_batch(
            "PRAGMA query_only = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -16384;",
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
    };
    let version = check(&conn).map_err(|e| StoreError::open(path, &e))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version < SCHEMA_VERSION {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            reason: format!(
                "schema version {version}, expected {SCHEMA_VERSION} (start the Core on it once to migrate)"
            ),
        });
    }
    Ok(conn)
}

/// A plain connection on an existing store (for `VACUUM INTO`, which `query_only` refuses).
pub(crate) fn open_plain(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::open(path, &e))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| StoreError::open(path, &e))?;
    Ok(conn)
}
