//! Table tests for the decoder: every shape PROTOCOL.md lists, each error code, and the
//! version report. Each row: input frame → canonical JSON, or the error code.

use serde_json::{Value, json};

use super::*;
use crate::encode::encode;

enum Want {
    Canonical(Value),
    Error(ErrorCode),
}
use Want::*;

fn canonical_of<M: crate::encode::WireMessage>(message: &M) -> Value {
    serde_json::from_slice(&encode(message)).unwrap()
}

fn check_node_table(table: Vec<(&str, &str, Want)>) {
    for (name, input, want) in table {
        let got = decode_node_frame(input.as_bytes());
        match (want, got) {
            (Canonical(want), Ok(d)) => assert_eq!(canonical_of(&d.message), want, "{name}"),
            (Error(code), Err(e)) => assert_eq!(e.code, code, "{name}: {e}"),
            (Canonical(_), Err(e)) => panic!("{name}: failed with {e}"),
            (Error(code), Ok(d)) => panic!("{name}: decoded {d:?}, expected {code}"),
        }
    }
}

fn env(message: Value) -> Value {
    json!({"version": 2, "message": message})
}

#[test]
fn canonical_shapes() {
    check_node_table(vec![
        (
            "registration",
            r#"{"version":2,"message":{"NodeRegistration":{"node_id":1,"node_name":"a","address":"10.0.0.1","port":22,"node_type":"Agent","totp_code":"000001"}}}"#,
            Canonical(env(json!({"NodeRegistration": {
                "node_id": 1, "node_name": "a", "address": "10.0.0.1", "port": 22,
                "node_type": "Agent", "totp_code": "000001"}}))),
        ),
        (
            "registration, null code is absent",
            r#"{"version":2,"message":{"NodeRegistration":{"node_id":1,"node_name":"a","address":"","port":0,"node_type":"Full","totp_code":null}}}"#,
            Canonical(env(json!({"NodeRegistration": {
                "node_id": 1, "node_name": "a", "address": "", "port": 0, "node_type": "Full"}}))),
        ),
        (
            "registration, 128-character unicode name",
            &format!(
                r#"{{"version":2,"message":{{"NodeRegistration":{{"node_id":1,"node_name":"{}","address":"a","port":1,"node_type":"Full"}}}}}}"#,
                "é".repeat(128)
            ),
            Canonical(env(json!({"NodeRegistration": {
                "node_id": 1, "node_name": "é".repeat(128), "address": "a", "port": 1,
                "node_type": "Full"}}))),
        ),
        (
            "heartbeat with a u64 id above 2^63 and unknown fields",
            r#"{"version":2,"x":[1],"message":{"NodeStatusUpdate":{"uptime":5,"node_id":18446744073709551615,"status":"Deploying"}}}"#,
            Canonical(env(json!({"NodeStatusUpdate": {
                "node_id": 18446744073709551615u64, "status": "Deploying"}}))),
        ),
        (
            "pot status with a message",
            r#"{"version":2,"message":{"PotStatusUpdate":{"node_id":3,"pot_id":"c","pot_type":"cowrie","status":"Failed","message":"port in use"}}}"#,
            Canonical(env(json!({"PotStatusUpdate": {
                "node_id": 3, "pot_id": "c", "pot_type": "cowrie", "status": "Failed",
                "message": "port in use"}}))),
        ),
        (
            "pot event keeps nested data and converts the offset",
            r#"{"version":2,"message":{"PotEvent":{"node_id":3,"pot_id":"c","pot_type":"cowrie","event_type":"cowrie.session.file_download","timestamp":"2024-03-10T01:30:00.25-05:00","data":{"url":"http://x/y","n":[1,{"a":null}]}}}}"#,
            Canonical(env(json!({"PotEvent": {
                "node_id": 3, "pot_id": "c", "pot_type": "cowrie",
                "event_type": "cowrie.session.file_download",
                "timestamp": "2024-03-10T06:30:00.25Z",
                "data": {"url": "http://x/y", "n": [1, {"a": null}]}}}))),
        ),
        (
            "pot event without pot type or timestamp",
            r#"{"version":2,"message":{"PotEvent":{"node_id":3,"pot_id":"c","pot_type":null,"event_type":"e","timestamp":null,"data":{}}}}"#,
            Canonical(env(json!({"PotEvent": {
                "node_id": 3, "pot_id": "c", "event_type": "e", "data": {}}}))),
        ),
        (
            "pot event with a unix-seconds timestamp",
            r#"{"version":2,"message":{"PotEvent":{"node_id":3,"pot_id":"c","event_type":"e","timestamp":86400,"data":{}}}}"#,
            Canonical(env(json!({"PotEvent": {
                "node_id": 3, "pot_id": "c", "event_type": "e",
                "timestamp": "1970-01-02T00:00:00Z", "data": {}}}))),
        ),
    ]);
}

