//! **ingest**: events per second from node sockets to committed rows. A fresh Core (TOTP off,
//! no per-node rate limit) takes 1,000 registered raw TCP node connections; two sender
//! threads write 500 ~300-byte cowrie events per node, 16 KiB at a time round robin, and the
//! clock stops when the Core's `honeybee_events_stored_total` reaches every event. Next to
//! it, in the same run: the raw batched-insert rate of the same SQLite build into the store's
//! own `events` table (with and without its secondary indexes), and the rate of merely
//! parsing the same frames into `serde_json::Value` on one thread.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use honeybee_store::{StoreWriter, WriterOptions};

use crate::core_process::{self, Core, Metrics, Settings};
use crate::machine::CpuUse;
use crate::report::{Table, Target, int, mib, round};
use crate::wire;

const NODES: usize = 1000;
const EVENTS_PER_NODE: usize = 500;
const SENDERS: usize = 2;
const CHUNK: usize = 16 * 1024;
const STORED_DEADLINE: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(20);
const TARGET_EVENTS_PER_SEC: f64 = 100_000.0;
const RAW_ROWS_PER_TX: usize = 20_000;

/// A registered node connection and the events it is to send.
pub type Load = (TcpStream, Vec<u8>);

/// The end-to-end run.
#[derive(Debug)]
struct EndToEnd {
    events: u64,
    elapsed: Duration,
    /// When the senders had written everything.
    written: Duration,
    core_cpu: CpuUse,
    peak_rss: u64,
}

