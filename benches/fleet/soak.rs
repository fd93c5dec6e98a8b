//! **soak**: a fleet at work for a long while. A fresh Core (TOTP on, open enrollment) serves
//! 10,000 simulated nodes running cowrie and honnypotter pots that send 5,000 events/s in
//! total; every 30 s the bench samples the Core's memory, CPU and counters. Then the fleet
//! stops, the bench waits until the Core has stored every event the fleet sent, and reports
//! memory growth from minute 1 (after the ramp) to the end and any event lost.

use std::time::{Duration, Instant};

use honeybee_sim::SimConfig;

use crate::core_process::{Core, Metrics, Settings};
use crate::http::Http;
use crate::machine::CpuMark;
use crate::report::{Table, Target, int, mib, round, signed};
use crate::sim;

const FLEET: usize = 10_000;
const EVENTS_PER_SEC: f64 = 5000.0;
const HEARTBEAT: Duration = Duration::from_secs(30);
const SAMPLE_EVERY: Duration = Duration::from_secs(30);
const DRAIN_DEADLINE: Duration = Duration::from_secs(60);
const MINUTE_ONE: Duration = Duration::from_secs(60);
const MAX_GROWTH_PERCENT: f64 = 5.0;

/// One sample.
#[derive(Debug, Clone)]
struct Sample {
    at: Duration,
    rss: u64,
    core_cpu_percent: f64,
    sim_cpu_percent: f64,
    sent: u64,
    stored: u64,
    backlog: u64,
    running: u64,
}

/// The end of the run.
#[derive(Debug)]
struct Ending {
    sent: u64,
    stored: u64,
    ingested: u64,
    drained: Option<Duration>,
    lost_connections: u64,
    refusals: u64,
}

pub fn run(soak: Duration) -> Vec<Target> {
    let core = Core::start(&Settings::fleet());
    let mut api = core.api();
    let config = SimConfig {
        pots: vec!["cowrie".into(), "honnypotter".into()],
        events_per_sec: EVENTS_PER_SEC,
        ..sim::idle(&core, FLEET, HEARTBEAT)
    };
    let fleet = sim::start(config);
    let started = Instant::now();
    let samples = sample(&core, &mut api, &fleet, started, soak);
    let report = sim::stop(fleet, &mut api);
    let drained = wait_drained(&mut api, report.events_sent);
    let metrics = Metrics::read(&mut api);
    core.stop();
    let ending = Ending {
        sent: report.events_sent,
        stored: metrics.events_stored(),
        ingested: metrics.events_ingested(),
        drained,
        lost_connections: report.connections_lost,
        refusals: sim::refusals(&report),
    };
    print_samples(&samples);
    print_outcome(&samples, &ending)
}

/// Samples every `SAMPLE_EVERY` until `soak` has passed since `started` (and at `soak`).
fn sample(
    core: &Core,
    api: &mut Http,
    fleet: &honeybee_sim::SimHandle,
    started: Instant,
    soak: Duration,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let (mut core_mark, mut sim_mark) = (core.cpu_mark(), CpuMark::now(std::process::id()));
    let mut next = SAMPLE_EVERY.min(soak);
    loop {
        std::thread::sleep((started + next).saturating_duration_since(Instant::now()));
        let metrics = Metrics::read(api);
        samples.push(Sample {
            at: started.elapsed(),
            rss: core.rss(),
            core_cpu_percent: core_mark.used().percent(),
            sim_cpu_percent: sim_mark.used().percent(),
            sent: fleet.report().events_sent,
            stored: metrics.events_stored(),
            backlog: metrics.backlog(),
            running: metrics.running_nodes(),
        });
        (core_mark, sim_mark) = (core.cpu_mark(), CpuMark::now(std::process::id()));
        if next >= soak {
            return samples;
        }
        next = (next + SAMPLE_EVERY).min(soak);
    }
}

