//! The syslog sink against rsyslog (Debian's package), started here in the foreground with its
//! own config on a free loopback port, TCP and TLS, writing every message it receives to a
//! file: RFC 5424 structure and octet counting, CEF fields and escaping, and rsyslog stopped
//! and started again mid-stream with nothing lost (repeats only by event id). Without rsyslog
//! the tests print a NOTICE and pass, except under `CI=true`, where they fail.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::common::certs::TestPki;
use super::common::wait_until;
use super::*;

fn rsyslogd() -> Option<PathBuf> {
    let found = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "rsyslogd is missing under CI=true (.ci/run installs the rsyslog package)"
        );
        println!(
            "NOTICE: rsyslogd not found (apt-get install rsyslog rsyslog-gnutls); the syslog tests did not run."
        );
    }
    found
}

/// rsyslog in the foreground on `port`, appending what it receives to `<dir>/out.log`.
struct Rsyslog {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Its UDP port (the TCP one says when it is ready).
    udp_port: u16,
    child: Option<Child>,
}

impl Rsyslog {
    fn start(bin: PathBuf, dir: &Path, tls: Option<&TestPki>) -> Rsyslog {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let udp_port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.display();
        let (global, module) = match tls {
            Some(pki) => (
                format!(
                    "global(workDirectory=\"{d}\" DefaultNetstreamDriver=\"gtls\" \
                     DefaultNetstreamDriverCAFile=\"{}\" DefaultNetstreamDriverCertFile=\"{}\" \
                     DefaultNetstreamDriverKeyFile=\"{}\")",
                    pki.ca_cert.display(),
                    pki.server_cert.display(),
                    pki.server_key.display()
                ),
                "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" \
                 StreamDriver.AuthMode=\"anon\")"
                    .to_owned(),
            ),
            None => (
                format!("global(workDirectory=\"{d}\")"),
                "module(load=\"imtcp\")".to_owned(),
            ),
        };
        let conf = format!(
            "{global}\n{module}\ninput(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n\
             module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"{udp_port}\")\n\
             template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n\
             action(type=\"omfile\" file=\"{d}/out.log\" template=\"raw\" flushOnTXEnd=\"on\")\n"
        );
        std::fs::write(dir.join("rsyslog.conf"), conf).unwrap();
        let mut r = Rsyslog {
            bin,
            dir: dir.to_path_buf(),
            port,
            udp_port,
            child: None,
        };
        r.run();
        r
    }

    fn run(&mut self) {
        let child = Command::new(&self.bin)
            .args(["-n", "-f"])
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslog.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        wait_until(WAIT, "rsyslog listening", || {
            std::net::TcpStream::connect(&addr).is_ok()
        });
    }

