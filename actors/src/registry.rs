//! The `Registry` actor: owns every node record, decides registrations (through the
//! [`Admission`] decision point), routes commands and reports, answers fleet queries, and
//! supervises the pot actors. Nothing else holds fleet state; everything reaches it by message.

mod alerting;
mod churn;
mod dispatch;
mod keep;
mod messages;
mod persist;
mod record;
mod views;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use honeybee_protocol::{NodeId, NodeStatus, PotStatusUpdate, RefusalCode};

pub use dispatch::{GetCommand, SubmitCommand, SubmitError, Submitted};
pub use keep::{
    DesiredError, KeepSettings, SetDesired, SetFleetFile, desired_json, overrides_from,
};
pub use messages::*;
pub use record::{NODE_HISTORY_LIMIT, NodeRecord, Nodes, PotEntry, SessionLink};
pub use views::*;

use honeybee_store::{Fleet, StoreError, WriterHandle};

use std::sync::Arc;

use self::churn::{Churn, ChurnLog};
use crate::admission::{Admission, Applicant, IdentityOpError, Verdict};
use crate::alerts::{AlertBook, AlertKey, AlertKind};
use crate::counters::Counters;
use crate::feed::{Change, Feed};
use crate::limited_log;
use crate::log_limit::LogLimiter;
use crate::pot::lifecycle::Lifecycle;
use crate::pot::{PotActor, PotChanged, PotExited, PotIdentity, PotReport};
use crate::session::{CloseSession, EndReason};
use crate::settings::{CommandSettings, SupervisionSettings};
use crate::text::{clip, clip_message};

/// Messages sent with `send()` (registrations, queries) queued before senders wait.
const MAILBOX_CAPACITY: usize = 1 << 16;

/// How long a registration's ack may wait for the store to make its decision durable. A real
/// node waits 10 s for its ack; past this the session closes without one and the node retries.
const DURABLE_ACK_BOUND: Duration = Duration::from_secs(5);

/// Longest pot type kept, in bytes.
const MAX_POT_TYPE_BYTES: usize = 64;

/// Pots kept per node; reports about more are dropped (a hostile node could invent any
/// number of pot ids).
pub const MAX_POTS_PER_NODE: usize = 1024;

/// The registry's fixed settings.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// `protocol.strict_version`: refuse registrations whose version is not 2.
    pub strict_version: bool,
    /// `auth.max_nodes`: node records kept at most; past it new nodes are refused.
    pub max_nodes: usize,
    pub supervision: SupervisionSettings,
    pub commands: CommandSettings,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            strict_version: false,
            max_nodes: 100_000,
            supervision: SupervisionSettings::default(),
            commands: CommandSettings::default(),
        }
    }
}

