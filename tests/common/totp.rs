//! A fake node's side of TOTP: codes computed from the key the Core handed out, for a chosen
//! 30 s step.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use honeybee_actors::auth::totp;
use honeybee_protocol::SecretString;
use serde_json::{Value, json};

use super::FakeNode;

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The TOTP step of now.
pub fn step_now() -> u64 {
    unix_now() / 30
}

/// The code of `key` for `step`.
pub fn code_for(key: &str, step: u64) -> String {
    totp::code_at(&SecretString::new(key), step * 30).unwrap()
}

/// Sends a registration (with `code` if any) and answers the ack.
pub fn register(node: &mut FakeNode, name: &str, code: Option<String>) -> Value {
    let mut registration = node.registration(name);
    if let Some(code) = code {
        registration["NodeRegistration"]["totp_code"] = json!(code);
    }
    node.send(registration);
    node.expect_message("RegistrationAck")
}

/// Enrolls a node in open mode (its first registration): the key it was handed.
pub fn enroll(addr: SocketAddr, node_id: u64, name: &str) -> String {
    let mut node = FakeNode::connect(addr, node_id);
    let ack = register(&mut node, name, Some("123456".into()));
    assert_eq!(ack["accepted"], true, "{ack}");
    let key = ack["totp_key"]
        .as_str()
        .expect("open enrollment hands out a key")
        .to_owned();
    assert!(totp::is_wire_key(&key), "{key}");
    key
}
