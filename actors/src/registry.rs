//! The `Registry` actor supervises and routes. It owns the node records (status, histories,
//! sessions, every id a node used, its desired state), decides registrations through the
//! [`Admission`] decision point, tracks every command sent to a node, keeps the alerts, and
//! supervises one actor per pot: it starts them (from the store), routes what concerns a pot to
//! its actor, and restarts a crashed one from the store. Of a pot it keeps only the actor's
//! address and the view the pot last showed; everything else about a pot is its actor's.
//!
//! ```text
//!  sessions ── Register, NodeReport, SessionEnded ──► Registry ── Deliver, CloseSession ──► sessions
//!                                                       │  ▲
//!               Feed(Input): reports, outcomes,         │  │ PotSubmit (a command to track and send)
//!               operators' commands, desired state      ▼  │ PotViewChanged, PotAlert, PotExited
//!                                                     PotActor (one per node and pot)
//! ```
//!
//! The files: `sessions.rs` (registrations, reports, disconnections), `pots.rs` (the pot
//! actors' supervision and routing), `dispatch.rs` (command tracking), `desired.rs` (the fleet
//! file and overrides), `nodes.rs` (the node policy), `alerting.rs` (alerts), `queries.rs`
//! (what the API reads), `shutdown.rs`.

mod alerting;
mod churn;
mod desired;
mod dispatch;
mod messages;
mod nodes;
mod persist;
mod pot_requests;
mod pots;
mod queries;
mod record;
mod sessions;
mod shutdown;
mod submit;
mod views;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use honeybee_protocol::{NodeId, NodeStatus};
use honeybee_store::{Fleet, Store, WriterHandle};

pub use desired::{DesiredError, SetDesired, SetFleetFile, desired_json, overrides_from};
pub use messages::*;
pub(crate) use persist::queued;
pub use record::{NODE_HISTORY_LIMIT, NodeRecord, Nodes, PotLink, SessionLink};
pub use submit::{GetCommand, SubmitCommand, SubmitError, Submitted};
pub use views::*;

use self::churn::ChurnLog;
use crate::admission::Admission;
use crate::alerts::{AlertBook, AlertKey, AlertKind};
use crate::counters::Counters;
use crate::feed::{Change, Feed};
use crate::log_limit::LogLimiter;
use crate::settings::{CommandSettings, NodePolicySettings, PotSettings, SupervisionSettings};

/// Messages sent with `send()` (registrations, queries) queued before senders wait.
const MAILBOX_CAPACITY: usize = 1 << 16;

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
    /// How crashed pot actors are restarted.
    pub supervision: SupervisionSettings,
    pub commands: CommandSettings,
    pub pots: PotSettings,
    pub nodes: NodePolicySettings,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            strict_version: false,
            max_nodes: 100_000,
            supervision: SupervisionSettings::default(),
            commands: CommandSettings::default(),
            pots: PotSettings::default(),
            nodes: NodePolicySettings::default(),
        }
    }
}

pub struct Registry {
    settings: RegistrySettings,
    admission: Box<dyn Admission>,
    /// Every change to the fleet model is queued here, in order (it never blocks).
    store: WriterHandle,
    /// The store's read side: what a crashed pot actor is restarted from.
    reader: Store,
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
    /// The fleet file and operators' overrides.
    desired: desired::DesiredSources,
    /// Starting, feeding and restarting the pot actors.
    pots: pots::PotSupervision,
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
    /// awaited when the previous process stopped get the reconnect grace once it starts, and
    /// every stored pot gets its actor back).
    pub fn new(
        settings: RegistrySettings,
        admission: Box<dyn Admission>,
        (store, reader): (WriterHandle, Store),
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
        let (nodes, stored_pots) = persist::records_from(fleet);
        let pots = pots::PotSupervision::new(&settings, stored_pots);
        Registry {
            settings,
            admission,
            store,
            reader,
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
            desired: desired::DesiredSources::default(),
            pots,
        }
    }

    /// Publishes changes to `feed` and counts into `counters` (both shared with the API).
    pub fn with_outputs(mut self, feed: Feed, counters: Arc<Counters>) -> Self {
        self.feed = feed;
        self.counters = counters;
        self
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
            self.open_alert(failed, format!("node {node_id} ({name}) reports Failed"));
        } else {
            self.close_alert(&failed);
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

    /// The record id of a node known by `id` (its own, or one it used before).
    fn resolve(&self, id: NodeId) -> NodeId {
        self.aliases.get(&id).copied().unwrap_or(id)
    }
}

/// The record of `node_id` if `session_id` is its live session.
fn live_node(nodes: &mut Nodes, node_id: NodeId, session_id: u64) -> Option<&mut NodeRecord> {
    nodes
        .get_mut(&node_id)
        .filter(|n| n.session.as_ref().is_some_and(|s| s.id == session_id))
        .map(|n| &mut **n)
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Sessions on every arbiter register here at once after a restart of the Core.
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        self.start_pots(ctx);
        self.start_alerting(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.log_churn_summary();
    }
}
