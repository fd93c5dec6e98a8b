//! **rtt**: how long an operator's command takes to reach its node through a loaded Core. A
//! fresh Core (TOTP on, open enrollment) holds 10,000 simulated idle nodes; one more node, the
//! probe, is driven by the bench over a raw socket. Each round posts `GetPotStatus` for the
//! probe's pot over a keep-alive API connection (t0) and stops the clock when the probe's
//! socket delivers the `NodeCommand` line (t1, stamped on arrival by a reader thread); the
//! probe then answers with its pot's status, and the next round starts once the API shows the
//! command completed (so no command waits behind the previous one).

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use crate::core_process::{Core, Settings};
use crate::http::Http;
use crate::report::{Table, Target, int, ms, percentile};
use crate::{sim, wire};

const FLEET: usize = 10_000;
const HEARTBEAT: Duration = Duration::from_secs(30);
const ROUNDS: usize = 2000;
const PROBE_ID: u64 = 990_000_001;
const POT: &str = "p1";
const LINE_DEADLINE: Duration = Duration::from_secs(10);
const SETTLED_DEADLINE: Duration = Duration::from_secs(30);
const TARGET_P99: Duration = Duration::from_millis(5);

/// A line from the Core, stamped when the probe's reader thread got it.
type Arrival = (Instant, String);

/// The probe node: its socket for answers and the lines the Core sends it.
struct Probe {
    writer: TcpStream,
    lines: Receiver<Arrival>,
    reader: std::thread::JoinHandle<()>,
}

impl Probe {
    /// Registers the probe and starts its reader thread.
    fn connect(core: &Core) -> Probe {
        let reader = wire::register(core.node_addr, PROBE_ID, "probe");
        let writer = reader
            .get_ref()
            .try_clone()
            .expect("cannot share the probe's socket");
        reader
            .get_ref()
            .set_read_timeout(None)
            .expect("cannot clear the probe's read timeout");
        let (sender, lines) = channel();
        let reader = std::thread::spawn(move || read_lines(reader, &sender));
        Probe {
            writer,
            lines,
            reader,
        }
    }

    /// The next line from the Core, with its arrival time.
    fn next(&self, what: &str) -> Arrival {
        self.lines.recv_timeout(LINE_DEADLINE).unwrap_or_else(|e| {
            panic!("rtt: the probe got no {what} within {LINE_DEADLINE:?} ({e})")
        })
    }

    /// Reports pot `p1` `Running` (the answer to any command for it).
    fn report_pot(&mut self) {
        self.writer
            .write_all(wire::pot_running(PROBE_ID, POT).as_bytes())
            .expect("rtt: the probe cannot write to the Core");
    }

    /// Says goodbye; the reader thread ends when the Core closes the connection (or is cut
    /// off after a few seconds).
    fn close(self) {
        wire::say_goodbye(&self.writer);
        let started = Instant::now();
        while !self.reader.is_finished() && started.elapsed() < LINE_DEADLINE {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.writer.shutdown(Shutdown::Both);
        self.reader
            .join()
            .expect("the probe's reader thread panicked");
    }
}

/// The probe's reader thread: every line from the Core, stamped as it arrives.
fn read_lines(mut reader: BufReader<TcpStream>, sender: &Sender<Arrival>) {
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if sender.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        }
    }
}

/// What the rounds measured.
struct Rounds {
    to_node: Vec<Duration>,
    http: Vec<Duration>,
    /// Commands the API queued (`pending`) instead of sending at once.
    queued: usize,
}

pub fn run() -> Vec<Target> {
    let core = Core::start(&Settings::fleet());
    let mut api = core.api();
    let config = sim::idle(&core, FLEET, HEARTBEAT);
    let deadline = sim::ramp_deadline(&config);
    let fleet = sim::start(config);
    let standing = sim::wait_held(&mut api, &fleet, FLEET, deadline);
    let mut probe = Probe::connect(&core);
    let (first_at, first) = probe.next("first command (GetInstalledPots)");
    assert!(
        first.contains("GetInstalledPots"),
        "rtt: the probe's first command is not GetInstalledPots: {first}"
    );
    probe.report_pot();
    wait_commands_settled(&mut api);
    let settled = first_at.elapsed();
    let mut rounds = measure(&mut api, &mut probe);
    probe.close();
    sim::stop(fleet, &mut api);
    core.stop();
    rounds.to_node.sort_unstable();
    rounds.http.sort_unstable();
    print(&rounds, standing.running, settled);
    let p99 = percentile(&rounds.to_node, 99.0);
    vec![Target::new(
        "rtt",
        &format!(
            "command API → node p99 ≤ 5 ms ({} nodes held)",
            int(FLEET as u64)
        ),
        format!("{} ms", ms(p99)),
        p99 <= TARGET_P99,
    )]
}

