//! The session's messages and how a session ends.

use std::fmt;

use actix::prelude::*;
use honeybee_protocol::CoreToNode;

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// `NodeDrop`: the node said goodbye (it keeps its last status).
    NodeDrop,
    /// The peer closed the connection.
    Eof,
    /// A read or write failed.
    IoError(String),
    /// No frame within `protocol.heartbeat_timeout_secs`.
    HeartbeatTimeout,
    /// No `NodeRegistration` within `protocol.registration_timeout_secs`.
    RegistrationTimeout,
    /// The registration was refused.
    Refused,
    /// More bad frames than `protocol.max_bad_frames_per_minute`.
    RateLimited,
    /// An overlong line ran past 4 × the frame limit.
    FramingOverflow,
    /// A newer connection of the same node replaced this one.
    Replaced,
    /// The Core is shutting down.
    Shutdown,
    /// An operator revoked the node.
    Revoked,
    /// The node left more output unread than the session may hold for it.
    OutputBacklog,
    /// The session actor died without ending normally (a panic).
    Crashed,
    /// The registration was accepted, but the store did not make it durable in time (it is
    /// failing or far behind): no ack was written, and the node retries.
    NotStored,
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::NodeDrop => f.write_str("NodeDrop"),
            EndReason::Eof => f.write_str("connection closed by the node"),
            EndReason::IoError(e) => write!(f, "I/O error: {e}"),
            EndReason::HeartbeatTimeout => f.write_str("heartbeat timeout"),
            EndReason::RegistrationTimeout => f.write_str("registration timeout"),
            EndReason::Refused => f.write_str("registration refused"),
            EndReason::RateLimited => f.write_str("too many bad frames"),
            EndReason::FramingOverflow => f.write_str("overlong line without a newline"),
            EndReason::Replaced => f.write_str("replaced by a newer connection"),
            EndReason::Shutdown => f.write_str("Core shutting down"),
            EndReason::Revoked => f.write_str("revoked by an operator"),
            EndReason::OutputBacklog => f.write_str("the node does not read what it is sent"),
            EndReason::Crashed => f.write_str("session crashed"),
            EndReason::NotStored => f.write_str("its registration could not be stored in time"),
        }
    }
}

/// Write a frame to the node (only once it is registered).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Deliver(pub CoreToNode);

/// Close the session, flushing what was written.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct CloseSession(pub EndReason);

/// Test-only fault hook: panic inside the handler.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct InjectPanic;
