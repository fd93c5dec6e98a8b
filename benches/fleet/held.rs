//! **held**: what an idle node costs the Core. For each fleet size a fresh Core (TOTP on, open
//! enrollment) holds a simulated fleet of idle nodes heartbeating every 5 s; after the ramp
//! and 10 s of settling, a 30 s window measures the Core's CPU per heartbeat and its resident
//! memory per node over its baseline. The largest size is projected to 100,000 nodes (past
//! this machine's 20,000 open files). Next to it, in the same run: the kernel's memory for an
//! idle loopback TCP connection and the user-space cost of a plain blocking `TcpStream`.

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use crate::core_process::{Core, Metrics, Settings};
use crate::machine::{self, CpuMark, CpuUse};
use crate::report::{Table, Target, int, mib, round, signed};
use crate::sim;

const HEARTBEAT: Duration = Duration::from_secs(5);
const SETTLE: Duration = Duration::from_secs(10);
const WINDOW: Duration = Duration::from_secs(30);
/// Loopback connection pairs opened to measure the kernel's cost of an idle one.
const KERNEL_PAIRS: usize = 4000;
const KERNEL_ROUNDS: usize = 3;
const PROJECTED_NODES: f64 = 100_000.0;

/// What one fleet size measured.
#[derive(Debug)]
struct Held {
    nodes: usize,
    /// Nodes `Running` in the Core at the end of the window.
    held: u64,
    connections: u64,
    lost: u64,
    refusals: u64,
    ramp: Duration,
    registration_p99_ms: f64,
    baseline_rss: u64,
    rss: u64,
    core_cpu: CpuUse,
    bench_cpu: CpuUse,
    heartbeats: u64,
    frames_in: u64,
}

impl Held {
    fn drops(&self) -> u64 {
        self.lost + self.refusals + (self.nodes as u64).saturating_sub(self.held)
    }

    fn bytes_per_node(&self) -> i64 {
        (self.rss as i64 - self.baseline_rss as i64) / self.nodes as i64
    }

    fn cpu_us_per_heartbeat(&self) -> f64 {
        self.core_cpu.cpu.as_secs_f64() * 1e6 / self.heartbeats.max(1) as f64
    }
}

/// The kernel's and user space's memory for idle loopback connections.
#[derive(Debug)]
struct SocketCost {
    slab_kb_per_socket: f64,
    unreclaimable_kb_per_socket: f64,
    user_bytes_per_connection: f64,
}

pub fn run(sizes: &[usize]) -> Vec<Target> {
    let socket = socket_cost();
    print_socket_cost(&socket);
    let measured: Vec<Held> = sizes.iter().map(|&n| hold(n)).collect();
    print_held(&measured);
    let Some(largest) = measured.last() else {
        return Vec::new();
    };
    print_projection(largest, &socket);
    let per_node = largest.bytes_per_node();
    vec![
        Target::new(
            "held",
            &format!("zero drops at {} idle nodes", int(largest.nodes as u64)),
            format!("{} drops", int(largest.drops())),
            largest.drops() == 0,
        ),
        Target::new(
            "held",
            &format!(
                "≤ 6 KiB RSS per idle node (plain TCP, {} nodes)",
                int(largest.nodes as u64)
            ),
            format!("{:.2} KiB", per_node as f64 / 1024.0),
            per_node <= 6 * 1024,
        ),
    ]
}

/// One fleet size: a fresh Core, the fleet up, settle, then the measuring window.
fn hold(nodes: usize) -> Held {
    let core = Core::start(&Settings::fleet());
    let mut api = core.api();
    std::thread::sleep(Duration::from_secs(1));
    let baseline_rss = core.rss();
    let config = sim::idle(&core, nodes, HEARTBEAT);
    let deadline = sim::ramp_deadline(&config);
    let fleet = sim::start(config);
    let standing = sim::wait_held(&mut api, &fleet, nodes, deadline);
    std::thread::sleep(SETTLE);
    let (core_mark, bench_mark) = (core.cpu_mark(), CpuMark::now(std::process::id()));
    let (heartbeats_before, frames_before) = (
        fleet.report().heartbeats_sent,
        Metrics::read(&mut api).frames_in(),
    );
    std::thread::sleep(WINDOW);
    let (core_cpu, bench_cpu) = (core_mark.used(), bench_mark.used());
    let report = fleet.report();
    let metrics = Metrics::read(&mut api);
    let rss = core.rss();
    sim::stop(fleet, &mut api);
    core.stop();
    Held {
        nodes,
        held: metrics.running_nodes().min(nodes as u64),
        connections: metrics.connections(),
        lost: report.connections_lost,
        refusals: sim::refusals(&report),
        ramp: standing.waited,
        registration_p99_ms: report.registration_latency.p99_ms,
        baseline_rss,
        rss,
        core_cpu,
        bench_cpu,
        heartbeats: report.heartbeats_sent - heartbeats_before,
        frames_in: metrics.frames_in() - frames_before,
    }
}

/// The kernel's slab memory for idle loopback connections (the median of a few rounds, as
/// `/proc/meminfo` is machine-wide), and this process's resident memory for them.
fn socket_cost() -> SocketCost {
    let mut rounds: Vec<SocketCost> = (0..KERNEL_ROUNDS)
        .map(|_| open_idle_pairs(KERNEL_PAIRS))
        .collect();
    rounds.sort_by(|a, b| a.slab_kb_per_socket.total_cmp(&b.slab_kb_per_socket));
    rounds.swap_remove(KERNEL_ROUNDS / 2)
}