pub struct Registry {
    settings: RegistrySettings,
    admission: Box<dyn Admission>,
    /// Every change to the fleet model is queued here, in order (it never blocks).
    store: WriterHandle,
    nodes: Nodes,
    /// Every other id a node is known by → its record's id.
    aliases: HashMap<NodeId, NodeId>,
    shutting_down: bool,
    /// Refusals are logged through this (they cost the sender nothing; keep the log small).
    refusal_log: LogLimiter,
    /// Registrations and disconnections: a line each while few, summaries in a storm.
    churn: ChurnLog,
    /// Live changes for the stream.
    feed: Feed,
    counters: Arc<Counters>,
    /// The open alerts (rebuilt from the store at start).
    alerts: AlertBook,
    /// Announcing alerts once durable, and the reconnect grace of lost nodes.
    alerting: alerting::Alerting,
    /// Every command sent or waiting to be sent to a node.
    commands: dispatch::Tracker,
    /// The domain supervision: pot and node guards, desired state, reconciliation.
    keep: keep::Keep,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("nodes", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry starting from the stored `fleet` (every node disconnected; those that were
    /// awaited when the previous process stopped get the reconnect grace once it starts).
    pub fn new(
        settings: RegistrySettings,
        admission: Box<dyn Admission>,
        store: WriterHandle,
        fleet: Fleet,
    ) -> Self {
        let aliases = fleet
            .nodes
            .iter()
            .flat_map(|n| {
                let primary = n.node.node_id;
                n.ids
                    .iter()
                    .filter(move |id| **id != primary)
                    .map(move |id| (*id, primary))
            })
            .collect();
        let awaited = fleet
            .nodes
            .iter()
            .filter(|n| n.node.awaited)
            .map(|n| n.node.node_id)
            .collect();
        let nodes = persist::records_from(fleet, &settings.supervision);
        Registry {
            settings,
            admission,
            store,
            nodes,
            aliases,
            shutting_down: false,
            refusal_log: LogLimiter::new(20, Duration::from_secs(60)),
            churn: ChurnLog::new(20, Duration::from_secs(10)),
            feed: Feed::default(),
            counters: Arc::default(),
            alerts: AlertBook::default(),
            alerting: alerting::Alerting::awaiting(awaited),
            commands: dispatch::Tracker::default(),
            keep: keep::Keep::default(),
        }
    }

    /// Publishes changes to `feed` and counts into `counters` (both shared with the API).
    pub fn with_outputs(mut self, feed: Feed, counters: Arc<Counters>) -> Self {
        self.feed = feed;
        self.counters = counters;
        self
    }

    /// Raises an alert (once per condition): stored, then logged and pushed to the stream
    /// once durable (`registry/alerting.rs`).
    fn raise_alert(&mut self, key: AlertKey, message: String) {
        self.open_alert(key, message);
    }

    /// Clears the open alert of a condition, if any (stored, then announced).
    fn clear_alert(&mut self, key: &AlertKey) {
        self.close_alert(key);
    }

    /// A node's view with what the identity book and the alerts know of it.
    fn view_of(&self, node: &NodeRecord, alerts: Option<Vec<AlertKind>>) -> NodeView {
        let mut view = node.view();
        if let Some(identity) = self.admission.identity_of(node.node_id) {
            view.enrollment = Some(identity.state);
            view.name_shared = identity.name_shared;
        }
        view.alerts = alerts.unwrap_or_else(|| self.alerts.open_for(node.node_id));
        view
    }

    /// Pushes a node's current view to the stream, and keeps its status alerts in step.
    fn node_changed(&mut self, node_id: NodeId) {
        let Some(node) = self.nodes.get(&node_id) else {
            return;
        };
        let (status, connected) = (node.status, node.session.is_some());
        let name = honeybee_protocol::error::sanitize(&node.node_name, 128);
        let failed = AlertKey::node(AlertKind::NodeFailed, node_id);
        if status == NodeStatus::Failed {
            self.raise_alert(failed, format!("node {node_id} ({name}) reports Failed"));
        } else {
            self.clear_alert(&failed);
        }
        // A lost node's alert waits for the reconnect grace; a connected one is back.
        if connected {
            self.node_back(node_id);
        } else if status == NodeStatus::Unknown {
            self.node_lost(node_id);
        }
        if self.feed.listened()
            && let Some(node) = self.nodes.get(&node_id)
        {
            self.feed.publish(Change::Node(self.view_of(node, None)));
        }
    }

    /// Pushes a pot's current view to the stream.
    fn pot_changed(&self, node_id: NodeId, pot_id: &str) {
        if !self.feed.listened() {
            return;
        }
        if let Some(mut view) = self
            .nodes
            .get(&node_id)
            .and_then(|n| n.pots.get(pot_id).map(|p| p.view(node_id, pot_id)))
        {
            let desired = self.desired_pots(node_id);
            self.complete_pot_view(&mut view, &desired);
            self.feed.publish(Change::Pot(view));
        }
    }

    /// The record id of a node known by `id` (its own, or one it used before).
    fn resolve(&self, id: NodeId) -> NodeId {
        self.aliases.get(&id).copied().unwrap_or(id)
    }

    fn verdict(&mut self, msg: &Register) -> Verdict {
        if self.settings.strict_version && msg.version != honeybee_protocol::PROTOCOL_VERSION {
            return Verdict::Refuse {
                code: RefusalCode::ProtocolVersionMismatch,
                reason: format!("this Core speaks version 2 only, got {}", msg.version),
            };
        }
        let known = self
            .nodes
            .contains_key(&self.resolve(msg.registration.node_id));
        if !known && self.nodes.len() >= self.settings.max_nodes {
            limited_log!(
                self.refusal_log,
                warn,
                "Refused node {} from {}: auth.max_nodes ({}) reached.",
                msg.registration.node_id,
                msg.remote_addr,
                self.settings.max_nodes
            );
            return Verdict::Refuse {
                code: RefusalCode::EnrollmentLimit,
                reason: format!(
                    "this Core holds its maximum of {} nodes (auth.max_nodes)",
                    self.settings.max_nodes
                ),
            };
        }
        self.admission.decide(&Applicant {
            registration: &msg.registration,
            version: msg.version,
            remote_addr: msg.remote_addr,
        })
    }

    fn on_pot_report(&mut self, node_id: NodeId, update: PotStatusUpdate, ctx: &mut Context<Self>) {
        let registry = ctx.address();
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return;
        };
        let now = crate::clock::now();
        let message = clip_message(update.message);
        if !node.pots.contains_key(&update.pot_id) {
            if node.pots.len() >= MAX_POTS_PER_NODE {
                limited_log!(
                    node.log,
                    warn,
                    "Node {node_id} reports more than {MAX_POTS_PER_NODE} pots; ignoring new ones."
                );
                return;
            }
            let entry = PotEntry {
                pot_type: clip(&update.pot_type, MAX_POT_TYPE_BYTES),
                last: Lifecycle::learned(update.status, message.clone(), now),
                actor: None,
                generation: 0,
                budget: persist::budget(&self.settings.supervision),
                restarts: 0,
                restart_pending: false,
                gave_up: false,
            };
            queued(
                self.store
                    .upsert_pot(persist::pot_row(node_id, &update.pot_id, &entry)),
            );
            if let Some(first) = entry.last.history().next() {
                let row = persist::transition_row(node_id, &update.pot_id, first);
                queued(self.store.append_pot_transition(row));
            }
            node.pots.insert(update.pot_id.clone(), entry);
        }
        let Some(entry) = node.pots.get_mut(&update.pot_id) else {
            return;
        };
        if entry.actor.is_none() && !entry.restart_pending && !entry.gave_up {
            start_pot_actor(node_id, &update.pot_id, entry, registry);
        }
        let report = PotReport {
            pot_type: clip(&update.pot_type, MAX_POT_TYPE_BYTES),
            status: update.status,
            message,
            at: now,
        };
        // A live actor gets every report, in order (its mailbox is not bounded: the reports are
        // already bounded by the session reading the node).
        let undelivered = match &entry.actor {
            Some(actor) if actor.connected() => {
                actor.do_send(report);
                None
            }
            _ => Some(report),
        };
        // No running actor (crashed and waiting for its restart, or given up on): keep the
        // model exact by applying the report to the mirror (the lifecycle is a pure state
        // machine); a restarted actor starts from it.
        if let Some(report) = undelivered {
            let transition = report.apply_to(&mut entry.pot_type, &mut entry.last);
            if let Some(t) = transition {
                queued(self.store.append_pot_transition(persist::transition_row(
                    node_id,
                    &update.pot_id,
                    &t,
                )));
            }
            queued(
                self.store
                    .upsert_pot(persist::pot_row(node_id, &update.pot_id, entry)),
            );
            self.pot_changed(node_id, &update.pot_id);
        }
    }

    fn restart_pot(
        &mut self,
        node_id: NodeId,
        pot_id: &str,
        generation: u64,
        ctx: &mut Context<Self>,
    ) {
        let registry = ctx.address();
        let Some(entry) = self
            .nodes
            .get_mut(&node_id)
            .and_then(|n| n.pots.get_mut(pot_id))
        else {
            return;
        };
        if entry.generation == generation && entry.actor.is_none() {
            entry.restart_pending = false;
            entry.restarts += 1;
            start_pot_actor(node_id, pot_id, entry, registry);
            queued(
                self.store
                    .upsert_pot(persist::pot_row(node_id, pot_id, entry)),
            );
            log::info!("Node {node_id} pot {pot_id}: actor restarted from its last known state.");
        }
    }
}

/// The record of `node_id` if `session_id` is its live session.
fn live_node(nodes: &mut Nodes, node_id: NodeId, session_id: u64) -> Option<&mut NodeRecord> {
    nodes
        .get_mut(&node_id)
        .filter(|n| n.session.as_ref().is_some_and(|s| s.id == session_id))
        .map(|n| &mut **n)
}

/// A pot's entry, if `generation` is its current actor's (late messages of an old actor are
/// ignored).
fn current_pot<'a>(
    nodes: &'a mut Nodes,
    node_id: NodeId,
    pot_id: &str,
    generation: u64,
) -> Option<&'a mut PotEntry> {
    nodes
        .get_mut(&node_id)
        .and_then(|n| n.pots.get_mut(pot_id))
        .filter(|e| e.generation == generation)
}