/// Waits until none of the probe's commands is pending or sent (the `GetInstalledPots` list
/// window has closed).
fn wait_commands_settled(api: &mut Http) {
    let started = Instant::now();
    loop {
        let history = api
            .get(&format!("/api/v1/nodes/{PROBE_ID}/commands"))
            .json();
        let commands = history["commands"]
            .as_array()
            .unwrap_or_else(|| panic!("rtt: unexpected command history: {history}"));
        let open = commands
            .iter()
            .filter(|c| matches!(c["status"].as_str(), Some("pending" | "sent")))
            .count();
        if !commands.is_empty() && open == 0 {
            return;
        }
        assert!(
            started.elapsed() < SETTLED_DEADLINE,
            "rtt: the probe's commands did not complete within {SETTLED_DEADLINE:?}: {history}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The rounds: post, wait for the line on the probe, answer.
fn measure(api: &mut Http, probe: &mut Probe) -> Rounds {
    let path = format!("/api/v1/nodes/{PROBE_ID}/commands");
    let body = format!(r#"{{"GetPotStatus":"{POT}"}}"#);
    let mut rounds = Rounds {
        to_node: Vec::with_capacity(ROUNDS),
        http: Vec::with_capacity(ROUNDS),
        queued: 0,
    };
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        let response = api.post(&path, &body);
        rounds.http.push(t0.elapsed());
        assert_eq!(
            response.status, 202,
            "rtt: POST {path} answered {}: {}",
            response.status, response.body
        );
        let answer = response.json();
        if answer["status"] == "pending" {
            rounds.queued += 1;
        }
        let command_id = answer["command_id"]
            .as_u64()
            .unwrap_or_else(|| panic!("rtt: no command_id in {answer}"));
        let (t1, line) = probe.next("NodeCommand GetPotStatus");
        assert!(
            line.contains("NodeCommand") && line.contains("GetPotStatus"),
            "rtt: the probe expected GetPotStatus and got: {line}"
        );
        rounds.to_node.push(t1 - t0);
        probe.report_pot();
        wait_completed(api, command_id);
    }
    rounds
}

/// Waits until command `id` is `completed` (the probe's answer was correlated), so the next
/// round's command is sent at once instead of queued behind it.
fn wait_completed(api: &mut Http, id: u64) {
    let started = Instant::now();
    loop {
        let command = api.get(&format!("/api/v1/commands/{id}")).json();
        if command["status"] == "completed" {
            return;
        }
        assert!(
            started.elapsed() < LINE_DEADLINE,
            "rtt: command {id} did not complete within {LINE_DEADLINE:?}: {command}"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn print(rounds: &Rounds, held: u64, settled: Duration) {
    let mut table = Table::new(
        &format!(
            "rtt — {} commands, API POST → NodeCommand line on the probe's socket, while the Core \
             holds {} idle nodes (heartbeat {} s); probe settled {:.0} ms after its first command",
            int(ROUNDS as u64),
            int(held),
            HEARTBEAT.as_secs(),
            settled.as_secs_f64() * 1000.0
        ),
        &["measure", "p50 ms", "p90 ms", "p99 ms", "max ms"],
    );
    for (label, samples) in [
        ("POST → command line at the node", &rounds.to_node),
        ("POST → HTTP 202 read", &rounds.http),
    ] {
        table.row(vec![
            label.into(),
            ms(percentile(samples, 50.0)),
            ms(percentile(samples, 90.0)),
            ms(percentile(samples, 99.0)),
            ms(samples.last().copied().unwrap_or_default()),
        ]);
    }
    table.print();
    if rounds.queued > 0 {
        println!(
            "\nnote: {} of {} commands were queued (`pending`) behind the previous one",
            rounds.queued, ROUNDS
        );
    }
}
