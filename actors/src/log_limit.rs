//! Per-peer log rate limiting, so a hostile node cannot flood the log.

use std::time::{Duration, Instant};

/// Allows `burst` lines per `window`; past that, lines are counted, and the next allowed line
/// says how many were suppressed.
#[derive(Debug, Clone)]
pub struct LogLimiter {
    burst: u32,
    window: Duration,
    window_start: Option<Instant>,
    used: u32,
    suppressed: u64,
}

/// Whether to log a line now, and how many were suppressed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogPermit {
    Log { suppressed_before: u64 },
    Suppress,
}

impl LogLimiter {
    pub const fn new(burst: u32, window: Duration) -> Self {
        LogLimiter {
            burst,
            window,
            window_start: None,
            used: 0,
            suppressed: 0,
        }
    }

    pub fn check(&mut self, now: Instant) -> LogPermit {
        let expired = self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= self.window);
        if expired {
            self.window_start = Some(now);
            self.used = 0;
        }
        if self.used < self.burst {
            self.used += 1;
            let suppressed_before = std::mem::take(&mut self.suppressed);
            LogPermit::Log { suppressed_before }
        } else {
            self.suppressed += 1;
            LogPermit::Suppress
        }
    }
}

/// Logs through a [`LogLimiter`]: `limited_log!(limiter, warn, "Node {id} sent ...")`.
#[macro_export]
macro_rules! limited_log {
    ($limiter:expr, $level:ident, $($arg:tt)+) => {
        if let $crate::log_limit::LogPermit::Log { suppressed_before } =
            $limiter.check(::std::time::Instant::now())
        {
            if suppressed_before > 0 {
                ::log::$level!("({suppressed_before} similar lines suppressed.)");
            }
            ::log::$level!($($arg)+);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_suppresses_then_reports() {
        let mut limiter = LogLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(
            limiter.check(t0),
            LogPermit::Log {
                suppressed_before: 0
            }
        );
        assert_eq!(
            limiter.check(t0),
            LogPermit::Log {
                suppressed_before: 0
            }
        );
        assert_eq!(limiter.check(t0), LogPermit::Suppress);
        assert_eq!(limiter.check(t0), LogPermit::Suppress);
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            limiter.check(later),
            LogPermit::Log {
                suppressed_before: 2
            }
        );
    }
}
