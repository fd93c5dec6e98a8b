//! Decode throughput: the typed decoder against `serde_json::from_slice::<Value>` of the same
//! bytes, in the same run, for a ~300-byte cowrie `PotEvent` frame and a heartbeat frame.
//!
//! `cargo bench -p honeybee-protocol --bench decode` runs criterion, then prints a table of
//! frames/s, MB/s and the typed/Value ratio (from criterion's median estimates).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use honeybee_protocol::{FrameSplitter, decode_node_frame};
use serde_json::Value;

/// What a cowrie node sends for a failed login (300 bytes).
const COWRIE_EVENT: &[u8] = br#"{"version":2,"message":{"PotEvent":{"node_id":11364728073201639405,"pot_id":"cowrie-01","pot_type":"cowrie","event_type":"cowrie.login.failed","timestamp":"2024-01-15T10:30:00.123456Z","data":{"username":"root","password":"123456","src_ip":"203.0.113.7","src_port":54321,"session":"a1b2c3d4e5f6"}}}}"#;

/// A heartbeat.
const HEARTBEAT: &[u8] =
    br#"{"version":2,"message":{"NodeStatusUpdate":{"node_id":11364728073201639405,"status":"Running"}}}"#;

const CASES: [(&str, &[u8]); 2] = [("cowrie_pot_event", COWRIE_EVENT), ("heartbeat", HEARTBEAT)];

fn bench(c: &mut Criterion) {
    for (name, frame) in CASES {
        assert!(decode_node_frame(frame).is_ok(), "{name} must decode");
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| decode_node_frame(black_box(frame)).unwrap())
        });
        group.bench_function("serde_json_value", |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(frame)).unwrap())
        });
        group.finish();
    }
    // The splitter's own cost, over a buffer of many frames.
    let mut stream = Vec::new();
    while stream.len() < 1 << 20 {
        stream.extend_from_slice(COWRIE_EVENT);
        stream.push(b'\n');
    }
    let mut group = c.benchmark_group("split_1mib_of_events");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("frame_splitter", |b| {
        b.iter(|| {
            let mut splitter = FrameSplitter::new(64 * 1024);
            splitter.push(black_box(&stream)).len()
        })
    });
    group.finish();
}

/// Criterion's median estimate for `group/function`, in nanoseconds.
fn median_ns(dir: &std::path::Path, group: &str, function: &str) -> Option<f64> {
    let path = dir.join(group).join(function).join("new/estimates.json");
    let estimates: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn print_table(dir: &std::path::Path) {
    println!();
    println!("| frame | bytes | decoder | median ns/frame | frames/s | MB/s | typed vs Value |");
    println!("|---|---:|---|---:|---:|---:|---:|");
    for (name, frame) in CASES {
        let typed = median_ns(dir, name, "typed");
        let value = median_ns(dir, name, "serde_json_value");
        for (decoder, ns) in [("typed", typed), ("serde_json Value", value)] {
            let Some(ns) = ns else {
                println!(
                    "| {name} | {} | {decoder} | (not measured) | | | |",
                    frame.len()
                );
                continue;
            };
            let per_sec = 1e9 / ns;
            let ratio = match (decoder, typed, value) {
                ("typed", Some(t), Some(v)) => format!("{:.2}x", v / t),
                _ => String::new(),
            };
            println!(
                "| {name} | {} | {decoder} | {ns:.0} | {per_sec:.0} | {:.1} | {ratio} |",
                frame.len(),
                per_sec * frame.len() as f64 / 1e6
            );
        }
    }
    if let Some(ns) = median_ns(dir, "split_1mib_of_events", "frame_splitter") {
        let mut bytes = 0usize;
        while bytes < 1 << 20 {
            bytes += COWRIE_EVENT.len() + 1;
        }
        println!();
        println!(
            "frame splitter alone: {:.0} MB/s over 1 MiB of newline-separated events",
            bytes as f64 / ns * 1e3
        );
    }
    println!();
    println!("(ratio = Value time / typed time; >= 1.0 means typed decoding is at least as fast)");
}

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    // target/<profile>/deps/<bench binary> → target/criterion
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("criterion"))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

fn main() {
    let dir = criterion_dir();
    let mut c = Criterion::default()
        .output_directory(&dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut c);
    c.final_summary();
    print_table(&dir);
}