impl EndToEnd {
    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

pub fn run() -> Vec<Target> {
    let e2e = end_to_end();
    let total = NODES * EVENTS_PER_NODE;
    let raw_indexed = raw_insert(total, true);
    let raw_bare = raw_insert(total, false);
    let parse = parse_rate(total);
    let rate = e2e.rate();
    let mut table = Table::new(
        &format!(
            "ingest — {} events ({} connections × {}), Core TOTP off, no per-node limit; \
             senders on the same 2 cores",
            int(total as u64),
            int(NODES as u64),
            EVENTS_PER_NODE
        ),
        &["measure", "events/s", "end to end vs this"],
    );
    table.row(vec![
        format!(
            "end to end: TCP until stored ({:.2} s; all written after {:.2} s; Core CPU {:.2} s \
             = {:.1} µs/event; Core peak RSS sampled {} MiB)",
            e2e.elapsed.as_secs_f64(),
            e2e.written.as_secs_f64(),
            e2e.core_cpu.cpu.as_secs_f64(),
            e2e.core_cpu.cpu.as_secs_f64() * 1e6 / e2e.events as f64,
            mib(e2e.peak_rss)
        ),
        round(rate),
        "1.00x".into(),
    ]);
    for (label, other) in [
        (
            "raw batched insert, same schema with its secondary indexes (20,000 rows/tx)",
            raw_indexed,
        ),
        ("raw batched insert, no secondary index", raw_bare),
        (
            "serde_json::Value parse of the same frames, one thread",
            parse,
        ),
    ] {
        table.row(vec![
            label.into(),
            round(other),
            format!("{:.2}x", rate / other),
        ]);
    }
    table.print();
    vec![Target::new(
        "ingest",
        "≥ 100,000 events/s stored end to end",
        format!("{} events/s", round(rate)),
        rate >= TARGET_EVENTS_PER_SEC,
    )]
}

/// Registers the node connections, writes every event, and waits until all are stored.
fn end_to_end() -> EndToEnd {
    let core = Core::start(&Settings {
        totp: false,
        enrollment: "open",
        max_unregistered: NODES,
        node_events_per_sec: Some(0),
    });
    let mut api = core.api();
    let loads: Vec<Load> = (0..NODES)
        .map(|i| {
            let node_id = 1_000_000 + i as u64;
            let reader = wire::register(core.node_addr, node_id, &format!("bench-{i}"));
            let load: String = (0..EVENTS_PER_NODE)
                .map(|n| wire::event(node_id, n))
                .collect();
            (reader.into_inner(), load.into_bytes())
        })
        .collect();
    let total = (NODES * EVENTS_PER_NODE) as u64;
    let cpu = core.cpu_mark();
    let started = Instant::now();
    let senders = spawn_senders(loads);
    let mut peak_rss = 0;
    let mut written = None;
    loop {
        if written.is_none() && senders.iter().all(|s| s.is_finished()) {
            written = Some(started.elapsed());
        }
        peak_rss = peak_rss.max(core.rss());
        let stored = Metrics::read(&mut api).events_stored();
        if stored >= total {
            break;
        }
        assert!(
            started.elapsed() < STORED_DEADLINE,
            "ingest: only {stored} of {total} events were stored within {STORED_DEADLINE:?}"
        );
        std::thread::sleep(POLL);
    }
    let elapsed = started.elapsed();
    let core_cpu = cpu.used();
    let streams = senders
        .into_iter()
        .flat_map(|s| s.join().expect("a sender thread panicked"))
        .map(|(stream, _)| stream)
        .collect();
    wire::goodbye_all(streams);
    core_process::wait_connections_closed(&mut api);
    core.stop();
    EndToEnd {
        events: total,
        elapsed,
        written: written.unwrap_or(elapsed),
        core_cpu,
        peak_rss,
    }
}

/// Sender threads, each round robin over its share of the connections, `CHUNK` at a time.
pub fn spawn_senders(mut loads: Vec<Load>) -> Vec<std::thread::JoinHandle<Vec<Load>>> {
    let share = loads.len().div_ceil(SENDERS);
    let mut shares = Vec::new();
    while !loads.is_empty() {
        let rest = loads.split_off(share.min(loads.len()));
        shares.push(std::mem::replace(&mut loads, rest));
    }
    shares
        .into_iter()
        .map(|mut conns| {
            std::thread::spawn(move || {
                let mut offset = 0;
                while conns.iter().any(|(_, load)| offset < load.len()) {
                    for (stream, load) in &mut conns {
                        if offset < load.len() {
                            let end = (offset + CHUNK).min(load.len());
                            stream
                                .write_all(&load[offset..end])
                                .expect("ingest: writing events to the Core failed");
                        }
                    }
                    offset += CHUNK;
                }
                conns
            })
        })
        .collect()
}

/// Raw batched inserts (20,000 rows per transaction, one prepared statement) into the store's
/// own `events` table with its secondary indexes, or without them; rows per second.
fn raw_insert(rows: usize, with_indexes: bool) -> f64 {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let (writer, _) =
        StoreWriter::spawn(dir.path(), WriterOptions::default()).expect("cannot create a store");
    writer.shutdown().expect("cannot close the new store");
    let conn = rusqlite::Connection::open(dir.path().join("honeybee.db"))
        .expect("cannot open the store's database");
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("cannot set the journal mode");
    if !with_indexes {
        conn.execute_batch(
            "DROP INDEX events_node; DROP INDEX events_src_ip; DROP INDEX events_event_type;",
        )
        .expect("the store's event indexes have changed names; update raw_insert");
    }
    let started = Instant::now();
    let mut n = 0;
    while n < rows {
        let end = (n + RAW_ROWS_PER_TX).min(rows);
        insert_batch(&conn, n..end);
        n = end;
    }
    rows as f64 / started.elapsed().as_secs_f64()
}

/// One transaction of rows `range`, with the same values as [`wire::event`] generates.
fn insert_batch(conn: &rusqlite::Connection, range: std::ops::Range<usize>) {
    let users = [
        "root", "admin", "ubuntu", "test", "oracle", "pi", "user", "guest",
    ];
    let tx = conn
        .unchecked_transaction()
        .expect("cannot begin a transaction");
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO events (received_at, node_id, node_name, pot_id, pot_type, \
                 event_type, timestamp, timestamp_source, src_ip, username, password, \
                 command, data) VALUES (?1, ?2, ?3, 'cowrie-01', 'cowrie', \
                 'cowrie.login.failed', '2024-01-15T10:30:00.123456Z', 0, ?4, ?5, ?6, NULL, ?7)",
            )
            .expect("the store's events table has changed; update raw_insert");
        for n in range {
            let data = format!(
                r#"{{"username":"{}","password":"pass{}","src_ip":"203.0.{}.{}","src_port":{},"session":"s{:08x}","protocol":"ssh"}}"#,
                users[n % users.len()],
                n % 500,
                (n / 7) % 20,
                n % 250,
                40_000 + n % 20_000,
                n
            );
            insert
                .execute(rusqlite::params![
                    1_705_314_600_000_000i64 + n as i64,
                    (1_000_000 + n % 1000) as i64,
                    format!("bench-{}", n % 1000),
                    format!("203.0.{}.{}", (n / 7) % 20, n % 250),
                    users[n % users.len()],
                    format!("pass{}", n % 500),
                    data,
                ])
                .expect("a raw insert failed");
        }
    }
    tx.commit().expect("cannot commit a raw insert batch");
}

/// Frames per second parsed into `serde_json::Value` on one thread: the same frames the
/// nodes sent, generated before the clock starts.
fn parse_rate(events: usize) -> f64 {
    let lines: Vec<String> = (0..events)
        .map(|i| {
            wire::event(
                1_000_000 + (i / EVENTS_PER_NODE) as u64,
                i % EVENTS_PER_NODE,
            )
        })
        .collect();
    let started = Instant::now();
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).expect("a generated event is not JSON");
        std::hint::black_box(value);
    }
    events as f64 / started.elapsed().as_secs_f64()
}
