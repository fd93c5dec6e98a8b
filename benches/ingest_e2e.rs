//! End-to-end ingest: events sent over real TCP by many node connections until all are
//! stored, next to the raw batched-insert rate of the same SQLite engine and the same indexed
//! schema, on the same machine, in the same run. Prints a markdown table.
//!
//! `cargo bench --bench ingest_e2e` (release). `HONEYBEE_BENCH_NODES` and
//! `HONEYBEE_BENCH_EVENTS_PER_NODE` change the load (default 1,000 × 500). The load generator
//! runs on the same 2 cores as the Core.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use honeybee_core::config;
use honeybee_core::runtime::CoreThread;
use honeybee_store::{StoreWriter, WriterOptions};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A ~300-byte cowrie event with realistic cardinalities.
fn event(node_id: u64, n: usize) -> String {
    let users = [
        "root", "admin", "ubuntu", "test", "oracle", "pi", "user", "guest",
    ];
    format!(
        concat!(
            r#"{{"version":2,"message":{{"PotEvent":{{"node_id":{},"pot_id":"cowrie-01","#,
            r#""pot_type":"cowrie","event_type":"cowrie.login.failed","#,
            r#""timestamp":"2024-01-15T10:30:00.123456Z","data":{{"username":"{}","#,
            r#""password":"pass{}","src_ip":"203.0.{}.{}","src_port":{},"session":"s{:08x}","#,
            r#""protocol":"ssh"}}}}}}}}"#,
            "\n"
        ),
        node_id,
        users[n % users.len()],
        n % 500,
        (n / 7) % 20,
        n % 250,
        40_000 + n % 20_000,
        n
    )
}

fn end_to_end(nodes: usize, per_node: usize) -> (f64, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[server]\nnode_port = 0\n[api]\nport = 0\n[limits]\nnode_events_per_sec = 0\n\
         max_unregistered = {nodes}\n[auth]\ntotp = false\n[storage]\ndir = {:?}\n\
         [logging]\nlevel = \"warn\"\n",
        dir.path().join("data").display().to_string()
    );
    let config = config::load_str(&toml, Vec::<(String, String)>::new()).unwrap();
    let core = CoreThread::start(config).unwrap();
    let mut streams: Vec<(TcpStream, Vec<u8>)> = (0..nodes)
        .map(|i| {
            let node_id = 1_000_000 + i as u64;
            let mut stream = TcpStream::connect(core.node_addr).unwrap();
            let registration = format!(
                r#"{{"version":2,"message":{{"NodeRegistration":{{"node_id":{node_id},"node_name":"bench-{i}","address":"127.0.0.1","port":22,"node_type":"Full"}}}}}}"#
            );
            stream.write_all(registration.as_bytes()).unwrap();
            stream.write_all(b"\n").unwrap();
            let mut ack = String::new();
            BufReader::new(stream.try_clone().unwrap())
                .read_line(&mut ack)
                .unwrap();
            assert!(ack.contains("\"accepted\":true"), "{ack}");
            let load: String = (0..per_node).map(|n| event(node_id, n)).collect();
            (stream, load.into_bytes())
        })
        .collect();
    let total = (nodes * per_node) as u64;
    let started = Instant::now();
    // Two writer threads, each round-robin over half the connections, 16 KiB at a time.
    let halves: Vec<Vec<(TcpStream, Vec<u8>)>> = {
        let second = streams.split_off(nodes / 2);
        vec![streams, second]
    };
    let writers: Vec<_> = halves
        .into_iter()
        .map(|mut conns| {
            std::thread::spawn(move || {
                let mut offset = 0;
                loop {
                    let mut wrote = false;
                    for (stream, load) in &mut conns {
                        if offset < load.len() {
                            let end = (offset + 16 * 1024).min(load.len());
                            stream.write_all(&load[offset..end]).unwrap();
                            wrote = true;
                        }
                    }
                    if !wrote {
                        return conns;
                    }
                    offset += 16 * 1024;
                }
            })
        })
        .collect();
    let _conns: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let deadline = Instant::now() + Duration::from_secs(300);
    while core.store.event_count().unwrap() < total {
        assert!(Instant::now() < deadline, "not everything was stored");
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    core.stop();
    (total as f64 / elapsed.as_secs_f64(), elapsed)
}

/// Raw batched inserts (20,000 rows per transaction, one prepared statement) into the store's
/// own `events` table with its indexes, or without them.
fn raw_insert(rows: usize, with_indexes: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = StoreWriter::spawn(dir.path(), WriterOptions::default()).unwrap();
    writer.shutdown().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("honeybee.db")).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .unwrap();
    if !with_indexes {
        conn.execute_batch(
            "DROP INDEX events_node; DROP INDEX events_src_ip; DROP INDEX events_event_type;",
        )
        .unwrap();
    }
    let users = [
        "root", "admin", "ubuntu", "test", "oracle", "pi", "user", "guest",
    ];
    let started = Instant::now();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(20_000) {
        let tx = conn.unchecked_transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (received_at, node_id, node_name, pot_id, pot_type, \
                     event_type, timestamp, timestamp_source, src_ip, username, password, \
                     command, data) VALUES (?1, ?2, ?3, 'cowrie-01', 'cowrie', \
                     'cowrie.login.failed', '2024-01-15T10:30:00.123456Z', 0, ?4, ?5, ?6, NULL, ?7)",
                )
                .unwrap();
            for &n in chunk {
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
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    rows as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let nodes = env_or("HONEYBEE_BENCH_NODES", 1000);
    let per_node = env_or("HONEYBEE_BENCH_EVENTS_PER_NODE", 500);
    let total = nodes * per_node;
    let (e2e, elapsed) = end_to_end(nodes, per_node);
    let raw_indexed = raw_insert(total, true);
    let raw_bare = raw_insert(total, false);
    println!();
    println!("| measure | events | events/s | vs raw indexed insert |");
    println!("|---|---:|---:|---:|");
    println!(
        "| end to end: {nodes} connections over TCP until stored ({:.2} s) | {total} | {e2e:.0} | {:.2}x |",
        elapsed.as_secs_f64(),
        e2e / raw_indexed
    );
    println!(
        "| raw batched insert, same schema with its 3 indexes | {total} | {raw_indexed:.0} | 1.00x |"
    );
    println!(
        "| raw batched insert, no secondary index | {total} | {raw_bare:.0} | {:.2}x |",
        raw_bare / raw_indexed
    );
}
