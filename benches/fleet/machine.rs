//! The machine and its processes, read from `/proc`: what the bench runs on (printed first),
//! a process's resident memory and CPU time, and the kernel's memory counters.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What the bench runs on.
#[derive(Debug)]
pub struct Machine {
    cpu: String,
    cores: usize,
    mem_total_kb: u64,
    kernel: String,
    files_soft: u64,
    files_hard: u64,
    date: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or("unknown".to_owned(), |(_, v)| v.trim().to_owned());
        let cores = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let (files_soft, files_hard) =
            rlimit::getrlimit(rlimit::Resource::NOFILE).expect("cannot read RLIMIT_NOFILE");
        Machine {
            cpu,
            cores,
            mem_total_kb: meminfo_kb("MemTotal"),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or("unknown".to_owned(), |k| k.trim().to_owned()),
            files_soft,
            files_hard,
            date: utc_now(),
        }
    }

    pub fn print(&self) {
        println!("# HoneyBee Core fleet benchmark");
        println!();
        println!("- date (UTC): {}", self.date);
        println!("- CPU: {} × {} cores", self.cpu, self.cores);
        println!(
            "- memory: {:.1} GiB (MemTotal {} kB)",
            self.mem_total_kb as f64 / (1024.0 * 1024.0),
            self.mem_total_kb
        );
        println!("- kernel: {}", self.kernel);
        println!(
            "- open files per process: soft {}, hard {} (the bench and the Core raise soft to hard)",
            self.files_soft, self.files_hard
        );
        println!(
            "- load average at start: {}",
            std::fs::read_to_string("/proc/loadavg")
                .map_or("unknown".to_owned(), |l| l.trim().to_owned())
        );
        println!(
            "- the load generators run in this process, on the same cores as the Core under test"
        );
    }
}

/// The current UTC time, as `date -u` prints it.
fn utc_now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or("unknown".to_owned(), |d| d.trim().to_owned())
}

/// A `/proc/meminfo` field in kB (0 when absent).
pub fn meminfo_kb(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").expect("cannot read /proc/meminfo");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, else 100).
pub fn ticks_per_sec() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// Resident memory of process `pid` (`VmRSS`), in bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"));
    kb * 1024
}

/// CPU time of process `pid` (user + system, all threads), in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/stat: {e}"));
    // Fields 14 and 15 (utime, stime); the name in field 2 may hold spaces, so count after it.
    let after_name = stat
        .rsplit_once(')')
        .unwrap_or_else(|| panic!("unexpected /proc/{pid}/stat: {stat}"))
        .1;
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    fields.iter().sum()
}

/// A process's CPU clock at one moment, to measure its CPU use over an interval.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    pid: u32,
    ticks: u64,
    at: Instant,
}

/// CPU time a process used over some wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    pub cpu: Duration,
    pub wall: Duration,
}

impl CpuUse {
    /// In % of one core.
    pub fn percent(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64() * 100.0
    }
}

impl CpuMark {
    pub fn now(pid: u32) -> CpuMark {
        CpuMark {
            pid,
            ticks: cpu_ticks(pid),
            at: Instant::now(),
        }
    }

    /// CPU used since this mark.
    pub fn used(&self) -> CpuUse {
        let ticks = cpu_ticks(self.pid).saturating_sub(self.ticks);
        CpuUse {
            cpu: Duration::from_secs_f64(ticks as f64 / ticks_per_sec() as f64),
            wall: self.at.elapsed(),
        }
    }
}
