//! Keeping pots running: the domain level of supervision. The registry mirrors each pot's
//! lifecycle into a [`PotGuard`] (restart policy, backoff, give-up) and each node's into a
//! [`NodeGuard`], and converges every node on its desired state (the fleet file plus operators'
//! overrides) one tracked command at a time per pot. The decisions are the pure modules of
//! `crate::policy`; this file only wires them to reports, commands, timers and the store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use actix::prelude::*;
use honeybee_protocol::{Command, InstallPot, NodeId, NodeStatus, PotStatus};
use honeybee_store::OverrideRow;
use serde_json::{Value, json};

use super::{NodeRecord, Registry, queued};
use crate::alerts::{AlertKey, AlertKind};
use crate::commands::{CommandRecord, CommandStatus, Origin, Place};
use crate::policy::{
    Action, Cause, Desired, DesiredPot, Drift, FileNode, FleetFile, NodeAction, NodeGuard,
    Observed, Override, PotGuard, RestartLimits, RestartPolicy, Step, effective, plan, silent,
};

/// The Core's settings for keeping pots and nodes running (`pots.*`, `nodes.*`).
#[derive(Debug, Clone)]
pub struct KeepSettings {
    pub pot_policy: RestartPolicy,
    pub pot_limits: RestartLimits,
    pub node_policy: RestartPolicy,
    pub node_max_restarts: u32,
    pub node_window: Duration,
    /// `pots.silence_alert_secs`; zero = off.
    pub silence: Duration,
}

impl Default for KeepSettings {
    fn default() -> Self {
        KeepSettings {
            pot_policy: RestartPolicy::OnFailure,
            pot_limits: RestartLimits {
                max_restarts: 5,
                window: Duration::from_secs(600),
                backoff_initial: Duration::from_secs(5),
                backoff_max: Duration::from_secs(300),
            },
            node_policy: RestartPolicy::Never,
            node_max_restarts: 3,
            node_window: Duration::from_secs(3600),
            silence: Duration::from_secs(3600),
        }
    }
}

/// What the registry keeps for the domain supervision of one pot.
#[derive(Debug, Default)]
pub(super) struct PotKeep {
    /// Created when the pot is first seen or first commanded.
    guard: Option<PotGuard>,
    /// Its last reported status (the pot actor's mirror in the record lags behind a burst of
    /// reports; decisions use this).
    reported: Option<PotStatus>,
    /// When it last became `Running` on the current connection, and when its last event
    /// arrived (for the silence watch).
    running_since: Option<Instant>,
    last_event: Option<Instant>,
    /// A restart, reinstall or start is waiting out its backoff.
    scheduled: bool,
    /// The last `InstallPot` sent for it (to reinstall a pot that failed installing).
    last_install: Option<InstallPot>,
}

/// What the registry keeps for the domain supervision of one node.
#[derive(Debug, Default)]
pub(super) struct NodeKeep {
    pots: BTreeMap<String, PotKeep>,
    guard: Option<NodeGuard>,
    /// Its pots were listed on the current connection (reconciling waits for it).
    listed: bool,
}

/// What the Core does for a pot once a backoff is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Restart,
    Reinstall,
    /// Start a desired pot that is stopped (`DeployPot`).
    Start,
}

/// What the registry keeps for the domain supervision.
#[derive(Debug, Default)]
pub(super) struct Keep {
    pub settings: KeepSettings,
    pub file: FleetFile,
    /// Operators' overrides, by node record id, then pot id.
    pub overrides: HashMap<NodeId, BTreeMap<String, Override>>,
    /// Boxed, like the registry's records: the table's spare slots cost a pointer each.
    nodes: HashMap<NodeId, Box<NodeKeep>>,
}

impl Keep {
    fn pot(&mut self, node_id: NodeId, pot_id: &str) -> &mut PotKeep {
        self.nodes
            .entry(node_id)
            .or_default()
            .pots
            .entry(pot_id.to_owned())
            .or_default()
    }

