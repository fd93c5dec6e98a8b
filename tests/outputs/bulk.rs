//! Elasticsearch `_bulk`: the index template with `honeybee.data` flattened, ECS documents with
//! `_id` = the event id in the day's index, an `"errors": true` answer whose 429 items are sent
//! again and whose refused item is dead-lettered, and repeats answered 409 counted as done.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::common::receiver::Receiver;
use super::common::wait_until;
use super::*;

#[test]
fn bulk_documents_are_ecs_with_ids_and_item_errors_are_retried_or_dead_lettered() {
    let indexed: Arc<Mutex<BTreeMap<String, Value>>> = Arc::default();
    let rejected_once: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let (docs, once) = (indexed.clone(), rejected_once.clone());
    let es = Receiver::start(move |r| {
        if r.method == "PUT" {
            return (200, json!({"acknowledged": true}).to_string());
        }
        assert_eq!(r.path, "/_bulk");
        let lines: Vec<Value> = r
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut items = Vec::new();
        let mut errors = false;
        for pair in lines.chunks(2) {
            let action = &pair[0]["create"];
            let id = action["_id"].as_str().unwrap().to_owned();
            let n = pair[1]["honeybee"]["data"]["n"].as_u64().unwrap_or(0);
            let (status, error) = if n == 7 {
                (
                    400,
                    Some(json!({"type": "mapper_parsing_exception", "reason": "failed to parse"})),
                )
            } else if n == 12 && once.lock().unwrap().insert(id.clone()) {
                (
                    429,
                    Some(
                        json!({"type": "es_rejected_execution_exception", "reason": "queue full"}),
                    ),
                )
            } else if docs.lock().unwrap().contains_key(&id) {
                (
                    409,
                    Some(json!({"type": "version_conflict_engine_exception", "reason": "exists"})),
                )
            } else {
                let mut doc = pair[1].clone();
                doc["_index"] = action["_index"].clone();
                docs.lock().unwrap().insert(id.clone(), doc);
                (201, None)
            };
            errors |= status >= 300;
            let mut item = json!({"_id": id, "status": status});
            if let Some(e) = error {
                item["error"] = e;
            }
            items.push(json!({ "create": item }));
        }
        (
            200,
            json!({"took": 3, "errors": errors, "items": items}).to_string(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let sink = format!(
        "[[outputs]]\nname = \"es\"\ntype = \"elasticsearch\"\nurl = \"http://elastic:changeme-pw@{}/\"\n\
         batch_size = 10\nretry_max_secs = 0.5\n",
        es.addr
    );
    let core = core_in(dir.path(), &sink);
    let mut n = node(&core, 13, "edge-13");
    send_events(&mut n, 13, 1, 40);
    wait_until(WAIT, "the sink at 40", || {
        outputs(&core)["es"]["position"]["last_event_id"] == 40
    });
    let requests = es.requests();
    let template = &requests[0];
    assert_eq!(
        (template.method.as_str(), template.path.as_str()),
        ("PUT", "/_index_template/honeybee")
    );
    let t: Value = serde_json::from_slice(&template.body).unwrap();
    assert_eq!(
        t["template"]["mappings"]["properties"]["honeybee"]["properties"]["data"]["type"],
        "flattened"
    );
    assert!(
        template
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    let docs = indexed.lock().unwrap().clone();
    let ids: BTreeSet<u64> = docs.keys().map(|k| k.parse().unwrap()).collect();
    assert_eq!(ids, (1..=40).filter(|i| *i != 7).collect());
    let doc = &docs["12"];
    let today = &honeybee_protocol::Timestamp::from_system_time(std::time::SystemTime::now())
        .to_string()[..10];
    assert_eq!(
        doc["_index"],
        format!("honeybee-events-{}", today.replace('-', "."))
    );
    assert_eq!(doc["source"]["ip"], "45.155.205.13");
    assert_eq!(doc["source"]["port"], 40012);
    assert_eq!(doc["user"]["name"], "root");
    assert_eq!(doc["event"]["action"], "cowrie.login.failed");
    assert_eq!(doc["event"]["dataset"], "honeybee.cowrie");
    assert_eq!(
        doc["observer"],
        json!({"name": "edge-13", "type": "honeypot"})
    );
    assert_eq!(doc["honeybee"]["password"], "pw12");
    assert!(doc["@timestamp"].as_str().unwrap().ends_with('Z'));
    let status = &outputs(&core)["es"];
    assert_eq!(status["dead"], 1);
    assert!(!status.to_string().contains("changeme-pw"), "{status}");
    assert!(
        !status["target"].as_str().unwrap().contains("elastic:"),
        "{status}"
    );
    let api = super::common::http::Api::new(core.api_addr, TOKEN);
    let dead = api.ok("/api/v1/outputs/es/dead");
    assert_eq!(dead["dead"][0]["item_id"], 7);
    assert!(
        dead["dead"][0]["error"]
            .as_str()
            .unwrap()
            .contains("mapper_parsing_exception")
    );
    core.stop();
}
