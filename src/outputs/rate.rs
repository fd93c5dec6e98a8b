//! A sink's rate limits: `max_events_per_sec` (a token bucket holding at most one second of
//! events) and `alerts_per_minute` (a one-minute window; alert changes past it are folded into
//! one summary sent when the window ends).

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct TokenBucket {
    /// Events per second; 0 = unlimited.
    rate: u32,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    pub fn new(rate: u32) -> Self {
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
    pub fn allowed(&mut self, wanted: usize) -> usize {
        if self.rate == 0 {
            return wanted;
        }
        self.refill();
        (self.tokens.floor().max(0.0) as usize).min(wanted)
    }

    pub fn spend(&mut self, n: usize) {
        if self.rate > 0 {
            self.tokens -= n as f64;
        }
    }

    /// How long until one more event may go.
    pub fn wait(&self) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(((1.0 - self.tokens) / f64::from(self.rate)).max(0.001))
    }
}

/// `alerts_per_minute`.
#[derive(Debug)]
pub struct AlertBudget {
    per_minute: u32,
    used: u32,
    since: Instant,
}

const WINDOW: Duration = Duration::from_secs(60);

impl AlertBudget {
    pub fn new(per_minute: u32) -> Self {
        AlertBudget {
            per_minute,
            used: 0,
            since: Instant::now(),
        }
    }

    /// Whether the current window has ended.
    pub fn window_over(&self) -> bool {
        self.since.elapsed() >= WINDOW
    }

    /// Takes one message from the budget, starting a new window when the last one ended.
    pub fn take(&mut self) -> bool {
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