    fn pot_ref(&self, node_id: NodeId, pot_id: &str) -> Option<&PotKeep> {
        self.nodes.get(&node_id)?.pots.get(pot_id)
    }

    /// The pot's guard, created with `policy` (and kept in step with it).
    fn guard(&mut self, node_id: NodeId, pot_id: &str, policy: RestartPolicy) -> &mut PotGuard {
        let limits = self.settings.pot_limits;
        let guard = self
            .pot(node_id, pot_id)
            .guard
            .get_or_insert_with(|| PotGuard::new(policy, limits));
        guard.set_policy(policy);
        guard
    }
}

/// Replaces the fleet file's desired state (at start and on SIGHUP).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetFleetFile(pub FleetFile);

/// An operator's override of one pot's desired state: `Some` installs and keeps it running,
/// `None` means it is no longer desired (it is stopped).
#[derive(Debug, Message)]
#[rtype(result = "Result<Option<DesiredPot>, DesiredError>")]
pub struct SetDesired {
    pub node_id: NodeId,
    pub pot_id: String,
    pub desired: Option<DesiredPot>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    #[error("no such node")]
    UnknownNode,
    #[error("{0}")]
    Invalid(String),
}

/// `DesiredPot` as stored in an override row.
pub fn desired_json(desired: &DesiredPot) -> Value {
    json!({
        "pot_type": desired.pot_type,
        "config": desired.config,
        "restart": desired.restart.map(RestartPolicy::as_str),
        "git_url": desired.git_url,
        "git_branch": desired.git_branch,
    })
}

fn desired_from_json(text: &str) -> Option<DesiredPot> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(DesiredPot {
        pot_type: v["pot_type"].as_str()?.to_owned(),
        config: v["config"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
        restart: v["restart"].as_str().and_then(RestartPolicy::parse),
        git_url: v["git_url"].as_str().map(str::to_owned),
        git_branch: v["git_branch"].as_str().map(str::to_owned),
    })
}

/// Stored overrides, by node: rows that do not parse are skipped with a warning.
pub fn overrides_from(rows: Vec<OverrideRow>) -> HashMap<NodeId, BTreeMap<String, Override>> {
    let mut out: HashMap<NodeId, BTreeMap<String, Override>> = HashMap::new();
    for row in rows {
        let desired = match row.desired.as_deref().map(desired_from_json) {
            Some(None) => {
                log::warn!(
                    "Skipping an unreadable desired-state override of node {} pot {}.",
                    row.node_id,
                    row.pot_id
                );
                continue;
            }
            Some(Some(d)) => Some(d),
            None => None,
        };
        out.entry(row.node_id).or_default().insert(
            row.pot_id,
            Override {
                desired,
                file_fingerprint: row.file_fingerprint,
            },
        );
    }
    out
}

impl Registry {
    /// Starts from the fleet file and the stored overrides.
    pub fn with_desired_state(
        mut self,
        settings: KeepSettings,
        file: FleetFile,
        overrides: HashMap<NodeId, BTreeMap<String, Override>>,
    ) -> Self {
        self.keep.settings = settings;
        self.keep.file = file;
        self.keep.overrides = overrides;
        self
    }

    /// The fleet file's entry for a node: by any of its ids, else by its name.
    fn file_node(&self, node: &NodeRecord) -> Option<&FileNode> {
        self.keep
            .file
            .for_node(node.node_id, &node.previous_ids, &node.node_name)
    }

    /// A node's effective desired state (stale overrides are dropped as a side effect).
    pub(super) fn desired_of(&mut self, node_id: NodeId) -> Desired {
        let Some(node) = self.nodes.get(&node_id) else {
            return Desired::default();
        };
        let empty = BTreeMap::new();
        let overrides = self.keep.overrides.get(&node_id).unwrap_or(&empty);
        let (desired, stale) = effective(self.file_node(node), overrides);
        if !stale.is_empty()
            && let Some(o) = self.keep.overrides.get_mut(&node_id)
        {
            for pot_id in stale {
                log::info!(
                    "Node {node_id} pot {pot_id}: the fleet file's entry changed; it replaces \
                     the operator's override."
                );
                o.remove(&pot_id);
                queued(self.store.drop_override(node_id, pot_id));
            }
        }
        desired
    }

