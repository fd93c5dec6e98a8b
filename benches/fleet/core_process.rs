//! The Core under test: the release `honeybee-core` binary as a child process with a config
//! written to a temporary directory, its readiness (`GET /health`), its counters
//! (`GET /metrics`), its memory and CPU (from `/proc`), a restart on the same store, and its
//! stop (SIGTERM, then wait).

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::http::Http;
use crate::machine;
use crate::report::int;

const BINARY: &str = env!("CARGO_BIN_EXE_honeybee-core");
/// The admin token of every Core the bench starts (loopback only).
const TOKEN: &str = "honeybee-bench-admin-token-0123456789abcdef";
const READY_DEADLINE: Duration = Duration::from_secs(60);
const STOP_DEADLINE: Duration = Duration::from_secs(120);
/// How long the Core may take to close the connections of nodes that said goodbye.
const CLOSE_DEADLINE: Duration = Duration::from_secs(30);

/// The config keys the sections vary.
#[derive(Debug, Clone)]
pub struct Settings {
    pub totp: bool,
    /// `auth.enrollment`: `open` or `closed`.
    pub enrollment: &'static str,
    pub max_unregistered: usize,
    /// `limits.node_events_per_sec`; `None` keeps the default.
    pub node_events_per_sec: Option<u32>,
}

impl Settings {
    /// A fleet's Core: TOTP on, open enrollment (every node enrolls and gets its key), room
    /// for a whole fleet registering at once.
    pub fn fleet() -> Settings {
        Settings {
            totp: true,
            enrollment: "open",
            max_unregistered: 20_000,
            node_events_per_sec: None,
        }
    }

    fn toml(&self, node_port: u16, api_port: u16, data: &str) -> String {
        let mut toml = format!(
            "[server]\nnode_port = {node_port}\n\
             [api]\nport = {api_port}\ntoken = \"{TOKEN}\"\n\
             [storage]\ndir = {data:?}\nmin_free_disk_mb = 200\n\
             [logging]\nlevel = \"warn\"\n\
             [auth]\ntotp = {}\nenrollment = \"{}\"\n\
             [limits]\nmax_unregistered = {}\n",
            self.totp, self.enrollment, self.max_unregistered
        );
        if let Some(rate) = self.node_events_per_sec {
            toml.push_str(&format!("node_events_per_sec = {rate}\n"));
        }
        toml
    }
}

/// How a Core is stopped before a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: a clean stop.
    Term,
    /// SIGKILL: a crash.
    Kill,
}

/// A running Core.
#[derive(Debug)]
pub struct Core {
    child: Child,
    pub node_addr: SocketAddr,
    pub api_addr: SocketAddr,
    config: PathBuf,
    log: PathBuf,
    /// The config, the log and the store; removed when the Core is dropped.
    dir: TempDir,
}

impl Core {
    /// Starts a Core with a fresh store and waits until it answers `/health`.
    pub fn start(settings: &Settings) -> Core {
        Core::start_with(settings, "")
    }

