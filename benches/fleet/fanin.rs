//! **fanin**: what an event costs when it arrives as real fleets send them — many nodes, each
//! sending a little. For 100, 1,000 and 10,000 nodes (one cowrie pot each, heartbeat 30 s, TOTP
//! on), a fresh Core holds the fleet idle for a 30 s window, then the same fleet sends 5,000
//! events/s in total for a 60 s window. Per window: the Core's CPU (utime + stime), its RSS,
//! events stored. Marginal CPU per event = (CPU busy while sending − the same fleet's idle CPU
//! over as long) / events stored; RSS per sending node = (RSS while sending − RSS idle) / nodes.
//! Each size runs `HONEYBEE_BENCH_FANIN_RUNS` times (default 3) and the median gates. Then a
//! soak: 10,000 nodes × 0.5 events/s for `HONEYBEE_BENCH_FANIN_SOAK_SECS` (default 1,800),
//! CPU per event in windows of a sixth of it, the last within 15% of the first.

use std::time::{Duration, Instant};

use honeybee_sim::{SimConfig, SimHandle};

use crate::core_process::{Core, Metrics, Settings};
use crate::report::{Table, Target, int, round};
use crate::sim;

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const EVENTS_PER_SEC: f64 = 5000.0;
const HEARTBEAT: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_secs(10);
const IDLE_WINDOW: Duration = Duration::from_secs(30);
const WARM_UP: Duration = Duration::from_secs(5);
const SEND_WINDOW: Duration = Duration::from_secs(60);
const SOAK_NODES: usize = 10_000;
const SOAK_RATE: f64 = 0.5 * SOAK_NODES as f64;
const TARGET_US: f64 = 30.0;
const TARGET_KIB_PER_NODE: f64 = 12.0;
const SOAK_DRIFT: f64 = 0.15;

/// One measured run of one fleet size.
#[derive(Debug, Clone)]
struct Window {
    nodes: usize,
    stored: u64,
    seconds: f64,
    /// Core CPU, µs per event, over the idle fleet's.
    marginal_us: f64,
    idle_cpu_percent: f64,
    busy_cpu_percent: f64,
    rss_idle: u64,
    rss_busy: u64,
}

impl Window {
    fn rate(&self) -> f64 {
        self.stored as f64 / self.seconds
    }

    fn bytes_per_node(&self) -> f64 {
        (self.rss_busy as f64 - self.rss_idle as f64) / self.nodes as f64
    }
}

pub fn run(runs: usize, soak: Duration) -> Vec<Target> {
    let mut medians = Vec::new();
    let mut table = Table::new(
        &format!(
            "fanin — {} events/s in total from N nodes (one cowrie pot each, heartbeat {} s, TOTP \
             on); idle window {} s, then sending {} s after {} s of warm-up; {} runs per size",
            round(EVENTS_PER_SEC),
            HEARTBEAT.as_secs(),
            IDLE_WINDOW.as_secs(),
            SEND_WINDOW.as_secs(),
            WARM_UP.as_secs(),
            runs
        ),
        &[
            "nodes",
            "run",
            "stored/s",
            "Core CPU % idle → sending",
            "marginal CPU µs/event",
            "RSS idle → sending MiB",
            "RSS per sending node",
        ],
    );
    for nodes in SIZES {
        let mut windows: Vec<Window> = (0..runs).map(|_| measure(nodes)).collect();
        for (i, w) in windows.iter().enumerate() {
            table.row(row(w, &(i + 1).to_string()));
        }
        windows.sort_by(|a, b| a.marginal_us.total_cmp(&b.marginal_us));
        medians.push(windows[windows.len() / 2].clone());
    }
    table.print();
    let soak_windows = soak_run(soak);
    print_soak(&soak_windows);
    targets(&medians, &soak_windows)
}

fn row(w: &Window, run: &str) -> Vec<String> {
    vec![
        int(w.nodes as u64),
        run.into(),
        round(w.rate()),
        format!("{:.1} → {:.1}", w.idle_cpu_percent, w.busy_cpu_percent),
        format!("{:.1}", w.marginal_us),
        format!(
            "{:.1} → {:.1}",
            w.rss_idle as f64 / 1048576.0,
            w.rss_busy as f64 / 1048576.0
        ),
        format!("{:.0} B", w.bytes_per_node()),
    ]
}

/// A fleet of `nodes` with one cowrie pot each, events at `rate` once its share is turned up.
fn fleet(core: &Core, nodes: usize, rate: f64) -> SimConfig {
    SimConfig {
        pots: vec!["cowrie".into()],
        events_per_sec: rate,
        ..sim::idle(core, nodes, HEARTBEAT)
    }
}