    fn pot_policy(&self, desired: &Desired, pot_id: &str) -> RestartPolicy {
        desired
            .pots
            .get(pot_id)
            .and_then(|d| d.restart)
            .unwrap_or(self.keep.settings.pot_policy)
    }

    /// The pot's guard with the policy its desired state (or `pots.restart`) gives it.
    fn guard(&mut self, node_id: NodeId, pot_id: &str) -> &mut PotGuard {
        let desired = self.desired_of(node_id);
        let policy = self.pot_policy(&desired, pot_id);
        self.keep.guard(node_id, pot_id, policy)
    }

    /// Why a pot status arrived: as an answer to a command in flight for that pot, or not.
    pub(super) fn cause_of(&self, node_id: NodeId, pot_id: &str) -> Cause {
        let answering = self
            .commands
            .books
            .get(&node_id)
            .is_some_and(|b| b.in_flight_for(pot_id).is_some());
        if answering {
            Cause::Answer
        } else {
            Cause::Unsolicited
        }
    }

    /// Whether a command for the pot is in flight or waiting, or an attempt is scheduled.
    fn pot_busy(&self, node_id: NodeId, pot_id: &str) -> bool {
        self.keep
            .pot_ref(node_id, pot_id)
            .is_some_and(|p| p.scheduled)
            || self
                .commands
                .books
                .get(&node_id)
                .is_some_and(|b| b.pot_busy(pot_id))
    }

    /// A pot reported `to`: the guard decides, the alerts follow, and — once the status is
    /// an answer, not an unasked report — the node converges again.
    pub(super) fn keep_on_pot_status(
        &mut self,
        node_id: NodeId,
        pot_id: &str,
        to: PotStatus,
        cause: Cause,
        ctx: &mut Context<Self>,
    ) {
        let pot = self.keep.pot(node_id, pot_id);
        let from = pot.reported.replace(to);
        if to == PotStatus::Running {
            if from != Some(PotStatus::Running) || pot.running_since.is_none() {
                pot.running_since = Some(Instant::now());
            }
        } else {
            pot.running_since = None;
            self.clear_alert(&AlertKey::pot(AlertKind::PotSilent, node_id, pot_id));
        }
        let now = Instant::now();
        // The node's desired state, worked out once for this report.
        let desired = self.desired_of(node_id);
        let policy = self.pot_policy(&desired, pot_id);
        let guard = self.keep.guard(node_id, pot_id, policy);
        let held = guard.held();
        let action = guard.on_status(from, to, cause, now);
        let action = match action {
            // A desired pot found stopped is worth a look even when its policy would not
            // restart it: the reconciler starts it (within the same budget) once confirmed.
            Action::None
                if cause == Cause::Unsolicited
                    && to == PotStatus::Stopped
                    && !held
                    && desired.pots.contains_key(pot_id) =>
            {
                Action::Confirm
            }
            other => other,
        };
        self.act(node_id, pot_id, action, ctx);
        // An answer (a confirmation included) is the node's word: converge on it.
        if cause == Cause::Answer {
            self.reconcile(node_id, ctx);
        }
    }

    /// Carries out a guard's decision; nothing while an attempt is already under way.
    fn act(&mut self, node_id: NodeId, pot_id: &str, action: Action, ctx: &mut Context<Self>) {
        match action {
            Action::None => {}
            Action::Confirm => {
                if !self.pot_busy(node_id, pot_id) {
                    log::info!(
                        "Node {node_id} pot {pot_id}: an unasked status; confirming it with \
                         GetPotStatus before acting."
                    );
                    let confirm = Command::GetPotStatus(pot_id.to_owned());
                    self.submit_internal(node_id, confirm, Origin::Core, ctx);
                }
            }
            Action::Restart { after } => {
                self.schedule(node_id, pot_id, Attempt::Restart, after, ctx)
            }
            Action::Reinstall { after } => {
                self.schedule(node_id, pot_id, Attempt::Reinstall, after, ctx);
            }
            Action::GaveUp { reason } => {
                self.raise_alert(
                    AlertKey::pot(AlertKind::PotGaveUp, node_id, pot_id),
                    format!("node {node_id} pot {pot_id}: {reason}"),
                );
                self.pot_changed(node_id, pot_id);
            }
        }
    }