/// Logs a fleet change the store writer would not take (it has stopped: the Core is going
/// down or the store failed; the model in memory stays right, the store falls behind).
fn queued(result: Result<(), StoreError>) {
    if let Err(e) = result {
        log::error!("Cannot queue a fleet change for the store: {e}.");
    }
}

/// Starts a pot's actor (first report or restart) from the entry's last known state.
fn start_pot_actor(node_id: NodeId, pot_id: &str, entry: &mut PotEntry, registry: Addr<Registry>) {
    entry.generation += 1;
    let id = PotIdentity {
        node_id,
        pot_id: pot_id.to_owned(),
        generation: entry.generation,
    };
    let actor = PotActor::new(id, registry, entry.pot_type.clone(), entry.last.clone());
    entry.actor = Some(actor.start());
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Sessions on every arbiter register here at once after a restart of the Core.
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        // Every known pot gets its actor back, from its stored state.
        let registry = ctx.address();
        for (node_id, node) in &mut self.nodes {
            for (pot_id, entry) in node.pots.iter_mut().filter(|(_, e)| !e.gave_up) {
                start_pot_actor(*node_id, pot_id, entry, registry.clone());
            }
        }
        if !self.keep.settings.silence.is_zero() {
            ctx.run_later(Duration::from_millis(100), Self::watch_silence);
        }
        self.start_alerting(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.log_churn_summary();
    }
}

