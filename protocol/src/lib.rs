//! HoneyBee Protocol v2: the wire contract between the Core and its nodes, as pure functions
//! over bytes and values. No I/O, no actix, no sockets.
//!
//! - [`types`]: the messages of both directions ([`NodeToCore`], [`CoreToNode`], [`Command`],
//!   statuses) and their canonical JSON.
//! - [`decode`]: the lenient decoder. Every shape real peers send is mapped onto the canonical
//!   types there and only there; anything else is a [`DecodeError`] with the exact
//!   `ProtocolError` code.
//! - [`encode`]: the canonical encoder (compact JSON, one `\n` per frame).
//! - [`framing`]: the incremental [`FrameSplitter`], also a tokio-util `Decoder` (feature
//!   `codec`) whose recoverable problems are items, not errors.
//! - [`validate`] and [`git_url`]: the checks everything the Core sends must pass.
//!
//! ```
//! use honeybee_protocol::{decode_node_frame, encode, CoreToNode, NodeToCore, RegistrationAck};
//!
//! let frame = br#"{"version":2,"message":{"NodeEvent":"Started"}}"#;
//! let decoded = decode_node_frame(frame).unwrap();
//! assert!(matches!(decoded.message, NodeToCore::NodeEvent(_)));
//!
//! let ack = CoreToNode::RegistrationAck(RegistrationAck {
//!     node_id: Some(7),
//!     accepted: true,
//!     message: Some("Registration successful".into()),
//!     totp_key: None,
//! });
//! assert!(encode(&ack).ends_with(b"}\n"));
//! ```

pub mod decode;
pub mod encode;
pub mod error;
pub mod framing;
pub mod git_url;
pub mod secret;
pub mod time;
pub mod types;
pub mod validate;

pub use decode::{Decoded, decode_command, decode_core_frame, decode_node_frame};
pub use encode::{WireMessage, encode, encode_into};
pub use error::{DecodeError, DecodeWarning, ErrorCode, RefusalCode};
pub use framing::{Frame, FrameSplitter};
pub use git_url::{AllowedSources, GitUrl, GitUrlError};
pub use secret::SecretString;
pub use time::Timestamp;
pub use types::*;
pub use validate::{CommandError, FieldError};

/// The default `protocol.max_frame_bytes`.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024;
