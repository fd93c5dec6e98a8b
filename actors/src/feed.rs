//! The live feed behind `GET /api/v1/stream`: every stored event batch and every node, pot,
//! command and alert change, published once to a bounded broadcast channel. Publishing never
//! waits: a subscriber that falls a whole buffer behind learns it lagged (and the stream closes
//! it with a reason) — a slow client never slows the fleet or other clients.

use std::sync::Arc;

use honeybee_store::Committed;
use tokio::sync::broadcast;

use crate::alerts::Alert;
use crate::registry::{NodeView, PotView};

/// Changes buffered per subscriber before it counts as lagging. The ring holds the last ones
/// for as long as the slowest subscriber has not read them, so it is kept small, and stored
/// events come in chunks of at most [`EVENTS_PER_CHANGE`]: at most about 1,024 × 64 events.
pub const FEED_CAPACITY: usize = 1024;

/// Stored events per `Change::Events`.
pub const EVENTS_PER_CHANGE: usize = 64;

#[derive(Debug)]
pub enum Change {
    /// One commit of stored events, in id order.
    Events(Arc<Committed>),
    Node(NodeView),
    Pot(PotView),
    Command(crate::commands::CommandView),
    Alert(Alert),
}

#[derive(Debug, Clone)]
pub struct Feed {
    tx: broadcast::Sender<Arc<Change>>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new(FEED_CAPACITY)
    }
}

impl Feed {
    pub fn new(capacity: usize) -> Self {
        Feed {
            tx: broadcast::channel(capacity.max(1)).0,
        }
    }

    /// Publishes a change (dropped at once when nobody listens).
    pub fn publish(&self, change: Change) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(Arc::new(change));
        }
    }

    /// Whether anybody listens (lets publishers skip building a change).
    pub fn listened(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }
}
