//! Commands and tokens through the HTTP API over real TCP: sending, queueing, outcomes read
//! back, broadcasts, the error codes, and the token kinds (config, read, generated, named,
//! revoked).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::http::{Api, raw};
use common::{FakeNode, start_core, wait_until};
use honeybee_core::tokens::{Role, TokenFile};
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-for-tests";
const CONFIG: &str = "[api]\ntoken = \"admin-token-for-tests\"\nread_tokens = [\"read-token-for-tests\"]\n\
[commands]\nlist_window_ms = 100\ntimeout_secs = 0.5\n\
[pots]\nallowed_sources = [\"https://github.com/honeybee/\"]\n";
const WAIT: Duration = Duration::from_secs(10);

/// A node that registered and got the Core's `GetInstalledPots`.
fn node(core_node: std::net::SocketAddr, id: u64, name: &str) -> FakeNode {
    let mut node = FakeNode::connect(core_node, id);
    node.register(name);
    assert_eq!(
        node.expect_message("NodeCommand")["command"],
        json!({"GetInstalledPots": {}})
    );
    node
}

/// Polls a command until it has `status`; its JSON.
fn wait_command(api: &Api, id: u64, status: &str) -> Value {
    let mut last = Value::Null;
    wait_until(WAIT, &format!("command {id} {status}"), || {
        last = api.ok(&format!("/api/v1/commands/{id}"));
        last["status"] == status
    });
    last
}

#[test]
fn a_command_goes_out_waits_its_turn_and_ends_with_its_outcome() {
    let core = start_core(CONFIG);
    let api = Api::new(core.api_addr, ADMIN);
    let mut edge = node(core.node_addr, 31, "edge");

    let deploy = api.post(
        "/api/v1/nodes/31/commands",
        &json!({"DeployPot": "cowrie-01"}),
    );
    assert_eq!(deploy.status, 202, "{}", deploy.text());
    assert_eq!(deploy.json()["status"], "sent");
    let deploy_id = deploy.json()["command_id"].as_u64().unwrap();
    assert_eq!(
        edge.expect_message("NodeCommand")["command"],
        json!({"DeployPot": "cowrie-01"})
    );
    // The same pot: it waits behind the one in flight.
    let stop = api.post(
        "/api/v1/nodes/31/commands",
        &json!({"StopPot": "cowrie-01"}),
    );
    assert_eq!(
        (stop.status, stop.json()["status"].as_str()),
        (202, Some("pending"))
    );
    let stop_id = stop.json()["command_id"].as_u64().unwrap();

    edge.send(edge.pot_status("cowrie-01", "Running", Some("listening")));
    let done = wait_command(&api, deploy_id, "completed");
    assert_eq!(done["node_id_str"], "31");
    assert_eq!(done["command"], json!({"DeployPot": "cowrie-01"}));
    assert_eq!(done["result"]["status"], "Running");
    assert_eq!(done["result"]["message"], "listening");
    assert_eq!(
        edge.expect_message("NodeCommand")["command"],
        json!({"StopPot": "cowrie-01"})
    );
    edge.send(edge.pot_status("cowrie-01", "Stopped", None));
    wait_command(&api, stop_id, "completed");

    // Unanswered: timed out (commands.timeout_secs = 0.5).
    let status = api.post("/api/v1/nodes/31/commands", &json!("GetInstalledPots"));
    assert_eq!(status.status, 202, "{}", status.text());
    let info = api.post(
        "/api/v1/nodes/31/commands",
        &json!({"GetPotStatus": "ghost"}),
    );
    let info_id = info.json()["command_id"].as_u64().unwrap();
    let timed_out = wait_command(&api, info_id, "timed_out");
    assert!(timed_out["updated_at"].as_str().unwrap() >= timed_out["created_at"].as_str().unwrap());

    // The node's history, newest first, every command with its outcome.
    let history = api.ok("/api/v1/nodes/31/commands");
    let ids: Vec<u64> = history["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 5, "{history}");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert_eq!(api.get("/api/v1/nodes/31/commands?limit=0").status, 400);
    assert_eq!(api.get("/api/v1/nodes/77/commands").status, 404);
    assert_eq!(api.get("/api/v1/commands/999999").status, 404);
    assert_eq!(api.get("/api/v1/commands/x").status, 400);

    let metrics = raw(core.api_addr, "GET", "/metrics", Some(ADMIN), None).text();
    assert!(
        metrics.contains("honeybee_commands_total{outcome=\"completed\"} "),
        "{metrics}"
    );
    assert!(
        metrics.contains("honeybee_commands_total{outcome=\"timed_out\"} 1"),
        "{metrics}"
    );
}

#[test]
fn commands_are_checked_before_they_are_sent() {
    let core = start_core(CONFIG);
    let api = Api::new(core.api_addr, ADMIN);
    let mut edge = node(core.node_addr, 32, "edge");
    let path = "/api/v1/nodes/32/commands";
    let install = |config: Value, git_url: Option<&str>| {
        json!({"InstallPot": {"pot_id": "web-01", "honeypot_type": "honnypotter",
            "git_url": git_url, "config": config, "auto_start": true}})
    };
    for bad in [
        json!({"DeployPot": "../etc"}),
        json!({"Launch": "x"}),
        json!({"DeployPot": "a", "StopPot": "b"}),
        json!(42),
        install(json!({"nested": {"no": 1}}), None),
        install(json!({"bad key": "x"}), None),
    ] {
        let answer = api.post(path, &bad);
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text());
        assert_eq!(answer.code(), "invalid_request");
    }
    let outside = api.post(
        path,
        &install(json!({}), Some("https://evil.example/honeybee/x.git")),
    );
    assert_eq!(
        (outside.status, outside.code().as_str()),
        (403, "forbidden")
    );
    let answer = raw(
        core.api_addr,
        "POST",
        path,
        Some(ADMIN),
        Some(("application/json", b"{\"DeployPot\":")),
    );
    assert_eq!(answer.status, 400);

    // Numbers and booleans in config become strings on the wire.
    let good = api.post(
        path,
        &install(
            json!({"port": 8080, "debug": true, "title": "Blog"}),
            Some("https://github.com/honeybee/pots.git"),
        ),
    );
    assert_eq!(good.status, 202, "{}", good.text());
    let sent = edge.expect_message("NodeCommand")["command"]["InstallPot"].clone();
    assert_eq!(
        sent["config"],
        json!({"port": "8080", "debug": "true", "title": "Blog"})
    );
    assert_eq!(
        api.post("/api/v1/nodes/4040/commands", &json!("Restart"))
            .status,
        404
    );
    assert_eq!(
        api.post("/api/v1/nodes/32/commands?queue=maybe", &json!("Restart"))
            .status,
        400
    );
}

