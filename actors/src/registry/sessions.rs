//! Nodes coming and going: a registration decided and carried out (answered once what it
//! decided is durable), what a registered session reports, routed (statuses, node events, pot
//! reports, signs of life), and a session's end.

use std::time::{Duration, Instant};

use actix::prelude::*;
use honeybee_protocol::{NodeId, NodeStatus, RefusalCode};

use super::churn::Churn;
use super::{
    Admitted, NodeRecord, NodeReport, Operate, Refused, Register, Registry, Report, SessionEnded,
    SessionLink, live_node, persist, queued,
};
use crate::admission::{Applicant, IdentityOp, IdentityOpDone, IdentityOpError, Verdict};
use crate::alerts::{AlertKey, AlertKind};
use crate::limited_log;
use crate::pot::Input;
use crate::registry::views::NodeEventRecord;
use crate::session::{CloseSession, EndReason};
use crate::text::clip_message;

/// How long a registration's ack may wait for the store to make its decision durable. A real
/// node waits 10 s for its ack; past this the session closes without one and the node retries.
const DURABLE_ACK_BOUND: Duration = Duration::from_secs(5);

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

    /// Carries out a registration: the verdict, then the node's record, its session link, the
    /// store, the stream, its pots and what waits for it. Answers what to acknowledge and
    /// whether the ack must wait for the store.
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
        // Its pots are listed again on this connection before it converges.
        node.listed = false;
        let change = node.set_status(NodeStatus::Connected, now);
        queued(self.store.upsert_node(persist::node_row(node)));
        if let Some(change) = change {
            queued(persist::node_status(&self.store, reg.node_id, &change));
        }
        let pot_types = node
            .pots
            .iter()
            .filter_map(|(id, p)| p.view.as_ref().map(|v| (id, &v.pot_type)))
            .filter(|(_, pot_type)| !pot_type.is_empty())
            .map(|(id, pot_type)| (id.clone(), pot_type.clone()))
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
            self.open_alert(AlertKey::node(AlertKind::PossibleClone, primary), message);
        }
        self.node_changed(primary);
        // Its name or ids may have changed what the fleet file wants of it.
        self.refresh_desired(primary, None, ctx);
        self.feed_node_pots(primary, |_| Input::Connected);
        self.node_policy_on_status(primary, NodeStatus::Connected, ctx);
        // Learn its pots, then send what waited for it (queued behind the ack: the session
        // is waiting for this answer). A v1 node cannot take commands.
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

    pub(super) fn log_churn_summary(&mut self) {
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
                self.node_policy_on_status(node_id, status, ctx);
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
            Report::Pot(update) => self.route_pot_report(node_id, update, ctx),
            Report::Active(pots) => {
                for pot_id in pots {
                    self.feed_reported_pot(node_id, &pot_id, Input::EventsSeen);
                }
            }
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
        node.listed = false;
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
        // Nothing is known of its pots until they are listed again.
        self.feed_node_pots(node_id, |_| Input::Disconnected);
        self.node_policy_on_status(node_id, NodeStatus::Unknown, ctx);
    }
}

impl Handler<Operate> for Registry {
    type Result = Result<IdentityOpDone, IdentityOpError>;

    fn handle(&mut self, msg: Operate, _: &mut Context<Self>) -> Self::Result {
        let revoked = match &msg.0 {
            IdentityOp::Revoke(node_id) => Some(self.resolve(*node_id)),
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
