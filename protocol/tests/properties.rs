//! Property tests: for arbitrary messages, decode(encode(m)) == m in both directions, and any
//! chunking of any stream of encoded frames yields the same frames.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use honeybee_protocol::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter)
}

fn node_name() -> impl Strategy<Value = String> {
    prop::collection::vec(
        any::<char>().prop_filter("no control", |c| !c.is_control()),
        1..40,
    )
    .prop_map(String::from_iter)
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0..=time::MAX_UNIX_SECONDS, prop::option::of("[0-9]{1,9}")).prop_map(|(secs, fraction)| {
        let whole = Timestamp::from_unix_seconds(secs).unwrap();
        match fraction {
            None => whole,
            Some(digits) => {
                let text = whole.as_str().trim_end_matches('Z');
                Timestamp::parse_rfc3339(&format!("{text}.{digits}Z")).unwrap()
            }
        }
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn event_data() -> impl Strategy<Value = EventData> {
    prop::collection::btree_map(text(), json_value(), 0..6)
        .prop_map(|m| EventData::from_map(&m.into_iter().collect::<Map<_, _>>()))
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(all)
}

fn node_to_core() -> impl Strategy<Value = NodeToCore> {
    prop_oneof![
        (
            any::<u64>(),
            node_name(),
            text(),
            any::<u16>(),
            pick(NodeType::ALL),
            prop::option::of(text().prop_map(SecretString::new)),
        )
            .prop_map(
                |(node_id, node_name, address, port, node_type, totp_code)| {
                    NodeToCore::NodeRegistration(NodeRegistration {
                        node_id,
                        node_name,
                        address,
                        port,
                        node_type,
                        totp_code,
                    })
                }
            ),
        (any::<u64>(), pick(NodeStatus::ALL)).prop_map(|(node_id, status)| {
            NodeToCore::NodeStatusUpdate(NodeStatusUpdate { node_id, status })
        }),
        (
            any::<u64>(),
            text(),
            text(),
            pick(PotStatus::ALL),
            prop::option::of(text())
        )
            .prop_map(|(node_id, pot_id, pot_type, status, message)| {
                NodeToCore::PotStatusUpdate(PotStatusUpdate {
                    node_id,
                    pot_id,
                    pot_type,
                    status,
                    message,
                })
            }),
        (
            any::<u64>(),
            text(),
            prop::option::of(text()),
            text(),
            prop::option::of(timestamp()),
            event_data(),
        )
            .prop_map(|(node_id, pot_id, pot_type, event_type, timestamp, data)| {
                NodeToCore::PotEvent(PotEvent {
                    node_id,
                    pot_id,
                    pot_type,
                    event_type,
                    timestamp,
                    data,
                })
            }),
        (pick(NodeEventKind::ALL), prop::option::of(text()))
            .prop_map(|(kind, message)| NodeToCore::NodeEvent(NodeEvent { kind, message })),
        Just(NodeToCore::NodeDrop),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    let pot_commands: [fn(String) -> Command; 7] = [
        Command::DeployPot,
        Command::StopPot,
        Command::RestartPot,
        Command::GetPotStatus,
        Command::GetPotInfo,
        Command::GetPotLogs,
        Command::GetPotMetrics,
    ];
    prop_oneof![
        (
            text(),
            text(),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(prop::collection::btree_map(text(), text(), 0..5)),
            any::<bool>(),
        )
            .prop_map(
                |(pot_id, honeypot_type, git_url, git_branch, config, auto_start)| {
                    Command::InstallPot(InstallPot {
                        pot_id,
                        honeypot_type,
                        git_url,
                        git_branch,
                        config: config.map(BTreeMap::from_iter),
                        auto_start,
                    })
                }
            ),
        (0..pot_commands.len(), text()).prop_map(move |(i, id)| pot_commands[i](id)),
        Just(Command::Restart),
        Just(Command::UpdateConfig),
        Just(Command::GetInstalledPots),
    ]
}

fn core_to_node() -> impl Strategy<Value = CoreToNode> {
    prop_oneof![
        (
            prop::option::of(any::<u64>()),
            any::<bool>(),
            prop::option::of(text()),
            prop::option::of("[A-Z2-7]{32}".prop_map(SecretString::new)),
        )
            .prop_map(|(node_id, accepted, message, totp_key)| {
                CoreToNode::RegistrationAck(RegistrationAck {
                    node_id,
                    accepted,
                    message,
                    totp_key,
                })
            }),
        (any::<u64>(), command()).prop_map(|(node_id, command)| {
            CoreToNode::NodeCommand(NodeCommand { node_id, command })
        }),
        (
            pick(&ErrorCode::ALL),
            text(),
            prop::option::of(any::<u64>())
        )
            .prop_map(|(code, message, node_id)| {
                CoreToNode::ProtocolError(ProtocolError {
                    code,
                    message,
                    node_id,
                })
            }),
    ]
}

/// What may stand between two frames on the wire.
fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["\n", "", " ", "\t ", "\r\n", "\n\n", "\r\n\r\n", " \n"][..])
}

fn strip_newline(frame: &[u8]) -> &[u8] {
    frame
        .strip_suffix(b"\n")
        .expect("frames end with a newline")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn node_messages_round_trip(message in node_to_core()) {
        let frame = encode(&message);
        prop_assert!(frame.ends_with(b"\n"));
        prop_assert!(!strip_newline(&frame).contains(&b'\n'), "a frame holds one newline");
        let decoded = decode_node_frame(strip_newline(&frame)).map_err(|e| {
            TestCaseError::fail(format!("{e} for {}", String::from_utf8_lossy(&frame)))
        })?;
        prop_assert_eq!(decoded.version, 2);
        prop_assert_eq!(decoded.message, message);
    }

    #[test]
    fn core_messages_round_trip(message in core_to_node()) {
        let frame = encode(&message);
        prop_assert!(!strip_newline(&frame).contains(&b'\n'), "a frame holds one newline");
        let decoded = decode_core_frame(strip_newline(&frame)).map_err(|e| {
            TestCaseError::fail(format!("{e} for {}", String::from_utf8_lossy(&frame)))
        })?;
        prop_assert_eq!(decoded.message, message);
    }

    #[test]
    fn any_chunking_yields_the_same_frames(
        frames in prop::collection::vec((node_to_core(), separator()), 1..12),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (message, separator) in &frames {
            let frame = encode(message);
            let body = strip_newline(&frame).to_vec();
            stream.extend_from_slice(&body);
            stream.extend_from_slice(separator.as_bytes());
            expected.push(Frame::Data(body.into()));
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let mut splitter = FrameSplitter::new(DEFAULT_MAX_FRAME_BYTES);
        let mut items = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([stream.len()]) {
            items.extend(splitter.push(&stream[start..cut]));
            start = cut;
        }
        items.extend(splitter.finish());
        prop_assert_eq!(items, expected);
    }
}
