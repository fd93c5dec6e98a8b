//! **outputs**: what sinks cost ingestion. The ingest section's load (raw TCP node connections,
//! two sender threads, ~300-byte cowrie events) against three fresh Cores: without sinks; with
//! a syslog TCP sink and a Splunk HEC sink attached, each to a local receiver in this process
//! (the syslog receiver reads octet-counted frames, the HEC receiver answers every batch
//! `{"text":"Success","code":0}`); and with a HEC sink whose receiver does not exist (a dead
//! sink, retrying with backoff). Stored events/s is measured as in ingest (the Core's
//! `honeybee_events_stored_total`); a sink's delivered events/s from the same start until its
//! position (`GET /api/v1/outputs`) reaches the last event.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::core_process::{Core, Metrics, Settings};
use crate::ingest::{Load, spawn_senders};
use crate::report::{Table, Target, int, round};
use crate::wire;

const NODES: usize = 500;
const EVENTS_PER_NODE: usize = 400;
const DEADLINE: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(20);

/// One run: stored events/s, and when each sink had delivered everything.
#[derive(Debug)]
struct Run {
    stored: f64,
    sinks: Vec<(String, f64)>,
}

pub fn run() -> Vec<Target> {
    let total = (NODES * EVENTS_PER_NODE) as u64;
    let syslog = SyslogReceiver::start();
    let hec = hec_receiver();
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let live = format!(
        "[[outputs]]\nname = \"syslog\"\ntype = \"syslog\"\naddress = \"{}\"\ntransport = \"tcp\"\n\
         [[outputs]]\nname = \"hec\"\ntype = \"splunk_hec\"\nurl = \"http://{hec}/services/collector/event\"\n\
         token = \"bench-hec-token\"\n",
        syslog.addr
    );
    let dead_sink = format!(
        "[[outputs]]\nname = \"dead\"\ntype = \"splunk_hec\"\nurl = \"http://{dead}/services/collector/event\"\n\
         token = \"bench-hec-token\"\n"
    );
    let none = one_run("", &[]);
    let with_sinks = one_run(&live, &["syslog", "hec"]);
    let with_dead = one_run(&dead_sink, &[]);
    let mut table = Table::new(
        &format!(
            "outputs — {} events ({} connections × {}), Core TOTP off; receivers and senders on \
             the same 2 cores",
            int(total),
            int(NODES as u64),
            EVENTS_PER_NODE
        ),
        &["run", "events/s", "vs no sink"],
    );
    table.row(vec![
        "stored, no sink".into(),
        round(none.stored),
        "1.00x".into(),
    ]);
    let live_ratio = with_sinks.stored / none.stored;
    let dead_ratio = with_dead.stored / none.stored;
    table.row(vec![
        "stored, syslog TCP + HEC sinks attached".into(),
        round(with_sinks.stored),
        format!("{live_ratio:.2}x"),
    ]);
    for (name, rate) in &with_sinks.sinks {
        table.row(vec![
            format!("  delivered by the {name} sink to its local receiver"),
            round(*rate),
            format!("{:.2}x", rate / none.stored),
        ]);
    }
    table.row(vec![
        "stored, a dead HEC sink attached (receiver absent)".into(),
        round(with_dead.stored),
        format!("{dead_ratio:.2}x"),
    ]);
    table.print();
    println!(
        "(syslog receiver got {} messages; HEC receiver {} events)",
        int(syslog.count.load(Ordering::Relaxed)),
        int(HEC_EVENTS.load(Ordering::Relaxed))
    );
    vec![
        Target::new(
            "outputs",
            "≥ 0.8× the stored events/s with a syslog TCP and a HEC sink attached",
            format!("{live_ratio:.2}×"),
            live_ratio >= 0.8,
        ),
        Target::new(
            "outputs",
            "≥ 0.9× the stored events/s with a dead sink attached",
            format!("{dead_ratio:.2}×"),
            dead_ratio >= 0.9,
        ),
    ]
}