#[test]
fn offline_nodes_get_queued_commands_on_return_and_v1_nodes_none() {
    let core = start_core(CONFIG);
    let api = Api::new(core.api_addr, ADMIN);
    drop(node(core.node_addr, 33, "edge"));
    wait_until(WAIT, "node 33 offline", || {
        api.ok("/api/v1/nodes/33")["connected"] == false
    });
    let offline = api.post("/api/v1/nodes/33/commands", &json!({"DeployPot": "p1"}));
    assert_eq!(
        (offline.status, offline.code().as_str()),
        (409, "node_offline")
    );
    let mut ids = Vec::new();
    for pot in ["p1", "p2"] {
        let queued = api.post(
            "/api/v1/nodes/33/commands?queue=true",
            &json!({"DeployPot": pot}),
        );
        assert_eq!(
            (queued.status, queued.json()["status"].as_str()),
            (202, Some("pending"))
        );
        ids.push(queued.json()["command_id"].as_u64().unwrap());
    }
    let mut back = node(core.node_addr, 33, "edge");
    assert_eq!(
        back.expect_message("NodeCommand")["command"],
        json!({"DeployPot": "p1"})
    );
    assert_eq!(
        back.expect_message("NodeCommand")["command"],
        json!({"DeployPot": "p2"})
    );
    wait_command(&api, ids[1], "sent");

    let mut old = FakeNode::connect(core.node_addr, 34);
    let frame = json!({"version": 1, "message": old.registration("old")});
    old.send_raw(format!("{frame}\n").as_bytes());
    old.expect_message("RegistrationAck");
    wait_until(WAIT, "v1 node connected", || {
        api.get("/api/v1/nodes/34").status == 200
    });
    let legacy = api.post("/api/v1/nodes/34/commands", &json!("Restart"));
    assert_eq!(
        (legacy.status, legacy.code().as_str()),
        (409, "node_legacy_protocol")
    );
}

