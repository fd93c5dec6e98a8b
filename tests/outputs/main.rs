//! The HTTP sinks against receivers written here (HEC, a webhook, an Elasticsearch `_bulk`
//! endpoint) that also answer with those services' documented failures: every event arrives
//! in order with its shape, a receiver killed and restarted mid-stream loses nothing (repeats
//! only by id), a dead sink holds up nothing, a restarted Core resumes each sink, alerts reach
//! a webhook once per open and once per clear, refused items are dead-lettered.

#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod bulk;
mod hec;
mod secrets;
mod syslog;
mod webhook;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::{BASE_CONFIG, FakeNode, init_logging};
use honeybee_core::config;
use honeybee_core::runtime::CoreThread;
use serde_json::{Value, json};

pub(crate) const WAIT: Duration = Duration::from_secs(30);
pub(crate) const TOKEN: &str = "admin-token-for-output-tests";

/// A Core with its store in `dir` and `extra` TOML (the `[[outputs]]` tables) after the base.
pub(crate) fn core_in(dir: &Path, extra: &str) -> CoreThread {
    core_with(dir, "", extra)
}

/// [`core_in`] with more `[storage]` keys.
pub(crate) fn core_with(dir: &Path, storage: &str, extra: &str) -> CoreThread {
    init_logging();
    let text = format!(
        "{BASE_CONFIG}\n[storage]\ndir = {:?}\n{storage}\n[alerts]\nreconnect_grace_secs = 0\n{extra}\n",
        dir.join("data").display().to_string()
    );
    let text = text.replace(
        "[api]\nport = 0",
        &format!("[api]\nport = 0\ntoken = {TOKEN:?}"),
    );
    let config = config::load_str(&text, Vec::<(String, String)>::new())
        .unwrap_or_else(|e| panic!("test config is invalid:\n{e}"));
    CoreThread::start(config).expect("the Core starts")
}

/// A node that reports one running cowrie pot.
pub(crate) fn node(core: &CoreThread, node_id: u64, name: &str) -> FakeNode {
    let mut node = FakeNode::connect(core.node_addr, node_id);
    node.register(name);
    node.send(node.pot_status("cowrie-01", "Running", None));
    node
}

/// Sends `n` login events numbered from `first` (`data.n`), from 45.155.205.x.
pub(crate) fn send_events(node: &mut FakeNode, node_id: u64, first: u64, n: u64) {
    for i in first..first + n {
        node.send(
            json!({"PotEvent": {"node_id": node_id, "pot_id": "cowrie-01",
            "event_type": "cowrie.login.failed",
            "data": {"src_ip": format!("45.155.205.{}", i % 200 + 1), "src_port": 40000 + i % 1000,
                     "username": "root", "password": format!("pw{i}"), "n": i}}}),
        );
    }
}

/// Waits until every id in `1..=n` is in `ids()`.
pub(crate) fn wait_for_ids(n: u64, what: &str, mut ids: impl FnMut() -> BTreeSet<u64>) {
    common::wait_until(WAIT, what, || {
        let got = ids();
        (1..=n).all(|i| got.contains(&i))
    });
}

/// `GET /api/v1/outputs` as JSON, keyed by name.
pub(crate) fn outputs(core: &CoreThread) -> Value {
    let api = common::http::Api::new(core.api_addr, TOKEN);
    let list = api.ok("/api/v1/outputs");
    let mut by_name = serde_json::Map::new();
    for sink in list["outputs"].as_array().unwrap() {
        by_name.insert(sink["name"].as_str().unwrap().to_owned(), sink.clone());
    }
    Value::Object(by_name)
}

/// Ids arrive in order: within each request, and overall by first arrival (a repeat after a
/// failure re-sends from the position, so it may go back, but never skips).
pub(crate) fn assert_in_order(batches: &[Vec<u64>]) {
    let mut highest = 0;
    for batch in batches {
        for pair in batch.windows(2) {
            assert!(
                pair[0] < pair[1],
                "out of order within a request: {batch:?}"
            );
        }
        if let Some(&first) = batch.first() {
            assert!(
                first <= highest + 1,
                "a gap before {first} (highest so far {highest})"
            );
            highest = highest.max(*batch.last().unwrap());
        }
    }
}
