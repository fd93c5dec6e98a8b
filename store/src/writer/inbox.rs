//! What the writer thread is sent, and when it is woken for it.
//!
//! A channel wakes its receiver for every message. At real fan-in that is a futex wake and two
//! context switches per event (thousands of nodes each sending one event now and then), for a
//! writer that only commits once per commit interval anyway. The inbox wakes the writer only
//! when waking changes what it does: it sleeps with nothing due (the first message starts a
//! batch), or the message is urgent (a receipt's short group-commit window, a flush, the
//! shutdown). Events and fleet changes that arrive while the writer holds queued work wait for
//! its commit, which is due no later than theirs would be (one commit interval after the
//! oldest), as they would in the writer's queue.

use std::sync::{Condvar, Mutex};
use std::time::Instant;

use super::{Msg, lock};
use crate::error::StoreError;

#[derive(Debug, Default)]
pub(crate) struct Inbox {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    msgs: Vec<Msg>,
    /// The writer is asleep until its queued work is due (or sooner).
    sleeping_until_due: bool,
    /// The writer has stopped: nothing is taken any more.
    closed: bool,
}

impl Inbox {
    /// Hands `msg` to the writer; fails (dropping it) when the writer has stopped.
    pub(crate) fn send(&self, msg: Msg) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(StoreError::WriterStopped);
        }
        let routine = matches!(msg, Msg::Events(_) | Msg::Fleet(_));
        state.msgs.push(msg);
        if !(routine && state.sleeping_until_due) {
            // Woken once: later routine messages wait for the deadline the writer sets next.
            state.sleeping_until_due = true;
            drop(state);
            self.wake.notify_one();
        }
        Ok(())
    }

    /// The writer takes what was sent, waiting for it until `due` (`None` = no time set).
    /// `holding`: the writer has queued work, so `due` is no later than that work's commit.
    /// Returns an empty batch when `due` passes first.
    pub(crate) fn receive(&self, due: Option<Instant>, holding: bool, into: &mut Vec<Msg>) {
        let mut state = lock(&self.state);
        loop {
            if !state.msgs.is_empty() {
                std::mem::swap(&mut state.msgs, into);
                return;
            }
            state.sleeping_until_due = holding && due.is_some();
            match due {
                None => state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(due) => {
                    let Some(left) = due.checked_duration_since(Instant::now()) else {
                        return;
                    };
                    state = self
                        .wake
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }

    /// Whatever was sent and not yet taken, without waiting.
    pub(crate) fn take(&self, into: &mut Vec<Msg>) {
        std::mem::swap(&mut lock(&self.state).msgs, into);
    }

    /// The writer stops taking messages: later sends fail, and those still here are dropped
    /// (a flush waiting on one learns the writer stopped).
    pub(crate) fn close(&self) {
        let msgs = {
            let mut state = lock(&self.state);
            state.closed = true;
            std::mem::take(&mut state.msgs)
        };
        drop(msgs);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Sends `msg` from another thread shortly after the writer starts waiting; returns how
    /// long the writer waited and how many messages it took.
    fn wait_for(msg: Msg, due_in: Duration, holding: bool) -> (Duration, usize) {
        let inbox = Arc::new(Inbox::default());
        let sender = {
            let inbox = Arc::clone(&inbox);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                inbox.send(msg).unwrap();
            })
        };
        let started = Instant::now();
        let mut msgs = Vec::new();
        while msgs.is_empty() {
            inbox.receive(Some(started + due_in), holding, &mut msgs);
        }
        sender.join().unwrap();
        (started.elapsed(), msgs.len())
    }

    #[test]
    fn routine_messages_wait_for_the_commit_the_writer_holds() {
        let (waited, taken) = wait_for(Msg::Events(Vec::new()), Duration::from_millis(600), true);
        assert!(waited >= Duration::from_millis(600), "{waited:?}");
        assert_eq!(taken, 1);
    }

    #[test]
    fn the_first_message_and_urgent_ones_wake_the_writer() {
        let long = Duration::from_secs(30);
        let (waited, _) = wait_for(Msg::Events(Vec::new()), long, false);
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        let (waited, _) = wait_for(Msg::Shutdown, long, true);
        assert!(waited < Duration::from_secs(10), "{waited:?}");
    }

    #[test]
    fn a_closed_inbox_refuses_and_drops_what_waited() {
        let inbox = Inbox::default();
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        inbox.send(Msg::Flush(reply)).unwrap();
        inbox.close();
        assert!(
            answer.recv().is_err(),
            "the flush learns the writer stopped"
        );
        assert!(inbox.send(Msg::Shutdown).is_err());
    }
}