    /// Runs `attempt` once `after` has passed (at most one scheduled per pot).
    fn schedule(
        &mut self,
        node_id: NodeId,
        pot_id: &str,
        attempt: Attempt,
        after: Duration,
        ctx: &mut Context<Self>,
    ) {
        let pot = self.keep.pot(node_id, pot_id);
        if pot.scheduled {
            return;
        }
        pot.scheduled = true;
        log::info!("Node {node_id} pot {pot_id}: {attempt:?} in {after:?}.");
        let pot_id = pot_id.to_owned();
        ctx.run_later(after, move |registry, ctx| {
            registry.keep.pot(node_id, &pot_id).scheduled = false;
            registry.attempt_now(node_id, &pot_id, attempt, ctx);
        });
    }

    /// The backoff is over: carry out the attempt unless things changed meanwhile.
    fn attempt_now(
        &mut self,
        node_id: NodeId,
        pot_id: &str,
        attempt: Attempt,
        ctx: &mut Context<Self>,
    ) {
        let connected = self
            .nodes
            .get(&node_id)
            .is_some_and(|n| n.session.is_some());
        let Some(pot) = self.keep.pot_ref(node_id, pot_id) else {
            return;
        };
        let still_down = matches!(pot.reported, Some(PotStatus::Failed | PotStatus::Stopped));
        let guard_ok = pot
            .guard
            .as_ref()
            .is_some_and(|g| !g.held() && g.gave_up().is_none());
        let last_install = pot.last_install.clone();
        if !connected || !still_down || !guard_ok || self.pot_busy(node_id, pot_id) {
            return;
        }
        let command = match attempt {
            Attempt::Restart => Command::RestartPot(pot_id.to_owned()),
            Attempt::Start => Command::DeployPot(pot_id.to_owned()),
            Attempt::Reinstall => {
                let desired = self.desired_of(node_id).pots.get(pot_id).cloned();
                match desired.map(|d| install_of(pot_id, &d)).or(last_install) {
                    Some(install) => Command::InstallPot(install),
                    None => {
                        log::info!(
                            "Node {node_id} pot {pot_id}: failed installing, and neither a \
                             desired state nor an earlier InstallPot says how to install it; \
                             restarting it."
                        );
                        Command::RestartPot(pot_id.to_owned())
                    }
                }
            }
        };
        if self
            .submit_internal(node_id, command, Origin::PotPolicy, ctx)
            .is_some()
        {
            self.pot_changed(node_id, pot_id);
        }
    }

    /// Holds a pot stopped (an operator's stop, or not desired), durably: a restarted Core
    /// keeps it stopped too.
    fn hold_pot(&mut self, node_id: NodeId, pot_id: &str) {
        let guard = self.guard(node_id, pot_id);
        if !guard.held() {
            guard.hold();
            queued(self.store.set_hold(node_id, pot_id.to_owned(), true));
        }
    }

    /// Releases a pot's hold and give-up (an operator started it, or its desired state
    /// changed).
    fn release_guard(&mut self, node_id: NodeId, pot_id: &str) {
        let guard = self.guard(node_id, pot_id);
        let was_held = guard.held();
        guard.release();
        if was_held {
            queued(self.store.set_hold(node_id, pot_id.to_owned(), false));
        }
    }

    /// Pots held stopped when the Core last ran.
    pub fn with_holds(mut self, holds: Vec<(NodeId, String)>) -> Self {
        let policy = self.keep.settings.pot_policy;
        for (node_id, pot_id) in holds {
            self.keep.guard(node_id, &pot_id, policy).hold();
        }
        self
    }

