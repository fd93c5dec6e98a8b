//! Misbehaviour on demand: what each kind does, and the bad frames it sends (pure builders).
//!
//! Per-node kinds (given to `--misbehave-share` of the fleet, round robin over the kinds
//! listed): `garbage`, `oversize`, `slowloris`, `spoofed-ids`, `reconnect-storm`. Fleet-wide:
//! `half-drop` (every second node drops its connection at once mid-run and comes back).

use std::fmt;
use std::str::FromStr;

use honeybee_protocol::{
    EventData, NodeId, NodeStatus, NodeStatusUpdate, NodeToCore, PotEvent, encode,
};
use serde_json::{Map, Value};

use crate::rng::Rng;

/// A kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Misbehaviour {
    /// Non-JSON lines now and then (`MESSAGE_PARSE_FAILED`).
    Garbage,
    /// Frames past the 64 KiB limit now and then (`MESSAGE_TOO_LARGE`).
    Oversize,
    /// Frames sent one byte at a time, slowly.
    Slowloris,
    /// Frames carrying another node's id (`NODE_ID_MISMATCH`).
    SpoofedIds,
    /// Connect, register, disconnect, again and again.
    ReconnectStorm,
    /// Fleet-wide: half the nodes drop at once mid-run and come back.
    HalfDrop,
}

impl Misbehaviour {
    /// Every kind.
    pub const ALL: [Misbehaviour; 6] = [
        Misbehaviour::Garbage,
        Misbehaviour::Oversize,
        Misbehaviour::Slowloris,
        Misbehaviour::SpoofedIds,
        Misbehaviour::ReconnectStorm,
        Misbehaviour::HalfDrop,
    ];

    /// The name on the command line and in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Misbehaviour::Garbage => "garbage",
            Misbehaviour::Oversize => "oversize",
            Misbehaviour::Slowloris => "slowloris",
            Misbehaviour::SpoofedIds => "spoofed-ids",
            Misbehaviour::ReconnectStorm => "reconnect-storm",
            Misbehaviour::HalfDrop => "half-drop",
        }
    }

    /// Whether the kind is given to single nodes (all but `half-drop`).
    pub const fn per_node(self) -> bool {
        !matches!(self, Misbehaviour::HalfDrop)
    }
}

impl fmt::Display for Misbehaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Misbehaviour {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Misbehaviour::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Misbehaviour::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown misbehaviour {s:?} (one of: {})", names.join(", "))
            })
    }
}

/// One line that is not a frame: HTTP, TLS and SSH openings aimed at the wrong port, a cut-off
/// object, binary noise.
pub fn garbage_line(rng: &mut Rng) -> Vec<u8> {
    let mut line = match rng.below(6) {
        0 => b"GET / HTTP/1.1\r".to_vec(),
        1 => b"SSH-2.0-Go\r".to_vec(),
        2 => b"{\"version\":2,\"message\":{\"PotEvent\":{\"node_id\":".to_vec(),
        3 => b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
        4 => b"hello core, this is not JSON".to_vec(),
        _ => (0..rng.range(8, 64))
            .map(|_| rng.range(0x21, 0x7e) as u8)
            .filter(|&b| b != b'{')
            .collect(),
    };
    line.push(b'\n');
    line
}

/// A `PotEvent` frame of about `bytes` bytes (past the Core's limit when `bytes` is).
pub fn oversize_frame(node_id: NodeId, pot_id: &str, bytes: usize) -> Vec<u8> {
    let mut data = Map::new();
    data.insert("src_ip".into(), Value::from("198.51.100.77"));
    data.insert("payload".into(), Value::from("A".repeat(bytes)));
    encode(&NodeToCore::PotEvent(PotEvent {
        node_id,
        pot_id: pot_id.to_owned(),
        pot_type: None,
        event_type: "oversize.payload".into(),
        timestamp: None,
        data: EventData::from_map(&data),
    }))
}

/// A frame carrying `other`'s id instead of the node's own: a heartbeat or an event.
pub fn spoofed_frame(other: NodeId, rng: &mut Rng) -> Vec<u8> {
    if rng.chance(0.5) {
        return encode(&NodeToCore::NodeStatusUpdate(NodeStatusUpdate {
            node_id: other,
            status: NodeStatus::Failed,
        }));
    }
    let mut data = Map::new();
    data.insert("src_ip".into(), Value::from("203.0.113.66"));
    data.insert("message".into(), Value::from("spoofed"));
    encode(&NodeToCore::PotEvent(PotEvent {
        node_id: other,
        pot_id: "cowrie-01".into(),
        pot_type: Some("cowrie".into()),
        event_type: "cowrie.session.connect".into(),
        timestamp: None,
        data: EventData::from_map(&data),
    }))
}

#[cfg(test)]
mod tests {
    use honeybee_protocol::{ErrorCode, Frame, FrameSplitter, decode_node_frame};

    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in Misbehaviour::ALL {
            assert_eq!(kind.as_str().parse::<Misbehaviour>(), Ok(kind));
        }
        let err = "nonsense".parse::<Misbehaviour>().unwrap_err();
        assert!(err.contains("garbage, oversize"), "{err}");
    }

    #[test]
    fn garbage_is_one_bad_frame_per_line() {
        let mut rng = Rng::new(5);
        for _ in 0..200 {
            let line = garbage_line(&mut rng);
            let mut splitter = FrameSplitter::new(64 * 1024);
            let frames = splitter.push(&line);
            assert_eq!(frames.len(), 1, "{line:?}");
            let Frame::Data(frame) = &frames[0] else {
                panic!("{frames:?}")
            };
            let err = decode_node_frame(frame).unwrap_err();
            assert!(
                matches!(
                    err.code,
                    ErrorCode::MessageParseFailed | ErrorCode::InvalidMessageFormat
                ),
                "{err:?}"
            );
        }
    }

    #[test]
    fn oversize_frames_pass_the_limit() {
        let frame = oversize_frame(1, "cowrie-01", 70_000);
        assert!(frame.len() > 64 * 1024);
        let mut splitter = FrameSplitter::new(64 * 1024);
        assert_eq!(splitter.push(&frame), vec![Frame::TooLarge]);
    }

    #[test]
    fn spoofed_frames_decode_with_the_other_id() {
        let mut rng = Rng::new(6);
        for _ in 0..20 {
            let frame = spoofed_frame(42, &mut rng);
            let decoded = decode_node_frame(&frame[..frame.len() - 1]).unwrap();
            assert_eq!(decoded.message.node_id(), Some(42));
        }
    }
}