impl Handler<Register> for Registry {
    type Result = ResponseActFuture<Self, Result<Admitted, Refused>>;

    /// Decides at once; answers once the decision is durable when it changed an identity (an
    /// accepted TOTP step is never acknowledged before it is on disk). Other registrations go
    /// on meanwhile, and those waiting together share one commit.
    fn handle(&mut self, msg: Register, ctx: &mut Context<Self>) -> Self::Result {
        match self.admit(&msg, ctx) {
            Ok((admitted, true)) => self.answer_when_durable(msg.registration.node_id, admitted),
            answer => Box::pin(actix::fut::ready(answer.map(|(admitted, _)| admitted))),
        }
    }
}

impl Registry {
    /// Carries out a registration: the verdict, then the node's record, its session link, the
    /// store, the stream and what waits for it. Answers what to acknowledge and whether the
    /// ack must wait for the store.
    fn admit(
        &mut self,
        msg: &Register,
        ctx: &mut Context<Self>,
    ) -> Result<(Admitted, bool), Refused> {
        if self.shutting_down || !msg.session.connected() {
            return Err(Refused::Unavailable);
        }
        let (totp_key, identity, durable_first) = match self.verdict(msg) {
            Verdict::Accept {
                totp_key,
                identity,
                durable_first,
            } => (totp_key, identity, durable_first),
            // The decision point logs what is worth logging (a refused retry costs nothing).
            Verdict::Refuse { code, reason } => {
                self.counters.auth_failure(code);
                return Err(Refused::Ack(code.message(&reason)));
            }
        };
        let now = crate::clock::now();
        let reg = &msg.registration;
        let primary = identity.unwrap_or_else(|| self.resolve(reg.node_id));
        let linked = primary != reg.node_id && self.aliases.insert(reg.node_id, primary).is_none();
        if linked {
            queued(self.store.link_node_id(primary, reg.node_id));
        }
        if linked && let Some(node) = self.nodes.get_mut(&primary) {
            node.previous_ids.push(reg.node_id);
        }
        let node = self
            .nodes
            .entry(primary)
            .or_insert_with(|| Box::new(NodeRecord::new(primary, reg, now)));
        let clone_alert = node.session.take().and_then(|old| {
            limited_log!(
                node.log,
                info,
                "Node {} connected again from {}; closing its older connection.",
                reg.node_id,
                msg.remote_addr
            );
            old.addr.do_send(CloseSession(EndReason::Replaced));
            node.clone_suspected(primary, msg.remote_addr)
        });
        node.update_from(reg, msg.version, msg.remote_addr, now);
        node.session = Some(SessionLink {
            id: msg.session_id,
            addr: msg.session.clone(),
            node_id: reg.node_id,
        });
        let change = node.set_status(NodeStatus::Connected, now);
        queued(self.store.upsert_node(persist::node_row(node)));
        if let Some(change) = change {
            queued(persist::node_status(&self.store, reg.node_id, &change));
        }
        let pot_types = node
            .pots
            .iter()
            .filter(|(_, p)| !p.pot_type.is_empty())
            .map(|(id, p)| (id.clone(), p.pot_type.clone()))
            .collect();
        self.churn_line(Churn::Registered, ctx, || {
            format!(
                "Node {} ({}) registered from {}.",
                reg.node_id,
                honeybee_protocol::error::sanitize(&reg.node_name, 128),
                msg.remote_addr
            )
        });
        if let Some(message) = clone_alert {
            self.raise_alert(AlertKey::node(AlertKind::PossibleClone, primary), message);
        }
        self.node_changed(primary);
        // Learn its pots, then send what waited for it (queued behind the ack: the session
        // is waiting for this answer). A v1 node cannot take commands.
        self.keep_on_register(primary, ctx);
        self.commands_on_register(primary, ctx);
        Ok((
            Admitted {
                totp_key,
                pot_types,
            },
            durable_first,
        ))
    }

