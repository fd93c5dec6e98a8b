//! Shared harness for the end-to-end tests: a Core started on 127.0.0.1 port 0 with a test
//! config, a small fake node that speaks the protocol over a real (blocking) TCP socket, and
//! polling with a deadline.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod certs;
pub mod http;
pub mod receiver;
pub mod served;
pub mod totp;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use honeybee_core::config::{self, Config};
use honeybee_core::runtime::CoreThread;
use serde_json::{Value, json};

/// The settings every test starts from: ephemeral port, short timeouts, TOTP off (the
/// authentication tests turn it on).
pub const BASE_CONFIG: &str = r#"
[server]
host = "127.0.0.1"
node_port = 0
[api]
port = 0
[protocol]
registration_timeout_secs = 2
heartbeat_timeout_secs = 5
[auth]
totp = false
"#;

/// A test config: [`BASE_CONFIG`] with `overrides` (TOML, whole sections) replacing keys.
pub fn test_config(overrides: &str) -> Config {
    let mut base: toml_edit_lite::Doc = toml_edit_lite::Doc::parse(BASE_CONFIG);
    base.merge(overrides);
    config::load_str(&base.render(), Vec::<(String, String)>::new())
        .unwrap_or_else(|e| panic!("test config is invalid:\n{e}"))
}

/// A Core on its own thread with its store in a temporary directory (removed after it).
pub struct TestCore {
    core: Option<CoreThread>,
    dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for TestCore {
    type Target = CoreThread;

    fn deref(&self) -> &CoreThread {
        self.core.as_ref().expect("the Core runs")
    }
}

impl TestCore {
    /// Shuts the Core down; hands back its directory (the store stays readable).
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(core) = self.core.take() {
            core.stop();
        }
        self.dir.take().expect("the directory")
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.as_ref().expect("the directory").path()
    }
}

impl Drop for TestCore {
    fn drop(&mut self) {
        drop(self.core.take());
    }
}

/// Starts a Core with [`test_config`]`(overrides)` and its store in a fresh directory;
/// `{dir}` in `overrides` stands for that directory.
pub fn start_core(overrides: &str) -> TestCore {
    init_logging();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let overrides = overrides.replace("{dir}", &dir.path().display().to_string());
    let storage = format!(
        "[storage]\ndir = {:?}\n",
        dir.path().join("data").display().to_string()
    );
    let config = test_config(&format!("{storage}{overrides}"));
    TestCore {
        core: Some(CoreThread::start(config).expect("the Core starts")),
        dir: Some(dir),
    }
}

pub fn init_logging() {
    let _ = env_logger::builder()
        .is_test(true)
        .filter_level(log::LevelFilter::Info)
        .parse_env("RUST_LOG")
        .try_init();
}

/// Polls `condition` every 10 ms until it holds or `within` passes.
pub fn wait_until(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The `n` of every stored event of `node_id`, in id order.
pub fn stored_sequence(store: &honeybee_store::Store, node_id: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .events(&honeybee_store::EventQuery {
                node_ids: vec![node_id],
                limit: Some(10_000),
                after,
                ..honeybee_store::EventQuery::default()
            })
            .unwrap();
        out.extend(page.events.iter().map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.data).unwrap()["n"]
                .as_u64()
                .unwrap()
        }));
        match page.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

/// A fake node on a blocking socket.
pub struct FakeNode {
    pub node_id: u64,
    reader: BufReader<Box<dyn ReadWrite>>,
}

pub trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

/// How long a read waits before a test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

impl FakeNode {
    /// Connects over plain TCP.
    pub fn connect(addr: SocketAddr, node_id: u64) -> FakeNode {
        let stream = TcpStream::connect(addr).expect("connect to the Core");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        FakeNode::over(Box::new(stream), node_id)
    }

