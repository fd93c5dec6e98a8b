//! Fleet churn in the log: registrations and disconnections get a line each while they are
//! few, and one summary line per interval while many nodes come and go at once — a whole fleet
//! reconnecting after a Core restart must not write one line per node.

use std::time::{Duration, Instant};

/// What happened to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Churn {
    Registered,
    Disconnected,
}

#[derive(Debug)]
pub(super) struct ChurnLog {
    /// Lines written per window before the rest are only counted.
    burst: u32,
    window: Duration,
    window_start: Option<Instant>,
    lines: u32,
    /// Counted, not written, since the last summary.
    registered: u64,
    disconnected: u64,
    /// A summary is scheduled (the caller's timer).
    pub(super) summary_due: bool,
}

impl ChurnLog {
    pub(super) const fn new(burst: u32, window: Duration) -> Self {
        ChurnLog {
            burst,
            window,
            window_start: None,
            lines: 0,
            registered: 0,
            disconnected: 0,
            summary_due: false,
        }
    }

    /// The summary interval.
    pub(super) fn window(&self) -> Duration {
        self.window
    }

    /// Whether this one gets its own line; if not, it is counted for the next summary.
    pub(super) fn line(&mut self, churn: Churn, now: Instant) -> bool {
        if self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= self.window)
        {
            self.window_start = Some(now);
            self.lines = 0;
        }
        if self.lines < self.burst {
            self.lines += 1;
            return true;
        }
        match churn {
            Churn::Registered => self.registered += 1,
            Churn::Disconnected => self.disconnected += 1,
        }
        false
    }

    /// What was counted since the last summary, as one line (`None`: nothing was).
    pub(super) fn summary(&mut self) -> Option<String> {
        self.summary_due = false;
        let (registered, disconnected) = (
            std::mem::take(&mut self.registered),
            std::mem::take(&mut self.disconnected),
        );
        let parts: Vec<String> = [(registered, "registered"), (disconnected, "disconnected")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} more {} {what}", nodes(n)))
            .collect();
        (!parts.is_empty()).then(|| {
            format!(
                "{} (within {} s; one line each would flood the log).",
                capitalise(&parts.join(", ")),
                self.window.as_secs_f64()
            )
        })
    }
}

fn nodes(n: u64) -> &'static str {
    if n == 1 { "node" } else { "nodes" }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_until_the_burst_then_one_summary() {
        let mut log = ChurnLog::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(log.line(Churn::Registered, t0));
        assert!(log.line(Churn::Disconnected, t0));
        for _ in 0..5_000 {
            assert!(!log.line(Churn::Registered, t0));
        }
        assert!(!log.line(Churn::Disconnected, t0));
        assert_eq!(
            log.summary().as_deref(),
            Some(
                "5000 more nodes registered, 1 more node disconnected (within 10 s; one line \
                 each would flood the log)."
            )
        );
        assert_eq!(log.summary(), None, "a summary resets the counts");
        // A new window writes lines again.
        assert!(log.line(Churn::Registered, t0 + Duration::from_secs(10)));
    }
}
