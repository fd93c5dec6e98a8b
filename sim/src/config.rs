//! The simulator's settings, as the library takes them (the command line fills them in
//! `cli.rs`; tests build them directly from [`SimConfig::default`]).

use std::time::Duration;

use crate::misbehave::Misbehaviour;
use crate::tls::TlsSettings;

/// Whether connections bind their local address across 127.0.0.0/8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceMode {
    /// Spread when the Core is on a loopback IPv4 address (on Linux), else not.
    Auto,
    /// Always spread (the Core must be on loopback).
    Spread,
    /// Let the system pick the source address.
    Off,
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The Core's node port, `HOST:PORT`.
    pub core: String,
    pub nodes: usize,
    /// Stop by itself after this long (`None`: until stopped).
    pub duration: Option<Duration>,
    /// Events per second across the whole fleet.
    pub events_per_sec: f64,
    pub heartbeat: Duration,
    pub seed: u64,
    pub name_prefix: String,
    /// A new random node id at each reconnect (like a node process that restarts).
    pub new_id_on_reconnect: bool,
    /// The pot types each node starts with, installed and running.
    pub pots: Vec<String>,
    pub install_time: Duration,
    /// Probability that an install or a restart fails.
    pub fail_rate: f64,
    /// Spontaneous failures of running pots, per pot per hour.
    pub pot_crashes_per_hour: f64,
    pub misbehaviours: Vec<Misbehaviour>,
    /// Share of the nodes given the per-node misbehaviours.
    pub misbehave_share: f64,
    /// How often a misbehaving node misbehaves.
    pub misbehave_every: Duration,
    /// Time between two bytes of a slowloris frame.
    pub slowloris_byte_interval: Duration,
    /// Size of an oversize frame's payload.
    pub oversize_bytes: usize,
    /// When half the fleet drops (`half-drop`); default: half the duration, or 30 s.
    pub half_drop_at: Option<Duration>,
    /// How long the dropped half stays away.
    pub half_drop_away: Duration,
    pub sources: SourceMode,
    /// New connections per second while the fleet starts.
    pub connect_rate: f64,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub tls: Option<TlsSettings>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            core: "127.0.0.1:9001".into(),
            nodes: 10,
            duration: None,
            events_per_sec: 10.0,
            heartbeat: Duration::from_secs(30),
            seed: 0,
            name_prefix: "sim".into(),
            new_id_on_reconnect: false,
            pots: vec!["cowrie".into(), "honnypotter".into()],
            install_time: Duration::from_secs(2),
            fail_rate: 0.0,
            pot_crashes_per_hour: 0.0,
            misbehaviours: Vec::new(),
            misbehave_share: 0.05,
            misbehave_every: Duration::from_secs(5),
            slowloris_byte_interval: Duration::from_millis(200),
            oversize_bytes: 80 * 1024,
            half_drop_at: None,
            half_drop_away: Duration::from_secs(5),
            sources: SourceMode::Auto,
            connect_rate: 1000.0,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            tls: None,
        }
    }
}

impl SimConfig {
    /// Every problem with the settings, one per line; `Ok` when there is none.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.nodes == 0 {
            problems.push("--nodes must be at least 1".to_owned());
        }
        if !(self.events_per_sec >= 0.0 && self.events_per_sec.is_finite()) {
            problems.push("--events-per-sec must be a number >= 0".to_owned());
        }
        for (name, p) in [
            ("--fail-rate", self.fail_rate),
            ("--misbehave-share", self.misbehave_share),
        ] {
            if !(0.0..=1.0).contains(&p) {
                problems.push(format!("{name} must be between 0 and 1"));
            }
        }
        if !(self.pot_crashes_per_hour >= 0.0 && self.pot_crashes_per_hour.is_finite()) {
            problems.push("--pot-crashes-per-hour must be a number >= 0".to_owned());
        }
        if self.heartbeat.is_zero() {
            problems.push("--heartbeat-secs must be above 0".to_owned());
        }
        if self.misbehave_every.is_zero() || self.slowloris_byte_interval.is_zero() {
            problems.push("misbehaviour intervals must be above 0".to_owned());
        }
        if !(self.connect_rate > 0.0 && self.connect_rate.is_finite()) {
            problems.push("--connect-rate must be above 0".to_owned());
        }
        let valid_name = |name: &str| {
            !name.is_empty()
                && name.len() <= 100
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if !valid_name(&self.name_prefix) {
            problems.push("--name-prefix must be 1-100 characters of A-Z a-z 0-9 . _ -".to_owned());
        }
        for pot in &self.pots {
            let ok = !pot.is_empty()
                && pot.len() <= 28
                && pot
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b));
            if !ok {
                problems.push(format!(
                    "pot type {pot:?} must be 1-28 characters of a-z 0-9 _ -"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// When the half-drop happens, if asked for.
    pub fn half_drop_time(&self) -> Option<Duration> {
        if !self.misbehaviours.contains(&Misbehaviour::HalfDrop) {
            return None;
        }
        Some(
            self.half_drop_at
                .or(self.duration.map(|d| d / 2))
                .unwrap_or(Duration::from_secs(30)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_every_problem_is_named() {
        assert_eq!(SimConfig::default().validate(), Ok(()));
        let bad = SimConfig {
            nodes: 0,
            fail_rate: 2.0,
            name_prefix: "a b".into(),
            pots: vec!["Cowrie".into()],
            ..SimConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "--nodes must be at least 1\n--fail-rate must be between 0 and 1\n\
             --name-prefix must be 1-100 characters of A-Z a-z 0-9 . _ -\n\
             pot type \"Cowrie\" must be 1-28 characters of a-z 0-9 _ -"
        );
    }

    #[test]
    fn the_half_drop_defaults_to_mid_run() {
        let config = SimConfig {
            misbehaviours: vec![Misbehaviour::HalfDrop],
            duration: Some(Duration::from_secs(60)),
            ..SimConfig::default()
        };
        assert_eq!(config.half_drop_time(), Some(Duration::from_secs(30)));
        assert_eq!(SimConfig::default().half_drop_time(), None);
    }
}
