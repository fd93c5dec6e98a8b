//! The pot lifecycle of CORE.md as a pure state machine with its transition history. The node
//! is the source of truth: every reported transition is applied; one outside the table is
//! applied too, and flagged as unexpected.

use std::collections::VecDeque;
use std::time::SystemTime;

use honeybee_protocol::PotStatus;

/// Transitions kept in memory per pot (the durable store keeps them all).
pub(crate) const HISTORY_LIMIT: usize = 100;

/// One applied transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub at: SystemTime,
    /// `None` when the pot was first learned with this report.
    pub from: Option<PotStatus>,
    pub to: PotStatus,
    pub message: Option<String>,
    /// False when `from → to` is outside the lifecycle table.
    pub expected: bool,
}

/// Whether `from → to` is in the lifecycle table.
pub(crate) fn is_expected(from: PotStatus, to: PotStatus) -> bool {
    use PotStatus::*;
    matches!(
        (from, to),
        (Installing, Stopped | Running | Failed)
            | (Running, Stopped | Failed)
            | (Stopped, Running | Installing | Failed)
            | (Failed, Installing | Running | Stopped)
    )
}

/// A pot's observed state and how it got there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    status: PotStatus,
    message: Option<String>,
    updated_at: SystemTime,
    history: VecDeque<Transition>,
}

impl Lifecycle {
    /// A pot first learned from a report: it starts in the reported state.
    pub fn learned(status: PotStatus, message: Option<String>, at: SystemTime) -> Self {
        let mut history = VecDeque::new();
        history.push_back(Transition {
            at,
            from: None,
            to: status,
            message: message.clone(),
            expected: true,
        });
        Lifecycle {
            status,
            message,
            updated_at: at,
            history,
        }
    }

    /// A pot's state as stored: its summary and its recent transitions (oldest first).
    pub fn restore(
        status: PotStatus,
        message: Option<String>,
        updated_at: SystemTime,
        history: impl IntoIterator<Item = Transition>,
    ) -> Self {
        let mut history: VecDeque<Transition> = history.into_iter().collect();
        while history.len() > HISTORY_LIMIT {
            history.pop_front();
        }
        Lifecycle {
            status,
            message,
            updated_at,
            history,
        }
    }

    /// Applies a report. A report of the current status is no transition (its message still
    /// replaces the last one); anything else is recorded, flagged if unexpected.
    pub fn apply(
        &mut self,
        status: PotStatus,
        message: Option<String>,
        at: SystemTime,
    ) -> Option<&Transition> {
        self.updated_at = at;
        if status == self.status {
            if message.is_some() {
                self.message = message;
            }
            return None;
        }
        let transition = Transition {
            at,
            from: Some(self.status),
            to: status,
            message: message.clone(),
            expected: is_expected(self.status, status),
        };
        self.status = status;
        self.message = message;
        if self.history.len() == HISTORY_LIMIT {
            self.history.pop_front();
        }
        self.history.push_back(transition);
        self.history.back()
    }

    /// Mirrors what the pot's actor reported: its summary and the transition it recorded, if
    /// any. (The registry keeps this copy to restart a crashed pot actor from.)
    pub fn mirror(
        &mut self,
        status: PotStatus,
        message: Option<String>,
        updated_at: SystemTime,
        transition: Option<Transition>,
    ) {
        self.status = status;
        self.message = message;
        self.updated_at = updated_at;
        if let Some(transition) = transition {
            if self.history.len() == HISTORY_LIMIT {
                self.history.pop_front();
            }
            self.history.push_back(transition);
        }
    }

    pub fn status(&self) -> PotStatus {
        self.status
    }

    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    pub fn updated_at(&self) -> SystemTime {
        self.updated_at
    }

    /// Oldest first.
    pub fn history(&self) -> impl ExactSizeIterator<Item = &Transition> {
        self.history.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use PotStatus::*;

    #[test]
    fn the_lifecycle_table() {
        let expected = [
            (Installing, Stopped),
            (Installing, Running),
            (Installing, Failed),
            (Running, Stopped),
            (Running, Failed),
            (Stopped, Running),
            (Stopped, Installing),
            (Stopped, Failed),
            (Failed, Installing),
            (Failed, Running),
            (Failed, Stopped),
        ];
        for &from in PotStatus::ALL {
            for &to in PotStatus::ALL {
                if from == to {
                    continue;
                }
                assert_eq!(
                    is_expected(from, to),
                    expected.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn reports_are_applied_and_recorded() {
        let mut pot = Lifecycle::learned(Installing, Some("cloning".into()), t(1));
        assert!(
            pot.apply(Installing, Some("still cloning".into()), t(2))
                .is_none()
        );
        assert_eq!(pot.message(), Some("still cloning"));
        let tr = pot.apply(Running, None, t(3)).cloned().unwrap();
        assert_eq!(
            (tr.from, tr.to, tr.expected),
            (Some(Installing), Running, true)
        );
        let tr = pot
            .apply(Installing, Some("odd".into()), t(4))
            .cloned()
            .unwrap();
        assert_eq!(
            (tr.from, tr.to, tr.expected),
            (Some(Running), Installing, false)
        );
        assert_eq!(
            pot.status(),
            Installing,
            "unexpected transitions are still applied"
        );
        let seen: Vec<_> = pot.history().map(|t| (t.from, t.to)).collect();
        assert_eq!(
            seen,
            [
                (None, Installing),
                (Some(Installing), Running),
                (Some(Running), Installing)
            ]
        );
        assert_eq!(pot.updated_at(), t(4));
    }

    #[test]
    fn history_is_bounded() {
        let mut pot = Lifecycle::learned(Stopped, None, t(0));
        for i in 0..(HISTORY_LIMIT as u64 + 10) {
            let to = if i % 2 == 0 { Running } else { Stopped };
            pot.apply(to, None, t(i + 1));
        }
        assert_eq!(pot.history().len(), HISTORY_LIMIT);
    }
}