    /// Tracks and sends a command the Core decided on itself; its id when accepted.
    fn submit_internal(
        &mut self,
        node_id: NodeId,
        command: Command,
        origin: Origin,
        ctx: &mut Context<Self>,
    ) -> Option<u64> {
        if let Command::InstallPot(install) = &command {
            self.keep.pot(node_id, &install.pot_id).last_install = Some(install.clone());
        }
        match self.submit_tracked(node_id, command, (origin, Place::Back), true, ctx) {
            Ok(submitted) => Some(submitted.command_id),
            Err(e) => {
                log::warn!("Node {node_id}: cannot send a command the Core decided on: {e}.");
                None
            }
        }
    }

    /// An operator's command (sent to one node or broadcast): a stop holds the pot stopped; a
    /// deploy, restart or install releases it (and forgets a give-up).
    pub(super) fn keep_on_operator_command(&mut self, node_id: NodeId, command: &Command) {
        let Some(pot_id) = command.pot_id().map(str::to_owned) else {
            return;
        };
        if let Command::InstallPot(install) = command {
            self.keep.pot(node_id, &pot_id).last_install = Some(install.clone());
        }
        match command {
            Command::StopPot(_) => self.hold_pot(node_id, &pot_id),
            Command::DeployPot(_) | Command::RestartPot(_) | Command::InstallPot(_) => {
                self.release_guard(node_id, &pot_id);
                self.clear_alert(&AlertKey::pot(AlertKind::PotGaveUp, node_id, &pot_id));
            }
            _ => {}
        }
    }

    /// A command reached a final status: a failed attempt a guard ordered counts against its
    /// pot (or node); a finished pot listing lets the node converge.
    pub(super) fn keep_on_command_final(
        &mut self,
        node_id: NodeId,
        record: &CommandRecord,
        ctx: &mut Context<Self>,
    ) {
        let unanswered = record.unanswered();
        if record.origin == Origin::NodePolicy && unanswered {
            let action = self
                .keep
                .nodes
                .get_mut(&node_id)
                .and_then(|n| n.guard.as_mut())
                .map(|g| g.on_attempt_failed(Instant::now()));
            self.act_on_node(node_id, action, ctx);
        }
        if record.origin == Origin::PotPolicy
            && unanswered
            && let Some(pot_id) = record.command.pot_id()
        {
            let action = self
                .keep
                .pot(node_id, pot_id)
                .guard
                .as_mut()
                .map(|g| g.on_attempt_failed(Instant::now()));
            if let Some(action) = action {
                let pot_id = pot_id.to_owned();
                self.act(node_id, &pot_id, action, ctx);
            }
        }
        if matches!(record.command, Command::GetInstalledPots)
            && record.status == CommandStatus::Completed
        {
            self.keep.nodes.entry(node_id).or_default().listed = true;
            self.reconcile(node_id, ctx);
        }
    }

    /// A node reported its status: the node policy may send it `Restart`.
    pub(super) fn keep_on_node_status(
        &mut self,
        node_id: NodeId,
        status: NodeStatus,
        ctx: &mut Context<Self>,
    ) {
        let settings = &self.keep.settings;
        let (policy, max, window) = (
            settings.node_policy,
            settings.node_max_restarts,
            settings.node_window,
        );
        let action = self
            .keep
            .nodes
            .entry(node_id)
            .or_default()
            .guard
            .get_or_insert_with(|| NodeGuard::new(policy, max, window))
            .on_status(status, Instant::now());
        self.act_on_node(node_id, Some(action), ctx);
    }

    fn act_on_node(
        &mut self,
        node_id: NodeId,
        action: Option<NodeAction>,
        ctx: &mut Context<Self>,
    ) {
        match action {
            Some(NodeAction::Restart) => {
                log::warn!("Node {node_id} reports Failed; sending it Restart (nodes.restart).");
                self.submit_internal(node_id, Command::Restart, Origin::NodePolicy, ctx);
            }
            Some(NodeAction::GaveUp { reason }) => log::error!("Node {node_id}: {reason}"),
            Some(NodeAction::None) | None => {}
        }
    }

