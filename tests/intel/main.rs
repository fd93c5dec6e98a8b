//! The threat-intel feeds: the blocklist honours the allowlist, private ranges and
//! `min_events`; the STIX bundle passes the OASIS `stix2-validator`; the TAXII 2.1 server
//! answers discovery, collections and `added_after`/`next` paging as `taxii2-client` expects,
//! with Bearer or Basic, 406 for other media types, and a `date_added` that never changes.

#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;
mod python;

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use common::http::{Api, raw, send_bytes};
use common::{BASE_CONFIG, FakeNode, init_logging, wait_until};
use honeybee_core::config;
use honeybee_core::runtime::CoreThread;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "admin-token-for-intel-tests";
const READ: &str = "read-token-for-intel-tests";
const NODE: u64 = 15;
const SHA: &str = "a8a2f6ebe286697c527eb35a58b5539532e9b3ae3b64d4eb0a46fb657b41562c";

fn core(dir: &std::path::Path) -> CoreThread {
    init_logging();
    let text = format!(
        "{BASE_CONFIG}\n[storage]\ndir = {:?}\n[intel]\nallowlist = [\"8.8.8.0/24\"]\n",
        dir.join("data").display().to_string()
    )
    .replace(
        "[api]\nport = 0",
        &format!("[api]\nport = 0\ntoken = {TOKEN:?}\nread_tokens = [{READ:?}]"),
    );
    CoreThread::start(config::load_str(&text, Vec::<(String, String)>::new()).unwrap()).unwrap()
}

/// Attack events: 45.155.205.233 three times, 185.220.101.4 once, an allowlisted scanner,
/// private and documentation addresses, and a download with its hash.
fn attack(core: &CoreThread) -> FakeNode {
    let mut node = FakeNode::connect(core.node_addr, NODE);
    node.register("edge-15");
    node.send(node.pot_status("cowrie-01", "Running", None));
    let login = |ip: &str| {
        json!({"PotEvent": {"node_id": NODE, "pot_id": "cowrie-01", "event_type": "cowrie.login.failed",
            "data": {"src_ip": ip, "username": "root", "password": "x",
                     "headers": {"X-Forwarded-For": "1.2.3.4"}}}})
    };
    for ip in [
        "45.155.205.233",
        "45.155.205.233",
        "45.155.205.233",
        "185.220.101.4",
        "8.8.8.8",
        "8.8.8.8",
        "10.0.0.5",
        "10.0.0.5",
        "203.0.113.9",
        "2a01:4f8:c2c:1234::1",
        "2a01:4f8:c2c:1234::1",
    ] {
        node.send(login(ip));
    }
    node.send(json!({"PotEvent": {"node_id": NODE, "pot_id": "cowrie-01",
        "event_type": "cowrie.session.file_download",
        "data": {"src_ip": "45.155.205.233", "url": "http://45.155.205.233/bins/x86'.sh",
                 "shasum": SHA}}}));
    wait_until(WAIT, "12 events stored", || {
        core.store.event_count().unwrap() == 12
    });
    node
}

#[test]
fn the_blocklist_honours_the_allowlist_private_ranges_and_min_events() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let _node = attack(&core);
    let api = Api::new(core.api_addr, READ);
    let list = api.get("/api/v1/intel/blocklist?since=1h");
    assert_eq!(list.status, 200);
    assert!(
        list.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(
        list.text(),
        "45.155.205.233\n185.220.101.4\n2a01:4f8:c2c:1234::1\n"
    );
    let busy = api.get("/api/v1/intel/blocklist?since=90m&min_events=2");
    assert_eq!(busy.text(), "45.155.205.233\n2a01:4f8:c2c:1234::1\n");
    assert_eq!(
        api.get("/api/v1/intel/blocklist?min_events=4").text(),
        "45.155.205.233\n"
    );
    assert_eq!(api.get("/api/v1/intel/blocklist?min_events=5").text(), "");
    let future = honeybee_protocol::Timestamp::from_system_time(
        std::time::SystemTime::now() + Duration::from_secs(3600),
    );
    assert_eq!(
        api.get(&format!("/api/v1/intel/blocklist?since={future}"))
            .text(),
        ""
    );
    for bad in [
        "since=yesterday",
        "min_events=0",
        "min_events=x",
        "colour=red",
    ] {
        let answer = api.get(&format!("/api/v1/intel/blocklist?{bad}"));
        assert_eq!(
            (answer.status, answer.code()),
            (400, "invalid_request".into()),
            "{bad}"
        );
    }
    assert_eq!(
        raw(core.api_addr, "GET", "/api/v1/intel/blocklist", None, None).status,
        401
    );
    core.stop();
}

