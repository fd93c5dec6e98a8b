//! Lockouts against code guessing: failures are counted per (identity, source address) within
//! `auth.lockout_secs`; at `auth.max_failures` that pair is locked out for `auth.lockout_secs`.
//! A source that fails for `auth.max_identities_per_source` different identities within the
//! window is locked out as a whole. Pure, with the caller's clock; nothing here touches the
//! store, and a refused retry during a lockout is free (the caller logs only when one starts).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// An identity, by its primary node id.
pub type IdentityKey = u64;

/// Entries kept before expired ones are swept.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone)]
struct Failures {
    first: Instant,
    count: u32,
    locked_until: Option<Instant>,
}

#[derive(Debug, Clone)]
struct SourceFailures {
    first: Instant,
    identities: HashSet<IdentityKey>,
    locked_until: Option<Instant>,
}

/// What a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted; no lockout yet.
    Counted,
    /// This failure locked the (identity, source) pair out until then.
    PairLocked { until: Instant },
    /// This failure locked the whole source out until then.
    SourceLocked { until: Instant },
}

#[derive(Debug, Clone)]
pub struct Lockouts {
    max_failures: u32,
    window: Duration,
    max_identities_per_source: u32,
    pairs: HashMap<(IdentityKey, IpAddr), Failures>,
    sources: HashMap<IpAddr, SourceFailures>,
    /// Size at which the next sweep runs (doubles with what survives a sweep: amortised O(1)).
    sweep_at: usize,
}

impl Lockouts {
    pub fn new(max_failures: u32, window: Duration, max_identities_per_source: u32) -> Self {
        Lockouts {
            max_failures: max_failures.max(1),
            window,
            max_identities_per_source: max_identities_per_source.max(1),
            pairs: HashMap::new(),
            sources: HashMap::new(),
            sweep_at: SWEEP_ABOVE,
        }
    }

    /// Until when `source` (for `identity`, if known) is locked out, if it is.
    pub fn locked_until(
        &self,
        identity: Option<IdentityKey>,
        source: IpAddr,
        now: Instant,
    ) -> Option<Instant> {
        let whole = self
            .sources
            .get(&source)
            .and_then(|s| s.locked_until)
            .filter(|until| *until > now);
        let pair = identity
            .and_then(|id| self.pairs.get(&(id, source)))
            .and_then(|p| p.locked_until)
            .filter(|until| *until > now);
        whole.max(pair)
    }

    /// Counts a wrong or missing code.
    pub fn failure(&mut self, identity: IdentityKey, source: IpAddr, now: Instant) -> Outcome {
        self.sweep(now);
        let window = self.window;
        let pair = self.pairs.entry((identity, source)).or_insert(Failures {
            first: now,
            count: 0,
            locked_until: None,
        });
        let pair_expired = match pair.locked_until {
            Some(until) => until <= now,
            None => now.duration_since(pair.first) >= window,
        };
        if pair_expired {
            *pair = Failures {
                first: now,
                count: 0,
                locked_until: None,
            };
        }
        pair.count += 1;
        let pair_locked = pair.count >= self.max_failures && pair.locked_until.is_none();
        if pair_locked {
            pair.locked_until = Some(now + window);
        }

        let src = self.sources.entry(source).or_insert(SourceFailures {
            first: now,
            identities: HashSet::new(),
            locked_until: None,
        });
        let source_expired = match src.locked_until {
            Some(until) => until <= now,
            None => now.duration_since(src.first) >= window,
        };
        if source_expired {
            *src = SourceFailures {
                first: now,
                identities: HashSet::new(),
                locked_until: None,
            };
        }
        src.identities.insert(identity);
        if src.identities.len() >= self.max_identities_per_source as usize
            && src.locked_until.is_none()
        {
            let until = now + window;
            src.locked_until = Some(until);
            return Outcome::SourceLocked { until };
        }
        match pair_locked {
            true => Outcome::PairLocked {
                until: now + window,
            },
            false => Outcome::Counted,
        }
    }

