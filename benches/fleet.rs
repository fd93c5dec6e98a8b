//! The fleet benchmark: the release `honeybee-core` binary, run as a child process on
//! 127.0.0.1, measured under node fleets that this process simulates or drives itself. One
//! markdown table per section, then a summary of every target with PASS or FAIL.
//!
//! - **held** — memory and CPU per idle node (1,000 … 19,000 nodes, heartbeat 5 s), projected
//!   to 100,000; next to the kernel's cost of an idle loopback TCP connection.
//! - **ingest** — events/s from 1,000 node sockets until stored; next to raw SQLite inserts
//!   into the same schema and plain `serde_json` parsing of the same frames.
//! - **rtt** — API command → node latency with 10,000 nodes connected.
//! - **register** — TOTP registrations/s on a cold Core; next to the same with TOTP off.
//! - **restart** — 10,000 held nodes back after a clean and a `kill -9` restart of the Core:
//!   seconds from its node port opening, admissions/s, refusals and lockouts.
//! - **soak** — 10,000 nodes sending 5,000 events/s for a long while: memory growth, loss.
//! - **outputs** — events/s stored with a syslog TCP sink and a HEC sink attached, and with a
//!   dead sink, next to none; each sink's delivered events/s to its local receiver.
//! - **fanin** — marginal Core CPU per event and RSS per sending node when 100, 1,000 and 10,000
//!   nodes send 5,000 events/s in total (each against the same fleet idle), and a long soak
//!   at 10,000 nodes × 0.5 events/s.
//!
//! How it measures: the Core's resident memory (`VmRSS`) and CPU time (utime + stime) from
//! `/proc/<pid>`, its counters from `GET /metrics`, the simulator's from its report; the
//! simulated fleets run on this process's threads, on the same cores as the Core.
//!
//! `cargo bench --bench fleet`. Environment: `HONEYBEE_BENCH_SECTIONS` (comma list of
//! `held,ingest,rtt,register,restart,soak,outputs,fanin`; default all), `HONEYBEE_BENCH_HELD`
//! (fleet sizes, default `1000,5000,10000,19000`), `HONEYBEE_BENCH_SOAK_SECS` (default 600),
//! `HONEYBEE_BENCH_FANIN_RUNS` (default 3), `HONEYBEE_BENCH_FANIN_SOAK_SECS` (default 1,800).
//! Arguments (cargo passes `--bench`) are ignored.

#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

#[path = "fleet/core_process.rs"]
mod core_process;
#[path = "fleet/fanin.rs"]
mod fanin;
#[path = "fleet/held.rs"]
mod held;
#[path = "fleet/http.rs"]
mod http;
#[path = "fleet/ingest.rs"]
mod ingest;
#[path = "fleet/machine.rs"]
mod machine;
#[path = "fleet/outputs.rs"]
mod outputs;
#[path = "fleet/register.rs"]
mod register;
#[path = "fleet/report.rs"]
mod report;
#[path = "fleet/restart.rs"]
mod restart;
#[path = "fleet/rtt.rs"]
mod rtt;
#[path = "fleet/sim.rs"]
mod sim;
#[path = "fleet/soak.rs"]
mod soak;
#[path = "fleet/wire.rs"]
mod wire;

use std::time::{Duration, Instant};

const SECTIONS: [&str; 8] = [
    "held", "ingest", "rtt", "register", "restart", "soak", "outputs", "fanin",
];

/// What to run, from the environment.
#[derive(Debug)]
struct Plan {
    sections: Vec<String>,
    held: Vec<usize>,
    soak: Duration,
    fanin_runs: usize,
    fanin_soak: Duration,
}

/// A number from the environment variable `name`, or `default`.
fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |s| {
        s.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: {s:?} is not a number"))
    })
}

impl Plan {
    fn from_env() -> Plan {
        let sections: Vec<String> = match std::env::var("HONEYBEE_BENCH_SECTIONS") {
            Ok(list) => list
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            Err(_) => SECTIONS.iter().map(|s| (*s).to_owned()).collect(),
        };
        for s in &sections {
            assert!(
                SECTIONS.contains(&s.as_str()),
                "HONEYBEE_BENCH_SECTIONS: unknown section {s:?} (known: {})",
                SECTIONS.join(",")
            );
        }
        let mut held: Vec<usize> = std::env::var("HONEYBEE_BENCH_HELD")
            .unwrap_or_else(|_| "1000,5000,10000,19000".into())
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("HONEYBEE_BENCH_HELD: {n:?} is not a node count"))
            })
            .collect();
        held.sort_unstable();
        let soak_secs = env_number("HONEYBEE_BENCH_SOAK_SECS", 600);
        Plan {
            sections,
            held,
            soak: Duration::from_secs(soak_secs.max(1)),
            fanin_runs: env_number("HONEYBEE_BENCH_FANIN_RUNS", 3).max(1) as usize,
            fanin_soak: Duration::from_secs(
                env_number("HONEYBEE_BENCH_FANIN_SOAK_SECS", 1800).max(6),
            ),
        }
    }

    fn runs(&self, section: &str) -> bool {
        self.sections.iter().any(|s| s == section)
    }
}

fn main() {
    let plan = Plan::from_env();
    machine::Machine::read().print();
    // The simulated fleets hold up to ~19,000 sockets in this process.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    println!(
        "- sections: {}; held sizes {:?}; soak {} s",
        plan.sections.join(","),
        plan.held,
        plan.soak.as_secs()
    );
    let started = Instant::now();
    let mut targets = Vec::new();
    for section in SECTIONS.iter().filter(|s| plan.runs(s)) {
        let section_started = Instant::now();
        targets.extend(match *section {
            "held" => held::run(&plan.held),
            "ingest" => ingest::run(),
            "rtt" => rtt::run(),
            "register" => register::run(),
            "restart" => restart::run(),
            "outputs" => outputs::run(),
            "fanin" => fanin::run(plan.fanin_runs, plan.fanin_soak),
            _ => soak::run(plan.soak),
        });
        println!(
            "\n({section} took {:.0} s)",
            section_started.elapsed().as_secs_f64()
        );
    }
    report::print_summary(&targets);
    println!(
        "\nTotal {:.0} s. Shared 2-core VM: absolute figures move by ±25% between runs.",
        started.elapsed().as_secs_f64()
    );
}