#[test]
fn the_stix_bundle_validates_and_names_everything_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let _node = attack(&core);
    let api = Api::new(core.api_addr, READ);
    let answer = api.get("/api/v1/intel/stix?since=24h");
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("application/stix+json;version=2.1")
    );
    let bundle = answer.json();
    let again = api.ok("/api/v1/intel/stix");
    assert_ne!(bundle["id"], again["id"]);
    let ids = |b: &Value| -> BTreeSet<String> {
        b["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&bundle),
        ids(&again),
        "a repeated pull names every object the same"
    );
    let of_type = |t: &str| -> Vec<Value> {
        bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] == t)
            .cloned()
            .collect()
    };
    let patterns: BTreeSet<String> = of_type("indicator")
        .iter()
        .map(|i| i["pattern"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        patterns,
        [
            "[ipv4-addr:value = '45.155.205.233']".to_owned(),
            "[ipv4-addr:value = '185.220.101.4']".to_owned(),
            "[ipv6-addr:value = '2a01:4f8:c2c:1234::1']".to_owned(),
            "[url:value = 'http://45.155.205.233/bins/x86\\'.sh']".to_owned(),
            format!("[file:hashes.'SHA-256' = '{SHA}']"),
        ]
        .into_iter()
        .collect()
    );
    let sighting = of_type("sighting")
        .into_iter()
        .find(|s| {
            s["sighting_of_ref"]
                == of_type("indicator")
                    .iter()
                    .find(|i| i["pattern"] == "[ipv4-addr:value = '45.155.205.233']")
                    .unwrap()["id"]
        })
        .unwrap();
    assert_eq!(sighting["count"], 4, "three logins and the download");
    assert!(sighting["first_seen"].as_str() <= sighting["last_seen"].as_str());
    assert_eq!(of_type("observed-data").len(), of_type("sighting").len());
    assert!(!bundle.to_string().contains("8.8.8.8") && !bundle.to_string().contains("10.0.0.5"));
    assert!(
        !bundle.to_string().contains("1.2.3.4"),
        "never a header the attacker wrote"
    );

    let Some(python) = python::python() else {
        core.stop();
        return;
    };
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    let report = python::run(
        &python,
        "import sys, json, stix2validator\n\
         r = stix2validator.validate_file(sys.argv[1], stix2validator.ValidationOptions(version='2.1'))\n\
         print(json.dumps({'valid': r.is_valid,\n\
             'errors': [str(e) for o in r.object_results for e in o.errors],\n\
             'warnings': [str(w) for o in r.object_results for w in o.warnings]}))",
        &[file.to_str().unwrap()],
    );
    let report: Value = serde_json::from_str(&report).unwrap();
    println!("stix2-validator: {report}");
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["errors"], json!([]), "{report}");
    core.stop();
}

#[test]
fn taxii_discovery_collections_and_added_after_paging() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let _node = attack(&core);
    let base = format!("http://{}", core.api_addr);
    let taxii = "application/taxii+json;version=2.1";
    let get = |path: &str, accept: &str, auth: Option<String>| {
        let mut head =
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: {accept}\r\n");
        if let Some(auth) = auth {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        head.push_str("\r\n");
        send_bytes(core.api_addr, head.as_bytes())
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("misp:{READ}"))
    );
    let discovery = get("/taxii2/", taxii, Some(basic.clone()));
    assert_eq!(discovery.status, 200);
    assert_eq!(discovery.header("content-type"), Some(taxii));
    assert_eq!(discovery.json()["api_roots"], json!(["/taxii2/honeybee/"]));
    assert_eq!(
        get("/taxii2/", taxii, Some(format!("Bearer {READ}"))).status,
        200
    );
    assert_eq!(
        get("/taxii2/", "application/json", Some(basic.clone())).status,
        406
    );
    assert_eq!(get("/taxii2/", taxii, None).status, 401);
    assert_eq!(
        get("/taxii2/", taxii, Some("Basic bWlzcDp3cm9uZw==".into())).status,
        401
    );
    let objects = "/taxii2/honeybee/collections/honeybee-indicators/objects/";
    // The indexer runs behind the store: wait for every indicator.
    wait_until(WAIT, "6 objects in the collection", || {
        get(objects, taxii, Some(basic.clone())).json()["objects"]
            .as_array()
            .map_or(0, Vec::len)
            == 6
    });
    let first = get(objects, taxii, Some(basic.clone()));
    assert_eq!(first.header("content-type"), Some(taxii));
    assert!(first.header("x-taxii-date-added-first").is_some());

    let Some(python) = python::python() else {
        core.stop();
        return;
    };
    let script = r#"
import json, sys
from taxii2client.v21 import Server, as_pages
server = Server(sys.argv[1] + "/taxii2/", user="misp", password=sys.argv[2])
root = server.default
collection = [c for c in root.collections if c.title == "honeybee-indicators"][0]
assert collection.can_read and not collection.can_write
pages = [p for p in as_pages(collection.get_objects, per_request=2)]
objects = [o for p in pages for o in p.get("objects", [])]
manifest = collection.get_manifest()["objects"]
after = manifest[1]["date_added"]
later = [o["id"] for p in as_pages(collection.get_objects, per_request=2, added_after=after) for o in p.get("objects", [])]
print(json.dumps({"title": server.title, "root": root.title, "pages": len(pages),
                  "ids": [o["id"] for o in objects], "types": [o["type"] for o in objects],
                  "manifest": manifest, "later": later}))
"#;
    let out: Value = serde_json::from_str(&python::run(&python, script, &[&base, READ])).unwrap();
    assert_eq!(out["title"], "HoneyBee Core TAXII");
    assert_eq!(out["pages"], 3, "6 objects, 2 per page");
    let ids: Vec<String> = serde_json::from_value(out["ids"].clone()).unwrap();
    assert_eq!(ids.len(), 6);
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        6,
        "no object twice"
    );
    assert_eq!(out["types"][0], "identity");
    let manifest = out["manifest"].as_array().unwrap();
    let added: Vec<&str> = manifest
        .iter()
        .map(|m| m["date_added"].as_str().unwrap())
        .collect();
    assert!(
        added.windows(2).all(|w| w[0] <= w[1]),
        "date_added in order: {added:?}"
    );
    let later: Vec<String> = serde_json::from_value(out["later"].clone()).unwrap();
    let expected: Vec<String> = manifest
        .iter()
        .filter(|m| m["date_added"].as_str().unwrap() > added[1])
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        later, expected,
        "added_after returns exactly the objects added after it"
    );
    // date_added is stable: the same on a second pull.
    let again: Value = serde_json::from_str(&python::run(&python, script, &[&base, READ])).unwrap();
    assert_eq!(again["manifest"], out["manifest"]);
    core.stop();
}
