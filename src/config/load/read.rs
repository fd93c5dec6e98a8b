//! Checks every value of the merged config tree and builds the typed [`Config`] from it,
//! collecting a [`Problem`] for each wrong value instead of stopping at the first. A key that
//! is not set takes its default from `keys.rs`; a wrong value is reported and replaced by the
//! default, so that the checks across keys do not report follow-on problems.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Map, Value, ValueKind};
use honeybee_protocol::AllowedSources;

use super::{Problem, keys};
use crate::config::{
    AlertsConfig, ApiConfig, AuthConfig, CommandsConfig, Config, Enrollment, ExportConfig,
    FleetConfig, LimitsConfig, LoggingConfig, NodesConfig, PotsConfig, ProtocolConfig,
    RestartPolicy, ServerConfig, StorageConfig, TlsConfig,
};

use super::checks::{
    self, Checked, integer, list, log_filter, node_ref, one_of, seconds, source, string, token,
};

/// Largest `protocol.max_frame_bytes`: 16 MiB.
const MAX_FRAME_BYTES: u64 = 16 * 1024 * 1024;
/// Largest `*_ms` value: one day.
const MAX_MS: u64 = 86_400_000;
/// Largest count that is a `u32` in `Config`.
const U32: u64 = u32::MAX as u64;
/// Largest count or size that is a `usize` in `Config` (the same, portable to 32-bit targets).
const MAX_USIZE: u64 = U32;

const ENROLLMENTS: &[(&str, Enrollment)] = &[
    ("open", Enrollment::Open),
    ("approve", Enrollment::Approve),
    ("closed", Enrollment::Closed),
];

const POLICIES: &[(&str, RestartPolicy)] = &[
    (RestartPolicy::Always.as_str(), RestartPolicy::Always),
    (RestartPolicy::OnFailure.as_str(), RestartPolicy::OnFailure),
    (RestartPolicy::Never.as_str(), RestartPolicy::Never),
];

/// Reads and checks every key of `root` (the merged tree) into a [`Config`].
pub(super) fn read(root: &Map<String, Value>, problems: &mut Vec<Problem>) -> Config {
    let mut r = Reader { root, problems };
    let storage = r.storage();
    let config = Config {
        server: r.server(),
        api: r.api(&storage.dir),
        tls: r.tls(),
        auth: r.auth(),
        protocol: r.protocol(),
        limits: r.limits(),
        storage,
        commands: r.commands(),
        pots: r.pots(),
        nodes: r.nodes(),
        alerts: AlertsConfig {
            reconnect_grace: r.secs("alerts.reconnect_grace_secs", false),
        },
        fleet: FleetConfig {
            file: r.opt_path("fleet.file"),
        },
        export: ExportConfig {
            jsonl: r.opt_path("export.jsonl"),
        },
        logging: LoggingConfig {
            level: r.get("logging.level", String::new(), log_filter),
        },
        outputs: super::outputs::read_outputs(root, r.problems),
        intel: super::outputs::read_intel(root, r.problems),
    };
    r.across_keys(&config);
    config
}

struct Reader<'a> {
    root: &'a Map<String, Value>,
    problems: &'a mut Vec<Problem>,
}

