//! Subscribers to committed events. The writer hands each commit to every subscriber with
//! `try_send`: one whose buffer is full has lagged and is dropped, never waited for.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use super::lock;
use crate::event::Committed;

#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    list: Mutex<Vec<SyncSender<Arc<Committed>>>>,
}

impl Subscribers {
    pub(crate) fn add(&self, capacity: usize) -> Receiver<Arc<Committed>> {
        let (tx, rx) = mpsc::sync_channel(capacity);
        lock(&self.list).push(tx);
        rx
    }

    pub(crate) fn is_empty(&self) -> bool {
        lock(&self.list).is_empty()
    }

    /// Sends `commit` to every subscriber; drops those that are full or gone.
    pub(crate) fn publish(&self, commit: Committed) {
        let commit = Arc::new(commit);
        lock(&self.list).retain(|tx| match tx.try_send(Arc::clone(&commit)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                log::warn!(
                    "A store subscriber fell behind by a full buffer; dropping it (it resumes from the store)."
                );
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
    }
}