    /// A node (re)registered: its pots must be listed on this connection before it converges
    /// (a replaced session's end never arrives here), and the node policy sees it connected.
    pub(super) fn keep_on_register(&mut self, node_id: NodeId, ctx: &mut Context<Self>) {
        if let Some(node) = self.keep.nodes.get_mut(&node_id) {
            node.listed = false;
        }
        self.keep_on_node_status(node_id, NodeStatus::Connected, ctx);
    }

    /// A node's connection ended: nothing is known of its pots until they are listed again
    /// (no silence watch meanwhile), and the node policy sees it `Unknown`.
    pub(super) fn keep_on_session_end(&mut self, node_id: NodeId, ctx: &mut Context<Self>) {
        let mut silent = Vec::new();
        if let Some(node) = self.keep.nodes.get_mut(&node_id) {
            node.listed = false;
            for (pot_id, pot) in &mut node.pots {
                if pot.running_since.take().is_some() {
                    silent.push(AlertKey::pot(AlertKind::PotSilent, node_id, pot_id));
                }
            }
        }
        for key in silent {
            self.clear_alert(&key);
        }
        self.keep_on_node_status(node_id, NodeStatus::Unknown, ctx);
    }

    /// Sends the next step towards the desired state for every pot of the node that is not
    /// busy, held or given up on. Starting a stopped desired pot counts like a restart.
    pub(super) fn reconcile(&mut self, node_id: NodeId, ctx: &mut Context<Self>) {
        let connected = self
            .nodes
            .get(&node_id)
            .is_some_and(|n| n.session.is_some());
        let listed = self.keep.nodes.get(&node_id).is_some_and(|n| n.listed);
        if !connected || !listed {
            return;
        }
        let desired = self.desired_of(node_id);
        if !desired.managed && desired.pots.is_empty() && desired.not_desired.is_empty() {
            return;
        }
        let observed = self.observed_of(node_id);
        let mut busy = self
            .commands
            .books
            .get(&node_id)
            .map(|b| b.busy_pots())
            .unwrap_or_default();
        let (held, gave_up, scheduled) = self.guard_sets(node_id);
        busy.extend(scheduled);
        for step in plan(&desired, &observed, &busy, &held, &gave_up) {
            let command = match step {
                Step::Install { pot_id, desired } => {
                    Command::InstallPot(install_of(&pot_id, &desired))
                }
                Step::Deploy { pot_id } => {
                    let action = self.guard(node_id, &pot_id).converge_start(Instant::now());
                    match action {
                        Action::Restart { after } | Action::Reinstall { after } => {
                            self.schedule(node_id, &pot_id, Attempt::Start, after, ctx);
                        }
                        other => self.act(node_id, &pot_id, other, ctx),
                    }
                    continue;
                }
                Step::Stop { pot_id } => {
                    // Stopped because it is not desired: no policy restarts it.
                    self.hold_pot(node_id, &pot_id);
                    Command::StopPot(pot_id)
                }
            };
            log::info!(
                "Node {node_id}: converging on its desired state: {}.",
                command.name()
            );
            self.submit_internal(node_id, command, Origin::Core, ctx);
        }
    }

    /// The node's pots as last reported.
    fn observed_of(&self, node_id: NodeId) -> BTreeMap<String, Observed> {
        let Some(node) = self.nodes.get(&node_id) else {
            return BTreeMap::new();
        };
        node.pots
            .iter()
            .map(|(id, p)| {
                let reported = self.keep.pot_ref(node_id, id).and_then(|k| k.reported);
                (
                    id.clone(),
                    Observed {
                        pot_type: p.pot_type.clone(),
                        status: reported.unwrap_or_else(|| p.last.status()),
                    },
                )
            })
            .collect()
    }

