//! Ingest benchmark: (a) raw batched inserts into the store's indexed `events` table (one
//! prepared statement, 20k-row transactions, no writer thread, no statistics), (b) the same
//! without the secondary indexes, (c) `StoreWriter::append` end to end through the writer
//! thread (events, statistics, ids) until `flush` returns. Same machine, same run, ~300-byte
//! cowrie-like events with realistic cardinalities. Prints a markdown table.
//!
//! `cargo bench -p honeybee-store --bench ingest` (env `BENCH_EVENTS`, default 1,000,000;
//! `BENCH_RUNS`, default 3: the median is reported).

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use honeybee_store::{NewEvent, StoreWriter, TimestampSource, WriterOptions};
use rusqlite::{Connection, params};

const NODES: usize = 1_000;
const SRC_IPS: usize = 5_000;
const USERNAMES: usize = 200;
const PASSWORDS: usize = 500;
const COMMANDS: usize = 100;
const RAW_BATCH: usize = 20_000;
/// Events per `append` call (what a pipeline actor would hand over at a time).
const APPEND_CHUNK: usize = 1_000;

/// splitmix64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Universe {
    nodes: Vec<(u64, String)>,
    ips: Vec<String>,
    usernames: Vec<String>,
    passwords: Vec<String>,
    commands: Vec<String>,
}

impl Universe {
    fn new(rng: &mut Rng) -> Self {
        Universe {
            nodes: (0..NODES)
                .map(|i| (rng.next(), format!("bee-{i:04}")))
                .collect(),
            ips: (0..SRC_IPS)
                .map(|_| {
                    let v = rng.next();
                    format!(
                        "{}.{}.{}.{}",
                        v & 0xff,
                        (v >> 8) & 0xff,
                        (v >> 16) & 0xff,
                        (v >> 24) & 0xff
                    )
                })
                .collect(),
            usernames: (0..USERNAMES).map(|i| format!("user{i}")).collect(),
            passwords: (0..PASSWORDS).map(|i| format!("pass{i:04}!")).collect(),
            commands: (0..COMMANDS)
                .map(|i| format!("cat /proc/cpuinfo | grep name | wc -l # {i}"))
                .collect(),
        }
    }