impl Reader<'_> {
    fn server(&mut self) -> ServerConfig {
        ServerConfig {
            host: self.ip("server.host"),
            node_port: self.port("server.node_port"),
        }
    }

    fn api(&mut self, storage_dir: &Path) -> ApiConfig {
        let tokens_file = self.opt_path("api.tokens_file");
        ApiConfig {
            host: self.ip("api.host"),
            port: self.port("api.port"),
            token: self.get("api.token", None, |p, v| token(p, v).map(Some)),
            read_tokens: self.get("api.read_tokens", Vec::new(), |p, v| list(p, v, token)),
            tokens_file: tokens_file.unwrap_or_else(|| storage_dir.join("tokens.toml")),
            max_body_bytes: self.uint("api.max_body_bytes", 1, MAX_USIZE),
            public_metrics: self.flag("api.public_metrics"),
            tls_cert: self.opt_path("api.tls_cert"),
            tls_key: self.opt_path("api.tls_key"),
            ui_session_idle: self.secs("api.ui_session_idle_secs", true),
            ui_session_max: self.secs("api.ui_session_max_secs", true),
            trusted_proxies: self.get("api.trusted_proxies", Vec::new(), |p, v| {
                list(p, v, checks::ip)
            }),
        }
    }

    fn tls(&mut self) -> TlsConfig {
        TlsConfig {
            enabled: self.flag("tls.enabled"),
            cert: self.opt_path("tls.cert"),
            key: self.opt_path("tls.key"),
            client_ca: self.opt_path("tls.client_ca"),
        }
    }

    fn auth(&mut self) -> AuthConfig {
        AuthConfig {
            totp: self.flag("auth.totp"),
            enrollment: self.choice("auth.enrollment", Enrollment::Open, ENROLLMENTS),
            totp_exempt: self.get("auth.totp_exempt", Vec::new(), |p, v| list(p, v, node_ref)),
            max_failures: self.uint("auth.max_failures", 1, U32),
            lockout: self.secs("auth.lockout_secs", false),
            max_new_per_minute: self.uint("auth.max_new_per_minute", 0, U32),
            max_identities_per_source: self.uint("auth.max_identities_per_source", 1, U32),
            max_nodes: self.uint("auth.max_nodes", 0, u64::MAX),
        }
    }

    fn protocol(&mut self) -> ProtocolConfig {
        ProtocolConfig {
            max_frame_bytes: self.uint("protocol.max_frame_bytes", 1024, MAX_FRAME_BYTES),
            strict_version: self.flag("protocol.strict_version"),
            registration_timeout: self.secs("protocol.registration_timeout_secs", true),
            heartbeat_timeout: self.secs("protocol.heartbeat_timeout_secs", true),
            max_bad_frames_per_minute: self.uint("protocol.max_bad_frames_per_minute", 0, U32),
        }
    }

    fn limits(&mut self) -> LimitsConfig {
        LimitsConfig {
            max_connections: self.uint("limits.max_connections", 0, MAX_USIZE),
            max_unregistered: self.uint("limits.max_unregistered", 1, MAX_USIZE),
            node_events_per_sec: self.uint("limits.node_events_per_sec", 0, U32),
        }
    }

    fn storage(&mut self) -> StorageConfig {
        StorageConfig {
            dir: self.get("storage.dir", PathBuf::from("data"), |p, v| {
                string(p, v).map(PathBuf::from)
            }),
            commit_interval: self.millis("storage.commit_interval_ms"),
            event_retention_days: self.uint("storage.event_retention_days", 0, U32),
            max_events: self.uint("storage.max_events", 0, u64::MAX),
            min_free_disk_mb: self.uint("storage.min_free_disk_mb", 0, u64::MAX),
        }
    }

    fn commands(&mut self) -> CommandsConfig {
        CommandsConfig {
            timeout: self.secs("commands.timeout_secs", true),
            install_timeout: self.secs("commands.install_timeout_secs", true),
            list_window: self.millis("commands.list_window_ms"),
        }
    }

    fn pots(&mut self) -> PotsConfig {
        PotsConfig {
            restart: self.choice("pots.restart", RestartPolicy::OnFailure, POLICIES),
            max_restarts: self.uint("pots.max_restarts", 0, U32),
            restart_window: self.secs("pots.restart_window_secs", true),
            backoff_initial: self.secs("pots.backoff_initial_secs", false),
            backoff_max: self.secs("pots.backoff_max_secs", false),
            silence_alert: self.secs("pots.silence_alert_secs", false),
            allowed_sources: AllowedSources::of(self.get(
                "pots.allowed_sources",
                Vec::new(),
                |p, v| list(p, v, source),
            )),
        }
    }

    fn nodes(&mut self) -> NodesConfig {
        NodesConfig {
            restart: self.choice("nodes.restart", RestartPolicy::Never, POLICIES),
            max_restarts: self.uint("nodes.max_restarts", 0, U32),
            restart_window: self.secs("nodes.restart_window_secs", true),
        }
    }

    /// Checks that involve more than one key; skipped where one of them is already wrong.
    fn across_keys(&mut self, c: &Config) {
        if c.tls.enabled && !self.has_problem("tls.enabled") {
            self.require("tls.cert", c.tls.cert.is_some(), "when tls.enabled = true");
            self.require("tls.key", c.tls.key.is_some(), "when tls.enabled = true");
        }
        if !c.tls.enabled && c.tls.client_ca.is_some() && !self.has_problem("tls.enabled") {
            self.problem("tls.client_ca", "requires tls.enabled = true".into());
        }
        let (cert, key) = (c.api.tls_cert.is_some(), c.api.tls_key.is_some());
        self.require("api.tls_cert", cert || !key, "when api.tls_key is set");
        self.require("api.tls_key", key || !cert, "when api.tls_cert is set");
        self.check_backoff(&c.pots);
        self.check_ports(c);
    }

    fn require(&mut self, path: &'static str, ok: bool, when: &str) {
        if !ok && !self.has_problem(path) {
            self.problem(path, format!("required {when}"));
        }
    }

    fn check_backoff(&mut self, pots: &PotsConfig) {
        let paths = ["pots.backoff_initial_secs", "pots.backoff_max_secs"];
        if pots.backoff_initial > pots.backoff_max && !self.any_problem(&paths) {
            let (initial, max) = (pots.backoff_initial, pots.backoff_max);
            let message = format!(
                "must be at most pots.backoff_max_secs ({}), got {}",
                max.as_secs_f64(),
                initial.as_secs_f64()
            );
            self.problem(paths[0], message);
        }
    }

    /// The node port and the API port cannot be the same socket.
    fn check_ports(&mut self, c: &Config) {
        let paths = ["server.host", "server.node_port", "api.host", "api.port"];
        let (node, api) = (
            (c.server.host, c.server.node_port),
            (c.api.host, c.api.port),
        );
        let overlap = node.0 == api.0 || node.0.is_unspecified() || api.0.is_unspecified();
        if node.1 == api.1 && node.1 != 0 && overlap && !self.any_problem(&paths) {
            let message = format!(
                "must differ from server.node_port ({}) on the same address",
                node.1
            );
            self.problem("api.port", message);
        }
    }

    // Typed getters: each reads a key (or its default) and records what is wrong with it.

    fn flag(&mut self, path: &'static str) -> bool {
        self.get(path, false, checks::boolean)
    }

    fn port(&mut self, path: &'static str) -> u16 {
        self.uint(path, 0, u16::MAX.into())
    }

    fn uint<T: TryFrom<u64> + Default>(&mut self, path: &'static str, min: u64, max: u64) -> T {
        // `max` fits in `T`, so the conversion cannot fail.
        self.get(path, T::default(), |p, v| {
            integer(p, v, min, max).map(|n| T::try_from(n).unwrap_or_default())
        })
    }

    fn secs(&mut self, path: &'static str, positive: bool) -> Duration {
        self.get(path, Duration::ZERO, |p, v| seconds(p, v, positive))
    }

    fn millis(&mut self, path: &'static str) -> Duration {
        self.get(path, Duration::ZERO, |p, v| {
            integer(p, v, 1, MAX_MS).map(Duration::from_millis)
        })
    }

    fn ip(&mut self, path: &'static str) -> IpAddr {
        self.get(path, Ipv4Addr::LOCALHOST.into(), checks::ip)
    }

    /// An optional path; an empty string counts as not set (so an override can unset it).
    fn opt_path(&mut self, path: &'static str) -> Option<PathBuf> {
        self.get(path, None, |p, v| match v {
            ValueKind::String(s) if s.is_empty() => Ok(None),
            _ => string(p, v).map(|s| Some(PathBuf::from(s))),
        })
    }

    fn choice<T: Copy>(&mut self, path: &'static str, fallback: T, options: &[(&str, T)]) -> T {
        self.get(path, fallback, |p, v| one_of(p, v, options))
    }

    /// The key's value as set, else its default, checked; on a problem, the default.
    fn get<T>(
        &mut self,
        path: &'static str,
        fallback: T,
        check: impl Fn(&str, &ValueKind) -> Checked<T>,
    ) -> T {
        let default = keys::find_path(path).and_then(|k| k.default.value());
        let Some(value) = self.set_value(path).or_else(|| default.clone()) else {
            return fallback;
        };
        match check(path, &value) {
            Ok(checked) => checked,
            Err(messages) => {
                for message in messages {
                    self.problem(path, message);
                }
                default
                    .and_then(|d| check(path, &d).ok())
                    .unwrap_or(fallback)
            }
        }
    }

    fn set_value(&self, path: &str) -> Option<ValueKind> {
        let (section, name) = path.split_once('.')?;
        match &self.root.get(section)?.kind {
            ValueKind::Table(table) => table.get(name).map(|v| v.kind.clone()),
            _ => None,
        }
    }

    fn problem(&mut self, path: &str, message: String) {
        self.problems.push(Problem {
            key: path.to_owned(),
            message,
        });
    }

    fn has_problem(&self, path: &str) -> bool {
        self.problems.iter().any(|p| p.key == path)
    }

    fn any_problem(&self, paths: &[&str]) -> bool {
        paths.iter().any(|path| self.has_problem(path))
    }
}