    /// The node's held, given-up and scheduled pots.
    fn guard_sets(
        &self,
        node_id: NodeId,
    ) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
        let mut held = BTreeSet::new();
        let mut gave_up = BTreeSet::new();
        let mut scheduled = BTreeSet::new();
        for (pot_id, pot) in self
            .keep
            .nodes
            .get(&node_id)
            .into_iter()
            .flat_map(|n| &n.pots)
        {
            if pot.scheduled {
                scheduled.insert(pot_id.clone());
            }
            if let Some(guard) = &pot.guard {
                if guard.held() {
                    held.insert(pot_id.clone());
                }
                if guard.gave_up().is_some() {
                    gave_up.insert(pot_id.clone());
                }
            }
        }
        (held, gave_up, scheduled)
    }

    /// What the API shows of a node's desired state: each pot's desired entry and the drift.
    pub(super) fn desired_view(
        &mut self,
        node_id: NodeId,
    ) -> (BTreeMap<String, DesiredPot>, Vec<Drift>) {
        let desired = self.desired_of(node_id);
        let observed = self.observed_of(node_id);
        let drift = crate::policy::drift(&desired, &observed);
        (desired.pots, drift)
    }

    /// A node's desired pots, without dropping stale overrides (for `&self` callers).
    pub(super) fn desired_pots(&self, node_id: NodeId) -> BTreeMap<String, DesiredPot> {
        let Some(node) = self.nodes.get(&node_id) else {
            return BTreeMap::new();
        };
        let empty = BTreeMap::new();
        let overrides = self.keep.overrides.get(&node_id).unwrap_or(&empty);
        effective(self.file_node(node), overrides).0.pots
    }

    /// Adds what the domain supervision knows to a pot's view: its desired entry, the restarts
    /// its guard ordered, and why it was given up on.
    pub(super) fn complete_pot_view(
        &self,
        view: &mut crate::registry::PotView,
        desired: &BTreeMap<String, DesiredPot>,
    ) {
        view.desired = desired.get(&view.pot_id).cloned();
        if let Some(guard) = self
            .keep
            .pot_ref(view.node_id, &view.pot_id)
            .and_then(|p| p.guard.as_ref())
        {
            view.restarts += guard.restarts();
            view.gave_up = guard.gave_up().map(str::to_owned);
        }
    }

    /// Events arrived from these pots (reported at most once a second per node). Pot ids the
    /// Core has no status of are ignored: events never create pots.
    pub(super) fn keep_on_events(&mut self, node_id: NodeId, pots: &[String]) {
        let Some(node) = self.keep.nodes.get_mut(&node_id) else {
            return;
        };
        let now = Instant::now();
        for pot_id in pots {
            if let Some(pot) = node.pots.get_mut(pot_id) {
                pot.last_event = Some(now);
            }
        }
    }

    /// Raises or clears silent-pot alerts; runs every quarter of `pots.silence_alert_secs`.
    pub(super) fn watch_silence(&mut self, ctx: &mut Context<Self>) {
        let limit = self.keep.settings.silence;
        if limit.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut raise = Vec::new();
        let mut clear = Vec::new();
        for (node_id, node) in &self.keep.nodes {
            for (pot_id, pot) in &node.pots {
                let Some(since) = pot.running_since else {
                    continue;
                };
                let key = AlertKey::pot(AlertKind::PotSilent, *node_id, pot_id);
                if silent(since, pot.last_event, now, limit) {
                    raise.push((key, *node_id, pot_id.clone()));
                } else {
                    clear.push(key);
                }
            }
        }
        for (key, node_id, pot_id) in raise {
            if !self.alerts.is_open(&key) {
                self.raise_alert(
                    key,
                    format!(
                        "node {node_id} pot {pot_id} is Running but sent no event for {:.1} s",
                        limit.as_secs_f64()
                    ),
                );
            }
        }
        for key in clear {
            self.clear_alert(&key);
        }
        let every = (limit / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
        ctx.run_later(every, Self::watch_silence);
    }
}

