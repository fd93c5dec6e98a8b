//! Ingest benchmark, same machine, same run, same events for every measurement:
//! (a) raw batched INSERTs into the store's `events` table with its three secondary indexes
//! (one prepared statement, 20k-row transactions, no writer thread, no statistics; (a') the
//! same in 100k-row transactions, the writer's `max_batch`), (b) the same without the
//! secondary indexes, (c) `StoreWriter::append` end to end through the writer
//! thread (ids, indexes, hourly statistics, WAL checkpoints) until `flush` returns.
//!
//! ~300-byte cowrie-like events over 1,000 nodes, 5,000 source IPs, 200 usernames, 500
//! passwords and 100 commands, in two workloads:
//! - `sessions`: how honeypots see attackers: 2,000 concurrent sessions, each one source IP
//!   on one node (connect, version, a few login attempts, sometimes commands, close), with
//!   skewed popularity (a few IPs, usernames, passwords and commands dominate, as in real
//!   cowrie data);
//! - `uniform`: every field drawn independently and uniformly: the worst case for the
//!   indexes and the per-node statistics (almost every (node, value) pair in a batch is new).
//!
//! `cargo bench -p honeybee-store --bench ingest`; env `BENCH_EVENTS` (default 1,000,000),
//! `BENCH_RUNS` (default 3; medians are reported), `BENCH_DOWNLOADS=1` (one command event in
//! ten also downloads a file: `download_url` and `sha256` set, from 200 URLs and their hashes;
//! off by default, so the default workload stays the one earlier figures were measured on).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use honeybee_store::{NewEvent, StoreWriter, TimestampSource, WriterOptions};
use rusqlite::{Connection, params};

const NODES: usize = 1_000;
const SRC_IPS: usize = 5_000;
const USERNAMES: usize = 200;
const PASSWORDS: usize = 500;
const COMMANDS: usize = 100;
const DOWNLOADS: usize = 200;
const SESSIONS: usize = 2_000;
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

    /// Skewed towards 0: index ⌊n·u³⌋ (the top 10% of values get ~46% of draws).
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64) * u * u * u) as usize
    }
}

struct Universe {
    nodes: Vec<(u64, String)>,
    ips: Vec<String>,
    usernames: Vec<String>,
    passwords: Vec<String>,
    commands: Vec<String>,
    /// (URL, SHA-256) pairs; empty unless `BENCH_DOWNLOADS=1`.
    downloads: Vec<(String, String)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Connect,
    Version,
    LoginFailed,
    LoginSuccess,
    Command,
    Closed,
}

impl Kind {
    fn event_type(self) -> &'static str {
        match self {
            Kind::Connect => "cowrie.session.connect",
            Kind::Version => "cowrie.client.version",
            Kind::LoginFailed => "cowrie.login.failed",
            Kind::LoginSuccess => "cowrie.login.success",
            Kind::Command => "cowrie.command.input",
            Kind::Closed => "cowrie.session.closed",
        }
    }
}

/// One attacker session: its node, address, and the events it has left to send.
struct Session {
    node: usize,
    ip: usize,
    id: u64,
    script: Vec<Kind>,
}

