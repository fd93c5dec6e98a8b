//! Process-wide counters for `/metrics`: plain atomics shared by every session, the registry and
//! the command tracker. Counting never waits and never allocates.

use std::sync::atomic::{AtomicU64, Ordering};

use honeybee_protocol::{ErrorCode, RefusalCode};

/// How a tracked command ended (the `outcome` label of `honeybee_commands_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Completed,
    Failed,
    TimedOut,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Completed, Outcome::Failed, Outcome::TimedOut];

    /// The API's and the metric's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed_out",
        }
    }
}

#[derive(Debug, Default)]
pub struct Counters {
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bad_frames: [AtomicU64; ErrorCode::ALL.len()],
    commands: [AtomicU64; Outcome::ALL.len()],
    auth_failures: [AtomicU64; RefusalCode::ALL.len()],
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub fn frame_in(&self) {
        bump(&self.frames_in);
    }

    pub fn frame_out(&self) {
        bump(&self.frames_out);
    }

    pub fn bad_frame(&self, code: ErrorCode) {
        if let Some(i) = ErrorCode::ALL.iter().position(|c| *c == code) {
            bump(&self.bad_frames[i]);
        }
    }

    pub fn command(&self, outcome: Outcome) {
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == outcome) {
            bump(&self.commands[i]);
        }
    }

    pub fn auth_failure(&self, code: RefusalCode) {
        if let Some(i) = RefusalCode::ALL.iter().position(|c| *c == code) {
            bump(&self.auth_failures[i]);
        }
    }

    pub fn frames_in(&self) -> u64 {
        self.frames_in.load(Ordering::Relaxed)
    }

    pub fn frames_out(&self) -> u64 {
        self.frames_out.load(Ordering::Relaxed)
    }

    /// Bad frames per protocol error code, in `ErrorCode::ALL` order.
    pub fn bad_frames(&self) -> impl Iterator<Item = (ErrorCode, u64)> + '_ {
        ErrorCode::ALL
            .into_iter()
            .zip(self.bad_frames.iter().map(|c| c.load(Ordering::Relaxed)))
    }

    /// Finished commands per outcome.
    pub fn commands(&self) -> impl Iterator<Item = (Outcome, u64)> + '_ {
        Outcome::ALL
            .into_iter()
            .zip(self.commands.iter().map(|c| c.load(Ordering::Relaxed)))
    }

    /// Refused registrations per refusal code.
    pub fn auth_failures(&self) -> impl Iterator<Item = (RefusalCode, u64)> + '_ {
        RefusalCode::ALL
            .into_iter()
            .zip(self.auth_failures.iter().map(|c| c.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_label_counts_on_its_own() {
        let c = Counters::default();
        c.bad_frame(ErrorCode::MessageTooLarge);
        c.bad_frame(ErrorCode::MessageTooLarge);
        c.command(Outcome::TimedOut);
        c.auth_failure(RefusalCode::LockedOut);
        c.frame_in();
        let bad: Vec<_> = c.bad_frames().filter(|(_, n)| *n > 0).collect();
        assert_eq!(bad, [(ErrorCode::MessageTooLarge, 2)]);
        let commands: Vec<_> = c.commands().filter(|(_, n)| *n > 0).collect();
        assert_eq!(commands, [(Outcome::TimedOut, 1)]);
        let auth: Vec<_> = c.auth_failures().filter(|(_, n)| *n > 0).collect();
        assert_eq!(auth, [(RefusalCode::LockedOut, 1)]);
        assert_eq!((c.frames_in(), c.frames_out()), (1, 0));
    }
}
