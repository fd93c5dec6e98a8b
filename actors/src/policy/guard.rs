//! One pot's domain supervisor: given each status transition the node reports, it answers
//! whether to restart the pot (`RestartPot`), reinstall it (`InstallPot`, when it failed while
//! installing), first confirm an unsolicited report (`GetPotStatus`), do nothing, or give up —
//! by the pot's restart policy, at most `max_restarts` within a sliding `window`, each attempt
//! after a backoff doubling from `backoff_initial` up to `backoff_max` (an OTP supervisor's
//! intensity and period, on [`RestartBudget`]).
//!
//! The guard only decides; the registry sends the commands, after the delay, and tells the
//! guard what came of them. An operator's `StopPot` holds the pot (nothing restarts it) until
//! the operator deploys or restarts it again, or its desired state changes.

use std::time::{Duration, Instant};

use honeybee_protocol::PotStatus;

use super::{RestartPolicy, gave_up_reason};
use crate::supervise::RestartBudget;

/// How often and how fast a pot may be restarted (`pots.max_restarts`,
/// `pots.restart_window_secs`, `pots.backoff_initial_secs`, `pots.backoff_max_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartLimits {
    pub max_restarts: u32,
    pub window: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

/// Why a status arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The node sent it on its own.
    Unsolicited,
    /// A command for this pot was in flight (or this confirms a `GetPotStatus`).
    Answer,
}

/// What the registry should do about a pot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing.
    None,
    /// Ask the node first (`GetPotStatus`); its answer comes back with [`Cause::Answer`].
    Confirm,
    /// Send `RestartPot` after `after`.
    Restart { after: Duration },
    /// Send the pot's `InstallPot` again (from its desired state, else the last one sent)
    /// after `after`.
    Reinstall { after: Duration },
    /// Too many failures within the window: stop trying, and raise an alert with `reason`.
    GaveUp { reason: String },
}

/// What a [`PotGuard`] has to remember across a restart of its actor or of the Core (its policy
/// and limits come from the settings and the desired state).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardMemory {
    /// When the restarts counted in the current window were ordered, oldest first.
    pub recent: Vec<Instant>,
    pub held: bool,
    pub gave_up: Option<String>,
    pub restarts: u32,
    pub install_failed: bool,
}

/// One pot's domain supervisor.
#[derive(Debug, Clone)]
pub struct PotGuard {
    policy: RestartPolicy,
    limits: RestartLimits,
    budget: RestartBudget,
    held: bool,
    gave_up: Option<String>,
    restarts: u32,
    /// The pot failed while installing and has not been `Running` or `Stopped` since, so
    /// restarting it cannot help: the next attempt reinstalls it. Kept across a confirmation
    /// (whose answer is `Failed` → `Failed`) and across failed reinstalls.
    install_failed: bool,
}

impl PotGuard {
    pub fn new(policy: RestartPolicy, limits: RestartLimits) -> Self {
        PotGuard {
            policy,
            limits,
            budget: RestartBudget::new(
                limits.max_restarts,
                limits.window,
                limits.backoff_initial,
                limits.backoff_max,
            ),
            held: false,
            gave_up: None,
            restarts: 0,
            install_failed: false,
        }
    }

    /// A guard as it was when `memory` was taken.
    pub fn restore(policy: RestartPolicy, limits: RestartLimits, memory: GuardMemory) -> Self {
        let mut guard = PotGuard::new(policy, limits);
        guard.budget = guard.budget.with_history(memory.recent);
        guard.held = memory.held;
        guard.gave_up = memory.gave_up;
        guard.restarts = memory.restarts;
        guard.install_failed = memory.install_failed;
        guard
    }

    /// What to keep of this guard.
    pub fn memory(&self) -> GuardMemory {
        GuardMemory {
            recent: self.budget.history().collect(),
            held: self.held,
            gave_up: self.gave_up.clone(),
            restarts: self.restarts,
            install_failed: self.install_failed,
        }
    }

    /// The pot's actor was restarted after a crash: one more restart in its total.
    pub fn count_actor_restart(&mut self) {
        self.restarts = self.restarts.saturating_add(1);
    }