/// Starts a Core and the fleet (sending nothing yet), waits until it holds the fleet and it
/// settled.
fn held(nodes: usize, rate: f64) -> (Core, SimHandle) {
    let core = Core::start(&Settings::fleet());
    let config = fleet(&core, nodes, rate);
    let ramp = sim::ramp_deadline(&config);
    let handle = sim::start(config);
    handle.control().set_events_share(0.0);
    sim::wait_held(&mut core.api(), &handle, nodes, ramp);
    std::thread::sleep(SETTLE);
    (core, handle)
}

fn measure(nodes: usize) -> Window {
    let (core, fleet) = held(nodes, EVENTS_PER_SEC);
    let mut api = core.api();
    let idle = core.cpu_mark();
    std::thread::sleep(IDLE_WINDOW);
    let idle = idle.used();
    let rss_idle = core.rss();
    fleet.control().set_events_share(1.0);
    std::thread::sleep(WARM_UP);
    let stored_before = Metrics::read(&mut api).events_stored();
    let busy = core.cpu_mark();
    std::thread::sleep(SEND_WINDOW);
    let busy = busy.used();
    let stored = Metrics::read(&mut api).events_stored() - stored_before;
    let rss_busy = core.rss();
    sim::stop(fleet, &mut api);
    core.stop();
    let idle_rate = idle.cpu.as_secs_f64() / idle.wall.as_secs_f64();
    let marginal = busy.cpu.as_secs_f64() - idle_rate * busy.wall.as_secs_f64();
    Window {
        nodes,
        stored,
        seconds: busy.wall.as_secs_f64(),
        marginal_us: marginal * 1e6 / stored.max(1) as f64,
        idle_cpu_percent: idle.percent(),
        busy_cpu_percent: busy.percent(),
        rss_idle,
        rss_busy,
    }
}

/// The long run: CPU per event (all of the Core's CPU while sending) in six windows.
fn soak_run(soak: Duration) -> Vec<(Duration, u64, f64)> {
    let (core, fleet) = held(SOAK_NODES, SOAK_RATE);
    let mut api = core.api();
    fleet.control().set_events_share(1.0);
    std::thread::sleep(WARM_UP);
    let started = Instant::now();
    let window = soak / 6;
    let mut out = Vec::new();
    for _ in 0..6 {
        let stored_before = Metrics::read(&mut api).events_stored();
        let mark = core.cpu_mark();
        std::thread::sleep(window);
        let used = mark.used();
        let stored = Metrics::read(&mut api).events_stored() - stored_before;
        out.push((
            started.elapsed(),
            stored,
            used.cpu.as_secs_f64() * 1e6 / stored.max(1) as f64,
        ));
    }
    sim::stop(fleet, &mut api);
    core.stop();
    out
}

fn print_soak(windows: &[(Duration, u64, f64)]) {
    let mut table = Table::new(
        &format!(
            "fanin soak — {} nodes × {:.1} events/s; Core CPU per event stored, per window",
            int(SOAK_NODES as u64),
            SOAK_RATE / SOAK_NODES as f64
        ),
        &["window ends at s", "events stored", "CPU µs per event"],
    );
    for (at, stored, us) in windows {
        table.row(vec![
            format!("{:.0}", at.as_secs_f64()),
            int(*stored),
            format!("{us:.1}"),
        ]);
    }
    table.print();
}

fn targets(medians: &[Window], soak: &[(Duration, u64, f64)]) -> Vec<Target> {
    let mut targets: Vec<Target> = medians
        .iter()
        .map(|w| {
            Target::new(
                "fanin",
                &format!(
                    "marginal CPU ≤ {TARGET_US} µs/event at {} nodes (median)",
                    int(w.nodes as u64)
                ),
                format!("{:.1} µs", w.marginal_us),
                w.marginal_us <= TARGET_US,
            )
        })
        .collect();
    if let Some(w) = medians.iter().find(|w| w.nodes == 10_000) {
        let kib = w.bytes_per_node() / 1024.0;
        targets.push(Target::new(
            "fanin",
            &format!("≤ {TARGET_KIB_PER_NODE} KiB per sending node at 10,000 nodes (median)"),
            format!("{kib:.1} KiB"),
            kib <= TARGET_KIB_PER_NODE,
        ));
    }
    if let (Some(first), Some(last)) = (soak.first(), soak.last()) {
        let drift = last.2 / first.2 - 1.0;
        targets.push(Target::new(
            "fanin",
            "soak: last window's CPU per event within 15% of the first",
            format!("{:.1} → {:.1} µs ({:+.0}%)", first.2, last.2, drift * 100.0),
            drift.abs() <= SOAK_DRIFT,
        ));
    }
    targets
}