#[test]
fn shapes_real_peers_send() {
    check_node_table(vec![
        (
            "node event, bare string",
            r#"{"version":2,"message":{"NodeEvent":"Stopped"}}"#,
            Canonical(env(json!({"NodeEvent": {"type": "Stopped"}}))),
        ),
        (
            "node event, tagged with message",
            r#"{"version":2,"message":{"NodeEvent":{"Error":{"message":"Unknown command"}}}}"#,
            Canonical(env(
                json!({"NodeEvent": {"type": "Error", "message": "Unknown command"}}),
            )),
        ),
        (
            "node event, tagged with description",
            r#"{"version":2,"message":{"NodeEvent":{"Alarm":{"description":"cpu"}}}}"#,
            Canonical(env(
                json!({"NodeEvent": {"type": "Alarm", "message": "cpu"}}),
            )),
        ),
        (
            "node event, tagged null",
            r#"{"version":2,"message":{"NodeEvent":{"Started":null}}}"#,
            Canonical(env(json!({"NodeEvent": {"type": "Started"}}))),
        ),
        (
            "node event, tagged string",
            r#"{"version":2,"message":{"NodeEvent":{"Error":"boom"}}}"#,
            Canonical(env(
                json!({"NodeEvent": {"type": "Error", "message": "boom"}}),
            )),
        ),
        (
            "node event, flat with description",
            r#"{"version":2,"message":{"NodeEvent":{"type":"Alarm","description":"disk"}}}"#,
            Canonical(env(
                json!({"NodeEvent": {"type": "Alarm", "message": "disk"}}),
            )),
        ),
        (
            "node event, flat: message wins over description",
            r#"{"version":2,"message":{"NodeEvent":{"description":"d","type":"Alarm","message":"m"}}}"#,
            Canonical(env(json!({"NodeEvent": {"type": "Alarm", "message": "m"}}))),
        ),
        (
            "node drop, empty object",
            r#"{"version":2,"message":{"NodeDrop":{}}}"#,
            Canonical(env(json!({"NodeDrop": {}}))),
        ),
        (
            "node drop, null",
            r#"{"version":2,"message":{"NodeDrop":null}}"#,
            Canonical(env(json!({"NodeDrop": {}}))),
        ),
        (
            "node drop, bare string",
            r#"{"message":"NodeDrop","version":2}"#,
            Canonical(env(json!({"NodeDrop": {}}))),
        ),
        (
            "node drop, object with fields",
            r#"{"version":2,"message":{"NodeDrop":{"reason":"shutdown"}}}"#,
            Canonical(env(json!({"NodeDrop": {}}))),
        ),
        (
            "legacy pot event",
            r#"{"version":1,"message":{"PotEvent":{"node_id":9,"pot_id":"c","event":"cowrie.command.input","message":"uname -a","metadata":{"src_ip":"192.0.2.1","message":"lost"},"timestamp":1705314600}}}"#,
            Canonical(env(json!({"PotEvent": {
                "node_id": 9, "pot_id": "c", "event_type": "cowrie.command.input",
                "timestamp": "2024-01-15T10:30:00Z",
                "data": {"src_ip": "192.0.2.1", "message": "uname -a"}}}))),
        ),
        (
            "legacy pot event, metadata only, no timestamp",
            r#"{"version":2,"message":{"PotEvent":{"node_id":9,"pot_id":"c","event":"e","metadata":{"k":"v"}}}}"#,
            Canonical(env(json!({"PotEvent": {
                "node_id": 9, "pot_id": "c", "event_type": "e", "data": {"k": "v"}}}))),
        ),
        (
            "legacy pot event, nothing but the event name",
            r#"{"version":2,"message":{"PotEvent":{"node_id":9,"pot_id":"c","event":"e","metadata":null,"message":null}}}"#,
            Canonical(env(json!({"PotEvent": {
                "node_id": 9, "pot_id": "c", "event_type": "e", "data": {}}}))),
        ),
        (
            "empty pot status is an event",
            r#"{"version":2,"message":{"PotStatusUpdate":{"node_id":1,"pot_id":"p","pot_type":"","status":"","message":"login attempt [a/b] succeeded"}}}"#,
            Canonical(env(json!({"PotEvent": {
                "node_id": 1, "pot_id": "p", "event_type": "unknown",
                "data": {"message": "login attempt [a/b] succeeded"}}}))),
        ),
        (
            "null pot status is an event keeping its pot type",
            r#"{"version":2,"message":{"PotStatusUpdate":{"node_id":1,"pot_id":"p","pot_type":"cowrie","status":null}}}"#,
            Canonical(env(json!({"PotEvent": {
                "node_id": 1, "pot_id": "p", "pot_type": "cowrie", "event_type": "unknown",
                "data": {}}}))),
        ),
    ]);
}

