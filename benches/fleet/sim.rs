//! The simulated fleet (`honeybee-sim`, in this process): its settings for the sections, the
//! wait until the Core holds all of it, and its stop.

use std::time::{Duration, Instant};

use honeybee_sim::{Report, SimConfig, SimHandle, SourceMode};

use crate::core_process::{self, Core, Metrics};
use crate::http::Http;

/// Every fleet uses the same seed, so node ids and names repeat from run to run.
const SEED: u64 = 20_261_126;

/// A fleet of `nodes` idle nodes (no pots, no events) heartbeating every `heartbeat`.
pub fn idle(core: &Core, nodes: usize, heartbeat: Duration) -> SimConfig {
    SimConfig {
        core: core.node_addr.to_string(),
        nodes,
        duration: None,
        events_per_sec: 0.0,
        heartbeat,
        seed: SEED,
        pots: Vec::new(),
        sources: SourceMode::Auto,
        connect_rate: 5000.0,
        ..SimConfig::default()
    }
}

/// Starts the fleet on its own thread.
pub fn start(config: SimConfig) -> SimHandle {
    let nodes = config.nodes;
    SimHandle::start(config)
        .unwrap_or_else(|e| panic!("the simulator cannot start {nodes} nodes: {e}"))
}

/// How the fleet stood when the wait ended.
#[derive(Debug)]
pub struct Standing {
    /// Nodes `Running` in the Core.
    pub running: u64,
    pub waited: Duration,
}

/// Waits until the Core counts `nodes` nodes `Running` and the simulator `nodes` registered
/// sessions, at most `deadline`. Returns how far it got rather than panicking: a fleet the
/// Core does not hold in full is a measured result (its drops), not a broken bench.
pub fn wait_held(api: &mut Http, sim: &SimHandle, nodes: usize, deadline: Duration) -> Standing {
    let started = Instant::now();
    loop {
        let running = Metrics::read(api).running_nodes();
        let registered = sim.report().registered;
        let complete = running >= nodes as u64 && registered >= nodes as i64;
        if complete || started.elapsed() >= deadline {
            if !complete {
                println!(
                    "\nnote: after {deadline:?} the Core holds {running} Running nodes and the \
                     simulator has {registered} registered, of {nodes}; measuring what is held"
                );
            }
            return Standing {
                running,
                waited: started.elapsed(),
            };
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// How long a fleet of `nodes` may take to come up: its ramp at the connect rate plus a
/// minute.
pub fn ramp_deadline(config: &SimConfig) -> Duration {
    Duration::from_secs_f64(config.nodes as f64 / config.connect_rate) + Duration::from_secs(60)
}

/// Refusals the simulator saw, all codes together.
pub fn refusals(report: &Report) -> u64 {
    report.refusals.values().sum()
}

/// Stops the fleet (every node says `NodeDrop`) and returns its final report, once the Core
/// has closed every node connection: a Core stopped while sessions are still open marks
/// those nodes `Unknown` and raises an alert for each.
pub fn stop(sim: SimHandle, api: &mut Http) -> Report {
    let report = sim
        .stop()
        .unwrap_or_else(|e| panic!("the simulator did not stop cleanly: {e}"));
    core_process::wait_connections_closed(api);
    report
}