    /// Answers `admitted` once everything queued so far (the identity change among it) is
    /// durable, or `NotStored` if the store does not get there within [`DURABLE_ACK_BOUND`]:
    /// then the node hears nothing, retries, and its next code is newer still.
    fn answer_when_durable(
        &mut self,
        node_id: NodeId,
        admitted: Admitted,
    ) -> ResponseActFuture<Self, Result<Admitted, Refused>> {
        let (durable, stored) = tokio::sync::oneshot::channel();
        if self
            .store
            .when_durable(move || {
                let _ = durable.send(());
            })
            .is_err()
        {
            return Box::pin(actix::fut::ready(Err(Refused::NotStored)));
        }
        let wait = tokio::time::timeout(DURABLE_ACK_BOUND, stored);
        Box::pin(wait.into_actor(self).map(move |stored, act, _| match stored {
            Ok(Ok(())) => Ok(admitted),
            _ => {
                limited_log!(
                    act.refusal_log,
                    error,
                    "Node {node_id}: the store did not record its registration within {} s; \
                     closing without an ack (the node will retry).",
                    DURABLE_ACK_BOUND.as_secs()
                );
                Err(Refused::NotStored)
            }
        }))
    }

    /// Logs one line of fleet churn, or counts it for a summary while many nodes come and go.
    fn churn_line(&mut self, churn: Churn, ctx: &mut Context<Self>, line: impl FnOnce() -> String) {
        if self.churn.line(churn, Instant::now()) {
            log::info!("{}", line());
        } else if !self.churn.summary_due {
            self.churn.summary_due = true;
            ctx.run_later(self.churn.window(), |act, _| act.log_churn_summary());
        }
    }