/// The `InstallPot` of a desired pot (started once installed).
fn install_of(pot_id: &str, desired: &DesiredPot) -> InstallPot {
    InstallPot {
        pot_id: pot_id.to_owned(),
        honeypot_type: desired.pot_type.clone(),
        git_url: desired.git_url.clone(),
        git_branch: desired.git_branch.clone(),
        config: Some(desired.config.clone()),
        auto_start: true,
    }
}

impl Handler<SetFleetFile> for Registry {
    type Result = ();

    fn handle(&mut self, msg: SetFleetFile, ctx: &mut Context<Self>) {
        let before: HashMap<NodeId, Desired> = self
            .nodes
            .keys()
            .copied()
            .collect::<Vec<_>>()
            .into_iter()
            .map(|id| (id, self.desired_of(id)))
            .collect();
        self.keep.file = msg.0;
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for node_id in ids {
            let after = self.desired_of(node_id);
            // A pot whose desired state changed gets a fresh start: give-up and holds end.
            let old = before.get(&node_id).cloned().unwrap_or_default();
            let changed: Vec<String> = after
                .pots
                .keys()
                .chain(old.pots.keys())
                .filter(|p| after.pots.get(*p) != old.pots.get(*p))
                .cloned()
                .collect();
            for pot_id in changed {
                self.release_pot(node_id, &pot_id, ctx);
            }
            self.reconcile(node_id, ctx);
        }
    }
}

impl Registry {
    /// The pot's desired state changed: holds and give-ups end, and a pot that is down
    /// because of them is installed again from its new desired state.
    fn release_pot(&mut self, node_id: NodeId, pot_id: &str, ctx: &mut Context<Self>) {
        let pot = self.keep.pot(node_id, pot_id);
        let was_given_up = pot.guard.as_ref().is_some_and(|g| g.gave_up().is_some());
        let failed = pot.reported == Some(PotStatus::Failed);
        self.release_guard(node_id, pot_id);
        self.clear_alert(&AlertKey::pot(AlertKind::PotGaveUp, node_id, pot_id));
        let desired = self.desired_of(node_id).pots.get(pot_id).cloned();
        let connected = self
            .nodes
            .get(&node_id)
            .is_some_and(|n| n.session.is_some());
        if let (true, true, Some(desired)) = (was_given_up || failed, connected, desired)
            && !self.pot_busy(node_id, pot_id)
        {
            self.submit_internal(
                node_id,
                Command::InstallPot(install_of(pot_id, &desired)),
                Origin::Core,
                ctx,
            );
        }
    }
}

impl Handler<SetDesired> for Registry {
    type Result = Result<Option<DesiredPot>, DesiredError>;

    fn handle(&mut self, msg: SetDesired, ctx: &mut Context<Self>) -> Self::Result {
        let node_id = self.resolve(msg.node_id);
        let node = self.nodes.get(&node_id).ok_or(DesiredError::UnknownNode)?;
        if let Some(d) = &msg.desired {
            let install = Command::InstallPot(install_of(&msg.pot_id, d));
            honeybee_protocol::validate::command(&install, &self.settings.commands.allowed_sources)
                .map_err(|e| DesiredError::Invalid(e.to_string()))?;
        } else {
            honeybee_protocol::validate::pot_id(&msg.pot_id)
                .map_err(|e| DesiredError::Invalid(e.to_string()))?;
        }
        let file_fingerprint = self
            .file_node(node)
            .and_then(|f| f.pots.get(&msg.pot_id))
            .map(DesiredPot::fingerprint);
        queued(self.store.set_override(OverrideRow {
            node_id,
            pot_id: msg.pot_id.clone(),
            desired: msg.desired.as_ref().map(|d| desired_json(d).to_string()),
            file_fingerprint,
            set_at: crate::clock::now(),
        }));
        self.keep.overrides.entry(node_id).or_default().insert(
            msg.pot_id.clone(),
            Override {
                desired: msg.desired.clone(),
                file_fingerprint,
            },
        );
        self.release_pot(node_id, &msg.pot_id, ctx);
        self.reconcile(node_id, ctx);
        self.pot_changed(node_id, &msg.pot_id);
        Ok(msg.desired)
    }
}