    fn event(&self, rng: &mut Rng, received_at: SystemTime) -> NewEvent {
        let (node_id, node_name) = &self.nodes[rng.below(NODES)];
        let ip = &self.ips[rng.below(SRC_IPS)];
        let kind = rng.below(100);
        let session = rng.next() & 0xffff_ffff_ffff;
        let (event_type, username, password, command) = match kind {
            0..15 => ("cowrie.session.connect", None, None, None),
            15..25 => ("cowrie.client.version", None, None, None),
            25..60 => (
                "cowrie.login.failed",
                Some(&self.usernames[rng.below(USERNAMES)]),
                Some(&self.passwords[rng.below(PASSWORDS)]),
                None,
            ),
            60..65 => (
                "cowrie.login.success",
                Some(&self.usernames[rng.below(USERNAMES)]),
                Some(&self.passwords[rng.below(PASSWORDS)]),
                None,
            ),
            65..90 => (
                "cowrie.command.input",
                None,
                None,
                Some(&self.commands[rng.below(COMMANDS)]),
            ),
            _ => ("cowrie.session.closed", None, None, None),
        };
        let mut data = format!(
            r#"{{"eventid":"{event_type}","src_ip":"{ip}","src_port":{},"dst_ip":"10.0.0.5","dst_port":22,"session":"{session:012x}","sensor":"{node_name}","protocol":"ssh""#,
            40_000 + rng.below(20_000)
        );
        if let (Some(u), Some(p)) = (username, password) {
            data.push_str(&format!(
                r#","username":"{u}","password":"{p}","message":"login attempt [{u}/{p}]""#
            ));
        }
        if let Some(c) = command {
            data.push_str(&format!(r#","input":"{c}","message":"CMD: {c}""#));
        }
        data.push('}');
        NewEvent {
            node_id: *node_id,
            node_name: node_name.clone(),
            pot_id: "cowrie-01".into(),
            pot_type: Some("cowrie".into()),
            event_type: event_type.into(),
            timestamp: "2024-01-15T10:30:00.123456Z".into(),
            timestamp_source: TimestampSource::Node,
            received_at,
            src_ip: Some(ip.clone()),
            username: username.cloned(),
            password: password.cloned(),
            command: command.cloned(),
            data,
        }
    }
}

fn events(n: usize, seed: u64) -> Vec<NewEvent> {
    let mut rng = Rng(seed);
    let universe = Universe::new(&mut rng);
    let start = SystemTime::now();
    (0..n)
        .map(|i| universe.event(&mut rng, start + Duration::from_micros(i as u64 * 5)))
        .collect()
}

/// A fresh store directory with the store's schema (made by the writer itself).
fn fresh_store(dir: &Path) {
    let (writer, _store) = StoreWriter::spawn(dir, WriterOptions::default()).unwrap();
    writer.shutdown().unwrap();
}

/// (a)/(b): one prepared INSERT, 20k-row transactions, the writer's pragmas.
fn raw_insert(dir: &Path, events: &[NewEvent], indexes: bool) -> f64 {
    fresh_store(dir);
    let conn = Connection::open(dir.join(honeybee_store::DB_FILE)).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -131072; PRAGMA wal_autocheckpoint = 4000;",
    )
    .unwrap();
    if let Ok(extra) = std::env::var("RAW_PRAGMAS") { conn.execute_batch(&extra).unwrap(); }
    if let Ok(drop) = std::env::var("RAW_DROP") { for i in drop.split(',') { conn.execute_batch(&format!("DROP INDEX {i}")).unwrap(); } }
    if !indexes {
        conn.execute_batch(
            "DROP INDEX IF EXISTS events_node; DROP INDEX IF EXISTS events_src_ip; DROP INDEX IF EXISTS events_event_type;",
        )
        .unwrap();
    }
    let started = Instant::now();
    let mut id = 1i64;
    let rb: usize = std::env::var("RAW_BATCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(RAW_BATCH);
    for chunk in events.chunks(rb) {
        let tx = conn.unchecked_transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO events (id, received_at, node_id, node_name, pot_id, pot_type,
                         event_type, timestamp, timestamp_source, src_ip, username, password,
                         command, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .unwrap();
            for e in chunk {
                let at = e
                    .received_at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_micros() as i64;
                stmt.execute(params![
                    id,
                    at,
                    e.node_id as i64,
                    e.node_name,
                    e.pot_id,
                    e.pot_type,
                    e.event_type,
                    e.timestamp,
                    0,
                    e.src_ip,
                    e.username,
                    e.password,
                    e.command,
                    e.data
                ])
                .unwrap();
                id += 1;
            }
        }
        tx.commit().unwrap();
    }
    events.len() as f64 / started.elapsed().as_secs_f64()
}

/// (c): `append` in chunks, then `flush`.
fn end_to_end(dir: &Path, events: Vec<NewEvent>) -> (f64, u64) {
    let (writer, store) = StoreWriter::spawn(dir, WriterOptions::default()).unwrap();
    let n = events.len();
    let mut chunks: Vec<Vec<NewEvent>> = Vec::new();
    for event in events {
        match chunks.last_mut() {
            Some(chunk) if chunk.len() < APPEND_CHUNK => chunk.push(event),
            _ => chunks.push(vec![event]),
        }
    }
    let started = Instant::now();
    for chunk in chunks {
        writer.append(chunk).unwrap();
    }
    writer.flush().unwrap();
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let commits = writer.metrics().commits;
    assert_eq!(store.event_count().unwrap(), n as u64);
    writer.shutdown().unwrap();
    (rate, commits)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let sample = events(n, 42);
    let avg_bytes = sample.iter().map(|e| e.data.len()).sum::<usize>() / n.max(1);
    let (mut a, mut b, mut c, mut commits) = (vec![], vec![], vec![], 0);
    for run in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        if std::env::var("ONLY_C").is_ok() { a.push(1.0); b.push(1.0); } else {
        a.push(raw_insert(&dir.path().join("a"), &sample, true));
        b.push(raw_insert(&dir.path().join("b"), &sample, false)); }
        if std::env::var("ONLY_RAW").is_ok() { c.push(0.0); continue; }
        let (rate, k) = end_to_end(&dir.path().join("c"), events(n, 42 + run as u64));
        c.push(rate);
        commits = k;
    }
    let (a, b, c) = (median(a), median(b), median(c));
    println!();
    println!(
        "{n} events per measurement, data ~{avg_bytes} bytes, {NODES} nodes, {SRC_IPS} source IPs, {USERNAMES} usernames, {PASSWORDS} passwords, {COMMANDS} commands; median of {runs} runs"
    );
    println!();
    println!("| measurement | events/s | vs (a) |");
    println!("|---|---:|---:|");
    println!("| (a) raw batched INSERT, 3 secondary indexes, 20k rows/tx | {a:.0} | 1.00 |");
    println!(
        "| (b) raw batched INSERT, no secondary index, 20k rows/tx | {b:.0} | {:.2} |",
        b / a
    );
    println!(
        "| (c) StoreWriter::append → flush (indexes + hourly stats, {commits} commits) | {c:.0} | {:.2} |",
        c / a
    );
}
