//! Fuzzes the frame splitter and both frame decoders.
//!
//! Input layout: two seed bytes, then the byte stream. The seed (little-endian u16) picks the
//! splitter's `max_frame` (16..=1040) and the positions at which the stream is cut into chunks.
//!
//! Checked:
//! - feeding the stream in chunks gives exactly the items of feeding it in one push (chunking
//!   never changes the result);
//! - no `Frame::Data` is empty, longer than `max_frame`, or holds a `\n`;
//! - `Frame::Overflow` is the last item, comes only right after a `Frame::TooLarge`, and pushes
//!   after it yield nothing;
//! - decoding never panics, and every message that decodes survives the canonical round trip:
//!   `decode(encode(msg) minus its '\n')` is `Ok` with an equal message and version 2;
//! - a message decoded from a splitter frame re-encodes as exactly one frame: one `\n`, at the
//!   end, and the splitter gives back exactly that frame;
//! - the raw stream also goes to `decode_node_frame`, `decode_core_frame` and `decode_command`
//!   directly (round trip checked for what decodes; a command by wrapping it in a
//!   `NodeCommand`).

#![no_main]

use honeybee_protocol::{
    CoreToNode, DecodeError, Decoded, Frame, FrameSplitter, NodeCommand, NodeToCore, WireMessage,
    decode_command, decode_core_frame, decode_node_frame, encode,
};
use libfuzzer_sys::fuzz_target;

/// splitmix64: a tiny deterministic generator for the chunk boundaries.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Every item of `stream` fed in one push, then `finish`.
fn split_whole(max_frame: usize, stream: &[u8]) -> Vec<Frame> {
    let mut splitter = FrameSplitter::new(max_frame);
    let mut items = splitter.push(stream);
    items.extend(splitter.finish());
    items
}

/// Every item of `stream` fed in chunks cut where `rng` says, then `finish`. Also checks that
/// nothing at all comes out after an `Overflow`.
fn split_chunked(max_frame: usize, stream: &[u8], rng: &mut Rng) -> Vec<Frame> {
    let mut splitter = FrameSplitter::new(max_frame);
    let mut items: Vec<Frame> = Vec::new();
    let mut rest = stream;
    loop {
        let r = rng.next();
        let want = match r % 8 {
            0 => 0, // empty pushes must be harmless
            1..=3 => 1 + (r >> 8) as usize % 4,
            4..=6 => 1 + (r >> 8) as usize % 64,
            _ => 1 + (r >> 8) as usize % (4 * max_frame + 8),
        };
        let (chunk, tail) = rest.split_at(want.min(rest.len()));
        let closed = items.contains(&Frame::Overflow);
        let out = splitter.push(chunk);
        assert!(
            !closed || out.is_empty(),
            "push after Overflow yielded {out:?}"
        );
        items.extend(out);
        rest = tail;
        if rest.is_empty() {
            break;
        }
    }
    let closed = items.contains(&Frame::Overflow);
    let out = splitter.finish();
    assert!(
        !closed || out.is_empty(),
        "finish after Overflow yielded {out:?}"
    );
    items.extend(out);
    items
}

/// `decode(encode(msg))` gives `msg` back, with version 2. With `one_frame`, the encoding
/// must also be exactly one frame for the splitter.
fn check_round_trip<M>(
    message: &M,
    one_frame: bool,
    decode: fn(&[u8]) -> Result<Decoded<M>, DecodeError>,
) where
    M: WireMessage + PartialEq + std::fmt::Debug,
{
    let wire = encode(message);
    let body = strip_newline(&wire);
    match decode(body) {
        Ok(again) => {
            assert_eq!(again.version, 2, "re-encoded frame: {}", escape(&wire));
            assert_eq!(
                &again.message,
                message,
                "re-encoded frame: {}",
                escape(&wire)
            );
        }
        Err(e) => panic!(
            "canonical encoding of a decoded message does not decode: {e:?}\n\
             message: {message:?}\nre-encoded frame: {}",
            escape(&wire)
        ),
    }
    if one_frame {
        check_one_frame(&wire);
    }
}

fn check_node_round_trip(message: &NodeToCore, one_frame: bool) {
    check_round_trip(message, one_frame, decode_node_frame);
}

fn check_core_round_trip(message: &CoreToNode, one_frame: bool) {
    check_round_trip(message, one_frame, decode_core_frame);
}

fn strip_newline(wire: &[u8]) -> &[u8] {
    match wire {
        [body @ .., b'\n'] => body,
        _ => panic!("encoded frame does not end with \\n: {}", escape(wire)),
    }
}

/// `wire` holds exactly one `\n`, at its end, and splits back into exactly its body.
fn check_one_frame(wire: &[u8]) {
    let body = strip_newline(wire);
    assert!(
        !body.contains(&b'\n'),
        "encoded frame holds a raw newline: {}",
        escape(wire)
    );
    let items = split_whole(body.len(), wire);
    assert_eq!(
        items,
        vec![Frame::Data(body.to_vec().into())],
        "encoded frame does not split back into itself: {}",
        escape(wire)
    );
}

/// Decodes one splitter frame (or the raw stream) every way; must never panic.
fn decode_all(frame: &[u8], from_splitter: bool) {
    if let Ok(decoded) = decode_node_frame(frame) {
        check_node_round_trip(&decoded.message, from_splitter);
    }
    if let Ok(decoded) = decode_core_frame(frame) {
        check_core_round_trip(&decoded.message, from_splitter);
    }
}

fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

fuzz_target!(|data: &[u8]| {
    let [s0, s1, stream @ ..] = data else {
        return;
    };
    let seed = u16::from_le_bytes([*s0, *s1]);
    let max_frame = 16 + usize::from(seed) % 1025; // 16..=1040
    let mut rng = Rng(u64::from(seed) ^ 0xA076_1D64_78BD_642F);

    let whole = split_whole(max_frame, stream);
    let chunked = split_chunked(max_frame, stream, &mut rng);
    assert_eq!(
        chunked, whole,
        "chunking changed the frames (max_frame {max_frame})"
    );

    if let Some(at) = whole.iter().position(|f| *f == Frame::Overflow) {
        assert_eq!(at + 1, whole.len(), "items after Overflow: {whole:?}");
        assert!(
            at > 0 && whole[at - 1] == Frame::TooLarge,
            "Overflow not right after a TooLarge: {whole:?}"
        );
    }

    for frame in &whole {
        if let Frame::Data(bytes) = frame {
            assert!(!bytes.is_empty(), "empty Data frame");
            assert!(
                bytes.len() <= max_frame,
                "Data frame of {} bytes over max_frame {max_frame}",
                bytes.len()
            );
            assert!(
                !bytes.contains(&b'\n'),
                "Data frame holds a newline: {}",
                escape(bytes)
            );
            decode_all(bytes, true);
        }
    }

    // The raw stream, straight to the decoders.
    decode_all(stream, false);
    if let Ok(command) = decode_command(stream) {
        check_core_round_trip(
            &CoreToNode::NodeCommand(NodeCommand {
                node_id: 0,
                command,
            }),
            false,
        );
    }
});
