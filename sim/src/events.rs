//! The attack event generator, pure (randomness and the time come in as arguments): each pot
//! plays whole attacker visits one event at a time, so the Core sees realistic sequences.
//!
//! - cowrie: `cowrie.session.connect` → `cowrie.client.version` → `cowrie.login.failed`… →
//!   maybe `cowrie.login.success` → `cowrie.command.input`… → maybe
//!   `cowrie.session.file_download` → `cowrie.session.closed`;
//! - honnypotter (WordPress): plugin and file probes (`honnypotter.request`), then brute force
//!   on `wp-login.php` (`honnypotter.login.failed`) or `xmlrpc.php` (`honnypotter.xmlrpc`);
//! - any other pot type: `<type>.connection` events.
//!
//! Source addresses mix a skewed pool of repeat offenders (so "top source IPs" means
//! something), the documentation networks and random public-looking addresses.

mod data;

use std::time::SystemTime;

use honeybee_protocol::{EventData, NodeId, PotEvent, Timestamp};
use serde_json::{Map, Value, json};

use crate::rng::Rng;
use data::*;

/// How many repeat offenders the skewed pool holds.
const OFFENDERS: u64 = 2048;

/// The event stream of one pot.
#[derive(Debug, Clone)]
pub struct PotEvents {
    kind: Kind,
    sensor: String,
    ssh: Option<SshSession>,
    web: Option<WebVisit>,
}

#[derive(Debug, Clone)]
enum Kind {
    Cowrie,
    Honnypotter,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SshStage {
    Version,
    Login,
    Commands,
}

#[derive(Debug, Clone)]
struct SshSession {
    id: String,
    src_ip: String,
    src_port: u16,
    stage: SshStage,
    failures_left: u32,
    succeeds: bool,
    commands_left: u32,
    downloads: bool,
    events: u32,
    /// The host its droppers download from.
    host: String,
}

#[derive(Debug, Clone)]
struct WebVisit {
    src_ip: String,
    user_agent: &'static str,
    probes_left: u32,
    attempts_left: u32,
    xmlrpc: bool,
    user: &'static str,
}

impl PotEvents {
    /// The stream of a pot of `pot_type` on the node named `sensor`.
    pub fn new(pot_type: &str, sensor: &str) -> PotEvents {
        let kind = match pot_type {
            "cowrie" => Kind::Cowrie,
            "honnypotter" => Kind::Honnypotter,
            other => Kind::Other(other.to_owned()),
        };
        PotEvents {
            kind,
            sensor: sensor.to_owned(),
            ssh: None,
            web: None,
        }
    }

    /// The next event of this pot.
    pub fn next(
        &mut self,
        rng: &mut Rng,
        node_id: NodeId,
        pot_id: &str,
        now: SystemTime,
    ) -> PotEvent {
        let (pot_type, event_type, data) = match &self.kind {
            Kind::Cowrie => {
                let (event_type, data) = self.next_ssh(rng);
                ("cowrie".to_owned(), event_type, data)
            }
            Kind::Honnypotter => {
                let (event_type, data) = self.next_web(rng);
                ("honnypotter".to_owned(), event_type, data)
            }
            Kind::Other(pot_type) => {
                let mut data = Map::new();
                data.insert("src_ip".into(), src_ip(rng).into());
                data.insert("src_port".into(), rng.range(1024, 65535).into());
                data.insert("sensor".into(), self.sensor.clone().into());
                (pot_type.clone(), format!("{pot_type}.connection"), data)
            }
        };
        PotEvent {
            node_id,
            pot_id: pot_id.to_owned(),
            pot_type: Some(pot_type),
            event_type,
            timestamp: Some(Timestamp::from_system_time(now)),
            data: EventData::from_map(&data),
        }
    }

    fn next_ssh(&mut self, rng: &mut Rng) -> (String, Map<String, Value>) {
        let Some(session) = self.ssh.as_mut() else {
            let session = SshSession::start(rng);
            let message = format!(
                "New connection: {}:{} (10.0.0.4:22) [session: {}]",
                session.src_ip, session.src_port, session.id
            );
            let data = session.data(&self.sensor, "cowrie.session.connect", message, json!({}));
            self.ssh = Some(session);
            return ("cowrie.session.connect".into(), data);
        };
        session.events += 1;
        let (event_type, message, extra) = session.advance(rng);
        let data = session.data(&self.sensor, event_type, message, extra);
        if event_type == "cowrie.session.closed" {
            self.ssh = None;
        }
        (event_type.into(), data)
    }

    fn next_web(&mut self, rng: &mut Rng) -> (String, Map<String, Value>) {
        let visit = self.web.get_or_insert_with(|| WebVisit::start(rng));
        let (event_type, method, path, extra) = if visit.probes_left > 0 {
            visit.probes_left -= 1;
            let path = *rng.pick(WP_PROBES);
            let status = if path.ends_with("readme.txt") || path.starts_with("/wp-json") {
                200
            } else {
                404
            };
            (
                "honnypotter.request",
                "GET",
                path,
                json!({"status": status}),
            )
        } else {
            visit.attempts_left = visit.attempts_left.saturating_sub(1);
            let password = *rng.pick(WP_PASSWORDS);
            if visit.xmlrpc {
                let method = *rng.pick(&XMLRPC_METHODS[..2]);
                (
                    "honnypotter.xmlrpc",
                    "POST",
                    "/xmlrpc.php",
                    json!({"xmlrpc_method": method, "username": visit.user,
                        "password": password, "status": 200}),
                )
            } else {
                (
                    "honnypotter.login.failed",
                    "POST",
                    "/wp-login.php",
                    json!({"username": visit.user, "password": password, "status": 200,
                        "message": format!("login attempt [{}/{password}] failed", visit.user)}),
                )
            }
        };
        let mut data = Map::new();
        data.insert("src_ip".into(), visit.src_ip.clone().into());
        data.insert("src_port".into(), rng.range(1024, 65535).into());
        data.insert("method".into(), method.into());
        data.insert("path".into(), path.into());
        data.insert("user_agent".into(), visit.user_agent.into());
        data.insert("site".into(), self.sensor.clone().into());
        merge(&mut data, extra);
        if visit.probes_left == 0 && visit.attempts_left == 0 {
            self.web = None;
        }
        (event_type.into(), data)
    }
}

impl SshSession {
    fn start(rng: &mut Rng) -> SshSession {
        SshSession {
            id: rng.hex(6),
            src_ip: src_ip(rng),
            src_port: rng.range(1024, 65535) as u16,
            stage: SshStage::Version,
            failures_left: rng.range(1, 6) as u32,
            succeeds: rng.chance(0.35),
            commands_left: rng.range(1, 6) as u32,
            downloads: rng.chance(0.4),
            events: 0,
            host: src_ip(rng),
        }
    }

