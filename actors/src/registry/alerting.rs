//! Alerts in the registry: raising and clearing them (queued to the store, announced once
//! durable), and the reconnect grace before a lost node's `node_unknown` alert opens.
//!
//! # Ids are shown only once they are durable
//!
//! An alert's id is taken from the [`AlertBook`] at once (ids continue after the store's
//! largest at start) and its open or clear is queued to the store writer in order with every
//! other fleet change. It is *announced* — logged and pushed to the live stream — only when
//! the receipt queued right behind it is answered ([`WriterHandle::when_durable`]), i.e. once
//! the change is committed. A crash can therefore lose only ids nobody has seen: the next
//! start continues after the largest stored id, and no id that reached a log, a stream client
//! or the API is ever handed out twice. (Reserving ids in blocks would show ids before their
//! rows are durable; a burst larger than the block, e.g. every node of a big fleet lost at
//! once, or a writer stalled behind an ingest backlog, would reopen the hole.) Receipts cost
//! the registry nothing while it waits, a burst of alerts shares a commit or two, and they are
//! answered in the order they were queued; while the store cannot commit, announcements wait
//! (the writer retries and logs why).
//!
//! [`WriterHandle::when_durable`]: honeybee_store::WriterHandle::when_durable
//!
//! # Reconnect grace
//!
//! A node that is lost (EOF, an error, a heartbeat timeout: `Unknown` and disconnected) gets
//! `alerts.reconnect_grace_secs` to come back before its `node_unknown` alert opens. Lost nodes
//! wait in one ordered set with one timer for the earliest deadline, so idle nodes cost
//! nothing. The stored node record is `awaited` while the node is connected or within its
//! grace; a session closed by a Core shutdown changes nothing (no status change, no alert) and
//! leaves it `awaited`, so a restarted Core — after a clean stop or a crash alike — gives every
//! node that was connected (or still within its grace) the same grace to come back.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use actix::WeakAddr;
use actix::prelude::*;
use honeybee_protocol::{NodeId, NodeStatus};

use super::{Registry, persist, queued};
use crate::alerts::{Alert, AlertBook, AlertKey, AlertKind};
use crate::feed::Change;
use crate::timer::EarliestTimer;

/// Alert bookkeeping beyond the book itself.
#[derive(Debug)]
pub(super) struct Alerting {
    /// `alerts.reconnect_grace_secs`.
    grace: Duration,
    /// Lost nodes by the end of their grace; the timer waits for the first.
    due: BTreeSet<(Instant, NodeId)>,
    timer: EarliestTimer,
    /// Nodes the store says were awaited when the previous process stopped (given the grace
    /// once the registry starts).
    awaited_at_start: Vec<NodeId>,
    /// Changes queued before the registry started, announced once it has.
    before_start: Vec<Alert>,
    /// The registry itself, to hear back from the store (set when it starts).
    me: Option<WeakAddr<Registry>>,
}

impl Default for Alerting {
    fn default() -> Self {
        Alerting {
            grace: Duration::from_secs(30),
            due: BTreeSet::new(),
            timer: EarliestTimer::default(),
            awaited_at_start: Vec::new(),
            before_start: Vec::new(),
            me: None,
        }
    }
}

impl Alerting {
    /// The nodes to wait for after a start (from the stored fleet).
    pub(super) fn awaiting(nodes: Vec<NodeId>) -> Self {
        Alerting {
            awaited_at_start: nodes,
            ..Alerting::default()
        }
    }
}

/// An alert's open or clear is committed: announce it.
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct AlertDurable(Alert);

impl Registry {
    /// Starts from the store's open alerts (and its largest alert id) with
    /// `alerts.reconnect_grace_secs` = `grace`.
    pub fn with_alerts(mut self, book: AlertBook, grace: Duration) -> Self {
        self.alerts = book;
        self.alerting.grace = grace;
        self
    }

    /// Raises an alert (once per condition): queued to the store, then announced.
    pub(super) fn open_alert(&mut self, key: AlertKey, message: String) {
        let node_name = key
            .node_id
            .and_then(|id| self.nodes.get(&id))
            .map(|n| n.node_name.clone());
        if let Some(alert) = self
            .alerts
            .raise(key, node_name, message, crate::clock::now())
        {
            queued(self.store.open_alert(alert.to_row()));
            self.announce(alert);
        }
    }

    /// Clears the alert of a condition, if one is open: queued to the store, then announced.
    pub(super) fn close_alert(&mut self, key: &AlertKey) {
        if let Some(alert) = self.alerts.clear(key, crate::clock::now()) {
            let at = alert.cleared_at.unwrap_or(alert.opened_at);
            queued(self.store.clear_alert(alert.id, at));
            self.announce(alert);
        }
    }

    /// Announces `alert` once its change, queued just before, is committed.
    fn announce(&mut self, alert: Alert) {
        let Some(me) = self.alerting.me.clone() else {
            self.alerting.before_start.push(alert);
            return;
        };
        let queued = self.store.when_durable(move || {
            if let Some(me) = me.upgrade() {
                me.do_send(AlertDurable(alert));
            }
        });
        if let Err(e) = queued {
            log::error!("Cannot announce an alert: its change cannot reach the store ({e}).");
        }
    }