impl Session {
    fn new(rng: &mut Rng) -> Self {
        let mut script = vec![Kind::Closed];
        let success = rng.below(100) < 30;
        if success {
            script.extend(std::iter::repeat_n(Kind::Command, 1 + rng.below(6)));
            script.push(Kind::LoginSuccess);
        }
        script.extend(std::iter::repeat_n(Kind::LoginFailed, 1 + rng.below(8)));
        script.extend([Kind::Version, Kind::Connect]);
        Session {
            node: rng.below(NODES),
            ip: rng.skewed(SRC_IPS),
            id: rng.next() & 0xffff_ffff_ffff,
            script,
        }
    }
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
                    let o = |s: u32| (v >> s) & 0xff;
                    format!("{}.{}.{}.{}", o(0), o(8), o(16), o(24))
                })
                .collect(),
            usernames: (0..USERNAMES).map(|i| format!("user{i}")).collect(),
            passwords: (0..PASSWORDS).map(|i| format!("pass{i:04}!")).collect(),
            commands: (0..COMMANDS)
                .map(|i| format!("cat /proc/cpuinfo | grep name | wc -l # {i}"))
                .collect(),
            downloads: if env("BENCH_DOWNLOADS", 0) == 1 {
                (0..DOWNLOADS)
                    .map(|i| {
                        let hash = format!("{:016x}", rng.next()).repeat(4);
                        (format!("http://198.51.100.{}/bins/x86_{i}", i % 250), hash)
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        rng: &mut Rng,
        kind: Kind,
        node: usize,
        ip: usize,
        session: u64,
        skewed: bool,
        received_at: SystemTime,
    ) -> NewEvent {
        let (node_id, node_name) = &self.nodes[node];
        let ip = &self.ips[ip];
        let mut pick = |n: usize| if skewed { rng.skewed(n) } else { rng.below(n) };
        let (username, password, command) = match kind {
            Kind::LoginFailed | Kind::LoginSuccess => (
                Some(&self.usernames[pick(USERNAMES)]),
                Some(&self.passwords[pick(PASSWORDS)]),
                None,
            ),
            Kind::Command => (None, None, Some(&self.commands[pick(COMMANDS)])),
            _ => (None, None, None),
        };
        let event_type = kind.event_type();
        let mut data = format!(
            r#"{{"eventid":"{event_type}","src_ip":"{ip}","src_port":{},"dst_ip":"10.0.0.5","dst_port":22,"session":"{session:012x}","sensor":"{node_name}","protocol":"ssh""#,
            40_000 + session % 20_000
        );
        if let (Some(u), Some(p)) = (username, password) {
            data.push_str(&format!(
                r#","username":"{u}","password":"{p}","message":"login attempt [{u}/{p}]""#
            ));
        }
        if let Some(c) = command {
            data.push_str(&format!(r#","input":"{c}","message":"CMD: {c}""#));
        }
        let download = match kind {
            Kind::Command if !self.downloads.is_empty() && rng.below(10) == 0 => {
                Some(&self.downloads[rng.skewed(DOWNLOADS)])
            }
            _ => None,
        };
        if let Some((url, hash)) = download {
            data.push_str(&format!(r#","url":"{url}","shasum":"{hash}""#));
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
            download_url: download.map(|(url, _)| url.clone()),
            sha256: download.map(|(_, hash)| hash.clone()),
            data,
        }
    }
}

#[derive(Clone, Copy)]
enum Workload {
    Sessions,
    Uniform,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Sessions => "sessions",
            Workload::Uniform => "uniform",
        }
    }
}

fn events(workload: Workload, n: usize, seed: u64) -> Vec<NewEvent> {
    let mut rng = Rng(seed);
    let universe = Universe::new(&mut rng);
    let start = SystemTime::now();
    let mut sessions: Vec<Session> = (0..SESSIONS).map(|_| Session::new(&mut rng)).collect();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let at = start + Duration::from_micros(i as u64 * 5);
        let event = match workload {
            Workload::Sessions => {
                let s = rng.below(SESSIONS);
                let kind = sessions[s].script.pop().unwrap_or(Kind::Closed);
                let Session { node, ip, id, .. } = sessions[s];
                if sessions[s].script.is_empty() {
                    sessions[s] = Session::new(&mut rng);
                }
                universe.event(&mut rng, kind, node, ip, id, true, at)
            }
            Workload::Uniform => {
                let kind = match rng.below(100) {
                    0..15 => Kind::Connect,
                    15..25 => Kind::Version,
                    25..60 => Kind::LoginFailed,
                    60..65 => Kind::LoginSuccess,
                    65..90 => Kind::Command,
                    _ => Kind::Closed,
                };
                let (node, ip, id) = (rng.below(NODES), rng.below(SRC_IPS), rng.next());
                universe.event(&mut rng, kind, node, ip, id & 0xffff_ffff_ffff, false, at)
            }
        };
        out.push(event);
    }
    out
}

/// A fresh store directory with the store's schema (made by the writer itself).
fn fresh_store(dir: &Path) {
    let (writer, _store) = StoreWriter::spawn(dir, WriterOptions::default()).unwrap();
    writer.shutdown().unwrap();
}

/// (a)/(b): one prepared INSERT, 20k-row transactions, WAL, `synchronous=NORMAL`, the
/// writer's cache size, SQLite's default auto-checkpoint.
fn raw_insert(dir: &Path, events: &[NewEvent], indexes: bool, rows_per_tx: usize) -> f64 {
    fresh_store(dir);
    let conn = Connection::open(dir.join(honeybee_store::DB_FILE)).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -131072;",
    )
    .unwrap();
    if !indexes {
        conn.execute_batch(
            "DROP INDEX events_node; DROP INDEX events_src_ip; DROP INDEX events_event_type;",
        )
        .unwrap();
    }
    let started = Instant::now();
    let mut id = 1i64;
    for chunk in events.chunks(rows_per_tx) {
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

/// (c): `append` in chunks of [`APPEND_CHUNK`], then `flush`.
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
    let wal = dir.join(format!("{}-wal", honeybee_store::DB_FILE));
    let wal_mb = std::fs::metadata(wal).map_or(0, |m| m.len()) / 1_000_000;
    eprintln!("WAL after flush: {wal_mb} MB");
    assert_eq!(store.event_count().unwrap(), n as u64);
    writer.shutdown().unwrap();
    (rate, commits)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = env("BENCH_EVENTS", 1_000_000);
    let runs = env("BENCH_RUNS", 3).max(1);
    println!();
    println!(
        "{n} events per measurement; {NODES} nodes, {SRC_IPS} source IPs, {USERNAMES} usernames, {PASSWORDS} passwords, {COMMANDS} commands; median of {runs} runs; events/s"
    );
    println!();
    println!(
        "| workload | data bytes | (a) raw, 3 indexes, 20k rows/tx | (a') raw, 3 indexes, 100k rows/tx | (b) raw, no index, 20k rows/tx | (c) StoreWriter end to end | (c)/(a) | commits in (c) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for workload in [Workload::Sessions, Workload::Uniform] {
        let sample = events(workload, n, 42);
        let avg = sample.iter().map(|e| e.data.len()).sum::<usize>() / n.max(1);
        let (mut a, mut a2, mut b, mut c, mut commits) = (vec![], vec![], vec![], vec![], 0);
        for run in 0..runs {
            let dir = tempfile::tempdir().unwrap();
            a.push(raw_insert(&dir.path().join("a"), &sample, true, RAW_BATCH));
            a2.push(raw_insert(&dir.path().join("a2"), &sample, true, 100_000));
            b.push(raw_insert(&dir.path().join("b"), &sample, false, RAW_BATCH));
            let (rate, k) = end_to_end(&dir.path().join("c"), events(workload, n, 42));
            c.push(rate);
            commits = k;
            eprintln!(
                "{} run {run}: a {:.0} a' {:.0} b {:.0} c {rate:.0}",
                workload.name(),
                a[run],
                a2[run],
                b[run]
            );
        }
        let (a, a2, b, c) = (median(a), median(a2), median(b), median(c));
        println!(
            "| {} | {avg} | {a:.0} | {a2:.0} | {b:.0} | {c:.0} | {:.2} | {commits} |",
            workload.name(),
            c / a
        );
    }
}
