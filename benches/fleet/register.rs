//! **register**: registrations per second over plain TCP, with TOTP, on a cold Core. A fresh
//! Core (TOTP on, enrollment closed) gets 10,000 identities enrolled through its API, is
//! restarted on the same store, and then 4 threads register every node as fast as they can:
//! each opens 250 connections at a time (connect, write the `NodeRegistration` with its code),
//! then reads those 250 acks, and keeps every socket open until the end. Codes are computed
//! (totp-rs) before the clock starts. Every accepted step is committed before its ack (group
//! commit: registrations waiting together share one). The same registrations against a fresh
//! Core with TOTP off, in the same run, show what TOTP and that commit cost.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use totp_rs::{Algorithm, Builder, Secret};

use crate::core_process::{self, Core, Settings};
use crate::http::Http;
use crate::report::{Table, Target, int, ms, percentile, round};
use crate::wire;

const NODES: usize = 10_000;
const THREADS: usize = 4;
const BATCH: usize = 250;
const FIRST_ID: u64 = 3_000_000;
const TOTP_STEP: u64 = 30;
const TARGET_PER_SEC: f64 = 15_000.0;

/// A node to register: id, name, and its code when TOTP is on.
#[derive(Debug, Clone)]
struct Applicant {
    node_id: u64,
    name: String,
    code: Option<String>,
}

/// One registration run.
#[derive(Debug, Default)]
struct Registrations {
    elapsed: Duration,
    accepted: usize,
    refused: usize,
    first_refusal: Option<String>,
    /// Registration written → its ack read, per node.
    latencies: Vec<Duration>,
}

impl Registrations {
    fn rate(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64()
    }
}

/// What a thread brings back: its registrations, its first connect and last ack, and its
/// sockets (kept open until every thread is done).
struct Share {
    registrations: Registrations,
    first_connect: Instant,
    last_ack: Instant,
    sockets: Vec<TcpStream>,
}

pub fn run() -> Vec<Target> {
    let (with_totp, preparation) = with_totp();
    let without = without_totp();
    let mut table = Table::new(
        &format!(
            "register — {} nodes, {THREADS} threads × batches of {BATCH} connections, plain TCP, \
             from 127.0.0.1; latency is registration written → ack read (acks read in order)",
            int(NODES as u64)
        ),
        &[
            "Core",
            "accepted",
            "refused",
            "seconds",
            "registrations/s",
            "p50 ms",
            "p99 ms",
            "max ms",
        ],
    );
    for (label, r) in [
        (
            "TOTP on, enrollment closed, pre-enrolled, cold (restarted)",
            &with_totp,
        ),
        ("TOTP off, fresh", &without),
    ] {
        table.row(vec![
            label.into(),
            int(r.accepted as u64),
            int(r.refused as u64),
            format!("{:.2}", r.elapsed.as_secs_f64()),
            round(r.rate()),
            ms(percentile(&r.latencies, 50.0)),
            ms(percentile(&r.latencies, 99.0)),
            ms(r.latencies.last().copied().unwrap_or_default()),
        ]);
    }
    table.print();
    println!("\n{preparation}");
    for (label, r) in [("TOTP on", &with_totp), ("TOTP off", &without)] {
        if let Some(message) = &r.first_refusal {
            println!("\nfirst refusal ({label}): {}", message.trim());
        }
    }
    let rate = with_totp.rate();
    vec![Target::new(
        "register",
        "≥ 15,000 registrations/s with TOTP, cold, each step durable before its ack",
        format!(
            "{}/s ({} of {} accepted)",
            round(rate),
            int(with_totp.accepted as u64),
            int(NODES as u64)
        ),
        rate >= TARGET_PER_SEC && with_totp.accepted == NODES,
    )]
}

/// Enrolls, restarts, computes codes, registers; also a line about the preparation. The
/// restarted Core takes codes of the current step at once (its replay guard is the stored one,
/// exact, with no start-up floor).
fn with_totp() -> (Registrations, String) {
    let mut core = Core::start(&Settings {
        totp: true,
        enrollment: "closed",
        max_unregistered: 20_000,
        node_events_per_sec: None,
    });
    let enrolling = Instant::now();
    let keys = enroll_all(&mut core.api());
    let enrolled = enrolling.elapsed();
    let restarting = Instant::now();
    core.restart();
    let restarted = restarting.elapsed();
    let code_step = unix_secs() as u64 / TOTP_STEP;
    let applicants: Vec<Applicant> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| Applicant {
            node_id: FIRST_ID + i as u64,
            name: name(i),
            code: Some(code(key, code_step)),
        })
        .collect();
    let registrations = register_all(core.node_addr, applicants);
    let last_step = unix_secs() as u64 / TOTP_STEP;
    core_process::wait_connections_closed(&mut core.api());
    core.stop();
    let preparation = format!(
        "TOTP run: {} identities enrolled through POST /api/v1/enrollments in {:.2} s ({}/s, one \
         keep-alive connection); Core restart (SIGTERM → /health) {:.2} s; codes of the current \
         step {code_step} (valid in steps {}..={}), computed before the clock, no wait; the run \
         ended in step {last_step}",
        int(NODES as u64),
        enrolled.as_secs_f64(),
        round(NODES as f64 / enrolled.as_secs_f64()),
        restarted.as_secs_f64(),
        code_step - 1,
        code_step + 1,
    );
    (registrations, preparation)
}

