//! The command line (clap), turned into a [`SimConfig`].

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};

use crate::config::{SimConfig, SourceMode};
use crate::misbehave::Misbehaviour;
use crate::tls::TlsSettings;

/// Runs N simulated HoneyBee nodes against a Core: they register (with TOTP), heartbeat,
/// answer every command like real nodes, send realistic cowrie and honnypotter events, and
/// misbehave on demand.
#[derive(Debug, Parser)]
#[command(name = "honeybee-sim", version)]
pub struct Args {
    /// The Core's node port.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9001")]
    pub core: String,
    /// How many nodes to run.
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Attack events per second, across the whole fleet.
    #[arg(long, value_name = "R", default_value_t = 10.0)]
    pub events_per_sec: f64,
    /// Seconds between heartbeats (NodeStatusUpdate Running).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub heartbeat_secs: f64,
    /// Seed of every random choice (default: from the clock; printed in the report).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Node names are PREFIX-00001, PREFIX-00002, ...
    #[arg(long, value_name = "PREFIX", default_value = "sim")]
    pub name_prefix: String,
    /// Pick a new random node id at each reconnect (keeping the TOTP key), like a node whose
    /// process restarts.
    #[arg(long)]
    pub new_id_on_reconnect: bool,
    /// Pots each node starts with, installed and Running ("none" for none).
    #[arg(long, value_name = "TYPE[,TYPE]", default_value = "cowrie,honnypotter")]
    pub pots: String,
    /// Seconds an InstallPot takes.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub install_secs: f64,
    /// Probability that an install or a restart ends Failed.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Running pots fail by themselves this often, per pot per hour.
    #[arg(long, value_name = "N", default_value_t = 0.0)]
    pub pot_crashes_per_hour: f64,
    /// Misbehaviour: garbage, oversize, slowloris, spoofed-ids, reconnect-storm (given to
    /// --misbehave-share of the nodes, round robin), half-drop (half the fleet drops at once).
    #[arg(long, value_name = "KIND[,KIND]", value_delimiter = ',')]
    pub misbehave: Vec<Misbehaviour>,
    /// Share of the nodes that misbehave.
    #[arg(long, value_name = "P", default_value_t = 0.05)]
    pub misbehave_share: f64,
    /// Seconds between two acts of a misbehaving node.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub misbehave_every_secs: f64,
    /// Milliseconds between the bytes of a slowloris frame.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub slowloris_byte_ms: u64,
    /// Payload size of an oversize frame.
    #[arg(long, value_name = "BYTES", default_value_t = 80 * 1024)]
    pub oversize_bytes: usize,
    /// When half the fleet drops (default: half the duration, or 30 s).
    #[arg(long, value_name = "SECS")]
    pub half_drop_at: Option<f64>,
    /// How long the dropped half stays away.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub half_drop_away_secs: f64,
    /// Bind each node's connection to its own address in 127.0.0.0/8 (auto: when the Core is
    /// on loopback), so fleets need not share one address's ephemeral ports.
    #[arg(long, value_enum, default_value_t = SourceArg::Auto)]
    pub source_ips: SourceArg,
    /// New connections per second while the fleet starts.
    #[arg(long, value_name = "N", default_value_t = 1000.0)]
    pub connect_rate: f64,
    /// First reconnect delay (doubles up to --backoff-max-secs).
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub backoff_initial_ms: u64,
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub backoff_max_secs: f64,
    /// Connect with TLS (needs --tls-ca).
    #[arg(long, requires = "tls_ca")]
    pub tls: bool,
    /// PEM file of the CA that signed the Core's certificate.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Name to check the Core's certificate against (default: the --core host).
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Client certificate (PEM), when the Core asks for one.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds between two live summary lines.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub summary_secs: f64,
    /// No live summary lines.
    #[arg(long)]
    pub quiet: bool,
    /// Also write the final report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json_report: Option<PathBuf>,
}

/// `--source-ips`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    Auto,
    Spread,
    Off,
}

fn secs(value: f64, name: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("{name} must be a number of seconds >= 0"))
}

/// A seed from the clock, when none is given.
pub fn clock_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

