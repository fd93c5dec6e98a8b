//! What a pot does about what it is told: a pure function of its state, the input and the
//! clock, answering the effects its actor carries out (commands through the registry, store
//! writes, alerts, timers). Everything about keeping one pot running is here, read top to
//! bottom: a report is applied to the lifecycle, judged by the restart policy (confirm,
//! restart or reinstall after a backoff, give up), and — when it answered a command — the pot
//! converges on its desired state.

use std::time::{Duration, SystemTime};

use honeybee_protocol::{Command, InstallPot, PotStatus};

use super::lifecycle::{Lifecycle, Transition};
use super::state::{Attempt, PotState, Reported};
use crate::alerts::AlertKind;
use crate::commands::{Now, Origin};
use crate::policy::{Action, Cause, DesiredEntry, DesiredPot, Observed, Step, silent, step};
use crate::settings::PotSettings;

/// What a pot is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The node reported the pot's status.
    Report(Report),
    /// A command for the pot reached its final status; `unanswered`: the node answered `Error`
    /// or nothing in time.
    Settled {
        origin: Origin,
        unanswered: bool,
        busy: bool,
    },
    /// An operator sent the pot this command (as it is submitted, before the node has it).
    Operator(Command),
    /// The pot's part of its node's desired state, as it is now. `by_operator`: set through the
    /// API, which is a fresh start even when it did not change.
    Desired {
        entry: DesiredEntry,
        by_operator: bool,
        busy: bool,
    },
    /// Its node connected (its pots are not listed on this connection yet).
    Connected,
    /// Its node's pots were listed on this connection: converge on the desired state.
    Listed { busy: bool },
    /// Its node's connection ended.
    Disconnected,
    /// It sent events.
    EventsSeen,
    /// The backoff of a scheduled attempt is over.
    AttemptDue,
    /// Time to check whether it went silent.
    SilenceCheck,
}

/// A status the node reported for the pot.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub status: PotStatus,
    pub pot_type: String,
    pub message: Option<String>,
    pub at: SystemTime,
    /// A command for the pot was in flight when it arrived: it is the node's answer, not an
    /// unasked report.
    pub answer: bool,
    /// A command for the pot is in flight or waiting now.
    pub busy: bool,
}

/// What the actor does about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Track and send this command, unless a command for the pot is in flight or waiting, or
    /// its node is offline (then nothing happens).
    Submit { command: Command, origin: Origin },
    /// Feed [`Input::AttemptDue`] after this long.
    AttemptAfter(Duration),
    /// Feed [`Input::SilenceCheck`] after this long.
    CheckSilenceAfter(Duration),
    /// Store its row (summary and restart memory).
    StoreRow,
    /// Store a transition of its lifecycle.
    StoreTransition(Transition),
    /// Store that an operator holds it stopped (`true`), or no longer does.
    StoreHold(bool),
    /// Open (`Some(message)`) or clear (`None`) its alert of this kind.
    Alert(AlertKind, Option<String>),
    /// What the API shows of it changed.
    ViewChanged,
    /// A line for the log, about this pot.
    Note(String),
    /// A transition outside the lifecycle table (recorded as reported; worth a warning).
    Unexpected(Transition),
}

/// Decides, changing `state`; answers the effects in the order they are to be carried out.
pub(crate) fn decide(
    state: &mut PotState,
    input: Input,
    now: Now,
    settings: &PotSettings,
) -> Vec<Effect> {
    let mut out = Out::default();
    let mut pot = Pot {
        state,
        settings,
        now,
        out: &mut out,
    };
    match input {
        Input::Report(report) => pot.reported(report),
        Input::Settled {
            origin,
            unanswered,
            busy,
        } => {
            if origin == Origin::PotPolicy && unanswered {
                let action = pot.state.guard.on_attempt_failed(now.instant);
                pot.act(action, busy);
            }
        }
        Input::Operator(command) => pot.operator(&command),
        Input::Desired {
            entry,
            by_operator,
            busy,
        } => pot.desired(entry, by_operator, busy),
        Input::Connected => {
            pot.state.connected = true;
            pot.state.listed = false;
        }
        Input::Listed { busy } => {
            pot.state.listed = true;
            pot.converge(busy);
        }
        Input::Disconnected => {
            pot.state.connected = false;
            pot.state.listed = false;
            pot.not_running(false);
        }
        Input::EventsSeen => pot.events_seen(),
        Input::AttemptDue => pot.attempt_due(),
        Input::SilenceCheck => pot.silence_check(),
    }
    out.finish()
}

