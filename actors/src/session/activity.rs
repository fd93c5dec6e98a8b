//! Which of a node's pots sent events, and when the registry should hear of it (for the node's
//! last-seen time and the silent-pot watch).
//!
//! The registry is another arbiter's actor: every message to it wakes that thread. A fleet of
//! thousands of nodes each sending an event every few seconds would cost one such wake-up per
//! event if every event were reported, so a session reports a pot at once only when it is news
//! (not reported since the last refresh) and at most once per [`NEWS_EVERY`]; otherwise the
//! pots still sending are reported once per refresh period, which the Core keeps well inside
//! the silent-pot window.

use std::time::{Duration, Instant};

/// Pot ids remembered at once (a hostile node could name any number of pots; the silent pot
/// watch only needs the node's real ones, which it learns from their status).
const MAX_POTS: usize = 64;

/// The shortest time between two reports of news.
const NEWS_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(super) struct Activity {
    /// Pots that sent events since the last report.
    sending: Vec<String>,
    /// Pots reported since the last refresh.
    reported: Vec<String>,
    last_report: Instant,
    last_refresh: Instant,
}

impl Activity {
    pub(super) fn new(now: Instant) -> Self {
        Activity {
            sending: Vec::new(),
            reported: Vec::new(),
            last_report: now,
            last_refresh: now,
        }
    }

    /// `pot_id` sent an event.
    pub(super) fn event(&mut self, pot_id: &str) {
        if self.sending.len() < MAX_POTS && !self.sending.iter().any(|p| p == pot_id) {
            self.sending.push(pot_id.to_owned());
        }
    }

    /// The pots to report now, if it is time: news after [`NEWS_EVERY`], anything after
    /// `refresh`.
    pub(super) fn due(&mut self, now: Instant, refresh: Duration) -> Option<Vec<String>> {
        if self.sending.is_empty() {
            return None;
        }
        if now >= self.last_refresh + refresh {
            self.last_refresh = now;
            self.reported.clear();
        } else if now < self.last_report + NEWS_EVERY
            || self.sending.iter().all(|p| self.reported.contains(p))
        {
            return None;
        }
        self.last_report = now;
        for pot in &self.sending {
            if self.reported.len() < MAX_POTS && !self.reported.contains(pot) {
                self.reported.push(pot.clone());
            }
        }
        Some(std::mem::take(&mut self.sending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFRESH: Duration = Duration::from_secs(10);

    #[test]
    fn news_is_reported_at_once_and_a_steady_pot_once_per_refresh() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut a = Activity::new(t0);
        // Within the first second nothing is reported; then the new pot is.
        a.event("cowrie-01");
        assert_eq!(a.due(at(500), REFRESH), None);
        assert_eq!(a.due(at(1_000), REFRESH), Some(vec!["cowrie-01".into()]));
        // The same pot again and again: not news until the refresh.
        for ms in (3_000..10_000).step_by(2_000) {
            a.event("cowrie-01");
            assert_eq!(a.due(at(ms), REFRESH), None, "at {ms} ms");
        }
        // A second pot is news (a second after the last report).
        a.event("wp-01");
        assert_eq!(
            a.due(at(9_500), REFRESH),
            Some(vec!["cowrie-01".into(), "wp-01".into()])
        );
        a.event("wp-01");
        assert_eq!(a.due(at(9_800), REFRESH), None);
        // The refresh reports whatever sent since the last report.
        assert_eq!(a.due(at(10_000), REFRESH), Some(vec!["wp-01".into()]));
        // Nothing sent, nothing reported.
        assert_eq!(a.due(at(30_000), REFRESH), None);
    }

    #[test]
    fn a_node_naming_endless_pots_is_remembered_within_bounds() {
        let t0 = Instant::now();
        let mut a = Activity::new(t0);
        for i in 0..1_000 {
            a.event(&format!("pot-{i}"));
        }
        let reported = a.due(t0 + Duration::from_secs(2), REFRESH).unwrap();
        assert_eq!(reported.len(), MAX_POTS);
        assert_eq!(a.reported.len(), MAX_POTS);
    }
}
