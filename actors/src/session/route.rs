//! The session's routing rules as a pure function: given the session's phase and a decoded
//! frame, what to do with it (PROTOCOL.md's session rules 1, 5 and 7).

use honeybee_protocol::{ErrorCode, NodeId, NodeToCore, validate};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No `NodeRegistration` yet.
    Unregistered,
    /// Registered as this node.
    Registered { node_id: NodeId, session_id: u64 },
    /// Closing: frames are ignored.
    Closing,
}

/// What to do with a decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Ask the registry to register the node.
    Register,
    /// Answer with a `ProtocolError` of this code; otherwise ignore the frame (a bad frame).
    Reject(ErrorCode),
    /// Hand the message to the registry.
    Report,
    /// The node says goodbye: close cleanly.
    Goodbye,
    /// Drop it silently (the session is closing).
    Ignore,
}

pub fn route(phase: Phase, message: &NodeToCore) -> Route {
    match (phase, message) {
        (Phase::Closing, _) => Route::Ignore,
        (Phase::Unregistered, NodeToCore::NodeRegistration(_)) => Route::Register,
        (Phase::Unregistered, _) => Route::Reject(ErrorCode::NotRegistered),
        (Phase::Registered { .. }, NodeToCore::NodeRegistration(_)) => {
            Route::Reject(ErrorCode::AlreadyRegistered)
        }
        (Phase::Registered { node_id, .. }, message)
            if message.node_id().is_some_and(|id| id != node_id) =>
        {
            Route::Reject(ErrorCode::NodeIdMismatch)
        }
        // A pot id the Core could not send a command back with is no pot id: nodes use it as
        // a directory name, and it becomes a key of the fleet model.
        (Phase::Registered { .. }, NodeToCore::PotStatusUpdate(update))
            if validate::pot_id(&update.pot_id).is_err() =>
        {
            Route::Reject(ErrorCode::InvalidMessageFormat)
        }
        (Phase::Registered { .. }, NodeToCore::NodeDrop) => Route::Goodbye,
        (Phase::Registered { .. }, _) => Route::Report,
    }
}

#[cfg(test)]
mod tests {
    use honeybee_protocol::*;

    use super::*;

    fn registration(node_id: NodeId) -> NodeToCore {
        NodeToCore::NodeRegistration(NodeRegistration {
            node_id,
            node_name: "n".into(),
            address: "a".into(),
            port: 1,
            node_type: NodeType::Full,
            totp_code: None,
        })
    }

    fn status(node_id: NodeId) -> NodeToCore {
        NodeToCore::NodeStatusUpdate(NodeStatusUpdate {
            node_id,
            status: NodeStatus::Running,
        })
    }

    fn pot_status(node_id: NodeId, pot_id: &str) -> NodeToCore {
        NodeToCore::PotStatusUpdate(PotStatusUpdate {
            node_id,
            pot_id: pot_id.into(),
            pot_type: "cowrie".into(),
            status: PotStatus::Running,
            message: None,
        })
    }

    #[test]
    fn routing_table() {
        let registered = Phase::Registered {
            node_id: 7,
            session_id: 1,
        };
        let event = NodeToCore::NodeEvent(NodeEvent {
            kind: NodeEventKind::Started,
            message: None,
        });
        let table = [
            (Phase::Unregistered, registration(7), Route::Register),
            (
                Phase::Unregistered,
                status(7),
                Route::Reject(ErrorCode::NotRegistered),
            ),
            (
                Phase::Unregistered,
                NodeToCore::NodeDrop,
                Route::Reject(ErrorCode::NotRegistered),
            ),
            (
                registered,
                registration(7),
                Route::Reject(ErrorCode::AlreadyRegistered),
            ),
            (
                registered,
                registration(8),
                Route::Reject(ErrorCode::AlreadyRegistered),
            ),
            (registered, status(7), Route::Report),
            (
                registered,
                status(8),
                Route::Reject(ErrorCode::NodeIdMismatch),
            ),
            (registered, event.clone(), Route::Report),
            (registered, NodeToCore::NodeDrop, Route::Goodbye),
            (registered, pot_status(7, "cowrie-01"), Route::Report),
            (
                registered,
                pot_status(7, "../etc"),
                Route::Reject(ErrorCode::InvalidMessageFormat),
            ),
            (
                registered,
                pot_status(7, &"p".repeat(65)),
                Route::Reject(ErrorCode::InvalidMessageFormat),
            ),
            (
                registered,
                pot_status(8, "cowrie-01"),
                Route::Reject(ErrorCode::NodeIdMismatch),
            ),
            (Phase::Closing, status(7), Route::Ignore),
            (Phase::Closing, registration(7), Route::Ignore),
        ];
        for (phase, message, want) in table {
            assert_eq!(route(phase, &message), want, "{phase:?} {}", message.name());
        }
    }
}