    /// A valid code: the pair's failures are forgotten.
    pub fn success(&mut self, identity: IdentityKey, source: IpAddr) {
        self.pairs.remove(&(identity, source));
    }

    /// Entries tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.pairs.len() + self.sources.len()
    }

    /// Forgets what has expired, once the maps grow.
    fn sweep(&mut self, now: Instant) {
        if self.pairs.len() + self.sources.len() < self.sweep_at {
            return;
        }
        let window = self.window;
        let live = |first: Instant, until: Option<Instant>| {
            now.duration_since(first) < window || until.is_some_and(|u| u > now)
        };
        self.pairs.retain(|_, p| live(p.first, p.locked_until));
        self.sources.retain(|_, s| live(s.first, s.locked_until));
        self.sweep_at = SWEEP_ABOVE.max(2 * (self.pairs.len() + self.sources.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_pair_locks_out_at_max_failures_and_expires() {
        let t0 = Instant::now();
        let window = Duration::from_secs(300);
        let mut l = Lockouts::new(3, window, 10);
        assert_eq!(l.failure(1, A, t0), Outcome::Counted);
        assert_eq!(l.failure(1, A, t0), Outcome::Counted);
        assert_eq!(
            l.failure(1, A, t0),
            Outcome::PairLocked { until: t0 + window }
        );
        assert_eq!(l.locked_until(Some(1), A, t0), Some(t0 + window));
        assert_eq!(
            l.locked_until(Some(1), B, t0),
            None,
            "another source is not locked"
        );
        assert_eq!(
            l.locked_until(Some(2), A, t0),
            None,
            "another identity is not locked"
        );
        // Refused retries during the lockout do not extend or re-announce it.
        assert_eq!(
            l.failure(1, A, t0 + Duration::from_secs(10)),
            Outcome::Counted
        );
        assert_eq!(l.locked_until(Some(1), A, t0 + window), None, "expired");
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t0 = Instant::now();
        let window = Duration::from_secs(60);
        let mut l = Lockouts::new(2, window, 10);
        assert_eq!(l.failure(1, A, t0), Outcome::Counted);
        assert_eq!(l.failure(1, A, t0 + window), Outcome::Counted);
        assert!(matches!(
            l.failure(1, A, t0 + window + Duration::from_secs(1)),
            Outcome::PairLocked { .. }
        ));
    }

    #[test]
    fn success_forgets_the_pair() {
        let t0 = Instant::now();
        let mut l = Lockouts::new(2, Duration::from_secs(60), 10);
        l.failure(1, A, t0);
        l.success(1, A);
        assert_eq!(l.failure(1, A, t0), Outcome::Counted);
    }

    #[test]
    fn a_source_failing_for_many_identities_is_locked_out_whole() {
        let t0 = Instant::now();
        let window = Duration::from_secs(300);
        let mut l = Lockouts::new(5, window, 3);
        assert_eq!(l.failure(1, A, t0), Outcome::Counted);
        assert_eq!(l.failure(2, A, t0), Outcome::Counted);
        assert_eq!(
            l.failure(3, A, t0),
            Outcome::SourceLocked { until: t0 + window }
        );
        assert_eq!(l.locked_until(Some(99), A, t0), Some(t0 + window));
        assert_eq!(l.locked_until(None, A, t0), Some(t0 + window));
        assert_eq!(l.locked_until(None, B, t0), None);
    }

    #[test]
    fn memory_is_swept() {
        let t0 = Instant::now();
        let window = Duration::from_secs(1);
        let mut l = Lockouts::new(5, window, 1_000_000);
        for id in 0..(SWEEP_ABOVE as u64) {
            l.failure(id, A, t0);
        }
        // The sweep runs once the maps reach their threshold, with the expired entries gone.
        for id in 0..=(SWEEP_ABOVE as u64) {
            l.failure(id, B, t0 + Duration::from_secs(2));
        }
        assert!(l.tracked() <= SWEEP_ABOVE + 2, "{}", l.tracked());
        assert!(
            l.pairs.keys().all(|(_, source)| *source == B),
            "A's entries were swept"
        );
    }
}