/// The effects so far; the row and the view are written once, last.
#[derive(Default)]
struct Out {
    effects: Vec<Effect>,
    row: bool,
    view: bool,
}

impl Out {
    fn finish(mut self) -> Vec<Effect> {
        if self.row {
            self.effects.push(Effect::StoreRow);
        }
        if self.view {
            self.effects.push(Effect::ViewChanged);
        }
        self.effects
    }
}

/// One decision in progress.
struct Pot<'a> {
    state: &'a mut PotState,
    settings: &'a PotSettings,
    now: Now,
    out: &'a mut Out,
}

impl Pot<'_> {
    fn effect(&mut self, effect: Effect) {
        self.out.effects.push(effect);
    }

    fn changed(&mut self) {
        self.out.row = true;
        self.out.view = true;
    }

    /// A status report: applied, judged by the restart policy, and — when it answers a
    /// command — followed by a step towards the desired state.
    fn reported(&mut self, report: Report) {
        let Report {
            status,
            pot_type,
            message,
            at,
            answer,
            busy,
        } = report;
        let from = self.state.status();
        let transition = match &mut self.state.reported {
            None => {
                let lifecycle = Lifecycle::learned(status, message, at);
                let first = lifecycle.history().next().cloned();
                self.state.reported = Some(Reported {
                    pot_type,
                    lifecycle,
                });
                first
            }
            Some(reported) => {
                if !pot_type.is_empty() {
                    reported.pot_type = pot_type;
                }
                reported.lifecycle.apply(status, message, at).cloned()
            }
        };
        if let Some(t) = transition {
            if !t.expected {
                self.effect(Effect::Unexpected(t.clone()));
            }
            self.effect(Effect::StoreTransition(t));
        }
        self.changed();
        if status == PotStatus::Running {
            if from != Some(PotStatus::Running) || self.state.running_since.is_none() {
                self.state.running_since = Some(self.now.instant);
                self.watch_silence(self.settings.silence);
            }
        } else {
            // Leaving `Running` clears a silent-pot alert, also one a previous process raised.
            self.not_running(from == Some(PotStatus::Running));
        }
        let cause = if answer {
            Cause::Answer
        } else {
            Cause::Unsolicited
        };
        let held = self.state.guard.held();
        let policy = self.state.policy(self.settings);
        self.state.guard.set_policy(policy);
        let action = match self
            .state
            .guard
            .on_status(from, status, cause, self.now.instant)
        {
            // A desired pot found stopped is worth a look even when its policy would not
            // restart it: once confirmed, converging starts it (within the same budget).
            Action::None
                if cause == Cause::Unsolicited
                    && status == PotStatus::Stopped
                    && !held
                    && self.state.desired.pot.is_some() =>
            {
                Action::Confirm
            }
            other => other,
        };
        let busy = self.act(action, busy);
        // An answer (a confirmation included) is the node's word: converge on it.
        if answer {
            self.converge(busy);
        }
    }

    /// Carries out the restart policy's decision; answers whether a command for the pot is
    /// now under way (in flight, waiting, or scheduled).
    fn act(&mut self, action: Action, busy: bool) -> bool {
        let busy = busy || self.state.scheduled.is_some();
        match action {
            Action::None => busy,
            Action::Confirm if busy => true,
            Action::Confirm => {
                self.note("an unasked status; confirming it with GetPotStatus before acting");
                let command = Command::GetPotStatus(self.state.pot_id.clone());
                self.submit(command, Origin::Core);
                true
            }
            Action::Restart { after } => self.schedule(Attempt::Restart, after),
            Action::Reinstall { after } => self.schedule(Attempt::Reinstall, after),
            Action::GaveUp { reason } => {
                let message = format!(
                    "node {} pot {}: {reason}",
                    self.state.node_id, self.state.pot_id
                );
                self.effect(Effect::Alert(AlertKind::PotGaveUp, Some(message)));
                self.changed();
                busy
            }
        }
    }

    /// Runs `attempt` once `after` has passed (at most one scheduled at a time).
    fn schedule(&mut self, attempt: Attempt, after: Duration) -> bool {
        // The guard counted the restart it ordered.
        self.changed();
        if self.state.scheduled.is_none() {
            self.state.scheduled = Some(attempt);
            self.note(&format!("{attempt:?} in {after:?}"));
            self.effect(Effect::AttemptAfter(after));
        }
        true
    }

    /// The backoff is over: the attempt goes out unless things changed meanwhile.
    fn attempt_due(&mut self) {
        let Some(attempt) = self.state.scheduled.take() else {
            return;
        };
        let still_down = matches!(
            self.state.status(),
            Some(PotStatus::Failed | PotStatus::Stopped)
        );
        let guard = &self.state.guard;
        if !self.state.connected || !still_down || guard.held() || guard.gave_up().is_some() {
            return;
        }
        let pot_id = self.state.pot_id.clone();
        let command = match attempt {
            Attempt::Restart => Command::RestartPot(pot_id),
            Attempt::Start => Command::DeployPot(pot_id),
            Attempt::Reinstall => {
                let desired = self
                    .state
                    .desired
                    .pot
                    .as_ref()
                    .map(|d| install_of(&pot_id, d));
                match desired.or_else(|| self.state.last_install.clone()) {
                    Some(install) => Command::InstallPot(install),
                    None => {
                        self.note(
                            "failed installing, and neither a desired state nor an earlier \
                             InstallPot says how to install it; restarting it",
                        );
                        Command::RestartPot(pot_id)
                    }
                }
            }
        };
        self.submit(command, Origin::PotPolicy);
        self.out.view = true;
    }

    /// Sends the next step towards the desired state, unless the pot is busy, held or given up
    /// on, or its node is not listed on a live connection. Starting a stopped desired pot
    /// counts like a restart.
    fn converge(&mut self, busy: bool) {
        let state = &*self.state;
        if !state.connected
            || !state.listed
            || busy
            || state.scheduled.is_some()
            || state.guard.held()
            || state.guard.gave_up().is_some()
        {
            return;
        }
        let observed = state.reported.as_ref().map(|r| Observed {
            pot_type: r.pot_type.clone(),
            status: r.lifecycle.status(),
        });
        match step(&state.pot_id, &state.desired, observed.as_ref()) {
            Some(Step::Install { pot_id, desired }) => {
                self.note("converging on its desired state: InstallPot");
                self.submit(
                    Command::InstallPot(install_of(&pot_id, &desired)),
                    Origin::Core,
                );
            }
            Some(Step::Deploy { .. }) => match self.state.guard.converge_start(self.now.instant) {
                Action::Restart { after } | Action::Reinstall { after } => {
                    self.schedule(Attempt::Start, after);
                }
                other => {
                    self.act(other, false);
                }
            },
            Some(Step::Stop { pot_id }) => {
                // Stopped because it is not desired: no policy restarts it.
                self.hold();
                self.note("converging on its desired state: StopPot");
                self.submit(Command::StopPot(pot_id), Origin::Core);
            }
            None => {}
        }
    }

    /// An operator's command: a stop holds the pot stopped; a deploy, restart or install
    /// releases it (and forgets a give-up).
    fn operator(&mut self, command: &Command) {
        if let Command::InstallPot(install) = command {
            self.state.last_install = Some(install.clone());
            self.out.row = true;
        }
        match command {
            Command::StopPot(_) => self.hold(),
            Command::DeployPot(_) | Command::RestartPot(_) | Command::InstallPot(_) => {
                self.release();
            }
            _ => {}
        }
    }

    /// The desired state changed (or an operator set it): a changed entry is a fresh start —
    /// a hold and a give-up end, and a pot down because of them is installed again.
    fn desired(&mut self, entry: DesiredEntry, by_operator: bool, busy: bool) {
        let pot_changed = entry.pot != self.state.desired.pot;
        self.state.desired = entry;
        let policy = self.state.policy(self.settings);
        self.state.guard.set_policy(policy);
        if pot_changed {
            self.out.view = true;
        }
        let mut busy = busy;
        if pot_changed || by_operator {
            let given_up = self.state.guard.gave_up().is_some();
            let failed = self.state.status() == Some(PotStatus::Failed);
            self.release();
            let reinstall = self
                .state
                .desired
                .pot
                .as_ref()
                .filter(|_| (given_up || failed) && self.state.connected && !busy)
                .map(|d| install_of(&self.state.pot_id, d));
            if let Some(install) = reinstall {
                self.submit(Command::InstallPot(install), Origin::Core);
                busy = true;
            }
        }
        self.converge(busy);
    }

    fn hold(&mut self) {
        if !self.state.guard.held() {
            self.state.guard.hold();
            self.effect(Effect::StoreHold(true));
        }
    }

    fn release(&mut self) {
        let was_held = self.state.guard.held();
        self.state.guard.release();
        if was_held {
            self.effect(Effect::StoreHold(false));
        }
        self.effect(Effect::Alert(AlertKind::PotGaveUp, None));
        self.changed();
    }

    fn submit(&mut self, command: Command, origin: Origin) {
        if let Command::InstallPot(install) = &command {
            self.state.last_install = Some(install.clone());
            self.out.row = true;
        }
        self.effect(Effect::Submit { command, origin });
    }

    fn note(&mut self, line: &str) {
        self.effect(Effect::Note(line.to_owned()));
    }

    /// Left `Running` (or its node went away): the silence watch stops and its alert clears.
    fn not_running(&mut self, was_running: bool) {
        if self.state.running_since.take().is_some() || self.state.silent || was_running {
            self.state.silent = false;
            self.effect(Effect::Alert(AlertKind::PotSilent, None));
        }
    }

    fn events_seen(&mut self) {
        self.state.last_event = Some(self.now.instant);
        if self.state.silent {
            self.state.silent = false;
            self.effect(Effect::Alert(AlertKind::PotSilent, None));
            self.watch_silence(self.settings.silence);
        }
    }

    /// Makes sure a silence check is due within `after` (one at a time).
    fn watch_silence(&mut self, after: Duration) {
        if !self.settings.silence.is_zero() && !self.state.silence_check {
            self.state.silence_check = true;
            self.effect(Effect::CheckSilenceAfter(after));
        }
    }

    fn silence_check(&mut self) {
        self.state.silence_check = false;
        let limit = self.settings.silence;
        let Some(since) = self.state.running_since.filter(|_| !limit.is_zero()) else {
            return;
        };
        let last_event = self.state.last_event;
        if !silent(since, last_event, self.now.instant, limit) {
            let quiet_since = last_event.map_or(since, |e| e.max(since));
            let due = (quiet_since + limit).saturating_duration_since(self.now.instant);
            self.watch_silence(due.max(Duration::from_millis(1)));
        } else if !self.state.silent {
            self.state.silent = true;
            let message = format!(
                "node {} pot {} is Running but sent no event for {:.1} s",
                self.state.node_id,
                self.state.pot_id,
                limit.as_secs_f64()
            );
            self.effect(Effect::Alert(AlertKind::PotSilent, Some(message)));
        }
    }
}

/// The `InstallPot` of a desired pot (started once installed).
pub(crate) fn install_of(pot_id: &str, desired: &DesiredPot) -> InstallPot {
    InstallPot {
        pot_id: pot_id.to_owned(),
        honeypot_type: desired.pot_type.clone(),
        git_url: desired.git_url.clone(),
        git_branch: desired.git_branch.clone(),
        config: Some(desired.config.clone()),
        auto_start: true,
    }
}