fn without_totp() -> Registrations {
    let core = Core::start(&Settings {
        totp: false,
        enrollment: "open",
        max_unregistered: 20_000,
        node_events_per_sec: None,
    });
    let applicants = (0..NODES)
        .map(|i| Applicant {
            node_id: FIRST_ID + i as u64,
            name: name(i),
            code: None,
        })
        .collect();
    let registrations = register_all(core.node_addr, applicants);
    core_process::wait_connections_closed(&mut core.api());
    core.stop();
    registrations
}

fn name(i: usize) -> String {
    format!("reg-{i}")
}

/// Enrolls every node by id and name; their base32 keys, in order.
fn enroll_all(api: &mut Http) -> Vec<String> {
    (0..NODES)
        .map(|i| {
            let body = format!(
                r#"{{"node_id":{},"node_name":"{}"}}"#,
                FIRST_ID + i as u64,
                name(i)
            );
            let response = api.post("/api/v1/enrollments", &body);
            assert!(
                (200..300).contains(&response.status),
                "register: enrolling node {i} answered {}: {}",
                response.status,
                response.body
            );
            response.json()["totp_key"]
                .as_str()
                .unwrap_or_else(|| panic!("register: no totp_key in {}", response.body))
                .to_owned()
        })
        .collect()
}

/// The 6-digit code of base32 `key` for TOTP step `step` (RFC 6238: SHA-1, 30 s).
fn code(key: &str, step: u64) -> String {
    let secret = Secret::try_from_base32(key)
        .unwrap_or_else(|e| panic!("register: the Core handed out a key that is not base32: {e}"));
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(TOTP_STEP)
        .with_secret(secret)
        .build()
        .unwrap_or_else(|e| panic!("register: cannot build a TOTP generator: {e}"))
        .generate(step * TOTP_STEP)
        .to_string()
}

/// Seconds since the Unix epoch, with fractions.
fn unix_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Registers every applicant from `THREADS` threads; the sockets stay open until all are done.
fn register_all(core: SocketAddr, applicants: Vec<Applicant>) -> Registrations {
    let start = Arc::new(Barrier::new(THREADS));
    let per_thread = applicants.len().div_ceil(THREADS);
    let threads: Vec<_> = applicants
        .chunks(per_thread)
        .map(|share| {
            let (share, start) = (share.to_vec(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                register_share(core, &share)
            })
        })
        .collect();
    let shares: Vec<Share> = threads
        .into_iter()
        .map(|t| t.join().expect("a registering thread panicked"))
        .collect();
    let first = shares.iter().map(|s| s.first_connect).min();
    let last = shares.iter().map(|s| s.last_ack).max();
    let mut total = Registrations {
        elapsed: last
            .zip(first)
            .map_or(Duration::ZERO, |(last, first)| last - first),
        ..Registrations::default()
    };
    let mut sockets = Vec::new();
    for share in shares {
        let r = share.registrations;
        total.accepted += r.accepted;
        total.refused += r.refused;
        total.first_refusal = total.first_refusal.or(r.first_refusal);
        total.latencies.extend(r.latencies);
        sockets.extend(share.sockets);
    }
    total.latencies.sort_unstable();
    wire::goodbye_all(sockets);
    total
}

/// One thread's nodes, `BATCH` connections at a time.
fn register_share(core: SocketAddr, share: &[Applicant]) -> Share {
    let mut registrations = Registrations::default();
    let mut sockets = Vec::with_capacity(share.len());
    let first_connect = Instant::now();
    let mut last_ack = first_connect;
    for batch in share.chunks(BATCH) {
        let written: Vec<(TcpStream, Instant)> = batch.iter().map(|a| open(core, a)).collect();
        for (stream, at) in written {
            let mut reader = BufReader::with_capacity(512, stream);
            let ack = wire::read_line(&mut reader, "a RegistrationAck");
            last_ack = Instant::now();
            registrations.latencies.push(last_ack - at);
            if wire::accepted(&ack) {
                registrations.accepted += 1;
            } else {
                registrations.refused += 1;
                registrations.first_refusal.get_or_insert(ack);
            }
            sockets.push(reader.into_inner());
        }
    }
    Share {
        registrations,
        first_connect,
        last_ack,
        sockets,
    }
}

/// Connects and writes the registration; the socket and when the registration was written.
fn open(core: SocketAddr, applicant: &Applicant) -> (TcpStream, Instant) {
    let mut stream = wire::connect(core, "register");
    let frame = wire::registration(
        applicant.node_id,
        &applicant.name,
        applicant.code.as_deref(),
    );
    stream
        .write_all(frame.as_bytes())
        .unwrap_or_else(|e| panic!("register: cannot write a registration: {e}"));
    (stream, Instant::now())
}
