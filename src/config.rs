//! The Core's configuration: the typed, validated settings of `conf/default.toml` (every key of
//! CORE.md), loaded with the `config` crate plus `HONEYBEE__SECTION__KEY` overrides.
//!
//! Loading and validation live in `config/load.rs`: the merged tree is walked against the known
//! keys so that *every* unknown or mistyped key is reported at once, then checked value by
//! value into these types.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

mod load;
pub mod outputs;
mod settings;

pub use honeybee_actors::policy::RestartPolicy;
pub use load::{ConfigError, Problem, load, load_str};

/// The whole configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub api: ApiConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub protocol: ProtocolConfig,
    pub limits: LimitsConfig,
    pub storage: StorageConfig,
    pub commands: CommandsConfig,
    pub pots: PotsConfig,
    pub nodes: NodesConfig,
    pub alerts: AlertsConfig,
    pub fleet: FleetConfig,
    pub export: ExportConfig,
    pub logging: LoggingConfig,
    /// `[[outputs]]`: the sinks (`config/outputs.rs`).
    pub outputs: Vec<outputs::OutputConfig>,
    /// `[intel]`: the threat-intel feeds' rules.
    pub intel: outputs::IntelConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// `server.host`: address the node listener binds to.
    pub host: IpAddr,
    /// `server.node_port` (0 = any free port).
    pub node_port: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    pub host: IpAddr,
    pub port: u16,
    /// `api.token` (a secret: never logged).
    pub token: Option<String>,
    pub read_tokens: Vec<String>,
    /// `api.tokens_file`; default `<storage.dir>/tokens.toml`.
    pub tokens_file: PathBuf,
    pub max_body_bytes: usize,
    pub public_metrics: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `api.ui_session_idle_secs`: a dashboard session unused this long ends.
    pub ui_session_idle: Duration,
    /// `api.ui_session_max_secs`: a dashboard session ends this long after sign-in.
    pub ui_session_max: Duration,
    /// `api.trusted_proxies`: TLS-terminating proxies whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsConfig {
    pub enabled: bool,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrollment {
    Open,
    Approve,
    Closed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    pub totp: bool,
    pub enrollment: Enrollment,
    /// Node ids (as decimal strings) or names.
    pub totp_exempt: Vec<String>,
    pub max_failures: u32,
    pub lockout: Duration,
    pub max_new_per_minute: u32,
    pub max_identities_per_source: u32,
    pub max_nodes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolConfig {
    pub max_frame_bytes: usize,
    pub strict_version: bool,
    pub registration_timeout: Duration,
    pub heartbeat_timeout: Duration,
    pub max_bad_frames_per_minute: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LimitsConfig {
    /// 0 = the open-file limit minus 512.
    pub max_connections: usize,
    pub max_unregistered: usize,
    /// 0 = no limit.
    pub node_events_per_sec: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StorageConfig {
    pub dir: PathBuf,
    pub commit_interval: Duration,
    /// 0 = keep forever.
    pub event_retention_days: u32,
    /// 0 = no cap.
    pub max_events: u64,
    pub min_free_disk_mb: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandsConfig {
    pub timeout: Duration,
    pub install_timeout: Duration,
    pub list_window: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PotsConfig {
    pub restart: RestartPolicy,
    pub max_restarts: u32,
    pub restart_window: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Zero = off.
    pub silence_alert: Duration,
    /// Where an `InstallPot`'s `git_url` may point, parsed once at load.
    pub allowed_sources: honeybee_protocol::AllowedSources,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodesConfig {
    pub restart: RestartPolicy,
    pub max_restarts: u32,
    pub restart_window: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    /// `alerts.reconnect_grace_secs`: a lost node that is back within this long raises no
    /// `node_unknown` alert (zero = the alert opens as soon as the node is lost).
    pub reconnect_grace: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FleetConfig {
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportConfig {
    pub jsonl: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoggingConfig {
    /// `error`, `warn`, `info`, `debug`, `trace` or `off`; or an env_logger filter string.
    pub level: String,
}