    /// [`Core::start`] with more config (TOML appended, e.g. `[[outputs]]` tables).
    pub fn start_with(settings: &Settings, extra: &str) -> Core {
        let dir = tempfile::tempdir().expect("cannot create a temporary directory");
        let (node_port, api_port) = (free_port(), free_port());
        let data = dir.path().join("data").display().to_string();
        let config = dir.path().join("core.toml");
        std::fs::write(
            &config,
            format!("{}{extra}", settings.toml(node_port, api_port, &data)),
        )
        .expect("cannot write the Core's config");
        let log = dir.path().join("core.log");
        let child = spawn(&config, &log);
        let core = Core {
            child,
            node_addr: SocketAddr::from(([127, 0, 0, 1], node_port)),
            api_addr: SocketAddr::from(([127, 0, 0, 1], api_port)),
            config,
            log,
            dir,
        };
        core.wait_ready();
        core
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client of this Core's API, with the admin token.
    pub fn api(&self) -> Http {
        Http::new(self.api_addr, TOKEN)
    }

    pub fn rss(&self) -> u64 {
        machine::rss_bytes(self.pid())
    }

    pub fn cpu_mark(&self) -> machine::CpuMark {
        machine::CpuMark::now(self.pid())
    }

    /// Stops the Core (SIGTERM) and starts it again on the same store, config and ports.
    pub fn restart(&mut self) {
        self.terminate();
        self.child = spawn(&self.config, &self.log);
        self.wait_ready();
    }

    /// Rewrites the config with `settings` (same ports and store), for the next restart.
    pub fn reconfigure(&self, settings: &Settings) {
        let data = self.dir.path().join("data").display().to_string();
        let toml = settings.toml(self.node_addr.port(), self.api_addr.port(), &data);
        std::fs::write(&self.config, toml).expect("cannot rewrite the Core's config");
    }

    /// Stops the Core as `how` says and starts it again on the same store, config and ports;
    /// answers when its node port opened (a connect first succeeded), without waiting for the
    /// rest of it: its nodes may be reconnecting already.
    pub fn restart_after(&mut self, how: Stop) -> Instant {
        match how {
            Stop::Term => self.terminate(),
            Stop::Kill => {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        self.child = spawn(&self.config, &self.log);
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(self.node_addr).is_ok() {
                return Instant::now();
            }
            assert!(
                started.elapsed() < READY_DEADLINE,
                "the restarted Core did not open its node port within {READY_DEADLINE:?}. Log \
                 tail:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the Core with SIGTERM and waits for it to exit. Summarises what the Core logged,
    /// if anything (it logs at `warn`).
    pub fn stop(mut self) {
        self.terminate();
        let lines = self.log_lines();
        if !lines.is_empty() {
            println!(
                "\nnote: the Core logged {} warning/error lines:",
                int(lines.len() as u64)
            );
            for (kind, (count, example)) in log_kinds(&lines) {
                println!("  {} × {kind} (e.g. {example})", int(count));
            }
        }
    }

    fn terminate(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let started = Instant::now();
        let pid = self.pid().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "cannot send SIGTERM to the Core (pid {pid})"
        );
        while started.elapsed() < STOP_DEADLINE {
            if let Some(status) = self.child.try_wait().expect("cannot wait for the Core") {
                if !status.success() {
                    println!(
                        "\nnote: the Core exited with {status} after SIGTERM; log tail:\n{}",
                        self.log_tail()
                    );
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!(
            "the Core (pid {pid}) did not exit within {STOP_DEADLINE:?} of SIGTERM; killed it. Log tail:\n{}",
            self.log_tail()
        );
    }

    /// Waits until the Core answers `GET /health`.
    pub fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(self.api_addr) {
                use std::io::{Read, Write};
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let request = "GET /health HTTP/1.1\r\nHost: core\r\nConnection: close\r\n\r\n";
                let mut answer = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.1 200")
                {
                    return;
                }
            }
            assert!(
                started.elapsed() < READY_DEADLINE,
                "the Core did not answer GET /health within {READY_DEADLINE:?}. Log tail:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines the Core wrote (stdout and stderr).
    fn log_tail(&self) -> String {
        let lines = self.log_lines();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// What the Core logged (at `warn`: warnings and errors), line by line.
    fn log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

impl Drop for Core {
    /// A section that panics still stops its Core.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the binary, its output appended to `log`; no `HONEYBEE__` or `RUST_LOG` from the
/// bench's environment reaches it (the config file is the whole truth).
fn spawn(config: &PathBuf, log: &PathBuf) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("cannot open the Core's log file");
    let err = out.try_clone().expect("cannot share the Core's log file");
    let mut command = Command::new(BINARY);
    command
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .env_remove("RUST_LOG");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HONEYBEE__") {
            command.env_remove(name);
        }
    }
    command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"))
}

/// Log lines grouped by kind (the message up to its first `:` or `(`, after the
/// `[time LEVEL target]` prefix): count and one example, most frequent first.
fn log_kinds(lines: &[String]) -> Vec<(String, (u64, String))> {
    let mut kinds: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for line in lines {
        let message = line.split_once("] ").map_or(line.as_str(), |(_, m)| m);
        let kind = message
            .split([':', '('])
            .next()
            .unwrap_or(message)
            .trim()
            .to_owned();
        let entry = kinds.entry(kind).or_insert_with(|| (0, message.to_owned()));
        entry.0 += 1;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by_key(|(_, (count, _))| std::cmp::Reverse(*count));
    kinds
}

/// A port free on 127.0.0.1 now (bound to port 0, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("cannot find a free port")
        .port()
}

/// Waits until the Core has closed every node connection (after the nodes said goodbye), so
/// that stopping it next does not cut live sessions: a Core stopped with sessions open marks
/// those nodes `Unknown` and raises an alert for each. Says so when the deadline passes.
pub fn wait_connections_closed(api: &mut Http) {
    let started = Instant::now();
    loop {
        let open = Metrics::read(api).connections();
        if open == 0 {
            return;
        }
        if started.elapsed() >= CLOSE_DEADLINE {
            println!(
                "\nnote: {open} node connections still open in the Core {CLOSE_DEADLINE:?} after \
                 their nodes said goodbye"
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The Core's counters, from one `GET /metrics`.
#[derive(Debug)]
pub struct Metrics(String);

impl Metrics {
    pub fn read(api: &mut Http) -> Metrics {
        let response = api.get("/metrics");
        assert_eq!(
            response.status, 200,
            "GET /metrics answered {}: {}",
            response.status, response.body
        );
        Metrics(response.body)
    }

    /// The value of one series (`name` or `name{labels}` exactly as exposed); 0 when absent.
    pub fn value(&self, series: &str) -> f64 {
        self.0
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub fn count(&self, series: &str) -> u64 {
        self.value(series) as u64
    }

    /// Nodes `Running` and connected (where the series carries a `connected` label).
    pub fn running_nodes(&self) -> u64 {
        self.0
            .lines()
            .filter(|l| l.starts_with("honeybee_nodes{") && l.contains("status=\"Running\""))
            .filter(|l| !l.contains("connected=\"false\""))
            .filter_map(|l| l.rsplit(' ').next()?.trim().parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    pub fn connections(&self) -> u64 {
        self.count("honeybee_connections")
    }

    pub fn events_stored(&self) -> u64 {
        self.count("honeybee_events_stored_total")
    }

    pub fn events_ingested(&self) -> u64 {
        self.count("honeybee_events_ingested_total")
    }

    pub fn frames_in(&self) -> u64 {
        self.count("honeybee_frames_in_total")
    }

    pub fn backlog(&self) -> u64 {
        self.count("honeybee_ingest_backlog")
    }
}
