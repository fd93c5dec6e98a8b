//! **restart**: how long a whole fleet is locked out by a restart of its Core. A Core (TOTP on,
//! open enrollment) holds 10,000 simulated idle nodes that have each registered with a code
//! (an accepted TOTP step on record); at least 30 s after their last registration it is
//! stopped — cleanly (SIGTERM), then by `kill -9` — and started again on the same store and
//! ports, while the nodes reconnect with a backoff capped at 1 s. Measured: seconds from the
//! restarted Core's node port opening until every node is registered again, admissions/s
//! meanwhile (mean, and the best second), and refusals and lockouts (both should be 0). A third
//! restart (SIGTERM) with `limits.max_unregistered` at its default of 1,000 — most of the fleet
//! is then turned away at accept and retries — shows that those nodes are not starved: the
//! time until the last one is back is the slowest node's.

use std::time::{Duration, Instant};

use honeybee_sim::{SimConfig, SimHandle};

use crate::core_process::{Core, Metrics, Settings, Stop};
use crate::report::{Table, Target, int, round};
use crate::sim;

const NODES: usize = 10_000;
const HEARTBEAT: Duration = Duration::from_secs(30);
/// The fleet rests this long after its last registration before each restart: a restart in
/// the same or the next TOTP step would hide a replay floor.
const REST: Duration = Duration::from_secs(31);
const BACK_DEADLINE: Duration = Duration::from_secs(120);
const TARGET: Duration = Duration::from_secs(10);

/// One restart, measured.
#[derive(Debug)]
struct Comeback {
    how: String,
    /// Node port open → every node registered again (`None`: not within the deadline).
    all_back: Option<Duration>,
    registered: i64,
    /// Admissions per second over the whole comeback, and in its best second.
    mean_rate: f64,
    best_second: u64,
    refusals: u64,
    locked_out: u64,
}

pub fn run() -> Vec<Target> {
    let mut core = Core::start(&Settings::fleet());
    let config = SimConfig {
        backoff_initial: Duration::from_millis(200),
        backoff_max: Duration::from_secs(1),
        ..sim::idle(&core, NODES, HEARTBEAT)
    };
    let ramp = sim::ramp_deadline(&config);
    let fleet = sim::start(config);
    sim::wait_held(&mut core.api(), &fleet, NODES, ramp);
    // Every node registers once with a code, so each identity holds an accepted step.
    let enrolled = fleet.report().registrations_with_code;
    fleet
        .control()
        .drop_connections(1, Duration::from_millis(200));
    wait_back(&fleet, enrolled, Instant::now());

    let mut comebacks: Vec<Comeback> = [(Stop::Term, "SIGTERM"), (Stop::Kill, "kill -9")]
        .into_iter()
        .map(|(stop, how)| restart(&mut core, &fleet, stop, how.into()))
        .collect();
    core.reconfigure(&Settings {
        max_unregistered: 1000,
        ..Settings::fleet()
    });
    comebacks.push(restart(
        &mut core,
        &fleet,
        Stop::Term,
        "SIGTERM, max_unregistered 1,000".into(),
    ));
    sim::stop(fleet, &mut core.api());
    core.stop();
    print(&comebacks);
    comebacks
        .iter()
        .map(|c| {
            Target::new(
                "restart",
                &format!(
                    "{} nodes back ≤ {} s after a {} restart, 0 lockouts",
                    int(NODES as u64),
                    TARGET.as_secs(),
                    c.how
                ),
                match c.all_back {
                    Some(t) => format!("{:.2} s, {} locked out", t.as_secs_f64(), c.locked_out),
                    None => format!("{} of {} back", int(c.registered as u64), int(NODES as u64)),
                },
                c.all_back.is_some_and(|t| t <= TARGET) && c.locked_out == 0,
            )
        })
        .collect()
}

fn restart(core: &mut Core, fleet: &SimHandle, stop: Stop, how: String) -> Comeback {
    std::thread::sleep(REST);
    let before = fleet.report();
    let opened = core.restart_after(stop);
    let back = wait_back(fleet, before.registrations_with_code, opened);
    core.wait_ready();
    let after = fleet.report();
    let admitted = after.registrations_with_code - before.registrations_with_code;
    let locked_out =
        Metrics::read(&mut core.api()).count("honeybee_auth_failures_total{reason=\"locked_out\"}");
    Comeback {
        how,
        all_back: back.all_back,
        registered: after.registered,
        mean_rate: admitted as f64 / back.elapsed.as_secs_f64().max(1e-3),
        best_second: back.best_second,
        refusals: sim::refusals(&after) - sim::refusals(&before),
        locked_out,
    }
}

/// How a comeback went.
struct Back {
    all_back: Option<Duration>,
    elapsed: Duration,
    best_second: u64,
}

/// Polls the simulator until every node has registered again with a code since `before`
/// such registrations, timing from `since`; also the most admissions within one second.
fn wait_back(fleet: &SimHandle, before: u64, since: Instant) -> Back {
    let mut samples: Vec<(Instant, u64)> = Vec::new();
    loop {
        let report = fleet.report();
        let now = Instant::now();
        let admitted = report.registrations_with_code - before;
        samples.push((now, admitted));
        let done = report.registered == NODES as i64 && admitted >= NODES as u64;
        if done || now - since >= BACK_DEADLINE {
            return Back {
                all_back: done.then(|| now - since),
                elapsed: now - since,
                best_second: best_second(&samples),
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The most admissions counted within any one second of the samples.
fn best_second(samples: &[(Instant, u64)]) -> u64 {
    let mut best = 0;
    let mut start = 0;
    for &(at, count) in samples {
        while at - samples[start].0 > Duration::from_secs(1) {
            start += 1;
        }
        best = best.max(count - samples[start].1);
    }
    best
}

fn print(comebacks: &[Comeback]) {
    let mut table = Table::new(
        &format!(
            "restart — {} idle nodes (heartbeat {} s, registered with a code {} s before), \
             restarted on the same store and ports; nodes reconnect with backoff 0.2 s doubling \
             to 1 s; timed from the node port opening",
            int(NODES as u64),
            HEARTBEAT.as_secs(),
            REST.as_secs()
        ),
        &[
            "stop",
            "all back (s)",
            "registered",
            "admissions/s (mean)",
            "admissions in the best second",
            "refusals",
            "locked out",
        ],
    );
    for c in comebacks {
        table.row(vec![
            c.how.clone(),
            c.all_back
                .map_or_else(|| "not all".into(), |t| format!("{:.2}", t.as_secs_f64())),
            int(c.registered as u64),
            round(c.mean_rate),
            int(c.best_second),
            int(c.refusals),
            int(c.locked_out),
        ]);
    }
    table.print();
}