    fn log_churn_summary(&mut self) {
        if let Some(summary) = self.churn.summary() {
            log::info!("{summary}");
        }
    }
}

impl Handler<NodeReport> for Registry {
    type Result = ();

    fn handle(&mut self, msg: NodeReport, ctx: &mut Context<Self>) {
        let now = crate::clock::now();
        let node_id = self.resolve(msg.node_id);
        let Some(node) = live_node(&mut self.nodes, node_id, msg.session_id) else {
            return;
        };
        node.last_seen = now;
        match msg.report {
            Report::Status(status) => {
                if let Some(change) = node.set_status(status, now) {
                    queued(self.store.upsert_node(persist::node_row(node)));
                    queued(persist::node_status(&self.store, node_id, &change));
                    self.node_changed(node_id);
                }
                self.commands_on_node_status(node_id, status, ctx);
                self.keep_on_node_status(node_id, status, ctx);
            }
            Report::Event(event) => {
                let event = NodeEventRecord {
                    at: now,
                    kind: event.kind,
                    message: clip_message(event.message),
                };
                queued(persist::node_event(&self.store, node_id, &event));
                let (kind, message) = (event.kind, event.message.clone());
                node.push_event(event);
                self.commands_on_node_event(node_id, kind, message.as_deref(), ctx);
            }
            Report::Pot(update) => {
                let cause = self.cause_of(node_id, &update.pot_id);
                let (pot_id, to) = (update.pot_id.clone(), update.status);
                self.commands_on_pot_report(node_id, &update, ctx);
                self.on_pot_report(node_id, update, ctx);
                if self
                    .nodes
                    .get(&node_id)
                    .is_some_and(|n| n.pots.contains_key(&pot_id))
                {
                    self.keep_on_pot_status(node_id, &pot_id, to, cause, ctx);
                }
            }
            Report::Active(pots) => self.keep_on_events(node_id, &pots),
        }
    }
}

impl Handler<SessionEnded> for Registry {
    type Result = ();

    fn handle(&mut self, msg: SessionEnded, ctx: &mut Context<Self>) {
        let Some(node_id) = msg.node_id.map(|id| self.resolve(id)) else {
            return;
        };
        let Some(node) = live_node(&mut self.nodes, node_id, msg.session_id) else {
            return;
        };
        node.session = None;
        let reason = msg.reason;
        self.churn_line(Churn::Disconnected, ctx, || {
            format!("Node {node_id} disconnected ({reason}).")
        });
        if self.shutting_down || reason == EndReason::Shutdown {
            // The Core is going down, not the node: no status change, no alert raised or
            // cleared, and its stored record stays `awaited`, so the next start gives it the
            // reconnect grace.
            self.commands_on_session_end(node_id, ctx);
            return;
        }
        if reason != EndReason::NodeDrop
            && let Some(node) = self.nodes.get_mut(&node_id)
            && let Some(change) = node.set_status(NodeStatus::Unknown, crate::clock::now())
        {
            queued(persist::node_status(&self.store, node_id, &change));
        }
        // Starts its reconnect grace (or opens its alert at once without one) before its
        // record is stored, so the record says whether the Core still awaits it.
        self.node_changed(node_id);
        if let Some(node) = self.nodes.get(&node_id) {
            queued(self.store.upsert_node(persist::node_row(node)));
        }
        self.arm_grace_timer(ctx);
        self.commands_on_session_end(node_id, ctx);
        self.keep_on_session_end(node_id, ctx);
    }
}

impl Handler<PotChanged> for Registry {
    type Result = ();

