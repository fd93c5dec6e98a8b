//! A pot's state, as its actor owns it: what the node reported (type and lifecycle), what the
//! Core wants of it (its desired entry), its restart policy's memory (the guard), what it knows
//! of its node's connection, and what the backoff and the silence watch wait for. Stored as the
//! pot's row (the guard's memory serialised into it), so that a restarted actor — or Core —
//! goes on from where it was.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use honeybee_protocol::{Command, InstallPot, NodeId, PotStatus};
use honeybee_store::{FleetPot, PotRow, TransitionRow};
use serde::{Deserialize, Serialize};

use super::lifecycle::{Lifecycle, Transition};
use crate::commands::Now;
use crate::policy::{DesiredEntry, GuardMemory, PotGuard, RestartPolicy};
use crate::registry::PotView;
use crate::settings::PotSettings;

/// What the node reported of the pot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub pot_type: String,
    pub lifecycle: Lifecycle,
}

/// What the Core does for a pot once a backoff is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Restart,
    Reinstall,
    /// Start a desired pot that is stopped (`DeployPot`).
    Start,
}

/// One pot, whole.
#[derive(Debug, Clone)]
pub struct PotState {
    /// The node's record id.
    pub node_id: NodeId,
    pub pot_id: String,
    /// `None` until the node reports the pot (a pot the Core only wants, or holds stopped).
    pub reported: Option<Reported>,
    pub desired: DesiredEntry,
    pub guard: PotGuard,
    /// The last `InstallPot` sent for it (to reinstall a pot that failed installing).
    pub last_install: Option<InstallPot>,
    /// Its node is connected, and has listed its pots on this connection.
    pub connected: bool,
    pub listed: bool,
    /// A restart, reinstall or start waiting out its backoff.
    pub scheduled: Option<Attempt>,
    /// The silence watch: since when it is `Running` on this connection, its last event, and
    /// whether its `pot_silent` alert is open and a check is due.
    pub running_since: Option<Instant>,
    pub last_event: Option<Instant>,
    pub silent: bool,
    pub silence_check: bool,
    /// The actor kept crashing: this is kept in the row for the registry (it no longer restarts
    /// the actor), never set by the pot itself.
    pub abandoned: bool,
}

impl PotState {
    /// A pot the Core has not heard of before.
    pub fn new(
        node_id: NodeId,
        pot_id: &str,
        desired: DesiredEntry,
        settings: &PotSettings,
    ) -> Self {
        let policy = policy_of(&desired, settings);
        PotState {
            node_id,
            pot_id: pot_id.to_owned(),
            reported: None,
            desired,
            guard: PotGuard::new(policy, settings.limits),
            last_install: None,
            connected: false,
            listed: false,
            scheduled: None,
            running_since: None,
            last_event: None,
            silent: false,
            silence_check: false,
            abandoned: false,
        }
    }

    /// A pot as the store kept it (`stored`: `None` when it was never reported), held stopped
    /// or not, wanting `desired`.
    pub fn restore(
        node_id: NodeId,
        pot_id: &str,
        (stored, held): (Option<FleetPot>, bool),
        desired: DesiredEntry,
        settings: &PotSettings,
        now: Now,
    ) -> Self {
        let mut state = PotState::new(node_id, pot_id, desired, settings);
        let mut memory = GuardMemory::default();
        if let Some(FleetPot { pot, transitions }) = stored {
            let kept = pot
                .supervision
                .as_deref()
                .map(Kept::parse)
                .unwrap_or_default();
            memory = kept.guard(now);
            memory.restarts = pot.restarts;
            state.last_install = kept.install();
            state.abandoned = pot.gave_up;
            state.reported = Some(Reported {
                lifecycle: Lifecycle::restore(
                    pot.status,
                    pot.message,
                    pot.updated_at,
                    transitions.into_iter().map(transition_from),
                ),
                pot_type: pot.pot_type,
            });
        }
        memory.held = held;
        let policy = policy_of(&state.desired, settings);
        state.guard = PotGuard::restore(policy, settings.limits, memory);
        state
    }

    /// The reported status (`None`: never reported).
    pub fn status(&self) -> Option<PotStatus> {
        self.reported.as_ref().map(|r| r.lifecycle.status())
    }

    /// Its row, guard memory included (`None` until it is reported: a row needs a status).
    pub fn row(&self, now: Now) -> Option<PotRow> {
        let reported = self.reported.as_ref()?;
        let memory = self.guard.memory();
        let kept = Kept::of(&memory, self.last_install.as_ref(), now);
        Some(PotRow {
            node_id: self.node_id,
            pot_id: self.pot_id.clone(),
            pot_type: reported.pot_type.clone(),
            status: reported.lifecycle.status(),
            message: reported.lifecycle.message().map(str::to_owned),
            updated_at: reported.lifecycle.updated_at(),
            restarts: memory.restarts,
            gave_up: self.abandoned,
            supervision: Some(kept.to_json()),
        })
    }