    /// Changes the policy from the next status on; a give-up or a hold stays.
    pub fn set_policy(&mut self, policy: RestartPolicy) {
        self.policy = policy;
    }

    pub fn policy(&self) -> RestartPolicy {
        self.policy
    }

    /// An observed transition `from` → `to` (from `None`: first seen).
    ///
    /// `Failed` (and, under `always`, `Stopped`) asks for a restart: reported unsolicited it is
    /// confirmed first ([`Action::Confirm`]); as an answer it is acted on, within the budget.
    /// Held or given-up pots, `never`, and `Installing`/`Running` get [`Action::None`].
    pub fn on_status(
        &mut self,
        from: Option<PotStatus>,
        to: PotStatus,
        cause: Cause,
        now: Instant,
    ) -> Action {
        self.track_install(from, to);
        if !self.wants_restart(to) {
            return Action::None;
        }
        match cause {
            Cause::Unsolicited => Action::Confirm,
            Cause::Answer => self.attempt(now),
        }
    }

    /// A restart/reinstall the guard asked for was answered by `NodeEvent` `Error` (counts as
    /// a failed attempt): the same kind of attempt again, within the budget.
    pub fn on_attempt_failed(&mut self, now: Instant) -> Action {
        if self.held || self.gave_up.is_some() || self.policy == RestartPolicy::Never {
            return Action::None;
        }
        self.attempt(now)
    }

    /// The reconciler wants to start a desired pot that is stopped: that counts like a restart
    /// (within the budget, after its backoff), unless the pot is held or given up on.
    pub fn converge_start(&mut self, now: Instant) -> Action {
        if self.held || self.gave_up.is_some() {
            return Action::None;
        }
        self.attempt(now)
    }

    /// The operator sent `StopPot`: hold the pot stopped (never restarted or reconciled)
    /// until released.
    pub fn hold(&mut self) {
        self.held = true;
    }

    /// `DeployPot` / `RestartPot` by an operator, or the desired state changed: release the
    /// hold, forget the give-up and past attempts (the total of [`PotGuard::restarts`] stays).
    pub fn release(&mut self) {
        self.held = false;
        self.gave_up = None;
        self.budget.reset();
    }

    pub fn held(&self) -> bool {
        self.held
    }

    /// The reason, when given up.
    pub fn gave_up(&self) -> Option<&str> {
        self.gave_up.as_deref()
    }

    /// Every restart of the pot, in total: the restarts and reinstalls the guard ordered, and its
    /// actor's restarts after a crash (a release does not reset it).
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    fn track_install(&mut self, from: Option<PotStatus>, to: PotStatus) {
        match (from, to) {
            (Some(PotStatus::Installing), PotStatus::Failed) => self.install_failed = true,
            // Still failed after an install failure (a confirmation, a failed reinstall), or
            // installing again: the install has not succeeded yet.
            (Some(PotStatus::Failed), PotStatus::Failed) | (_, PotStatus::Installing) => {}
            _ => self.install_failed = false,
        }
    }

    fn wants_restart(&self, to: PotStatus) -> bool {
        if self.held || self.gave_up.is_some() {
            return false;
        }
        match (self.policy, to) {
            (RestartPolicy::Never, _) => false,
            (_, PotStatus::Failed) => true,
            (RestartPolicy::Always, PotStatus::Stopped) => true,
            _ => false,
        }
    }

    /// One more attempt, if the budget allows it; else give up.
    fn attempt(&mut self, now: Instant) -> Action {
        match self.budget.next_restart(now) {
            Some(after) => {
                self.restarts = self.restarts.saturating_add(1);
                if self.install_failed {
                    Action::Reinstall { after }
                } else {
                    Action::Restart { after }
                }
            }
            None => {
                let failures = self.budget.recent() + 1;
                let reason = gave_up_reason(failures, self.limits.window, self.limits.max_restarts);
                self.gave_up = Some(reason.clone());
                Action::GaveUp { reason }
            }
        }
    }
}
