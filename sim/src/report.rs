//! What the simulator tells its user: a one-line live summary every few seconds and a final
//! report (text, and JSON with `--json-report`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;

use crate::misbehave::Misbehaviour;
use crate::stats::{COMMAND_KINDS, Stats};

/// Registration latency percentiles, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// A snapshot of the fleet's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub core: String,
    pub seed: u64,
    pub nodes: usize,
    pub elapsed_secs: f64,
    /// Connections open at the time of the snapshot.
    pub connected: i64,
    /// Registered sessions at the time of the snapshot.
    pub registered: i64,
    pub connections_opened: u64,
    pub connect_failures: u64,
    pub connections_lost: u64,
    pub registrations_accepted: u64,
    pub registrations_with_code: u64,
    pub keys_received: u64,
    pub totp_step_waits: u64,
    pub refusals: BTreeMap<String, u64>,
    pub registration_latency: Latency,
    pub events_sent: u64,
    pub events_per_sec: f64,
    pub events_skipped: u64,
    pub heartbeats_sent: u64,
    pub pot_crashes: u64,
    pub commands_answered: u64,
    pub commands_by_kind: BTreeMap<String, u64>,
    pub protocol_errors: BTreeMap<String, u64>,
    pub io_errors: u64,
    pub undecodable_frames: u64,
    pub misbehaviour: BTreeMap<String, u64>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

impl Latency {
    /// The percentiles of `samples_us` (microseconds).
    pub fn of(samples_us: &[u32]) -> Latency {
        let mut sorted = samples_us.to_vec();
        sorted.sort_unstable();
        Latency {
            samples: sorted.len(),
            p50_ms: percentile(&sorted, 50.0),
            p99_ms: percentile(&sorted, 99.0),
            max_ms: sorted.last().map_or(0.0, |&m| f64::from(m) / 1000.0),
        }
    }
}

impl Report {
    /// Reads `stats` after `elapsed`.
    pub fn read(stats: &Stats, core: &str, seed: u64, nodes: usize, elapsed: Duration) -> Report {
        let get = Stats::get;
        let secs = elapsed.as_secs_f64();
        let events_sent = get(&stats.events_sent);
        let nonzero = |pairs: Vec<(String, u64)>| -> BTreeMap<String, u64> {
            pairs.into_iter().filter(|(_, n)| *n > 0).collect()
        };
        Report {
            core: core.to_owned(),
            seed,
            nodes,
            elapsed_secs: (secs * 10.0).round() / 10.0,
            connected: stats.connected.load(Ordering::Relaxed),
            registered: stats.registered.load(Ordering::Relaxed),
            connections_opened: get(&stats.connections_opened),
            connect_failures: get(&stats.connect_failures),
            connections_lost: get(&stats.connections_lost),
            registrations_accepted: get(&stats.registrations_accepted),
            registrations_with_code: get(&stats.registrations_with_code),
            keys_received: get(&stats.keys_received),
            totp_step_waits: get(&stats.totp_step_waits),
            refusals: stats.refusals.lock().map(|m| m.clone()).unwrap_or_default(),
            registration_latency: stats
                .latencies_us
                .lock()
                .map(|s| Latency::of(&s))
                .unwrap_or_default(),
            events_sent,
            events_per_sec: if secs > 0.0 {
                (events_sent as f64 / secs * 10.0).round() / 10.0
            } else {
                0.0
            },
            events_skipped: get(&stats.events_skipped),
            heartbeats_sent: get(&stats.heartbeats_sent),
            pot_crashes: get(&stats.pot_crashes),
            commands_answered: stats.commands_total(),
            commands_by_kind: nonzero(
                COMMAND_KINDS
                    .iter()
                    .zip(&stats.commands)
                    .map(|(k, n)| ((*k).to_owned(), get(n)))
                    .collect(),
            ),
            protocol_errors: stats
                .protocol_errors
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
            io_errors: get(&stats.io_errors),
            undecodable_frames: get(&stats.undecodable),
            misbehaviour: nonzero(
                Misbehaviour::ALL
                    .iter()
                    .zip(&stats.misbehaviour)
                    .map(|(k, n)| (k.as_str().to_owned(), get(n)))
                    .collect(),
            ),
        }
    }