#[test]
fn broadcasts_reach_the_matching_connected_nodes() {
    let core = start_core(CONFIG);
    let api = Api::new(core.api_addr, ADMIN);
    let mut a = node(core.node_addr, 41, "a");
    let mut b = node(core.node_addr, 42, "b");
    b.send(b.status("Failed"));
    wait_until(WAIT, "node 42 Failed", || {
        api.ok("/api/v1/nodes/42")["status"] == "Failed"
    });
    let answer = api.post(
        "/api/v1/commands/broadcast",
        &json!({"command": "Restart", "status": "Failed"}),
    );
    assert_eq!(answer.status, 202, "{}", answer.text());
    let commands = answer.json()["commands"].clone();
    assert_eq!(commands.as_array().unwrap().len(), 1, "{commands}");
    assert_eq!(commands[0]["node_id_str"], "42");
    assert_eq!(
        b.expect_message("NodeCommand")["command"],
        json!({"Restart": {}})
    );
    let all = api.post(
        "/api/v1/commands/broadcast",
        &json!({"command": {"UpdateConfig": {}}, "node_type": "Full"}),
    );
    assert_eq!(all.status, 202, "{}", all.text());
    assert_eq!(all.json()["commands"].as_array().unwrap().len(), 2);
    assert!(a.expect_message("NodeCommand")["command"]["UpdateConfig"].is_object());
    for bad in [
        json!({"command": "Restart", "node_type": "Huge"}),
        json!({"command": "Restart", "status": "Dancing"}),
        json!({"command": {"DeployPot": "../x"}}),
        json!({"node_type": "Full"}),
        json!({"command": "Restart", "colour": "red"}),
        // UpdateConfig carries nothing on the wire: config given with it would be dropped.
        json!({"command": {"UpdateConfig": {"config": {"k": "v"}}}, "node_type": "Full"}),
    ] {
        let answer = api.post("/api/v1/commands/broadcast", &bad);
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text());
    }
}

#[test]
fn generated_named_read_and_revoked_tokens() {
    // No api.token: the Core generates one into <storage.dir>/api-token, private to its user.
    let core = start_core("");
    let token_file = core.dir().join("data").join("api-token");
    let generated = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    assert!(generated.len() >= 32, "a strong token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let admin = Api::new(core.api_addr, &generated);
    assert_eq!(
        admin
            .post("/api/v1/enrollments", &json!({"node_name": "n1"}))
            .status,
        201
    );

    // Named tokens written by `honeybee-core token create` are picked up while it runs.
    let tokens_path = core.dir().join("data").join("tokens.toml");
    let mut file = TokenFile::load(&tokens_path).unwrap();
    let ops = file.create("ops", Role::Admin).unwrap();
    let viewer = file.create("viewer", Role::Read).unwrap();
    file.save(&tokens_path).unwrap();
    let ops_api = Api::new(core.api_addr, &ops);
    wait_until(WAIT, "named tokens loaded", || {
        ops_api.get("/api/v1/nodes").status == 200
    });
    let viewer_api = Api::new(core.api_addr, &viewer);
    assert_eq!(viewer_api.get("/api/v1/alerts").status, 200);
    assert_eq!(
        viewer_api
            .post("/api/v1/enrollments", &json!({"node_name": "n2"}))
            .status,
        403
    );
    assert_eq!(
        ops_api
            .post("/api/v1/enrollments", &json!({"node_name": "n3"}))
            .status,
        201
    );
    let audit = admin.ok("/api/v1/audit");
    let actors: Vec<&str> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        ["ops", "viewer", "tokens-file", "tokens-file", "generated"],
        "{audit}"
    );
    let created: Vec<(&str, &str)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "tokens-file")
        .map(|e| {
            (
                e["target"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(created, [("viewer", "read"), ("ops", "admin")]);
    // The tokens file keeps SHA-256 digests, never the tokens.
    let text = std::fs::read_to_string(&tokens_path).unwrap();
    assert!(!text.contains(&ops) && !text.contains(&viewer), "{text}");
    assert_eq!(text.matches("sha256 = ").count(), 2, "{text}");

    // Revoked: refused from the next reload on.
    let mut file = TokenFile::load(&tokens_path).unwrap();
    assert!(file.revoke("ops"));
    file.save(&tokens_path).unwrap();
    wait_until(WAIT, "a revoked token refused", || {
        ops_api.get("/api/v1/nodes").status == 401
    });
    assert_eq!(viewer_api.get("/api/v1/nodes").status, 200);
    // A broken file keeps the tokens in use.
    std::fs::write(&tokens_path, "this is [not toml").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(viewer_api.get("/api/v1/nodes").status, 200);
    let audit = admin.ok("/api/v1/audit?limit=1");
    assert_eq!(audit["audit"][0]["action"], "token revoked", "{audit}");
    assert_eq!(audit["audit"][0]["target"], "ops");
}
