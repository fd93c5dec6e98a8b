//! What a follower watches besides delivery: its lag behind the store (`max_lag_events`, with
//! hysteresis: flagged past it, cleared under half of it) and events pruned by retention before
//! it sent them (counted once, logged, flagged); both raised as an `output_lagging` alert
//! through the registry's `CoreAlert`.

use std::sync::atomic::Ordering;
use std::time::Instant;

use honeybee_actors::alerts::{AlertKey, AlertKind};
use honeybee_actors::registry::CoreAlert;

use super::{Follower, LAG_EVERY, State};

impl Follower {
    /// Events before `first` that were never read were pruned by retention: skipped, counted
    /// once, logged and alerted.
    pub(super) fn count_gap(&mut self, s: &mut State, first: u64) {
        let from = s.read_event.max(s.gaps_counted_to);
        if first > from + 1 {
            let gap = first - from - 1;
            s.gaps_counted_to = first - 1;
            self.pos.skipped += gap;
            self.shared.skipped.fetch_add(gap, Ordering::Relaxed);
            let message = format!(
                "output {} skipped {gap} events (ids {} to {}) that retention pruned before \
                 they were sent",
                self.config.name,
                from + 1,
                first - 1
            );
            log::error!("{}.", capitalise(&message));
            self.raise(message);
            s.lagging = true;
        }
    }

    pub(super) fn measure_lag(&mut self, s: &mut State) {
        if s.lag_at.is_some_and(|at| at.elapsed() < LAG_EVERY) {
            return;
        }
        s.lag_at = Some(Instant::now());
        if !self.config.what.events {
            return;
        }
        let last = self.store.last_event_id().ok().flatten().unwrap_or(0);
        let lag = last.saturating_sub(self.pos.last_event_id);
        self.shared.lag.store(lag, Ordering::Relaxed);
        let max = self.config.max_lag_events;
        if lag > max && !s.lagging {
            s.lagging = true;
            let message = format!(
                "output {} is {lag} events behind the store (max_lag_events = {max})",
                self.config.name
            );
            log::error!("{}.", capitalise(&message));
            self.raise(message);
        } else if s.lagging && lag <= max / 2 {
            s.lagging = false;
            log::info!(
                "Output {} caught up ({lag} events behind).",
                self.config.name
            );
            self.clear();
        }
        self.shared.set_lagging(s.lagging);
    }

    /// The sink's alert: one per output, named in its `pot_id` as `output:<name>` (an alert
    /// about no node).
    fn key(&self) -> AlertKey {
        AlertKey {
            kind: AlertKind::OutputLagging,
            node_id: None,
            pot_id: Some(format!("output:{}", self.config.name)),
        }
    }

    fn raise(&self, message: String) {
        if let Some(alerts) = &self.alerts {
            alerts.do_send(CoreAlert {
                key: self.key(),
                message: Some(message),
            });
        }
    }

    fn clear(&self) {
        if let Some(alerts) = &self.alerts {
            alerts.do_send(CoreAlert {
                key: self.key(),
                message: None,
            });
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
