//! The canonical encoder: compact JSON, `{"version":2,"message":..}`, one `\n` per frame.

use serde::Serialize;

use crate::types::{CoreToNode, NodeToCore, PROTOCOL_VERSION};

/// A message that can be written as a frame: [`CoreToNode`] (the Core) or [`NodeToCore`] (a
/// node, such as the simulator).
pub trait WireMessage: Serialize + sealed::Sealed {}

impl WireMessage for CoreToNode {}
impl WireMessage for NodeToCore {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::types::CoreToNode {}
    impl Sealed for crate::types::NodeToCore {}
}

#[derive(Serialize)]
struct Envelope<'a, M> {
    version: u64,
    message: &'a M,
}

/// Encodes `message` as one frame, ending with exactly one `\n`.
pub fn encode<M: WireMessage>(message: &M) -> Vec<u8> {
    let mut frame = Vec::with_capacity(128);
    encode_into(&mut frame, message);
    frame
}

/// Appends `message` as one frame, ending with exactly one `\n`, to `out`.
pub fn encode_into<M: WireMessage>(out: &mut Vec<u8>, message: &M) {
    let envelope = Envelope {
        version: PROTOCOL_VERSION,
        message,
    };
    // Invariant: the wire types serialise only strings, numbers, booleans, string-keyed maps
    // and already-valid raw JSON, and writing to a Vec cannot fail.
    #[allow(clippy::expect_used)]
    serde_json::to_writer(&mut *out, &envelope).expect("wire types always serialise");
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::types::*;

    #[test]
    fn unit_commands_are_written_with_an_empty_object() {
        let frame = encode(&CoreToNode::NodeCommand(NodeCommand {
            node_id: 1,
            command: Command::GetInstalledPots,
        }));
        assert_eq!(
            frame,
            b"{\"version\":2,\"message\":{\"NodeCommand\":{\"node_id\":1,\"command\":{\"GetInstalledPots\":{}}}}}\n"
        );
    }

    #[test]
    fn install_pot_writes_its_absent_optionals_as_null() {
        let frame = encode(&CoreToNode::NodeCommand(NodeCommand {
            node_id: 7,
            command: Command::InstallPot(InstallPot {
                pot_id: "c1".into(),
                honeypot_type: "cowrie".into(),
                git_url: None,
                git_branch: None,
                config: None,
                auto_start: true,
            }),
        }));
        assert_eq!(
            String::from_utf8(frame).unwrap(),
            "{\"version\":2,\"message\":{\"NodeCommand\":{\"node_id\":7,\"command\":{\"InstallPot\":\
             {\"pot_id\":\"c1\",\"honeypot_type\":\"cowrie\",\"git_url\":null,\"git_branch\":null,\
             \"config\":null,\"auto_start\":true}}}}}\n"
        );
    }

    #[test]
    fn other_absent_optionals_are_omitted() {
        let ack = encode(&CoreToNode::RegistrationAck(RegistrationAck {
            node_id: Some(5),
            accepted: true,
            message: None,
            totp_key: None,
        }));
        assert_eq!(
            ack,
            b"{\"version\":2,\"message\":{\"RegistrationAck\":{\"node_id\":5,\"accepted\":true}}}\n"
        );
        let error = encode(&CoreToNode::ProtocolError(ProtocolError {
            code: crate::ErrorCode::NotRegistered,
            message: "register first".into(),
            node_id: None,
        }));
        assert_eq!(
            error,
            b"{\"version\":2,\"message\":{\"ProtocolError\":{\"code\":\"NOT_REGISTERED\",\"message\":\"register first\"}}}\n"
        );
    }

    #[test]
    fn config_values_are_strings_and_newlines_are_escaped() {
        let mut config = BTreeMap::new();
        config.insert("banner".to_owned(), "a\nb".to_owned());
        let frame = encode(&CoreToNode::NodeCommand(NodeCommand {
            node_id: 1,
            command: Command::InstallPot(InstallPot {
                pot_id: "p".into(),
                honeypot_type: "cowrie".into(),
                git_url: None,
                git_branch: None,
                config: Some(config),
                auto_start: false,
            }),
        }));
        assert_eq!(frame.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(frame.ends_with(b"\n"));
        assert!(
            String::from_utf8(frame)
                .unwrap()
                .contains("\"banner\":\"a\\nb\"")
        );
    }

    #[test]
    fn node_side_messages_are_canonical() {
        let frame = encode(&NodeToCore::NodeEvent(NodeEvent {
            kind: NodeEventKind::Alarm,
            message: Some("disk".into()),
        }));
        assert_eq!(
            frame,
            b"{\"version\":2,\"message\":{\"NodeEvent\":{\"type\":\"Alarm\",\"message\":\"disk\"}}}\n"
        );
        assert_eq!(
            encode(&NodeToCore::NodeDrop),
            b"{\"version\":2,\"message\":{\"NodeDrop\":{}}}\n"
        );
    }
}