    /// Connects over plain TCP from a chosen local address (127.0.0.0/8 has many).
    pub fn connect_from(addr: SocketAddr, local: std::net::IpAddr, node_id: u64) -> FakeNode {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let stream = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::new(local, 0)).unwrap();
            socket.connect(addr).await.unwrap()
        });
        let stream = stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        FakeNode::over(Box::new(stream), node_id)
    }

    /// Wraps an established stream (e.g. TLS).
    pub fn over(stream: Box<dyn ReadWrite>, node_id: u64) -> FakeNode {
        FakeNode {
            node_id,
            reader: BufReader::new(stream),
        }
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stream = self.reader.get_mut();
        stream.write_all(bytes).expect("write to the Core");
        stream.flush().unwrap();
    }

    /// The raw stream (to write from another thread).
    pub fn into_stream(self) -> Box<dyn ReadWrite> {
        self.reader.into_inner()
    }

    /// Writes raw bytes, ignoring a connection the Core already closed.
    pub fn send_raw_lenient(&mut self, bytes: &[u8]) {
        let stream = self.reader.get_mut();
        let _ = stream.write_all(bytes).and_then(|()| stream.flush());
    }

    /// Writes one v2 envelope around `message`, newline-terminated.
    pub fn send(&mut self, message: Value) {
        let frame = json!({"version": 2, "message": message});
        self.send_raw(format!("{frame}\n").as_bytes());
    }

    pub fn registration(&self, name: &str) -> Value {
        json!({"NodeRegistration": {
            "node_id": self.node_id, "node_name": name, "address": "127.0.0.1",
            "port": 2222, "node_type": "Full"}})
    }

    pub fn status(&self, status: &str) -> Value {
        json!({"NodeStatusUpdate": {"node_id": self.node_id, "status": status}})
    }

    pub fn pot_status(&self, pot_id: &str, status: &str, message: Option<&str>) -> Value {
        json!({"PotStatusUpdate": {"node_id": self.node_id, "pot_id": pot_id,
            "pot_type": "cowrie", "status": status, "message": message}})
    }

    /// Registers and returns the ack's inner object; fails the test if refused.
    pub fn register(&mut self, name: &str) -> Value {
        let registration = self.registration(name);
        self.send(registration);
        let ack = self.expect_message("RegistrationAck");
        assert_eq!(ack["accepted"], true, "registration refused: {ack}");
        ack
    }

    /// Reads the next frame as JSON; `None` when the Core closed the connection.
    pub fn recv(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => {
                assert!(line.ends_with('\n'), "frame without its newline: {line:?}");
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("Core wrote bad JSON {line:?}: {e}"));
                assert_eq!(value["version"], 2, "Core wrote {line}");
                Some(value["message"].clone())
            }
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset) => None,
            Err(e) => panic!("read from the Core failed: {e}"),
        }
    }

    /// Reads the next frame and checks its variant; returns the variant's inner object.
    pub fn expect_message(&mut self, variant: &str) -> Value {
        let message = self
            .recv()
            .unwrap_or_else(|| panic!("connection closed while waiting for {variant}"));
        let inner = message.get(variant).cloned();
        inner.unwrap_or_else(|| panic!("expected {variant}, got {message}"))
    }

    /// Reads the next frame, skipping `NodeCommand`s, and returns its `ProtocolError` code.
    pub fn expect_protocol_error(&mut self) -> String {
        loop {
            let message = self
                .recv()
                .expect("connection closed before a ProtocolError");
            if message.get("NodeCommand").is_some() {
                continue;
            }
            let error = message
                .get("ProtocolError")
                .unwrap_or_else(|| panic!("expected ProtocolError, got {message}"));
            return error["code"].as_str().unwrap().to_owned();
        }
    }

    /// Reads until the Core closes the connection; returns what it sent before.
    pub fn expect_closed(&mut self) -> Vec<Value> {
        let mut seen = Vec::new();
        while let Some(message) = self.recv() {
            seen.push(message);
            assert!(
                seen.len() < 1000,
                "the Core keeps talking instead of closing"
            );
        }
        seen
    }
}

/// A tiny section-merging TOML text helper, so tests can override single keys without a TOML
/// library: later `[section] key = value` lines replace earlier ones.
mod toml_edit_lite {
    use std::collections::BTreeMap;

    pub struct Doc {
        sections: BTreeMap<String, BTreeMap<String, String>>,
    }

    impl Doc {
        pub fn parse(text: &str) -> Doc {
            let mut doc = Doc {
                sections: BTreeMap::new(),
            };
            doc.merge(text);
            doc
        }

        pub fn merge(&mut self, text: &str) {
            let mut section = String::new();
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    section = name.trim().to_owned();
                    continue;
                }
                let (key, value) = line.split_once('=').expect("key = value");
                self.sections
                    .entry(section.clone())
                    .or_default()
                    .insert(key.trim().to_owned(), value.trim().to_owned());
            }
        }

        pub fn render(&self) -> String {
            let mut out = String::new();
            for (section, keys) in &self.sections {
                out.push_str(&format!("[{section}]\n"));
                for (key, value) in keys {
                    out.push_str(&format!("{key} = {value}\n"));
                }
            }
            out
        }
    }
}