    fn handle(&mut self, msg: PotChanged, _: &mut Context<Self>) {
        let Some(entry) = current_pot(&mut self.nodes, msg.node_id, &msg.pot_id, msg.generation)
        else {
            return;
        };
        entry.pot_type = msg.pot_type;
        if let Some(t) = &msg.transition {
            let row = persist::transition_row(msg.node_id, &msg.pot_id, t);
            queued(self.store.append_pot_transition(row));
        }
        entry
            .last
            .mirror(msg.status, msg.message, msg.updated_at, msg.transition);
        queued(
            self.store
                .upsert_pot(persist::pot_row(msg.node_id, &msg.pot_id, entry)),
        );
        self.pot_changed(msg.node_id, &msg.pot_id);
    }
}

impl Handler<PotExited> for Registry {
    type Result = ();

    fn handle(&mut self, msg: PotExited, ctx: &mut Context<Self>) {
        let Some(entry) = current_pot(&mut self.nodes, msg.node_id, &msg.pot_id, msg.generation)
        else {
            return;
        };
        entry.actor = None;
        if !msg.crashed {
            return;
        }
        match entry.budget.next_restart(Instant::now()) {
            Some(delay) => {
                entry.restart_pending = true;
                log::warn!(
                    "Node {} pot {}: actor crashed; restarting in {delay:?}.",
                    msg.node_id,
                    msg.pot_id
                );
                let (node_id, pot_id, generation) = (msg.node_id, msg.pot_id, msg.generation);
                ctx.run_later(delay, move |act, ctx| {
                    act.restart_pot(node_id, &pot_id, generation, ctx);
                });
            }
            None => {
                entry.gave_up = true;
                queued(
                    self.store
                        .upsert_pot(persist::pot_row(msg.node_id, &msg.pot_id, entry)),
                );
                log::error!(
                    "Node {} pot {}: actor crashed {} times within the restart window; giving up.",
                    msg.node_id,
                    msg.pot_id,
                    entry.budget.recent()
                );
            }
        }
    }
}

impl Handler<ListNodes> for Registry {
    type Result = Vec<NodeView>;

    fn handle(&mut self, _: ListNodes, _: &mut Context<Self>) -> Vec<NodeView> {
        let mut alerts = self.alerts.open_by_node();
        let mut nodes: Vec<_> = self
            .nodes
            .values()
            .map(|n| self.view_of(n, Some(alerts.remove(&n.node_id).unwrap_or_default())))
            .collect();
        nodes.sort_by_key(|n| n.node_id);
        nodes
    }
}

impl Handler<GetNode> for Registry {
    type Result = Option<NodeDetail>;

    fn handle(&mut self, msg: GetNode, _: &mut Context<Self>) -> Option<NodeDetail> {
        let node_id = self.resolve(msg.node_id);
        let node = self.nodes.get(&node_id)?;
        let mut detail = node.detail();
        detail.node = self.view_of(node, None);
        let (desired, drift) = self.desired_view(node_id);
        for pot in &mut detail.pots {
            self.complete_pot_view(pot, &desired);
        }
        detail.drift = drift;
        Some(detail)
    }
}

impl Handler<ListPots> for Registry {
    type Result = Vec<PotView>;

    fn handle(&mut self, _: ListPots, _: &mut Context<Self>) -> Vec<PotView> {
        let mut ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        ids.sort_unstable();
        let mut pots = Vec::new();
        for node_id in ids {
            let (desired, _) = self.desired_view(node_id);
            let Some(node) = self.nodes.get(&node_id) else {
                continue;
            };
            let mut views: Vec<PotView> = node.pot_views().collect();
            for pot in &mut views {
                self.complete_pot_view(pot, &desired);
            }
            pots.extend(views);
        }
        pots
    }
}

impl Handler<PotHistory> for Registry {
    type Result = Option<Vec<crate::pot::lifecycle::Transition>>;

    fn handle(&mut self, msg: PotHistory, _: &mut Context<Self>) -> Self::Result {
        let pot = self
            .nodes
            .get(&self.resolve(msg.node_id))?
            .pots
            .get(&msg.pot_id)?;
        Some(pot.last.history().cloned().collect())
    }
}