    /// The next event of the session: (event type, message, specific fields).
    fn advance(&mut self, rng: &mut Rng) -> (&'static str, String, Value) {
        match self.stage {
            SshStage::Version => {
                self.stage = SshStage::Login;
                let version = *rng.pick(SSH_CLIENTS);
                (
                    "cowrie.client.version",
                    format!("Remote SSH version: {version}"),
                    json!({"version": version}),
                )
            }
            SshStage::Login if self.failures_left > 0 => {
                self.failures_left -= 1;
                let (user, password) = *rng.pick(CREDENTIALS);
                login("failed", user, password)
            }
            SshStage::Login if self.succeeds => {
                self.stage = SshStage::Commands;
                let (user, password) = *rng.pick(&CREDENTIALS[..12]);
                login("succeeded", user, password)
            }
            SshStage::Commands if self.commands_left > 0 => {
                self.commands_left -= 1;
                let input = rng.pick(COMMANDS).replace("{host}", &self.host);
                (
                    "cowrie.command.input",
                    format!("CMD: {input}"),
                    json!({"input": input}),
                )
            }
            SshStage::Commands if self.downloads => {
                self.downloads = false;
                let (path, name) = *rng.pick(DOWNLOADS);
                let url = format!("http://{}{path}", self.host);
                let shasum = rng.hex(32);
                (
                    "cowrie.session.file_download",
                    format!(
                        "Downloaded URL ({url}) with SHA-256 {shasum} to var/lib/cowrie/downloads/{shasum}"
                    ),
                    json!({"url": url, "shasum": shasum, "destfile": format!("/tmp/{name}"),
                        "outfile": format!("var/lib/cowrie/downloads/{shasum}")}),
                )
            }
            SshStage::Login | SshStage::Commands => {
                let duration = f64::from(self.events) * 1.7 + rng.unit();
                let duration = (duration * 10.0).round() / 10.0;
                (
                    "cowrie.session.closed",
                    format!("Connection lost after {duration} seconds"),
                    json!({"duration": duration}),
                )
            }
        }
    }

    fn data(
        &self,
        sensor: &str,
        event_type: &str,
        message: String,
        extra: Value,
    ) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert("eventid".into(), event_type.into());
        data.insert("src_ip".into(), self.src_ip.clone().into());
        data.insert("src_port".into(), self.src_port.into());
        data.insert("dst_port".into(), 22.into());
        data.insert("session".into(), self.id.clone().into());
        data.insert("protocol".into(), "ssh".into());
        data.insert("sensor".into(), sensor.into());
        data.insert("message".into(), message.into());
        merge(&mut data, extra);
        data
    }
}

fn login(outcome: &str, user: &str, password: &str) -> (&'static str, String, Value) {
    let event_type = if outcome == "failed" {
        "cowrie.login.failed"
    } else {
        "cowrie.login.success"
    };
    (
        event_type,
        format!("login attempt [{user}/{password}] {outcome}"),
        json!({"username": user, "password": password}),
    )
}

impl WebVisit {
    fn start(rng: &mut Rng) -> WebVisit {
        WebVisit {
            src_ip: src_ip(rng),
            user_agent: rng.pick_copy(USER_AGENTS),
            probes_left: rng.range(0, 4) as u32,
            attempts_left: rng.range(1, 8) as u32,
            xmlrpc: rng.chance(0.4),
            user: rng.pick_copy(WP_USERS),
        }
    }
}

fn merge(data: &mut Map<String, Value>, extra: Value) {
    if let Value::Object(extra) = extra {
        data.extend(extra);
    }
}

/// An attacker's address: half from a skewed pool of repeat offenders, the rest from the
/// documentation networks or random public-looking ranges.
pub fn src_ip(rng: &mut Rng) -> String {
    let roll = rng.unit();
    if roll < 0.5 {
        let skewed = rng.unit().powi(3);
        return offender((skewed * OFFENDERS as f64) as u64);
    }
    if roll < 0.65 {
        let net = rng.pick(DOC_NETS);
        return format!("{}.{}.{}.{}", net[0], net[1], net[2], rng.range(1, 254));
    }
    let first = *rng.pick(PUBLIC_FIRST_OCTETS);
    format!(
        "{first}.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        rng.range(1, 254)
    )
}

/// The address of repeat offender `index` (the same in every node and run).
fn offender(index: u64) -> String {
    let mut rng = Rng::for_stream(0x0FFE_4DE5, index);
    let first = *rng.pick(PUBLIC_FIRST_OCTETS);
    format!(
        "{first}.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        rng.range(1, 254)
    )
}

#[cfg(test)]
mod tests;