/// Waits until the Core has stored `sent` events; how long that took, `None` past the
/// deadline (the shortfall is then reported as loss, not hidden).
fn wait_drained(api: &mut Http, sent: u64) -> Option<Duration> {
    let started = Instant::now();
    loop {
        let stored = Metrics::read(api).events_stored();
        if stored >= sent {
            return Some(started.elapsed());
        }
        if started.elapsed() >= DRAIN_DEADLINE {
            println!(
                "\nnote: soak: {stored} of {sent} sent events stored {DRAIN_DEADLINE:?} after the fleet stopped"
            );
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn print_samples(samples: &[Sample]) {
    let mut table = Table::new(
        &format!(
            "soak — samples every {} s: {} nodes (2 pots each), {} events/s sent in total, \
             heartbeat {} s, TOTP on",
            SAMPLE_EVERY.as_secs(),
            int(FLEET as u64),
            round(EVENTS_PER_SEC),
            HEARTBEAT.as_secs()
        ),
        &[
            "t s",
            "Core RSS MiB",
            "Core CPU %",
            "sim CPU %",
            "events sent",
            "events stored",
            "stored/s in the interval",
            "backlog",
            "nodes Running",
        ],
    );
    let mut previous: Option<&Sample> = None;
    for s in samples {
        let (since, stored_before) = previous.map_or((Duration::ZERO, 0), |p| (p.at, p.stored));
        let interval_rate =
            s.stored.saturating_sub(stored_before) as f64 / (s.at - since).as_secs_f64();
        previous = Some(s);
        table.row(vec![
            format!("{:.0}", s.at.as_secs_f64()),
            mib(s.rss),
            format!("{:.1}", s.core_cpu_percent),
            format!("{:.1}", s.sim_cpu_percent),
            int(s.sent),
            int(s.stored),
            round(interval_rate),
            int(s.backlog),
            int(s.running),
        ]);
    }
    table.print();
}

fn print_outcome(samples: &[Sample], ending: &Ending) -> Vec<Target> {
    let (Some(first), Some(last)) = (
        samples
            .iter()
            .find(|s| s.at >= MINUTE_ONE)
            .or(samples.first()),
        samples.last(),
    ) else {
        return Vec::new();
    };
    let max_rss = samples.iter().map(|s| s.rss).max().unwrap_or(0);
    let growth = (last.rss as f64 - first.rss as f64) / first.rss as f64 * 100.0;
    let span = (last.at - first.at).as_secs_f64();
    let stored_rate = if span > 0.0 {
        format!(
            "{} events/s",
            round(last.stored.saturating_sub(first.stored) as f64 / span)
        )
    } else {
        "n/a (no sample after this one)".to_owned()
    };
    let loss = ending.sent as i64 - ending.stored as i64;
    let mut table = Table::new("soak — outcome", &["measure", "value"]);
    for (measure, value) in [
        (
            format!(
                "Core RSS at {:.0} s (after the ramp)",
                first.at.as_secs_f64()
            ),
            format!("{} MiB", mib(first.rss)),
        ),
        (
            format!("Core RSS at the end ({:.0} s)", last.at.as_secs_f64()),
            format!("{} MiB", mib(last.rss)),
        ),
        ("RSS growth".into(), format!("{growth:+.1}%")),
        ("max RSS sampled".into(), format!("{} MiB", mib(max_rss))),
        ("events sent (simulator)".into(), int(ending.sent)),
        (
            "events ingested / stored (Core)".into(),
            format!("{} / {}", int(ending.ingested), int(ending.stored)),
        ),
        ("loss (sent − stored)".into(), signed(loss)),
        (
            "all stored after the fleet stopped within".into(),
            ending.drained.map_or("not within 60 s".to_owned(), |d| {
                format!("{:.2} s", d.as_secs_f64())
            }),
        ),
        (
            format!(
                "mean stored rate, {:.0} s → {:.0} s",
                first.at.as_secs_f64(),
                last.at.as_secs_f64()
            ),
            stored_rate,
        ),
        (
            "connections lost / refusals (simulator)".into(),
            format!("{} / {}", ending.lost_connections, ending.refusals),
        ),
    ] {
        table.row(vec![measure, value]);
    }
    table.print();
    let flat = if span > 0.0 {
        Target::new(
            "soak",
            &format!(
                "flat memory: RSS growth < 5% from {:.0} s to {:.0} s",
                first.at.as_secs_f64(),
                last.at.as_secs_f64()
            ),
            format!("{growth:+.1}%"),
            growth < MAX_GROWTH_PERCENT,
        )
    } else {
        Target::unmeasured(
            "soak",
            "flat memory: RSS growth < 5% from minute 1 to the end",
            "no sample after minute 1 (HONEYBEE_BENCH_SOAK_SECS ≥ 90 needed)",
        )
    };
    vec![
        flat,
        Target::new(
            "soak",
            "zero events lost",
            format!("{} lost of {}", signed(loss), int(ending.sent)),
            loss == 0,
        ),
    ]
}
