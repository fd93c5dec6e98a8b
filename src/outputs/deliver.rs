//! What a delivery attempt says, and the one type every sink kind is driven through.
//!
//! A follower hands items to its sink in order. The sink answers with an [`Outcome`]: how many
//! of the oldest items handed and not yet settled are now settled (delivered, or refused for
//! good and listed in `dead`), and, if something failed in a way worth retrying, why. After an
//! error the follower hands everything unsettled again, from its durable position, after a
//! backoff: a receiver may see an item twice, always with the same id.

use super::bulk::BulkSink;
use super::hec::HecSink;
use super::item::{Item, ItemKey};
use super::syslog::SyslogSink;
use super::webhook::WebhookSink;

/// An item a receiver refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Dead {
    pub key: ItemKey,
    /// The alert id for an alert (the key holds its change's `seq`).
    pub alert_id: Option<u64>,
    pub status: Option<u16>,
    pub error: String,
}

impl Dead {
    pub(super) fn of(item: &Item, status: Option<u16>, error: String) -> Dead {
        Dead {
            key: item.key(),
            alert_id: match item {
                Item::Alert(c) => Some(c.alert.alert_id),
                _ => None,
            },
            status,
            error,
        }
    }
}

/// The answer to one attempt.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Oldest unsettled items now settled (dead ones included).
    pub settled: usize,
    pub dead: Vec<Dead>,
    /// Why the rest failed: retried after a backoff. `None` with items unsettled means they
    /// are in flight (a syslog stream confirms a little later).
    pub error: Option<String>,
}

impl Outcome {
    pub(super) fn all(n: usize) -> Outcome {
        Outcome {
            settled: n,
            ..Outcome::default()
        }
    }

    pub(super) fn failed(settled: usize, error: impl Into<String>) -> Outcome {
        Outcome {
            settled,
            error: Some(error.into()),
            ..Outcome::default()
        }
    }
}

/// A sink of any kind.
pub(super) enum Sender {
    Syslog(Box<SyslogSink>),
    Hec(Box<HecSink>),
    Webhook(Box<WebhookSink>),
    Bulk(Box<BulkSink>),
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sender::Syslog(_) => "Sender::Syslog",
            Sender::Hec(_) => "Sender::Hec",
            Sender::Webhook(_) => "Sender::Webhook",
            Sender::Bulk(_) => "Sender::Bulk",
        })
    }
}

impl Sender {
    /// Delivers `items` (the next ones after everything handed before).
    pub(super) async fn send(&mut self, items: &[Item]) -> Outcome {
        match self {
            Sender::Syslog(s) => s.send(items).await,
            Sender::Hec(s) => s.send(items).await,
            Sender::Webhook(s) => s.send(items).await,
            Sender::Bulk(s) => s.send(items).await,
        }
    }

    /// Settles what was handed and is confirmed by now (only a syslog stream holds any).
    pub(super) async fn poll(&mut self) -> Outcome {
        match self {
            Sender::Syslog(s) => s.poll().await,
            _ => Outcome::default(),
        }
    }

    /// Items handed and not settled yet.
    pub(super) fn in_flight(&self) -> usize {
        match self {
            Sender::Syslog(s) => s.in_flight(),
            _ => 0,
        }
    }

    /// Forgets what is in flight (the follower hands it again after an error).
    pub(super) fn reset(&mut self) {
        if let Sender::Syslog(s) = self {
            s.reset();
        }
    }

    /// Work to do once before the first delivery (the `_bulk` sink's index template).
    pub(super) async fn prepare(&mut self) -> Result<(), String> {
        match self {
            Sender::Bulk(s) => s.prepare().await,
            _ => Ok(()),
        }
    }
}