impl Args {
    /// The settings these arguments ask for; every problem at once.
    pub fn into_config(self) -> Result<SimConfig, String> {
        let mut problems = Vec::new();
        let mut duration = |value: f64, name: &str| {
            secs(value, name).unwrap_or_else(|e| {
                problems.push(e);
                Duration::ZERO
            })
        };
        let run_for = self.duration.map(|d| duration(d, "--duration"));
        let heartbeat = duration(self.heartbeat_secs, "--heartbeat-secs");
        let install_time = duration(self.install_secs, "--install-secs");
        let misbehave_every = duration(self.misbehave_every_secs, "--misbehave-every-secs");
        let half_drop_at = self.half_drop_at.map(|d| duration(d, "--half-drop-at"));
        let half_drop_away = duration(self.half_drop_away_secs, "--half-drop-away-secs");
        let backoff_max = duration(self.backoff_max_secs, "--backoff-max-secs");
        let pots = match self.pots.trim() {
            "" | "none" => Vec::new(),
            list => list.split(',').map(|p| p.trim().to_owned()).collect(),
        };
        let tls = self.tls_ca.filter(|_| self.tls).map(|ca| TlsSettings {
            ca,
            server_name: self
                .tls_server_name
                .clone()
                .unwrap_or_else(|| host_of(&self.core)),
            client_cert: self.tls_cert.zip(self.tls_key),
        });
        let config = SimConfig {
            core: self.core,
            nodes: self.nodes,
            duration: run_for,
            events_per_sec: self.events_per_sec,
            heartbeat,
            seed: self.seed.unwrap_or_else(clock_seed),
            name_prefix: self.name_prefix,
            new_id_on_reconnect: self.new_id_on_reconnect,
            pots,
            install_time,
            fail_rate: self.fail_rate,
            pot_crashes_per_hour: self.pot_crashes_per_hour,
            misbehaviours: self.misbehave,
            misbehave_share: self.misbehave_share,
            misbehave_every,
            slowloris_byte_interval: Duration::from_millis(self.slowloris_byte_ms),
            oversize_bytes: self.oversize_bytes,
            half_drop_at,
            half_drop_away,
            sources: match self.source_ips {
                SourceArg::Auto => SourceMode::Auto,
                SourceArg::Spread => SourceMode::Spread,
                SourceArg::Off => SourceMode::Off,
            },
            connect_rate: self.connect_rate,
            backoff_initial: Duration::from_millis(self.backoff_initial_ms),
            backoff_max,
            tls,
        };
        if let Err(more) = config.validate() {
            problems.extend(more.lines().map(str::to_owned));
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// The host part of `HOST:PORT` (brackets of an IPv6 literal removed).
fn host_of(core: &str) -> String {
    let host = core.rsplit_once(':').map_or(core, |(host, _)| host);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<SimConfig, String> {
        let args =
            Args::try_parse_from(std::iter::once("honeybee-sim").chain(args.iter().copied()))
                .map_err(|e| e.to_string())?;
        args.into_config()
    }

    #[test]
    fn the_brief_s_example_parses() {
        let config = parse(&[
            "--nodes",
            "50",
            "--duration",
            "60",
            "--events-per-sec",
            "200",
            "--seed",
            "7",
            "--pots",
            "cowrie,honnypotter,cowrie",
            "--misbehave",
            "garbage,half-drop",
            "--misbehave-share",
            "0.1",
        ])
        .unwrap();
        assert_eq!(config.nodes, 50);
        assert_eq!(config.duration, Some(Duration::from_secs(60)));
        assert_eq!(config.events_per_sec, 200.0);
        assert_eq!(config.seed, 7);
        assert_eq!(config.pots, ["cowrie", "honnypotter", "cowrie"]);
        assert_eq!(
            config.misbehaviours,
            [Misbehaviour::Garbage, Misbehaviour::HalfDrop]
        );
        assert_eq!(config.heartbeat, Duration::from_secs(30));
        assert_eq!(config.core, "127.0.0.1:9001");
        assert!(config.tls.is_none());
    }

    #[test]
    fn bad_values_are_all_named() {
        let err = parse(&["--nodes", "0", "--duration=-1", "--fail-rate", "3"]).unwrap_err();
        assert_eq!(
            err,
            "--duration must be a number of seconds >= 0\n--nodes must be at least 1\n\
             --fail-rate must be between 0 and 1"
        );
        let err = parse(&["--misbehave", "teleport"]).unwrap_err();
        assert!(err.contains("unknown misbehaviour \"teleport\""), "{err}");
        assert!(parse(&["--tls"]).is_err(), "--tls needs --tls-ca");
    }

    #[test]
    fn tls_names_default_to_the_core_host() {
        let config =
            parse(&["--core", "core.example:9001", "--tls", "--tls-ca", "ca.pem"]).unwrap();
        let tls = config.tls.unwrap();
        assert_eq!(tls.server_name, "core.example");
        assert_eq!(tls.ca, PathBuf::from("ca.pem"));
        assert_eq!(host_of("[::1]:9001"), "::1");
        assert_eq!(
            parse(&["--pots", "none"]).unwrap().pots,
            Vec::<String>::new()
        );
    }
}