/// Opens `pairs` loopback connections (both ends in this process), waits, measures, closes.
fn open_idle_pairs(pairs: usize) -> SocketCost {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot listen on 127.0.0.1");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let mut held: Vec<(TcpStream, TcpStream)> = Vec::with_capacity(pairs);
    std::thread::sleep(Duration::from_millis(500));
    let (slab, unreclaimable) = (
        machine::meminfo_kb("Slab"),
        machine::meminfo_kb("SUnreclaim"),
    );
    let rss = machine::rss_bytes(std::process::id());
    for _ in 0..pairs {
        let client = TcpStream::connect(addr).expect("cannot connect to the local listener");
        let (server, _) = listener.accept().expect("cannot accept a local connection");
        held.push((client, server));
    }
    std::thread::sleep(Duration::from_millis(500));
    let sockets = (2 * pairs) as f64;
    let cost = SocketCost {
        slab_kb_per_socket: (machine::meminfo_kb("Slab") as f64 - slab as f64) / sockets,
        unreclaimable_kb_per_socket: (machine::meminfo_kb("SUnreclaim") as f64
            - unreclaimable as f64)
            / sockets,
        user_bytes_per_connection: (machine::rss_bytes(std::process::id()) as f64 - rss as f64)
            / pairs as f64,
    };
    drop(held);
    cost
}

fn print_socket_cost(cost: &SocketCost) {
    let mut table = Table::new(
        &format!(
            "held — comparison: an idle loopback TCP connection ({} pairs opened in this \
             process, median of {KERNEL_ROUNDS} rounds; /proc/meminfo is machine-wide)",
            int(KERNEL_PAIRS as u64)
        ),
        &["measure", "per socket", "per connection (both ends)"],
    );
    table.row(vec![
        "kernel Slab".into(),
        format!("{:.2} kB", cost.slab_kb_per_socket),
        format!("{:.2} kB", 2.0 * cost.slab_kb_per_socket),
    ]);
    table.row(vec![
        "kernel SUnreclaim".into(),
        format!("{:.2} kB", cost.unreclaimable_kb_per_socket),
        format!("{:.2} kB", 2.0 * cost.unreclaimable_kb_per_socket),
    ]);
    table.row(vec![
        format!(
            "user space: plain blocking std TcpStream (size_of = {} bytes, no buffer), RSS delta",
            std::mem::size_of::<TcpStream>()
        ),
        format!("{:.0} bytes", cost.user_bytes_per_connection / 2.0),
        format!("{:.0} bytes", cost.user_bytes_per_connection),
    ]);
    table.print();
}

fn print_held(measured: &[Held]) {
    let mut table = Table::new(
        &format!(
            "held — idle nodes, heartbeat every {} s, TOTP on; {} s window after {} s settling",
            HEARTBEAT.as_secs(),
            WINDOW.as_secs(),
            SETTLE.as_secs()
        ),
        &[
            "nodes",
            "held (Core)",
            "connections (Core)",
            "drops",
            "ramp s",
            "reg p99 ms",
            "RSS baseline MiB",
            "RSS MiB",
            "RSS per node",
            "heartbeats (sim / Core frames)",
            "CPU µs per heartbeat",
            "Core CPU % of a core",
            "sim CPU % (this process)",
        ],
    );
    for h in measured {
        let per_node = h.bytes_per_node();
        table.row(vec![
            int(h.nodes as u64),
            int(h.held),
            int(h.connections),
            format!(
                "{} (lost {}, refused {}, missing {})",
                int(h.drops()),
                h.lost,
                h.refusals,
                (h.nodes as u64).saturating_sub(h.held)
            ),
            format!("{:.1}", h.ramp.as_secs_f64()),
            format!("{:.2}", h.registration_p99_ms),
            mib(h.baseline_rss),
            mib(h.rss),
            format!(
                "{} B ({:.2} KiB)",
                signed(per_node),
                per_node as f64 / 1024.0
            ),
            format!("{} / {}", int(h.heartbeats), int(h.frames_in)),
            format!("{:.1}", h.cpu_us_per_heartbeat()),
            format!("{:.1}", h.core_cpu.percent()),
            format!("{:.1}", h.bench_cpu.percent()),
        ]);
    }
    table.print();
}

fn print_projection(largest: &Held, socket: &SocketCost) {
    let per_node = largest.bytes_per_node().max(0) as f64;
    let memory = largest.baseline_rss as f64 + PROJECTED_NODES * per_node;
    let cost_us = largest.cpu_us_per_heartbeat();
    let cpu_percent = |interval: f64| PROJECTED_NODES / interval * cost_us / 1e6 * 100.0;
    let mut table = Table::new(
        &format!(
            "held — projection to 100,000 idle nodes from {} (linear in the per-node costs; \
             not measurable here: 20,000 open files per process)",
            int(largest.nodes as u64)
        ),
        &["measure", "projected", "from"],
    );
    table.row(vec![
        "Core RSS".into(),
        format!("{} MiB", mib(memory as u64)),
        format!(
            "baseline {} MiB + 100,000 × {} B",
            mib(largest.baseline_rss),
            round(per_node)
        ),
    ]);
    table.row(vec![
        "kernel Slab for the Core's 100,000 sockets".into(),
        format!(
            "{} MiB",
            mib((PROJECTED_NODES * socket.slab_kb_per_socket * 1024.0) as u64)
        ),
        format!("{:.2} kB per idle socket", socket.slab_kb_per_socket),
    ]);
    for interval in [30.0, HEARTBEAT.as_secs_f64()] {
        table.row(vec![
            format!("Core CPU, heartbeat every {interval:.0} s"),
            format!("{:.1}% of a core", cpu_percent(interval)),
            format!(
                "{} heartbeats/s × {cost_us:.1} µs (all the Core's CPU in the window / heartbeats)",
                round(PROJECTED_NODES / interval)
            ),
        ]);
    }
    table.print();
}