fn one_run(outputs: &str, sinks: &[&str]) -> Run {
    let core = Core::start_with(
        &Settings {
            totp: false,
            enrollment: "open",
            max_unregistered: NODES,
            node_events_per_sec: Some(0),
        },
        outputs,
    );
    let mut api = core.api();
    let loads: Vec<Load> = (0..NODES)
        .map(|i| {
            let node_id = 2_000_000 + i as u64;
            let reader = wire::register(core.node_addr, node_id, &format!("bench-{i}"));
            let load: String = (0..EVENTS_PER_NODE)
                .map(|n| wire::event(node_id, n))
                .collect();
            (reader.into_inner(), load.into_bytes())
        })
        .collect();
    let total = (NODES * EVENTS_PER_NODE) as u64;
    let started = Instant::now();
    let senders = spawn_senders(loads);
    let mut stored_at = None;
    let mut delivered: Vec<Option<Duration>> = vec![None; sinks.len()];
    loop {
        if stored_at.is_none() && Metrics::read(&mut api).events_stored() >= total {
            stored_at = Some(started.elapsed());
        }
        if !sinks.is_empty() && delivered.iter().any(Option::is_none) {
            let list = api.get("/api/v1/outputs").json();
            for (i, name) in sinks.iter().enumerate() {
                let sink = list["outputs"]
                    .as_array()
                    .and_then(|a| a.iter().find(|s| s["name"] == *name).cloned())
                    .unwrap_or_default();
                if delivered[i].is_none()
                    && sink["position"]["last_event_id"].as_u64() >= Some(total)
                {
                    delivered[i] = Some(started.elapsed());
                }
            }
        }
        if stored_at.is_some() && delivered.iter().all(Option::is_some) {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "outputs: not done within {DEADLINE:?}"
        );
        std::thread::sleep(POLL);
    }
    let streams = senders
        .into_iter()
        .flat_map(|s| s.join().expect("a sender thread panicked"))
        .map(|(stream, _)| stream)
        .collect();
    wire::goodbye_all(streams);
    crate::core_process::wait_connections_closed(&mut api);
    core.stop();
    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    Run {
        stored: rate(stored_at.unwrap_or(DEADLINE)),
        sinks: sinks
            .iter()
            .zip(delivered)
            .map(|(n, d)| ((*n).to_owned(), rate(d.unwrap_or(DEADLINE))))
            .collect(),
    }
}

/// A syslog receiver that counts octet-counted frames.
struct SyslogReceiver {
    addr: SocketAddr,
    count: Arc<AtomicU64>,
}

impl SyslogReceiver {
    fn start() -> SyslogReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let c = c.clone();
                std::thread::spawn(move || read_frames(stream, &c));
            }
        });
        SyslogReceiver { addr, count }
    }
}

fn read_frames(stream: TcpStream, count: &AtomicU64) {
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let mut len = Vec::new();
    let mut msg = Vec::new();
    loop {
        len.clear();
        if reader.read_until(b' ', &mut len).unwrap_or(0) == 0 {
            return;
        }
        let Some(n) = std::str::from_utf8(&len[..len.len() - 1])
            .ok()
            .and_then(|t| t.parse::<usize>().ok())
        else {
            return;
        };
        msg.resize(n, 0);
        if reader.read_exact(&mut msg).is_err() {
            return;
        }
        count.fetch_add(1, Ordering::Relaxed);
    }
}

static HEC_EVENTS: AtomicU64 = AtomicU64::new(0);

/// A HEC receiver: HTTP/1.1 keep-alive, every batch indexed.
fn hec_receiver() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve_hec(stream));
        }
    });
    addr
}

fn serve_hec(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let mut body = Vec::new();
    loop {
        let mut len = 0;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                len = value.trim().parse().unwrap_or(0);
            }
        }
        body.resize(len, 0);
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let events = body.iter().filter(|b| **b == b'\n').count() as u64;
        HEC_EVENTS.fetch_add(events, Ordering::Relaxed);
        let reply = r#"{"text":"Success","code":0}"#;
        // Head and body in one write (two small writes would wait on the delayed ACK).
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
