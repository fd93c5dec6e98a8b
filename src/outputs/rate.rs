//! A sink's rate limits: `max_events_per_sec` (a token bucket holding at most one second of
//! events) and `alerts_per_minute` (a one-minute window; alert changes past it are folded into
//! one summary sent when the window ends).

use std::time::{Duration, Instant};

#[derive(Debug)]
pub(super) struct TokenBucket {
    /// Events per second; 0 = unlimited.
    rate: u32,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    pub(super) fn new(rate: u32) -> Self {
        TokenBucket {
            rate,
            tokens: f64::from(rate),
            at: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let rate = f64::from(self.rate);
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(rate);
        self.at = now;
    }

    /// How many of `wanted` events may go now.
    pub(super) fn allowed(&mut self, wanted: usize) -> usize {
        if self.rate == 0 {
            return wanted;
        }
        self.refill();
        (self.tokens.floor().max(0.0) as usize).min(wanted)
    }

    pub(super) fn spend(&mut self, n: usize) {
        if self.rate > 0 {
            self.tokens -= n as f64;
        }
    }

    /// How long until one more event may go.
    pub(super) fn wait(&self) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(((1.0 - self.tokens) / f64::from(self.rate)).max(0.001))
    }
}

/// `alerts_per_minute`.
#[derive(Debug)]
pub(super) struct AlertBudget {
    per_minute: u32,
    used: u32,
    since: Instant,
}

const WINDOW: Duration = Duration::from_secs(60);

impl AlertBudget {
    pub(super) fn new(per_minute: u32) -> Self {
        AlertBudget {
            per_minute,
            used: 0,
            since: Instant::now(),
        }
    }

    /// Whether the current window has ended.
    pub(super) fn window_over(&self) -> bool {
        self.since.elapsed() >= WINDOW
    }

    /// Takes one message from the budget, starting a new window when the last one ended.
    pub(super) fn take(&mut self) -> bool {
        if self.window_over() {
            self.used = 0;
            self.since = Instant::now();
        }
        if self.used < self.per_minute {
            self.used += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use honeybee_store::{AlertChange, AlertRow, AlertState};

    use super::*;
    use crate::outputs::item::Summary;

    #[test]
    fn the_alert_budget_allows_its_share_per_window() {
        let mut budget = AlertBudget::new(2);
        assert!(budget.take() && budget.take());
        assert!(!budget.take(), "the third in the minute is folded");
        assert!(!budget.window_over());
        budget.since -= WINDOW;
        assert!(budget.window_over());
        assert!(budget.take(), "a new window");
    }

    #[test]
    fn folded_alert_changes_make_one_summary() {
        let change = |seq, kind: &str, state| AlertChange {
            seq,
            state,
            at: SystemTime::UNIX_EPOCH,
            alert: AlertRow {
                alert_id: seq,
                kind: kind.into(),
                node_id: None,
                node_name: None,
                pot_id: None,
                message: String::new(),
                opened_at: SystemTime::UNIX_EPOCH,
                cleared_at: None,
            },
        };
        let mut s = Summary::default();
        assert!(s.is_empty());
        s.fold(&change(4, "node_unknown", AlertState::Open));
        s.fold(&change(5, "node_unknown", AlertState::Cleared));
        s.fold(&change(7, "pot_silent", AlertState::Open));
        assert_eq!((s.first_seq, s.last_seq, s.opened, s.cleared), (4, 7, 2, 1));
        assert_eq!(
            s.text(),
            "3 more alert changes past this output's rate limit (2 opened, 1 cleared; types: \
             node_unknown, pot_silent); GET /api/v1/alerts lists them"
        );
    }

    #[test]
    fn the_token_bucket_holds_one_second() {
        let mut bucket = TokenBucket::new(100);
        assert_eq!(bucket.allowed(500), 100);
        bucket.spend(100);
        assert_eq!(bucket.allowed(500), 0);
        assert!(bucket.wait() > Duration::ZERO && bucket.wait() <= Duration::from_millis(11));
        assert_eq!(TokenBucket::new(0).allowed(500), 500, "0 = unlimited");
    }
}
