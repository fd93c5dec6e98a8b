//! Table tests of config loading: defaults, every key from TOML, environment overrides, every
//! validation rule with its exact message, secrets, and the `conf/` files.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::keys::KEYS;
use super::{Problem, load, load_str};
use crate::config::*;
use honeybee_protocol::AllowedSources;

type Env = Vec<(String, String)>;

fn env(vars: &[(&str, &str)]) -> Env {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn conf(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conf")
        .join(file)
}

/// CORE.md's table, written out independently of `keys.rs`.
fn defaults() -> Config {
    let secs = Duration::from_secs;
    Config {
        server: ServerConfig {
            host: Ipv4Addr::LOCALHOST.into(),
            node_port: 9001,
        },
        api: ApiConfig {
            host: Ipv4Addr::LOCALHOST.into(),
            port: 9002,
            token: None,
            read_tokens: vec![],
            tokens_file: PathBuf::from("data/tokens.toml"),
            max_body_bytes: 1_048_576,
            public_metrics: false,
            tls_cert: None,
            tls_key: None,
            ui_session_idle: secs(28_800),
            ui_session_max: secs(604_800),
            trusted_proxies: vec![],
        },
        tls: TlsConfig {
            enabled: false,
            cert: None,
            key: None,
            client_ca: None,
        },
        auth: AuthConfig {
            totp: true,
            enrollment: Enrollment::Open,
            totp_exempt: vec![],
            max_failures: 5,
            lockout: secs(300),
            max_new_per_minute: 60,
            max_identities_per_source: 10,
            max_nodes: 100_000,
        },
        protocol: ProtocolConfig {
            max_frame_bytes: 65_536,
            strict_version: false,
            registration_timeout: secs(10),
            heartbeat_timeout: secs(90),
            max_bad_frames_per_minute: 30,
        },
        limits: LimitsConfig {
            max_connections: 0,
            max_unregistered: 1000,
            node_events_per_sec: 2000,
        },
        storage: StorageConfig {
            dir: PathBuf::from("data"),
            commit_interval: Duration::from_millis(100),
            event_retention_days: 30,
            max_events: 0,
            min_free_disk_mb: 1024,
        },
        commands: CommandsConfig {
            timeout: secs(30),
            install_timeout: secs(600),
            list_window: Duration::from_millis(2000),
        },
        pots: PotsConfig {
            restart: RestartPolicy::OnFailure,
            max_restarts: 5,
            restart_window: secs(600),
            backoff_initial: secs(5),
            backoff_max: secs(300),
            silence_alert: secs(3600),
            allowed_sources: AllowedSources::none(),
        },
        nodes: NodesConfig {
            restart: RestartPolicy::Never,
            max_restarts: 3,
            restart_window: secs(3600),
        },
        alerts: AlertsConfig {
            reconnect_grace: secs(30),
        },
        fleet: FleetConfig { file: None },
        export: ExportConfig { jsonl: None },
        logging: LoggingConfig {
            level: "info".into(),
        },
        outputs: Vec::new(),
        intel: Default::default(),
    }
}

fn ok(toml: &str, vars: &[(&str, &str)]) -> Config {
    load_str(toml, env(vars)).unwrap_or_else(|e| panic!("unexpected problems:\n{e}"))
}

fn err(toml: &str, vars: &[(&str, &str)]) -> String {
    match load_str(toml, env(vars)) {
        Ok(config) => panic!("expected problems, got {config:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_empty_config_is_the_defaults() {
    assert_eq!(ok("", &[]), defaults());
}

#[test]
fn conf_default_toml_is_exactly_the_defaults() {
    assert_eq!(load(&conf("default.toml"), Env::new()), Ok(defaults()));
}

#[test]
fn conf_default_toml_shows_every_key() {
    let text = std::fs::read_to_string(conf("default.toml")).unwrap();
    for key in KEYS {
        let shown = format!("\n{} = ", key.name);
        let commented = format!("\n# {} = ", key.name);
        assert!(
            text.contains(&shown) || text.contains(&commented),
            "{} missing",
            key.name
        );
    }
}

const EVERY_KEY: &str = r#"
[server]
host = "0.0.0.0"
node_port = 19001
[api]
host = "::1"
port = 0
token = "admin-token-0123456789"
read_tokens = ["read-token-1-0123456789", "read-token-2-0123456789"]
tokens_file = "/etc/hb/tokens.toml"
max_body_bytes = 2048
public_metrics = true
tls_cert = "api.crt"
tls_key = "api.key"
ui_session_idle_secs = 600
ui_session_max_secs = 3600
trusted_proxies = ["10.0.0.1", "::1"]
[tls]
enabled = true
cert = "node.crt"
key = "node.key"
client_ca = "ca.crt"
[auth]
totp = false
enrollment = "approve"
totp_exempt = ["edge-1", 11364728073201639]
max_failures = 7
lockout_secs = 0.5
max_new_per_minute = 0
max_identities_per_source = 3
max_nodes = 20
[protocol]
max_frame_bytes = 1024
strict_version = true
registration_timeout_secs = 0.25
heartbeat_timeout_secs = 0.2
max_bad_frames_per_minute = 0
[limits]
max_connections = 50
max_unregistered = 5
node_events_per_sec = 0
[storage]
dir = "/var/lib/hb"
commit_interval_ms = 5
event_retention_days = 0
max_events = 1000000
min_free_disk_mb = 0
[commands]
timeout_secs = 2
install_timeout_secs = 3.5
list_window_ms = 50
[pots]
restart = "always"
max_restarts = 0
restart_window_secs = 60
backoff_initial_secs = 0
backoff_max_secs = 0.1
silence_alert_secs = 0
allowed_sources = ["https://github.com/honeybee-pots/"]
[nodes]
restart = "on-failure"
max_restarts = 9
restart_window_secs = 1.5
[alerts]
reconnect_grace_secs = 0.25
[fleet]
file = "conf/fleet.toml"
[export]
jsonl = "events.jsonl"
[logging]
level = "warn,honeybee_actors=debug"
"#;

#[test]
fn every_key_is_read_from_toml() {
    let ms = Duration::from_millis;
    let mut want = defaults();
    want.server = ServerConfig {
        host: Ipv4Addr::UNSPECIFIED.into(),
        node_port: 19001,
    };
    want.api = ApiConfig {
        host: Ipv6Addr::LOCALHOST.into(),
        port: 0,
        token: Some("admin-token-0123456789".into()),
        read_tokens: vec![
            "read-token-1-0123456789".into(),
            "read-token-2-0123456789".into(),
        ],
        tokens_file: "/etc/hb/tokens.toml".into(),
        max_body_bytes: 2048,
        public_metrics: true,
        tls_cert: Some("api.crt".into()),
        tls_key: Some("api.key".into()),
        ui_session_idle: Duration::from_secs(600),
        ui_session_max: Duration::from_secs(3600),
        trusted_proxies: vec!["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
    };
    want.tls = TlsConfig {
        enabled: true,
        cert: Some("node.crt".into()),
        key: Some("node.key".into()),
        client_ca: Some("ca.crt".into()),
    };
    want.auth = AuthConfig {
        totp: false,
        enrollment: Enrollment::Approve,
        totp_exempt: vec!["edge-1".into(), "11364728073201639".into()],
        max_failures: 7,
        lockout: ms(500),
        max_new_per_minute: 0,
        max_identities_per_source: 3,
        max_nodes: 20,
    };
    want.protocol = ProtocolConfig {
        max_frame_bytes: 1024,
        strict_version: true,
        registration_timeout: ms(250),
        heartbeat_timeout: ms(200),
        max_bad_frames_per_minute: 0,
    };
    want.limits = LimitsConfig {
        max_connections: 50,
        max_unregistered: 5,
        node_events_per_sec: 0,
    };
    want.storage = StorageConfig {
        dir: "/var/lib/hb".into(),
        commit_interval: ms(5),
        event_retention_days: 0,
        max_events: 1_000_000,
        min_free_disk_mb: 0,
    };
    want.commands = CommandsConfig {
        timeout: ms(2000),
        install_timeout: ms(3500),
        list_window: ms(50),
    };
    want.pots = PotsConfig {
        restart: RestartPolicy::Always,
        max_restarts: 0,
        restart_window: ms(60_000),
        backoff_initial: Duration::ZERO,
        backoff_max: ms(100),
        silence_alert: Duration::ZERO,
        allowed_sources: sources(&["https://github.com/honeybee-pots/"]),
    };
    want.nodes = NodesConfig {
        restart: RestartPolicy::OnFailure,
        max_restarts: 9,
        restart_window: ms(1500),
    };
    want.alerts.reconnect_grace = ms(250);
    want.fleet.file = Some("conf/fleet.toml".into());
    want.export.jsonl = Some("events.jsonl".into());
    want.logging.level = "warn,honeybee_actors=debug".into();
    assert_eq!(ok(EVERY_KEY, &[]), want);
}

#[test]
fn every_key_is_known_and_checked() {
    // A table is a wrong value for every key: each must be reported, and none as unknown.
    let mut toml = String::new();
    for key in KEYS {
        toml.push_str(&format!("[{}.{}]\nx = 1\n", key.section, key.name));
    }
    let error = load_str(&toml, Env::new()).unwrap_err();
    let reported: BTreeSet<&str> = error.problems().iter().map(|p| p.key.as_str()).collect();
    let all: BTreeSet<String> = KEYS
        .iter()
        .map(|k| format!("{}.{}", k.section, k.name))
        .collect();
    assert_eq!(reported, all.iter().map(String::as_str).collect());
    assert!(
        error
            .problems()
            .iter()
            .all(|p| !p.message.contains("unknown")),
        "{error}"
    );
}

type Vars = &'static [(&'static str, &'static str)];
type Change = fn(&mut Config);

/// Each row: config text, environment, the change from the defaults it makes.
#[test]
fn environment_overrides() {
    #[rustfmt::skip]
    let cases: &[(&str, Vars, Change)] = &[
        ("", &[("HONEYBEE__SERVER__NODE_PORT", "9101")], |c| c.server.node_port = 9101),
        ("", &[("honeybee__Server__HOST", " 0.0.0.0 ")], |c| c.server.host = Ipv4Addr::UNSPECIFIED.into()),
        ("[server]\nnode_port = 1", &[("HONEYBEE__SERVER__NODE_PORT", "2")], |c| c.server.node_port = 2),
        ("", &[("HONEYBEE__API__PUBLIC_METRICS", "TRUE")], |c| c.api.public_metrics = true),
        ("", &[("HONEYBEE__AUTH__TOTP", "no")], |c| c.auth.totp = false),
        ("", &[("HONEYBEE__TLS__ENABLED", "0"), ("HONEYBEE__TLS__CLIENT_CA", "")], |_| {}),
        ("", &[("HONEYBEE__PROTOCOL__HEARTBEAT_TIMEOUT_SECS", "0.2")], |c| c.protocol.heartbeat_timeout = Duration::from_millis(200)),
        ("", &[("HONEYBEE__AUTH__LOCKOUT_SECS", "7")], |c| c.auth.lockout = Duration::from_secs(7)),
        ("", &[("HONEYBEE__ALERTS__RECONNECT_GRACE_SECS", "0")], |c| c.alerts.reconnect_grace = Duration::ZERO),
        ("", &[("HONEYBEE__STORAGE__COMMIT_INTERVAL_MS", "10")], |c| c.storage.commit_interval = Duration::from_millis(10)),
        ("", &[("HONEYBEE__AUTH__TOTP_EXEMPT", " edge-1, edge-2,,")], |c| c.auth.totp_exempt = vec!["edge-1".into(), "edge-2".into()]),
        ("", &[("HONEYBEE__AUTH__TOTP_EXEMPT", r#"["a,b", "c"]"#)], |c| c.auth.totp_exempt = vec!["a,b".into(), "c".into()]),
        ("[api]\nread_tokens = [\"x-0123456789abcdef\"]", &[("HONEYBEE__API__READ_TOKENS", "")], |_| {}),
        ("", &[("HONEYBEE__POTS__ALLOWED_SOURCES", "https://a.example/x/,ssh://b.example/y")], |c| {
            c.pots.allowed_sources = sources(&["https://a.example/x/", "ssh://b.example/y"])
        }),
        ("", &[("HONEYBEE__AUTH__ENROLLMENT", "closed")], |c| c.auth.enrollment = Enrollment::Closed),
        ("", &[("HONEYBEE__API__TOKEN", "t0ken-0123456789abcdef")], |c| c.api.token = Some("t0ken-0123456789abcdef".into())),
        ("", &[("HONEYBEE__STORAGE__DIR", "/srv/hb")], |c| {
            c.storage.dir = "/srv/hb".into();
            c.api.tokens_file = "/srv/hb/tokens.toml".into();
        }),
        // An empty value unsets an optional key.
        ("[tls]\ncert = \"a.crt\"", &[("HONEYBEE__TLS__CERT", "")], |_| {}),
        // The same value twice (names differing in case) is fine; other variables are ignored.
        ("", &[("HONEYBEE__API__PORT", "1"), ("honeybee__api__port", "1")], |c| c.api.port = 1),
        ("", &[("PATH", "/bin"), ("HONEYBEE_TOKEN", "x"), ("HONEYBEE", "y")], |_| {}),
    ];
    for (toml, vars, change) in cases {
        let mut want = defaults();
        change(&mut want);
        assert_eq!(ok(toml, vars), want, "{vars:?}");
    }
}

#[test]
fn toml_values_that_need_care() {
    #[rustfmt::skip]
    let cases: &[(&str, Change)] = &[
        ("[storage]\ndir = \"d\"", |c| {
            c.storage.dir = "d".into();
            c.api.tokens_file = "d/tokens.toml".into();
        }),
        ("[api]\ntokens_file = \"\"\ntls_cert = \"\"", |_| {}),
        ("[server]\nhost = \"::\"", |c| c.server.host = IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        ("[logging]\nlevel = \"DEBUG\"", |c| c.logging.level = "DEBUG".into()),
        ("[logging]\nlevel = \"off,honeybee_core::net=trace/frame\"", |c| c.logging.level = "off,honeybee_core::net=trace/frame".into()),
        ("[protocol]\nmax_frame_bytes = 16777216", |c| c.protocol.max_frame_bytes = 16 << 20),
        ("[pots]\nbackoff_initial_secs = 300", |c| c.pots.backoff_initial = Duration::from_secs(300)),
        ("[api]\nport = 9001\nhost = \"127.0.0.2\"", |c| {
            c.api.port = 9001;
            c.api.host = "127.0.0.2".parse().unwrap();
        }),
        ("[server]\nnode_port = 0\n[api]\nport = 0", |c| {
            c.server.node_port = 0;
            c.api.port = 0;
        }),
    ];
    for (toml, change) in cases {
        let mut want = defaults();
        change(&mut want);
        assert_eq!(ok(toml, &[]), want, "{toml}");
    }
}

/// Each row: config text, environment, the exact error text.
fn check_messages(cases: &[(&str, Vars, &str)]) {
    for (toml, vars, want) in cases {
        assert_eq!(err(toml, vars), *want, "{toml:?} {vars:?}");
    }
}

#[test]
fn unknown_names() {
    #[rustfmt::skip]
    check_messages(&[
        ("[server]\nnodeport = 1", &[], "server.nodeport: unknown key"),
        ("[metrics]\nx = 1", &[], "metrics: unknown section"),
        ("top = 1", &[], "top: unknown section"),
        ("server = 1", &[], "server: must be a table (a [section])"),
        ("", &[("HONEYBEE__SERVER__NODEPORT", "1")], "server.nodeport: unknown key (from HONEYBEE__SERVER__NODEPORT)"),
        ("", &[("HONEYBEE__METRICS__X", "1")], "metrics: unknown section (from HONEYBEE__METRICS__X)"),
        ("", &[("HONEYBEE__SERVER", "1")], "HONEYBEE__SERVER: not an override name: use HONEYBEE__SECTION__KEY"),
        ("", &[("HONEYBEE__A__B__C", "1")], "HONEYBEE__A__B__C: not an override name: use HONEYBEE__SECTION__KEY"),
        ("", &[("HONEYBEE__API__PORT", "1"), ("honeybee__api__port", "2")],
            "api.port: set differently by HONEYBEE__API__PORT and honeybee__api__port"),
        ("[server\nhost = 1", &[], "config: invalid TOML: TOML parse error at line 1, column 8: unclosed table, expected `]`"),
        ("", &[("HONEYBEE__SERVER__", "1")], "HONEYBEE__SERVER__: not an override name: use HONEYBEE__SECTION__KEY"),
        ("[server\nhost = 1", &[("HONEYBEE__SERVER__PORT", "1")],
            "server.port: unknown key (from HONEYBEE__SERVER__PORT)\n\
             config: invalid TOML: TOML parse error at line 1, column 8: unclosed table, expected `]`"),
    ]);
}

#[test]
fn wrong_types() {
    #[rustfmt::skip]
    check_messages(&[
        ("[server]\nnode_port = \"abc\"", &[], "server.node_port: must be an integer from 0 to 65535, got \"abc\""),
        ("", &[("HONEYBEE__SERVER__NODE_PORT", "abc")],
            "server.node_port: must be an integer from 0 to 65535, got \"abc\" (from HONEYBEE__SERVER__NODE_PORT)"),
        ("[api]\npublic_metrics = \"yes\"", &[], "api.public_metrics: must be true or false, got \"yes\""),
        ("", &[("HONEYBEE__TLS__ENABLED", "maybe")], "tls.enabled: must be true or false, got \"maybe\" (from HONEYBEE__TLS__ENABLED)"),
        ("[storage]\ndir = 5", &[], "storage.dir: must be a string, got 5"),
        ("[storage]\ndir = \" \"", &[], "storage.dir: must not be empty"),
        ("[fleet]\nfile = [\"a\"]", &[], "fleet.file: must be a string, got a list"),
        ("[export]\njsonl = { path = \"x\" }", &[], "export.jsonl: must be a string, got a table"),
        ("[auth]\ntotp_exempt = \"edge-1\"", &[], "auth.totp_exempt: must be a list of strings, got \"edge-1\""),
        ("[auth]\ntotp_exempt = [\"a\", 2.5, \"\"]", &[],
            "auth.totp_exempt: entry 2 must be a string, got 2.5\nauth.totp_exempt: entry 3 must not be empty"),
        ("", &[("HONEYBEE__AUTH__TOTP_EXEMPT", "[\"a\"")],
            "auth.totp_exempt: must be a list of strings, got \"[\\\"a\\\"\" (from HONEYBEE__AUTH__TOTP_EXEMPT)"),
        ("[auth]\nmax_nodes = -1", &[], "auth.max_nodes: must be a non-negative integer, got -1"),
        ("[auth]\nmax_nodes = 1.5", &[], "auth.max_nodes: must be a non-negative integer, got 1.5"),
        ("[server]\nhost = \"localhost\"", &[], "server.host: must be an IP address (like 127.0.0.1, 0.0.0.0 or ::), got \"localhost\""),
        ("[api]\nhost = 127", &[], "api.host: must be an IP address (like 127.0.0.1, 0.0.0.0 or ::), got 127"),
    ]);
}

#[test]
fn out_of_range() {
    #[rustfmt::skip]
    check_messages(&[
        ("[server]\nnode_port = 70000", &[], "server.node_port: must be an integer from 0 to 65535, got 70000"),
        ("[api]\nport = -1", &[], "api.port: must be an integer from 0 to 65535, got -1"),
        ("[protocol]\nmax_frame_bytes = 1023", &[], "protocol.max_frame_bytes: must be an integer from 1024 to 16777216, got 1023"),
        ("[protocol]\nmax_frame_bytes = 16777217", &[], "protocol.max_frame_bytes: must be an integer from 1024 to 16777216, got 16777217"),
        ("[api]\nmax_body_bytes = 0", &[], "api.max_body_bytes: must be an integer from 1 to 4294967295, got 0"),
        ("[auth]\nmax_failures = 0", &[], "auth.max_failures: must be an integer from 1 to 4294967295, got 0"),
        ("[auth]\nmax_identities_per_source = 0", &[], "auth.max_identities_per_source: must be an integer from 1 to 4294967295, got 0"),
        ("[limits]\nmax_unregistered = 0", &[], "limits.max_unregistered: must be an integer from 1 to 4294967295, got 0"),
        ("[limits]\nmax_connections = -5", &[], "limits.max_connections: must be an integer from 0 to 4294967295, got -5"),
        ("[storage]\nevent_retention_days = 5000000000", &[],
            "storage.event_retention_days: must be an integer from 0 to 4294967295, got 5000000000"),
        ("[storage]\ncommit_interval_ms = 0", &[], "storage.commit_interval_ms: must be an integer from 1 to 86400000, got 0"),
        ("[commands]\nlist_window_ms = 0.5", &[], "commands.list_window_ms: must be an integer from 1 to 86400000, got 0.5"),
    ]);
}

#[test]
fn seconds() {
    #[rustfmt::skip]
    check_messages(&[
        ("[protocol]\nheartbeat_timeout_secs = 0", &[], "protocol.heartbeat_timeout_secs: must be a number of seconds greater than 0, got 0"),
        ("[protocol]\nregistration_timeout_secs = 0.0", &[],
            "protocol.registration_timeout_secs: must be a number of seconds greater than 0, got 0.0"),
        ("[commands]\ntimeout_secs = 0", &[], "commands.timeout_secs: must be a number of seconds greater than 0, got 0"),
        ("[commands]\ninstall_timeout_secs = 0", &[], "commands.install_timeout_secs: must be a number of seconds greater than 0, got 0"),
        ("[pots]\nrestart_window_secs = 0", &[], "pots.restart_window_secs: must be a number of seconds greater than 0, got 0"),
        ("[nodes]\nrestart_window_secs = 0", &[], "nodes.restart_window_secs: must be a number of seconds greater than 0, got 0"),
        ("[auth]\nlockout_secs = -1", &[], "auth.lockout_secs: must be a non-negative number of seconds, got -1"),
        ("[auth]\nlockout_secs = -0.5", &[], "auth.lockout_secs: must be a non-negative number of seconds, got -0.5"),
        ("[auth]\nlockout_secs = nan", &[], "auth.lockout_secs: must be a non-negative number of seconds, got NaN"),
        ("[auth]\nlockout_secs = \"5\"", &[], "auth.lockout_secs: must be a non-negative number of seconds, got \"5\""),
        ("[auth]\nlockout_secs = 1e10", &[], "auth.lockout_secs: must be at most 1000000000 seconds, got 10000000000.0"),
        ("[auth]\nlockout_secs = inf", &[], "auth.lockout_secs: must be at most 1000000000 seconds, got inf"),
        ("[pots]\nsilence_alert_secs = 1000000001", &[], "pots.silence_alert_secs: must be at most 1000000000 seconds, got 1000000001"),
        ("[alerts]\nreconnect_grace_secs = -1", &[], "alerts.reconnect_grace_secs: must be a non-negative number of seconds, got -1"),
        ("[alerts]\nreconnect_grace_secs = \"30s\"", &[], "alerts.reconnect_grace_secs: must be a non-negative number of seconds, got \"30s\""),
        ("[alerts]\nreconnect_grace = 30", &[], "alerts.reconnect_grace: unknown key"),
        ("", &[("HONEYBEE__ALERTS__RECONNECT_GRACE_SECS", "0.5x")],
            "alerts.reconnect_grace_secs: must be a non-negative number of seconds, got \"0.5x\" (from HONEYBEE__ALERTS__RECONNECT_GRACE_SECS)"),
        ("", &[("HONEYBEE__PROTOCOL__HEARTBEAT_TIMEOUT_SECS", "soon")],
            "protocol.heartbeat_timeout_secs: must be a number of seconds greater than 0, got \"soon\" (from HONEYBEE__PROTOCOL__HEARTBEAT_TIMEOUT_SECS)"),
    ]);
}

#[test]
fn choices_and_formats() {
    #[rustfmt::skip]
    check_messages(&[
        ("[auth]\nenrollment = \"Open\"", &[], "auth.enrollment: must be one of \"open\", \"approve\", \"closed\", got \"Open\""),
        ("[pots]\nrestart = \"sometimes\"", &[], "pots.restart: must be one of \"always\", \"on-failure\", \"never\", got \"sometimes\""),
        ("[nodes]\nrestart = 1", &[], "nodes.restart: must be one of \"always\", \"on-failure\", \"never\", got 1"),
        ("[logging]\nlevel = \"loud\"", &[],
            "logging.level: must be error, warn, info, debug, trace or off, or a filter like \"info,honeybee_actors=debug\", got \"loud\""),
        ("[logging]\nlevel = \"info,core=noisy\"", &[],
            "logging.level: must be error, warn, info, debug, trace or off, or a filter like \"info,honeybee_actors=debug\", got \"info,core=noisy\""),
        ("[pots]\nallowed_sources = [\"https://github.com/ok/\", \"ftp://example.com/x\", 3]", &[],
            "pots.allowed_sources: entry 2 (\"ftp://example.com/x\") is not a valid git URL source: scheme must be https, http, ssh, git or file\n\
             pots.allowed_sources: entry 3 must be a string, got 3"),
    ]);
}

#[test]
fn rules_across_keys() {
    #[rustfmt::skip]
    check_messages(&[
        ("[tls]\nenabled = true", &[], "tls.cert: required when tls.enabled = true\ntls.key: required when tls.enabled = true"),
        ("[tls]\nenabled = true\nkey = \"k\"", &[], "tls.cert: required when tls.enabled = true"),
        ("[tls]\nclient_ca = \"ca.crt\"", &[], "tls.client_ca: requires tls.enabled = true"),
        ("[api]\ntls_cert = \"c\"", &[], "api.tls_key: required when api.tls_cert is set"),
        ("[api]\ntls_key = \"k\"", &[], "api.tls_cert: required when api.tls_key is set"),
        ("[pots]\nbackoff_initial_secs = 0.5\nbackoff_max_secs = 0.25", &[],
            "pots.backoff_initial_secs: must be at most pots.backoff_max_secs (0.25), got 0.5"),
        ("[pots]\nbackoff_initial_secs = 301", &[], "pots.backoff_initial_secs: must be at most pots.backoff_max_secs (300), got 301"),
        ("[api]\nport = 9001", &[], "api.port: must differ from server.node_port (9001) on the same address"),
        ("[server]\nhost = \"0.0.0.0\"\n[api]\nport = 9001\nhost = \"127.0.0.2\"", &[],
            "api.port: must differ from server.node_port (9001) on the same address"),
        // No follow-on problem from a value already reported.
        ("[pots]\nbackoff_initial_secs = 400\nbackoff_max_secs = \"x\"", &[],
            "pots.backoff_max_secs: must be a non-negative number of seconds, got \"x\""),
        ("[tls]\nenabled = \"yes\"\nclient_ca = \"ca\"", &[], "tls.enabled: must be true or false, got \"yes\""),
        ("[server]\nnode_port = -1\n[api]\nport = 9001", &[], "server.node_port: must be an integer from 0 to 65535, got -1"),
    ]);
}

#[test]
fn every_problem_is_reported_at_once_in_table_order() {
    let toml = r#"
[zeta]
a = 1
[logging]
level = "loud"
[pots]
backoff_initial_secs = 10
backoff_max_secs = 5
[server]
node_port = 65536
nodport = 1
host = "example.com"
[tls]
enabled = true
"#;
    let vars = [
        ("HONEYBEE__API__PORT", "x"),
        ("HONEYBEE__AUTH__TOTP", "sometimes"),
        ("HONEYBEE__NOPE__X", "1"),
    ];
    let want = "\
server.host: must be an IP address (like 127.0.0.1, 0.0.0.0 or ::), got \"example.com\"
server.node_port: must be an integer from 0 to 65535, got 65536
server.nodport: unknown key
api.port: must be an integer from 0 to 65535, got \"x\" (from HONEYBEE__API__PORT)
tls.cert: required when tls.enabled = true
tls.key: required when tls.enabled = true
auth.totp: must be true or false, got \"sometimes\" (from HONEYBEE__AUTH__TOTP)
pots.backoff_initial_secs: must be at most pots.backoff_max_secs (5), got 10
logging.level: must be error, warn, info, debug, trace or off, or a filter like \"info,honeybee_actors=debug\", got \"loud\"
nope: unknown section (from HONEYBEE__NOPE__X)
zeta: unknown section";
    assert_eq!(err(toml, &vars), want);
    let error = load_str(toml, env(&vars)).unwrap_err();
    assert_eq!(
        error.problems()[2],
        Problem {
            key: "server.nodport".into(),
            message: "unknown key".into()
        }
    );
    assert_eq!(error.problems().len(), 11);
}

#[test]
fn secrets_are_never_echoed() {
    let secret = "s3cr3t-Value";
    let cases: Vec<(String, Env)> = vec![
        ("[api]\ntoken = 123456789".into(), Env::new()),
        (
            format!("[api]\ntoken = \"{secret} with space\""),
            Env::new(),
        ),
        (
            format!("[api]\nread_tokens = [\"{secret}\", 42, \"{secret}\\n\"]"),
            Env::new(),
        ),
        (format!("[api]\nread_tokens = \"{secret}\""), Env::new()),
        (format!("[api]\ntoken = \"{secret}"), Env::new()),
        (format!("[api]\ntoken = [\"{secret}\"]\n"), Env::new()),
        (
            String::new(),
            env(&[("HONEYBEE__API__TOKEN", &format!("{secret} x"))]),
        ),
        (
            String::new(),
            env(&[("HONEYBEE__API__READ_TOKENS", &format!("[\"{secret}\""))]),
        ),
        (
            String::new(),
            env(&[("HONEYBEE__API__READ_TOKENS", &format!("ok, {secret} x"))]),
        ),
        (
            String::new(),
            env(&[
                ("HONEYBEE__API__TOKEN", secret),
                ("honeybee__api__token", "other"),
            ]),
        ),
    ];
    for (toml, vars) in cases {
        let shown = load_str(&toml, vars.clone()).unwrap_err().to_string();
        assert!(
            !shown.contains(secret) && !shown.contains("123456789"),
            "{toml} {vars:?}: {shown}"
        );
        assert!(!shown.contains("42") && !shown.contains("other"), "{shown}");
        assert!(
            shown.starts_with("api.token: ")
                || shown.starts_with("api.read_tokens: ")
                || shown.starts_with("config: "),
            "{shown}"
        );
    }
    let shown = err("[api]\ntoken = 5\nread_tokens = [\"a b\", 7]", &[]);
    assert_eq!(
        shown,
        "api.token: must be a string, got (value hidden)\n\
         api.read_tokens: entry 1 must be at least 16 printable ASCII characters without spaces \
         (value hidden)\n\
         api.read_tokens: entry 2 must be a string, got (value hidden)"
    );
}

#[test]
fn a_missing_file_is_named() {
    let path = conf("test/no-such-file.toml");
    let error = load(&path, Env::new()).unwrap_err();
    assert_eq!(error.problems().len(), 1);
    assert_eq!(error.problems()[0].key, path.display().to_string());
    assert!(
        error.problems()[0]
            .message
            .starts_with("cannot read the config file: "),
        "{error}"
    );
}

#[test]
fn conf_test_bad_toml_gives_bad_expected() {
    let expected = std::fs::read_to_string(conf("test/bad.expected")).unwrap();
    let error = load(&conf("test/bad.toml"), Env::new()).unwrap_err();
    assert_eq!(error.to_string(), expected.trim_end());
    assert!(error.problems().len() >= 4);
}

/// `pots.allowed_sources` as the config holds them, parsed.
fn sources(urls: &[&str]) -> AllowedSources {
    AllowedSources::new(urls).unwrap()
}

#[path = "outputs_tests.rs"]
mod outputs_tests;