    /// Everything that went wrong, in one number: refusals, failed connects, lost
    /// connections, I/O errors, undecodable frames and `ProtocolError`s received.
    pub fn errors(&self) -> u64 {
        self.refusals.values().sum::<u64>()
            + self.protocol_errors.values().sum::<u64>()
            + self.connect_failures
            + self.connections_lost
            + self.io_errors
            + self.undecodable_frames
    }

    /// The live one-line summary; `previous` (the last snapshot) gives the rate.
    pub fn summary_line(&self, previous: &Report) -> String {
        let dt = self.elapsed_secs - previous.elapsed_secs;
        let rate = if dt > 0.0 {
            (self.events_sent - previous.events_sent) as f64 / dt
        } else {
            0.0
        };
        format!(
            "[{:>6.1}s] connected {}/{}  registered {}  refused {}  events {:.0}/s ({} total)  commands {}  errors {}",
            self.elapsed_secs,
            self.connected,
            self.nodes,
            self.registered,
            self.refusals.values().sum::<u64>(),
            rate,
            self.events_sent,
            self.commands_answered,
            self.errors(),
        )
    }

    /// The final report, as text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let l = &self.registration_latency;
        let _ = writeln!(
            out,
            "honeybee-sim report ({} nodes against {}, seed {}, {:.1} s)",
            self.nodes, self.core, self.seed, self.elapsed_secs
        );
        let _ = writeln!(
            out,
            "  connections   opened {}, connect failures {}, lost {}, open at the end {}",
            self.connections_opened, self.connect_failures, self.connections_lost, self.connected
        );
        let _ = writeln!(
            out,
            "  registrations accepted {} ({} with a TOTP code), keys received {}, waits for the next TOTP step {}",
            self.registrations_accepted,
            self.registrations_with_code,
            self.keys_received,
            self.totp_step_waits
        );
        let _ = writeln!(
            out,
            "  latency       registration p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
            l.p50_ms, l.p99_ms, l.max_ms, l.samples
        );
        let _ = writeln!(out, "  refusals      {}", pairs(&self.refusals));
        let _ = writeln!(
            out,
            "  events        sent {} ({:.1}/s), skipped (no running pot) {}",
            self.events_sent, self.events_per_sec, self.events_skipped
        );
        let _ = writeln!(
            out,
            "  heartbeats    {}; pot crashes {}",
            self.heartbeats_sent, self.pot_crashes
        );
        let _ = writeln!(
            out,
            "  commands      answered {}: {}",
            self.commands_answered,
            pairs(&self.commands_by_kind)
        );
        let _ = writeln!(
            out,
            "  from the Core ProtocolErrors {}; undecodable frames {}; I/O errors {}",
            pairs(&self.protocol_errors),
            self.undecodable_frames,
            self.io_errors
        );
        let _ = writeln!(out, "  misbehaviour  {}", pairs(&self.misbehaviour));
        out
    }
}

fn pairs(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let samples: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        let l = Latency::of(&samples);
        assert_eq!(
            (l.samples, l.p50_ms, l.p99_ms, l.max_ms),
            (100, 50.0, 99.0, 100.0)
        );
        assert_eq!(Latency::of(&[]), Latency::default());
    }

    #[test]
    fn the_summary_line_shows_the_rate_since_the_last_one() {
        let before = Report {
            nodes: 3,
            elapsed_secs: 5.0,
            events_sent: 100,
            ..Report::default()
        };
        let now = Report {
            elapsed_secs: 10.0,
            events_sent: 600,
            connected: 3,
            registered: 3,
            ..before.clone()
        };
        assert_eq!(
            now.summary_line(&before),
            "[  10.0s] connected 3/3  registered 3  refused 0  events 100/s (600 total)  commands 0  errors 0"
        );
        let json = serde_json::to_value(&now).unwrap();
        assert_eq!(json["events_sent"], 600);
        assert!(now.text().contains("sent 600"));
    }
}