    /// What the API and the stream show of it (`None` until it is reported).
    pub fn view(&self) -> Option<PotView> {
        let reported = self.reported.as_ref()?;
        Some(PotView {
            node_id: self.node_id,
            pot_id: self.pot_id.clone(),
            pot_type: reported.pot_type.clone(),
            status: reported.lifecycle.status(),
            message: reported.lifecycle.message().map(str::to_owned),
            updated_at: reported.lifecycle.updated_at(),
            restarts: self.guard.restarts(),
            desired: self.desired.pot.clone(),
            gave_up: self.guard.gave_up().map(str::to_owned),
        })
    }

    /// The restart policy its desired state gives it (or `pots.restart`).
    pub fn policy(&self, settings: &PotSettings) -> RestartPolicy {
        policy_of(&self.desired, settings)
    }
}

fn policy_of(desired: &DesiredEntry, settings: &PotSettings) -> RestartPolicy {
    desired
        .pot
        .as_ref()
        .and_then(|d| d.restart)
        .unwrap_or(settings.policy)
}

/// A stored transition row for the pot's history.
pub(crate) fn transition_row(node_id: NodeId, pot_id: &str, t: &Transition) -> TransitionRow {
    TransitionRow {
        node_id,
        pot_id: pot_id.to_owned(),
        at: t.at,
        from: t.from,
        to: t.to,
        message: t.message.clone(),
        expected: t.expected,
    }
}

fn transition_from(t: TransitionRow) -> Transition {
    Transition {
        at: t.at,
        from: t.from,
        to: t.to,
        message: t.message,
        expected: t.expected,
    }
}

/// The guard's memory and the last install as stored in the pot row's `supervision` column
/// (JSON; every field optional, so that older rows and newer fields both read).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    /// When the restarts of the current window were ordered, unix µs, oldest first.
    #[serde(default)]
    recent_restarts: Vec<i64>,
    #[serde(default)]
    gave_up: Option<String>,
    #[serde(default)]
    install_failed: bool,
    /// The last `InstallPot` sent, as its wire JSON.
    #[serde(default)]
    last_install: Option<serde_json::Value>,
}

impl Kept {
    fn of(memory: &GuardMemory, last_install: Option<&InstallPot>, now: Now) -> Kept {
        Kept {
            recent_restarts: memory
                .recent
                .iter()
                .map(|at| unix_micros(wall_of(*at, now)))
                .collect(),
            gave_up: memory.gave_up.clone(),
            install_failed: memory.install_failed,
            last_install: last_install
                .and_then(|i| serde_json::to_value(Command::InstallPot(i.clone())).ok()),
        }
    }

    fn parse(text: &str) -> Kept {
        serde_json::from_str(text).unwrap_or_else(|e| {
            log::warn!("A pot's stored restart state is unreadable ({e}); starting it afresh.");
            Kept::default()
        })
    }

    /// The guard's memory, restarts of the window placed on this process's clock (`held` and
    /// `restarts` come from their own table and column).
    fn guard(&self, now: Now) -> GuardMemory {
        GuardMemory {
            recent: self
                .recent_restarts
                .iter()
                .filter_map(|us| instant_of(*us, now))
                .collect(),
            held: false,
            gave_up: self.gave_up.clone(),
            restarts: 0,
            install_failed: self.install_failed,
        }
    }

    fn install(&self) -> Option<InstallPot> {
        let json = serde_json::to_vec(self.last_install.as_ref()?).ok()?;
        match honeybee_protocol::decode_command(&json) {
            Ok(Command::InstallPot(install)) => Some(install),
            _ => None,
        }
    }

    fn to_json(&self) -> String {
        // Invariant: plain data with string keys always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn unix_micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The wall time of a moment on the monotonic clock.
fn wall_of(at: Instant, now: Now) -> SystemTime {
    now.wall - now.instant.saturating_duration_since(at)
}

/// The monotonic moment of a wall time (`None`: before this process's clock can say; such a
/// restart is long out of any window).
fn instant_of(unix_us: i64, now: Now) -> Option<Instant> {
    let at = UNIX_EPOCH + Duration::from_micros(u64::try_from(unix_us).ok()?);
    let ago = now.wall.duration_since(at).unwrap_or(Duration::ZERO);
    now.instant.checked_sub(ago)
}