    /// SIGTERM (rsyslog writes what it has queued), then waits for it to exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("out.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `event_id` in a line's structured data.
fn event_id(line: &str) -> Option<u64> {
    let at = line.find("event_id=\"")? + 10;
    line[at..].split('"').next()?.parse().ok()
}

fn ids(lines: &[String]) -> BTreeSet<u64> {
    lines.iter().filter_map(|l| event_id(l)).collect()
}

fn check_stream(tls: bool) {
    let Some(bin) = rsyslogd() else { return };
    let pki = TestPki::generate();
    let work = tempfile::tempdir().unwrap();
    let mut rsyslog = Rsyslog::start(bin, work.path(), tls.then_some(&pki));
    let dir = tempfile::tempdir().unwrap();
    let extra = if tls {
        format!(
            "transport = \"tls\"\nca = {:?}\n",
            pki.ca_cert.display().to_string()
        )
    } else {
        "transport = \"tcp\"\n".to_owned()
    };
    let host = if tls { "localhost" } else { "127.0.0.1" };
    let core = core_in(
        dir.path(),
        &format!(
            "[[outputs]]\nname = \"soc\"\ntype = \"syslog\"\naddress = \"{host}:{}\"\n{extra}\
             batch_size = 50\nretry_max_secs = 0.5\n",
            rsyslog.port
        ),
    );
    let mut n = node(&core, 14, "edge 14|\u{e9}");
    send_events(&mut n, 14, 1, 300);
    wait_until(WAIT, "the first messages in rsyslog's file", || {
        ids(&rsyslog.lines()).len() > 100
    });
    rsyslog.stop();
    let restarted = Instant::now();
    rsyslog.run();
    send_events(&mut n, 14, 301, 300);
    wait_until(WAIT, "600 events in rsyslog's file", || {
        let got = ids(&rsyslog.lines());
        (1..=600).all(|i| got.contains(&i))
    });
    let lines = rsyslog.lines();
    println!(
        "{} lines for 600 events ({} repeated after the restart, {:?})",
        lines.len(),
        lines.len() - 600,
        restarted.elapsed()
    );
    let sequence: Vec<u64> = lines.iter().filter_map(|l| event_id(l)).collect();
    let mut highest = 0;
    for id in &sequence {
        assert!(*id <= highest + 1, "a gap before {id}");
        highest = highest.max(*id);
    }
    let line = lines.iter().find(|l| event_id(l) == Some(42)).unwrap();
    // RFC 5424: <local0 × 8 + informational>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG.
    let head = "<134>1 ";
    assert!(line.starts_with(head), "{line}");
    let fields: Vec<&str> = line.splitn(8, ' ').collect();
    assert!(
        fields[1].ends_with('Z') && fields[1].contains('T'),
        "{line}"
    );
    assert_eq!(
        &fields[2..6],
        ["edge_14|_", "honeybee", "-", "cowrie.login.failed"],
        "{line}"
    );
    assert_eq!(fields[6], "[honeybee@32473");
    assert!(
        fields[7].starts_with("event_id=\"42\" node_id=\"14\"] CEF:0|HoneyBee|Core|"),
        "{line}"
    );
    let cef = &line[line.find("CEF:0|").unwrap()..];
    assert!(
        cef.contains("|cowrie.login.failed|Login failed|5|rt="),
        "{cef}"
    );
    for field in [
        "src=45.155.205.43",
        "spt=40042",
        "suser=root",
        "cs1Label=password cs1=pw42",
        "dvchost=edge 14|\u{e9}",
        "externalId=42",
    ] {
        assert!(cef.contains(field), "{field} in {cef}");
    }
    let status = &outputs(&core)["soc"];
    assert!(status["failures"].as_u64().unwrap() >= 1, "{status}");
    core.stop();
}

#[test]
fn syslog_over_tcp_survives_an_rsyslog_restart() {
    check_stream(false);
}

#[test]
fn syslog_over_tls_survives_an_rsyslog_restart() {
    check_stream(true);
}

#[test]
fn syslog_over_udp_caps_and_marks_long_messages() {
    let Some(bin) = rsyslogd() else { return };
    let work = tempfile::tempdir().unwrap();
    let rsyslog = Rsyslog::start(bin, work.path(), None);
    let dir = tempfile::tempdir().unwrap();
    let core = core_in(
        dir.path(),
        &format!(
            "[[outputs]]\nname = \"udp\"\ntype = \"syslog\"\naddress = \"127.0.0.1:{}\"\n\
             transport = \"udp\"\nformat = \"json\"\nfacility = \"auth\"\n",
            rsyslog.udp_port
        ),
    );
    let mut n = node(&core, 19, "edge-19");
    send_events(&mut n, 19, 1, 20);
    n.send(serde_json::json!({"PotEvent": {"node_id": 19, "pot_id": "cowrie-01",
        "event_type": "cowrie.command.input", "data": {"src_ip": "45.155.205.9", "input": "x".repeat(4000)}}}));
    wait_until(WAIT, "21 datagrams in rsyslog's file", || {
        ids(&rsyslog.lines()).len() == 21
    });
    let lines = rsyslog.lines();
    let long = lines.iter().find(|l| event_id(l) == Some(21)).unwrap();
    assert!(long.len() <= 2048, "{}", long.len());
    assert!(long.contains("truncated=\"true\"]"), "{long}");
    // auth (4) × 8 + notice (5) for a command: 37; JSON after the structured data.
    assert!(long.starts_with("<37>1 "), "{long}");
    let short = lines.iter().find(|l| event_id(l) == Some(3)).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&short[short.find("] {").unwrap() + 2..]).unwrap();
    assert_eq!(json["id"], 3);
    core.stop();
}