#[test]
fn error_codes() {
    let reg =
        |fields: &str| format!(r#"{{"version":2,"message":{{"NodeRegistration":{{{fields}}}}}}}"#);
    check_node_table(vec![
        ("empty", "", Error(ErrorCode::MessageParseFailed)),
        (
            "text",
            "GET / HTTP/1.1",
            Error(ErrorCode::MessageParseFailed),
        ),
        (
            "truncated",
            r#"{"version":2,"message":{"#,
            Error(ErrorCode::MessageParseFailed),
        ),
        (
            "unterminated string",
            r#"{"version":2,"message":"NodeDrop}"#,
            Error(ErrorCode::MessageParseFailed),
        ),
        (
            "trailing garbage",
            r#"{"version":2,"message":"NodeDrop"}x"#,
            Error(ErrorCode::MessageParseFailed),
        ),
        (
            "data error followed by a syntax error is a parse failure",
            r#"{"version":"2","message":{,}}"#,
            Error(ErrorCode::MessageParseFailed),
        ),
        ("array", "[1]", Error(ErrorCode::InvalidMessageFormat)),
        (
            "string",
            r#""NodeDrop""#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        ("number", "2", Error(ErrorCode::InvalidMessageFormat)),
        ("empty object", "{}", Error(ErrorCode::InvalidMessageFormat)),
        (
            "version missing",
            r#"{"message":"NodeDrop"}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "version negative",
            r#"{"version":-2,"message":"NodeDrop"}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "version float",
            r#"{"version":2.0,"message":"NodeDrop"}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "version twice",
            r#"{"version":2,"version":2,"message":"NodeDrop"}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "message missing",
            r#"{"version":2}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "message empty",
            r#"{"version":2,"message":{}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "message null",
            r#"{"version":2,"message":null}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "two keys in message",
            r#"{"version":2,"message":{"NodeDrop":{},"NodeDrop":{}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "data variant as a bare string",
            r#"{"version":2,"message":"NodeStatusUpdate"}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "node drop with a string",
            r#"{"version":2,"message":{"NodeDrop":"x"}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "status wrong case",
            r#"{"version":2,"message":{"NodeStatusUpdate":{"node_id":1,"status":"RUNNING"}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "node id as a string",
            r#"{"version":2,"message":{"NodeStatusUpdate":{"node_id":"1","status":"Running"}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "node id as a float",
            r#"{"version":2,"message":{"NodeStatusUpdate":{"node_id":1.5,"status":"Running"}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "node id null",
            r#"{"version":2,"message":{"NodeStatusUpdate":{"node_id":null,"status":"Running"}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "name empty",
            &reg(r#""node_id":1,"node_name":"","address":"a","port":1,"node_type":"Full""#),
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "name too long",
            &reg(&format!(
                r#""node_id":1,"node_name":"{}","address":"a","port":1,"node_type":"Full""#,
                "x".repeat(129)
            )),
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "name with DEL",
            &reg(r#""node_id":1,"node_name":"a\u007f","address":"a","port":1,"node_type":"Full""#),
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "name with newline",
            &reg(r#""node_id":1,"node_name":"a\nb","address":"a","port":1,"node_type":"Full""#),
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "port negative",
            &reg(r#""node_id":1,"node_name":"a","address":"a","port":-1,"node_type":"Full""#),
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "node type lowercase",
            &reg(r#""node_id":1,"node_name":"a","address":"a","port":1,"node_type":"full""#),
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "address missing",
            &reg(r#""node_id":1,"node_name":"a","port":1,"node_type":"Full""#),
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "totp code as a number",
            &reg(
                r#""node_id":1,"node_name":"a","address":"a","port":1,"node_type":"Full","totp_code":123456"#,
            ),
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "pot status outside the enum",
            r#"{"version":2,"message":{"PotStatusUpdate":{"node_id":1,"pot_id":"p","pot_type":"c","status":"Deploying"}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "pot status without pot type",
            r#"{"version":2,"message":{"PotStatusUpdate":{"node_id":1,"pot_id":"p","status":"Running"}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "pot event without data",
            r#"{"version":2,"message":{"PotEvent":{"node_id":1,"pot_id":"p","event_type":"e"}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "pot event with array data",
            r#"{"version":2,"message":{"PotEvent":{"node_id":1,"pot_id":"p","event_type":"e","data":[]}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "pot event with neither event_type nor event",
            r#"{"version":2,"message":{"PotEvent":{"node_id":1,"pot_id":"p","data":{}}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "pot event with 31 February",
            r#"{"version":2,"message":{"PotEvent":{"node_id":1,"pot_id":"p","event_type":"e","timestamp":"2024-02-31T00:00:00Z","data":{}}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "pot event with a negative unix timestamp",
            r#"{"version":2,"message":{"PotEvent":{"node_id":1,"pot_id":"p","event":"e","timestamp":-1}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "legacy timestamp past year 9999",
            r#"{"version":2,"message":{"PotEvent":{"node_id":1,"pot_id":"p","event":"e","timestamp":253402300800}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "node event kind unknown",
            r#"{"version":2,"message":{"NodeEvent":"Exploded"}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "node event without kind",
            r#"{"version":2,"message":{"NodeEvent":{"message":"m"}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "node event with two tagged kinds",
            r#"{"version":2,"message":{"NodeEvent":{"Error":{},"Alarm":{}}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "node event with conflicting kinds",
            r#"{"version":2,"message":{"NodeEvent":{"type":"Started","Error":{}}}}"#,
            Error(ErrorCode::InvalidMessageFormat),
        ),
        (
            "unknown variant",
            r#"{"version":2,"message":{"NodeSelfDestruct":{}}}"#,
            Error(ErrorCode::UnknownMessageType),
        ),
        (
            "unknown bare variant",
            r#"{"version":2,"message":"Hello"}"#,
            Error(ErrorCode::UnknownMessageType),
        ),
        (
            "core-to-node variant from a node",
            r#"{"version":2,"message":{"NodeCommand":{"node_id":1,"command":{"Restart":{}}}}}"#,
            Error(ErrorCode::UnknownMessageType),
        ),
        (
            "ProtocolError from a node",
            r#"{"version":2,"message":{"ProtocolError":{"code":"RATE_LIMITED","message":"x"}}}"#,
            Error(ErrorCode::UnknownMessageType),
        ),
    ]);
}

#[test]
fn invalid_utf8_is_a_parse_failure() {
    let frame = b"{\"version\":2,\"message\":{\"NodeEvent\":{\"type\":\"Error\",\"message\":\"\xff\xfe\"}}}";
    assert_eq!(
        decode_node_frame(frame).unwrap_err().code,
        ErrorCode::MessageParseFailed
    );
}

#[test]
fn invalid_utf8_in_an_ignored_field_is_a_parse_failure() {
    let frame = b"{\"version\":2,\"x\":\"\xff\xfe\",\"message\":\"NodeDrop\"}";
    assert_eq!(
        decode_node_frame(frame).unwrap_err().code,
        ErrorCode::MessageParseFailed
    );
}

#[test]
fn reports_the_envelope_version() {
    let v1 = decode_node_frame(br#"{"version":1,"message":"NodeDrop"}"#).unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(
        v1.warning(),
        Some(DecodeWarning::ProtocolVersionMismatch { received: 1 })
    );
    let v2 = decode_node_frame(br#"{"version":2,"message":"NodeDrop"}"#).unwrap();
    assert_eq!(v2.warning(), None);
    let v7 = decode_node_frame(br#"{"version":7,"message":"NodeDrop"}"#).unwrap();
    assert_eq!(v7.version, 7);
    assert!(encode(&v7.message).starts_with(br#"{"version":2,"#));
}

#[test]
fn error_details_never_echo_a_totp_code() {
    let frame = br#"{"version":2,"message":{"NodeRegistration":{"node_id":1,"node_name":"a","address":"a","port":1,"node_type":"Full","totp_code":987654}}}"#;
    let e = decode_node_frame(frame).unwrap_err();
    assert!(!e.to_string().contains("987654"), "{e}");
    let ack = br#"{"version":2,"message":{"RegistrationAck":{"accepted":true,"totp_key":["JBSWY3DPEHPK3PXP"]}}}"#;
    let e = decode_core_frame(ack).unwrap_err();
    assert!(!e.to_string().contains("JBSWY3DPEHPK3PXP"), "{e}");
}

#[test]
fn error_details_are_sanitised_and_short() {
    let frame = format!(
        r#"{{"version":2,"message":{{"NodeStatusUpdate":{{"node_id":1,"status":"\u001b[2J{}"}}}}}}"#,
        "x".repeat(5000)
    );
    let e = decode_node_frame(frame.as_bytes()).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidMessageFormat);
    assert!(!e.detail.contains('\u{1b}'), "{e}");
    assert!(
        e.detail.chars().count() <= 161,
        "{} chars",
        e.detail.chars().count()
    );
}

#[test]
fn node_side_decoding() {
    let table = [
        (
            r#"{"version":2,"message":{"NodeCommand":{"node_id":5,"command":"GetInstalledPots"}}}"#,
            json!({"NodeCommand": {"node_id": 5, "command": {"GetInstalledPots": {}}}}),
        ),
        (
            r#"{"version":2,"message":{"NodeCommand":{"node_id":5,"command":{"UpdateConfig":null}}}}"#,
            json!({"NodeCommand": {"node_id": 5, "command": {"UpdateConfig": {}}}}),
        ),
        (
            r#"{"version":2,"message":{"NodeCommand":{"node_id":5,"command":{"StopPot":"c-1"}}}}"#,
            json!({"NodeCommand": {"node_id": 5, "command": {"StopPot": "c-1"}}}),
        ),
        (
            r#"{"version":2,"message":{"NodeCommand":{"node_id":5,"command":{"InstallPot":{"pot_id":"w","honeypot_type":"honnypotter"}}}}}"#,
            json!({"NodeCommand": {"node_id": 5, "command": {"InstallPot": {
                "pot_id": "w", "honeypot_type": "honnypotter", "git_url": null,
                "git_branch": null, "config": null, "auto_start": false}}}}),
        ),
        (
            r#"{"version":2,"message":{"RegistrationAck":{"accepted":false,"message":"LOCKED_OUT: later"}}}"#,
            json!({"RegistrationAck": {"accepted": false, "message": "LOCKED_OUT: later"}}),
        ),
        (
            r#"{"version":2,"message":{"ProtocolError":{"code":"NODE_ID_MISMATCH","message":"m","node_id":null}}}"#,
            json!({"ProtocolError": {"code": "NODE_ID_MISMATCH", "message": "m"}}),
        ),
    ];
    for (input, want) in table {
        let decoded =
            decode_core_frame(input.as_bytes()).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(canonical_of(&decoded.message), env(want), "{input}");
    }
    for (input, code) in [
        (
            r#"{"version":2,"message":{"NodeDrop":{}}}"#,
            ErrorCode::UnknownMessageType,
        ),
        (
            r#"{"version":2,"message":{"NodeCommand":{"node_id":5,"command":"Explode"}}}"#,
            ErrorCode::InvalidMessageFormat,
        ),
        (
            r#"{"version":2,"message":{"NodeCommand":{"node_id":5,"command":"DeployPot"}}}"#,
            ErrorCode::InvalidMessageFormat,
        ),
        (
            r#"{"version":2,"message":{"ProtocolError":{"code":"NOPE","message":"m"}}}"#,
            ErrorCode::InvalidMessageFormat,
        ),
    ] {
        assert_eq!(
            decode_core_frame(input.as_bytes()).unwrap_err().code,
            code,
            "{input}"
        );
    }
}

#[test]
fn operator_commands_convert_scalar_config_values() {
    let command = decode_command(
        br#"{"InstallPot":{"pot_id":"c","honeypot_type":"cowrie","config":{"port":2222,"debug":true,"ratio":0.5,"name":"x"},"auto_start":true}}"#,
    )
    .unwrap();
    let Command::InstallPot(install) = command else {
        panic!("not an InstallPot")
    };
    let config = install.config.unwrap();
    assert_eq!(config["port"], "2222");
    assert_eq!(config["debug"], "true");
    assert_eq!(config["ratio"], "0.5");
    assert_eq!(config["name"], "x");
    for nested in [
        r#"{"InstallPot":{"pot_id":"c","honeypot_type":"cowrie","config":{"a":{"b":1}}}}"#,
        r#"{"InstallPot":{"pot_id":"c","honeypot_type":"cowrie","config":{"a":[1]}}}"#,
        r#"{"InstallPot":{"pot_id":"c","honeypot_type":"cowrie","config":{"a":null}}}"#,
    ] {
        let e = decode_command(nested.as_bytes()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidMessageFormat, "{nested}");
    }
    assert_eq!(
        decode_command(br#"{"Restart":{}}"#).unwrap(),
        Command::Restart
    );
    assert_eq!(
        decode_command(br#"{"DeployPot":"c"}"#).unwrap(),
        Command::DeployPot("c".into())
    );
    assert_eq!(
        decode_command(br#"{"Frobnicate":"c"}"#).unwrap_err().code,
        ErrorCode::InvalidMessageFormat
    );
}