impl Handler<Operate> for Registry {
    type Result = Result<crate::admission::IdentityOpDone, crate::admission::IdentityOpError>;

    fn handle(&mut self, msg: Operate, _: &mut Context<Self>) -> Self::Result {
        let revoked = match &msg.0 {
            crate::admission::IdentityOp::Revoke(node_id) => Some(self.resolve(*node_id)),
            _ => None,
        };
        let done = self.admission.operate(msg.0);
        let session = revoked
            .and_then(|id| self.nodes.get_mut(&id))
            .and_then(|node| node.session.clone());
        match (&done, revoked, session) {
            (Ok(_), _, Some(session)) => session.addr.do_send(CloseSession(EndReason::Revoked)),
            // A known node without an identity (auth.totp = false, or never enrolled): its
            // connection is still cut, and the operator is told nothing keeps it out.
            (Err(IdentityOpError::NotFound(_)), Some(node_id), session)
                if self.nodes.contains_key(&node_id) =>
            {
                if let Some(session) = session {
                    session.addr.do_send(CloseSession(EndReason::Revoked));
                }
                return Err(IdentityOpError::Conflict(format!(
                    "node {node_id} has no identity (auth.totp = false, or it never enrolled): \
                     its connection was closed, but nothing keeps it from connecting again"
                )));
            }
            _ => {}
        }
        done
    }
}

impl Handler<ListIdentities> for Registry {
    type Result = Vec<crate::admission::IdentityView>;

    fn handle(&mut self, _: ListIdentities, _: &mut Context<Self>) -> Self::Result {
        self.admission.identities()
    }
}

impl Handler<CountNodes> for Registry {
    type Result = NodeCounts;

    fn handle(&mut self, _: CountNodes, _: &mut Context<Self>) -> NodeCounts {
        let mut counts = NodeCounts::of(self.nodes.values().map(|n| &**n));
        counts.alerts_open = self.alerts.open_count();
        counts
    }
}

impl Handler<BeginShutdown> for Registry {
    type Result = usize;

    fn handle(&mut self, _: BeginShutdown, ctx: &mut Context<Self>) -> usize {
        self.shutting_down = true;
        self.commands_on_shutdown(ctx);
        // Registered sessions are closed from here (only unregistered ones watch for the
        // shutdown themselves); no registration is accepted from now on.
        let sessions: Vec<_> = self
            .nodes
            .values()
            .filter_map(|n| n.session.as_ref().map(|s| s.addr.clone()))
            .collect();
        for session in &sessions {
            session.do_send(CloseSession(EndReason::Shutdown));
        }
        sessions.len()
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<InjectFault> for Registry {
    type Result = bool;

    fn handle(&mut self, msg: InjectFault, _: &mut Context<Self>) -> bool {
        let Some(node) = self.nodes.get(&self.resolve(msg.node_id)) else {
            return false;
        };
        match msg.target {
            FaultTarget::Session => node.session.as_ref().map(|s| {
                s.addr.do_send(crate::session::InjectPanic);
            }),
            FaultTarget::Pot(pot_id) => node
                .pots
                .get(&pot_id)
                .and_then(|p| p.actor.as_ref())
                .map(|a| a.do_send(crate::pot::InjectPanic)),
        }
        .is_some()
    }
}

impl Handler<ListAlerts> for Registry {
    type Result = Vec<crate::alerts::Alert>;

    /// The open alerts as the registry holds them, oldest first (announced or not yet).
    fn handle(&mut self, _: ListAlerts, _: &mut Context<Self>) -> Self::Result {
        self.alerts.list()
    }
}

impl Handler<CoreAlert> for Registry {
    type Result = ();

    fn handle(&mut self, msg: CoreAlert, _: &mut Context<Self>) {
        match msg.message {
            Some(message) => self.raise_alert(msg.key, message),
            None => self.clear_alert(&msg.key),
        }
    }
}
