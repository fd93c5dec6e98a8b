//! The fleet's live counters, shared by every node task: plain atomics (and small maps behind a
//! mutex for the rare, keyed things), read into a [`Report`](crate::report::Report).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use honeybee_protocol::Command;

use crate::misbehave::Misbehaviour;

/// The command kinds, in the order of [`Stats::commands`].
pub const COMMAND_KINDS: [&str; 12] = [
    "InstallPot",
    "DeployPot",
    "StopPot",
    "RestartPot",
    "GetPotStatus",
    "GetPotInfo",
    "GetPotLogs",
    "GetPotMetrics",
    "Restart",
    "UpdateConfig",
    "GetInstalledPots",
    "unknown",
];

/// Most registration latencies kept (enough for percentiles; later ones are dropped).
const MAX_LATENCY_SAMPLES: usize = 1_000_000;

/// Counters of the whole fleet.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections open now.
    pub connected: AtomicI64,
    /// Registered sessions now.
    pub registered: AtomicI64,
    pub connections_opened: AtomicU64,
    pub connect_failures: AtomicU64,
    /// Connections that ended without the node choosing to end them.
    pub connections_lost: AtomicU64,
    pub registrations_accepted: AtomicU64,
    /// Accepted registrations that carried a TOTP code.
    pub registrations_with_code: AtomicU64,
    pub keys_received: AtomicU64,
    /// Waits for the next TOTP step before registering again.
    pub totp_step_waits: AtomicU64,
    pub events_sent: AtomicU64,
    /// Events not sent because the node had no running pot.
    pub events_skipped: AtomicU64,
    pub heartbeats_sent: AtomicU64,
    pub pot_crashes: AtomicU64,
    pub io_errors: AtomicU64,
    /// Core frames the node could not decode.
    pub undecodable: AtomicU64,
    pub commands: [AtomicU64; COMMAND_KINDS.len()],
    pub misbehaviour: [AtomicU64; Misbehaviour::ALL.len()],
    /// Refused registrations by refusal code.
    pub refusals: Mutex<BTreeMap<String, u64>>,
    /// `ProtocolError`s received, by code.
    pub protocol_errors: Mutex<BTreeMap<String, u64>>,
    /// Registration latencies (registration written → ack read), in microseconds.
    pub latencies_us: Mutex<Vec<u32>>,
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, key: &str) {
    if let Ok(mut map) = map.lock() {
        *map.entry(key.to_owned()).or_default() += 1;
    }
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// A command was received (and answered as a real node would).
    pub fn command(&self, command: Option<&Command>) {
        let name = command.map_or("unknown", Command::name);
        let index = COMMAND_KINDS
            .iter()
            .position(|k| *k == name)
            .unwrap_or(COMMAND_KINDS.len() - 1);
        Stats::inc(&self.commands[index]);
    }

    /// One act of misbehaviour.
    pub fn misbehaved(&self, kind: Misbehaviour) {
        let index = Misbehaviour::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_default();
        Stats::inc(&self.misbehaviour[index]);
    }

    pub fn refused(&self, code: &str) {
        bump(&self.refusals, code);
    }

    pub fn protocol_error(&self, code: &str) {
        bump(&self.protocol_errors, code);
    }

    pub fn registration_latency(&self, latency: Duration) {
        if let Ok(mut samples) = self.latencies_us.lock()
            && samples.len() < MAX_LATENCY_SAMPLES
        {
            samples.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        }
    }

    /// Total refusals.
    pub fn refusals_total(&self) -> u64 {
        self.refusals.lock().map_or(0, |m| m.values().sum())
    }

    /// Total `ProtocolError`s received.
    pub fn protocol_errors_total(&self) -> u64 {
        self.protocol_errors.lock().map_or(0, |m| m.values().sum())
    }

    /// Commands received, all kinds.
    pub fn commands_total(&self) -> u64 {
        self.commands.iter().map(Stats::get).sum()
    }
}

/// Keeps a gauge raised while alive.
#[derive(Debug)]
pub struct Gauge<'a>(&'a AtomicI64);

impl<'a> Gauge<'a> {
    pub fn raise(gauge: &'a AtomicI64) -> Gauge<'a> {
        gauge.fetch_add(1, Ordering::Relaxed);
        Gauge(gauge)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
