//! The protocol's error vocabulary: `ProtocolError` codes, registration refusal codes, and the
//! decoder's typed error.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A code carried by the `ProtocolError` extension (Core → Node), naming what was wrong with a
/// frame. The wire form is the SCREAMING_SNAKE_CASE name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Not JSON, or not UTF-8.
    MessageParseFailed,
    /// JSON, but not a valid envelope or message.
    InvalidMessageFormat,
    /// A variant name that is not a Node → Core message.
    UnknownMessageType,
    /// A frame over the configured limit.
    MessageTooLarge,
    /// A frame before any `NodeRegistration` on this connection.
    NotRegistered,
    /// A second `NodeRegistration` on a registered connection.
    AlreadyRegistered,
    /// A frame whose `node_id` is not this connection's node.
    NodeIdMismatch,
    /// Too many bad frames; the connection is closed right after this.
    RateLimited,
}

impl ErrorCode {
    /// Every code, in the order of PROTOCOL.md's table.
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::MessageParseFailed,
        ErrorCode::InvalidMessageFormat,
        ErrorCode::UnknownMessageType,
        ErrorCode::MessageTooLarge,
        ErrorCode::NotRegistered,
        ErrorCode::AlreadyRegistered,
        ErrorCode::NodeIdMismatch,
        ErrorCode::RateLimited,
    ];

    /// The wire name, e.g. `"MESSAGE_PARSE_FAILED"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MessageParseFailed => "MESSAGE_PARSE_FAILED",
            ErrorCode::InvalidMessageFormat => "INVALID_MESSAGE_FORMAT",
            ErrorCode::UnknownMessageType => "UNKNOWN_MESSAGE_TYPE",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::NotRegistered => "NOT_REGISTERED",
            ErrorCode::AlreadyRegistered => "ALREADY_REGISTERED",
            ErrorCode::NodeIdMismatch => "NODE_ID_MISMATCH",
            ErrorCode::RateLimited => "RATE_LIMITED",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a registration was refused. A refusing `RegistrationAck`'s `message` starts with the code,
/// then `": "` and a human reason. These are never sent as a `ProtocolError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// Wrong, missing or replayed TOTP code.
    AuthenticationFailed,
    /// Too many failures from this (identity, source) or this source.
    LockedOut,
    /// The identity waits for an operator's approval.
    PendingApproval,
    /// The identity was revoked.
    Revoked,
    /// An unknown node in `closed` enrollment mode.
    EnrollmentClosed,
    /// Enrollment flood limits.
    EnrollmentLimit,
    /// `protocol.strict_version` and a version other than 2.
    ProtocolVersionMismatch,
}

impl RefusalCode {
    /// Every code.
    pub const ALL: [RefusalCode; 7] = [
        RefusalCode::AuthenticationFailed,
        RefusalCode::LockedOut,
        RefusalCode::PendingApproval,
        RefusalCode::Revoked,
        RefusalCode::EnrollmentClosed,
        RefusalCode::EnrollmentLimit,
        RefusalCode::ProtocolVersionMismatch,
    ];

    /// The wire name, e.g. `"LOCKED_OUT"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RefusalCode::AuthenticationFailed => "AUTHENTICATION_FAILED",
            RefusalCode::LockedOut => "LOCKED_OUT",
            RefusalCode::PendingApproval => "PENDING_APPROVAL",
            RefusalCode::Revoked => "REVOKED",
            RefusalCode::EnrollmentClosed => "ENROLLMENT_CLOSED",
            RefusalCode::EnrollmentLimit => "ENROLLMENT_LIMIT",
            RefusalCode::ProtocolVersionMismatch => "PROTOCOL_VERSION_MISMATCH",
        }
    }

    /// The ack message for this refusal: `"CODE: reason"`.
    pub fn message(self, reason: &str) -> String {
        format!("{}: {reason}", self.as_str())
    }
}

impl fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A frame that could not be decoded: the exact `ProtocolError` code to answer with, and a short
/// human detail. The detail is safe to log and to send: it is truncated and has control
/// characters escaped, and the decoder never puts a TOTP code or key into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct DecodeError {
    /// The code for the `ProtocolError` answer.
    pub code: ErrorCode,
    /// What was wrong, for humans.
    pub detail: String,
}

/// Longest detail text kept in a [`DecodeError`], in characters.
const MAX_DETAIL_CHARS: usize = 160;

impl DecodeError {
    /// Makes an error, sanitising the detail (truncated, control characters escaped).
    pub fn new(code: ErrorCode, detail: impl fmt::Display) -> Self {
        DecodeError {
            code,
            detail: sanitize(&detail.to_string(), MAX_DETAIL_CHARS),
        }
    }
}

/// Escapes control characters and truncates to `max_chars`, for text that came from a peer and
/// is about to reach a log line or an error message.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars + 8));
    let mut written = 0;
    for c in text.chars() {
        let escaped = c.is_control().then(|| c.escape_default());
        let width = escaped.clone().map_or(1, Iterator::count);
        if written + width > max_chars {
            out.push('…');
            break;
        }
        written += width;
        match escaped {
            Some(escape) => out.extend(escape),
            None => out.push(c),
        }
    }
    out
}

/// A condition the decoder reports to the session while still decoding the frame: logged once per
/// connection, never answered on the wire, not a bad frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeWarning {
    /// The envelope carried a version other than 2 (legacy v1 clients send the same shapes).
    ProtocolVersionMismatch {
        /// The version the envelope carried.
        received: u64,
    },
}

impl DecodeWarning {
    /// The warning's name, e.g. `"PROTOCOL_VERSION_MISMATCH"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DecodeWarning::ProtocolVersionMismatch { .. } => "PROTOCOL_VERSION_MISMATCH",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
    }

    #[test]
    fn refusal_message_starts_with_the_code() {
        assert_eq!(
            RefusalCode::PendingApproval.message("waiting for an operator"),
            "PENDING_APPROVAL: waiting for an operator"
        );
    }

    #[test]
    fn sanitize_escapes_and_truncates() {
        assert_eq!(sanitize("a\u{1b}[31mb\n", 100), "a\\u{1b}[31mb\\n");
        assert_eq!(sanitize("abcdef", 3), "abc…");
        assert_eq!(sanitize("héllo", 5), "héllo");
    }
}