    /// Logs and streams one durable change. The log line names the id, type and message.
    fn publish_alert(&self, alert: Alert) {
        let kind = alert.key.kind.as_str();
        if alert.cleared_at.is_some() {
            log::info!("Alert {} ({kind}) cleared: {}.", alert.id, alert.message);
        } else {
            log::warn!("ALERT {} ({kind}) opened: {}.", alert.id, alert.message);
        }
        self.feed.publish(Change::Alert(alert));
    }

    /// At start: the registry can hear back from the store now, and every node that was
    /// awaited when the previous process stopped gets the reconnect grace.
    pub(super) fn start_alerting(&mut self, ctx: &mut Context<Self>) {
        self.alerting.me = Some(ctx.address().downgrade());
        for alert in std::mem::take(&mut self.alerting.before_start) {
            self.announce(alert);
        }
        let deadline = Instant::now() + self.alerting.grace;
        for node_id in std::mem::take(&mut self.alerting.awaited_at_start) {
            if let Some(node) = self.nodes.get_mut(&node_id)
                && node.session.is_none()
            {
                node.grace_until = Some(deadline);
                self.alerting.due.insert((deadline, node_id));
            }
        }
        if !self.alerting.due.is_empty() {
            log::info!(
                "Waiting up to {:.1} s for {} nodes that were connected before this start.",
                self.alerting.grace.as_secs_f64(),
                self.alerting.due.len()
            );
        }
        self.arm_grace_timer(ctx);
    }

    /// A node is `Unknown` and disconnected: its grace starts (the caller arms the timer), or
    /// with no grace its alert opens now. Nothing happens while the Core shuts down.
    pub(super) fn node_lost(&mut self, node_id: NodeId) {
        let key = AlertKey::node(AlertKind::NodeUnknown, node_id);
        if self.shutting_down || self.alerts.is_open(&key) {
            return;
        }
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return;
        };
        if node.grace_until.is_some() {
            return;
        }
        if self.alerting.grace.is_zero() {
            let message = lost_message(node_id, &node.node_name, Duration::ZERO);
            self.open_alert(key, message);
            return;
        }
        let deadline = Instant::now() + self.alerting.grace;
        node.grace_until = Some(deadline);
        self.alerting.due.insert((deadline, node_id));
    }

    /// A node is connected: its grace ends and its `node_unknown` alert clears.
    pub(super) fn node_back(&mut self, node_id: NodeId) {
        if let Some(deadline) = self
            .nodes
            .get_mut(&node_id)
            .and_then(|n| n.grace_until.take())
        {
            self.alerting.due.remove(&(deadline, node_id));
        }
        self.close_alert(&AlertKey::node(AlertKind::NodeUnknown, node_id));
    }

    /// Makes sure the timer fires at the earliest end of a grace.
    pub(super) fn arm_grace_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(&(first, _)) = self.alerting.due.first() {
            self.alerting.timer.arm(first, ctx, |registry, ctx| {
                registry.alerting.timer.fired();
                registry.graces_ended(ctx);
            });
        }
    }

    /// Opens the `node_unknown` alert of every node whose grace has ended.
    fn graces_ended(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        while let Some(&(deadline, node_id)) = self.alerting.due.first() {
            if deadline > now {
                break;
            }
            self.alerting.due.pop_first();
            self.grace_ended(node_id, deadline);
        }
        self.arm_grace_timer(ctx);
    }

    fn grace_ended(&mut self, node_id: NodeId, deadline: Instant) {
        let grace = self.alerting.grace;
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return;
        };
        if node.grace_until != Some(deadline) || node.session.is_some() {
            return;
        }
        node.grace_until = None;
        // A node awaited after a restart still shows its last reported status: it is lost now.
        if let Some(change) = node.set_status(NodeStatus::Unknown, crate::clock::now()) {
            queued(persist::node_status(&self.store, node_id, &change));
        }
        let message = lost_message(node_id, &node.node_name, grace);
        // The alert is queued before the record that stops awaiting the node: a crash in
        // between gives the node its grace again rather than losing the alert.
        self.open_alert(AlertKey::node(AlertKind::NodeUnknown, node_id), message);
        if let Some(node) = self.nodes.get(&node_id) {
            queued(self.store.upsert_node(persist::node_row(node)));
        }
        self.node_changed(node_id);
    }
}

fn lost_message(node_id: NodeId, name: &str, grace: Duration) -> String {
    let name = honeybee_protocol::error::sanitize(name, 128);
    if grace.is_zero() {
        format!("node {node_id} ({name}) is Unknown: its connection was lost")
    } else {
        format!(
            "node {node_id} ({name}) is Unknown: its connection was lost and it did not come \
             back within {:.1} s",
            grace.as_secs_f64()
        )
    }
}

impl Handler<AlertDurable> for Registry {
    type Result = ();

    fn handle(&mut self, msg: AlertDurable, _: &mut Context<Self>) {
        self.publish_alert(msg.0);
    }
}

impl Handler<super::CoreAlert> for Registry {
    type Result = ();

    /// An alert about the Core itself (the disk watch).
    fn handle(&mut self, msg: super::CoreAlert, _: &mut Context<Self>) {
        match msg.message {
            Some(message) => self.open_alert(msg.key, message),
            None => self.close_alert(&msg.key),
        }
    }
}
