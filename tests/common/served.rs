//! The real `honeybee-core` binary started by a test: `serve` on port 0 with a config in a
//! temporary directory, its log lines, its pid.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_honeybee-core");

/// Kills the child if a test fails before it stops.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `serve` process and its log lines.
pub struct Served {
    pub core: Running,
    lines: mpsc::Receiver<String>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    /// The log lines read so far.
    read: Vec<String>,
}

impl Served {
    /// Starts `serve` on port 0 with `extra` config, through `sh -c` so that `shell_prefix`
    /// (e.g. a `ulimit`) applies to it; waits for its bound port.
    pub fn start(extra: &str, shell_prefix: &str) -> Served {
        Served::start_in(tempfile::tempdir().unwrap(), extra, shell_prefix)
    }

    /// [`Served::start`] with the store and config in `dir` (to start again on the same store).
    pub fn start_in(dir: tempfile::TempDir, extra: &str, shell_prefix: &str) -> Served {
        let config = format!("[server]\nnode_port = 0\n[api]\nport = 0\n{extra}");
        Served::start_with(dir, &config, shell_prefix)
    }

    /// Starts `serve` with exactly `config` (ports included), its store in `dir`.
    pub fn start_with(dir: tempfile::TempDir, config_text: &str, shell_prefix: &str) -> Served {
        let config = dir.path().join("core.toml");
        std::fs::write(&config, config_text).unwrap();
        // `exec` keeps the pid: signals reach the Core itself.
        let script = format!("{shell_prefix} exec \"$0\" serve --config \"$1\"");
        let child = Command::new("sh")
            .args(["-c", &script, BIN])
            .arg(&config)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "info")
            .env("HONEYBEE__STORAGE__DIR", dir.path().join("data"))
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut core = Running(child);
        let (lines_tx, lines) = mpsc::channel();
        let stderr = core.0.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut served = Served {
            core,
            lines,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dir,
            read: Vec::new(),
        };
        let listening = served.wait_for("Listening for nodes on ");
        served.addr = listening
            .split("Listening for nodes on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap();
        served
    }

    /// The next log line containing `needle` (within 10 s).
    pub fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no log line containing {needle:?}"));
            self.read.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Where the HTTP API listens (waits for its log line if it was not read yet).
    pub fn api_addr(&mut self) -> SocketAddr {
        let needle = "HTTP API listening on http://";
        let line = match self.read.iter().find(|l| l.contains(needle)) {
            Some(line) => line.clone(),
            None => self.wait_for(needle),
        };
        line.split(needle)
            .nth(1)
            .and_then(|rest| rest.trim_end_matches('.').split_whitespace().next())
            .map(|addr| addr.trim_end_matches('.'))
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Whether a log line read so far (by [`Served::wait_for`], start-up included) contains
    /// `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.read.iter().any(|line| line.contains(needle))
    }

    /// The log lines read so far (by [`Served::wait_for`], start-up included).
    pub fn log_read(&self) -> &[String] {
        &self.read
    }

    /// CPU time (user + system) the process used so far, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.core.0.id())).unwrap();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// The log lines written since the last one read, without waiting for more.
    pub fn lines_so_far(&mut self) -> Vec<String> {
        let fresh: Vec<String> = self.lines.try_iter().collect();
        self.read.extend(fresh.iter().cloned());
        fresh
    }

    /// Every log line from now until the process ends.
    pub fn rest_of_log(&mut self) -> String {
        let mut out = String::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Sends a signal (`"TERM"`, `"KILL"`, `"HUP"`) to the Core.
    pub fn signal(&self, name: &str) {
        let pid = self.core.0.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name} {pid}");
    }

    /// Waits for the Core to exit; returns its exit status and keeps its directory.
    pub fn wait_exit(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        let status = self.core.0.wait().unwrap();
        (status, self.dir)
    }

    /// The store directory.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }
}
