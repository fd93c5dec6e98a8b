//! Supervision building blocks: the restart policy (at most `max` restarts within `window`, with
//! exponential backoff, like an OTP supervisor's intensity and period) and the exit notice a
//! child sends its supervisor however it ends — a normal stop or a panic.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Restarts allowed within a sliding window, and the backoff before each.
#[derive(Debug, Clone)]
pub struct RestartBudget {
    max: u32,
    window: Duration,
    backoff_initial: Duration,
    backoff_max: Duration,
    recent: VecDeque<Instant>,
}

impl RestartBudget {
    pub fn new(
        max: u32,
        window: Duration,
        backoff_initial: Duration,
        backoff_max: Duration,
    ) -> Self {
        RestartBudget {
            max,
            window,
            backoff_initial,
            backoff_max,
            recent: VecDeque::new(),
        }
    }

    /// Records a restart at `now` and returns the delay before it, or `None` when `max`
    /// restarts already happened within the window (give up).
    pub fn next_restart(&mut self, now: Instant) -> Option<Duration> {
        while let Some(&oldest) = self.recent.front() {
            if now.duration_since(oldest) >= self.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= self.max as usize {
            return None;
        }
        let doublings = self.recent.len().min(31) as u32;
        self.recent.push_back(now);
        Some(
            self.backoff_initial
                .saturating_mul(1 << doublings)
                .min(self.backoff_max),
        )
    }

    /// Forgets past restarts (an operator acted, or the desired state changed).
    pub fn reset(&mut self) {
        self.recent.clear();
    }

    /// Restarts counted in the current window.
    pub fn recent(&self) -> usize {
        self.recent.len()
    }

    /// When the restarts counted in the window happened, oldest first (to store them).
    pub fn history(&self) -> impl Iterator<Item = Instant> + '_ {
        self.recent.iter().copied()
    }

    /// Takes restarts that happened at `times` (oldest first; from the store) into account.
    pub fn with_history(mut self, times: impl IntoIterator<Item = Instant>) -> Self {
        self.recent.extend(times);
        self
    }
}

/// Sends one message to a supervisor when dropped, unless it was sent before. A child holds
/// one: its `stopped()` sends the real reason, and if the child dies some other way (a panic
/// unwinding through its handler drops it) the drop still tells the supervisor.
pub(crate) struct ExitNotice<M: actix::Message<Result = ()> + Send + 'static> {
    pending: Option<(actix::Recipient<M>, M)>,
}

impl<M: actix::Message<Result = ()> + Send + 'static> ExitNotice<M> {
    /// Arms a notice that sends `fallback` to `to` unless [`ExitNotice::send`] runs first.
    pub(crate) fn new(to: actix::Recipient<M>, fallback: M) -> Self {
        ExitNotice {
            pending: Some((to, fallback)),
        }
    }

    /// Replaces the fallback (the child learned more about itself), sending nothing.
    pub(crate) fn rearm(&mut self, fallback: M) {
        if let Some((_, old)) = self.pending.as_mut() {
            *old = fallback;
        }
    }

    /// Sends `message` instead of the fallback (once; later calls do nothing).
    pub(crate) fn send(&mut self, message: M) {
        if let Some((to, _)) = self.pending.take() {
            to.do_send(message);
        }
    }
}

impl<M: actix::Message<Result = ()> + Send + 'static> Drop for ExitNotice<M> {
    fn drop(&mut self) {
        if let Some((to, fallback)) = self.pending.take() {
            to.do_send(fallback);
        }
    }
}

impl<M: actix::Message<Result = ()> + Send + 'static> std::fmt::Debug for ExitNotice<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExitNotice")
            .field("armed", &self.pending.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intensity_and_backoff() {
        let secs = Duration::from_secs;
        let mut budget = RestartBudget::new(3, secs(60), secs(1), secs(3));
        let t0 = Instant::now();
        assert_eq!(budget.next_restart(t0), Some(secs(1)));
        assert_eq!(budget.next_restart(t0 + secs(1)), Some(secs(2)));
        assert_eq!(
            budget.next_restart(t0 + secs(2)),
            Some(secs(3)),
            "capped at max"
        );
        assert_eq!(
            budget.next_restart(t0 + secs(3)),
            None,
            "gives up at 3 in 60 s"
        );
        assert_eq!(budget.recent(), 3);
        // The first restart leaves the window at t0 + 60 s.
        assert_eq!(budget.next_restart(t0 + secs(60)), Some(secs(3)));
        budget.reset();
        assert_eq!(budget.next_restart(t0 + secs(61)), Some(secs(1)));
    }

    #[test]
    fn zero_restarts_allowed_means_never() {
        let mut budget =
            RestartBudget::new(0, Duration::from_secs(1), Duration::ZERO, Duration::ZERO);
        assert_eq!(budget.next_restart(Instant::now()), None);
    }
}
