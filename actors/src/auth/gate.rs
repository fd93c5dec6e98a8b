//! The identity book as the registry's decision point: every registration is decided by the
//! book, every identity change it makes is queued to the store (secrets stay in the store and
//! the node; nothing here logs them).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use honeybee_store::WriterHandle;

use super::identities::{Decision, Identity, IdentityBook, IdentityChange};
use honeybee_protocol::{NodeId, SecretString};
use honeybee_store::IdentityState;

use super::totp;
use crate::admission::{
    Admission, Applicant, IdentityOp, IdentityOpDone, IdentityOpError, IdentityView, Verdict,
};
use crate::limited_log;
use crate::log_limit::LogLimiter;

/// Decides registrations with TOTP and enrollment rules.
#[derive(Debug)]
pub struct IdentityGate {
    book: IdentityBook,
    store: WriterHandle,
    log: LogLimiter,
}

impl IdentityGate {
    pub fn new(book: IdentityBook, store: WriterHandle) -> Self {
        IdentityGate {
            book,
            store,
            log: LogLimiter::new(20, Duration::from_secs(60)),
        }
    }
}

impl IdentityGate {
    fn persist(&self, changes: impl IntoIterator<Item = IdentityChange>) {
        for IdentityChange::Upsert(identity) in changes {
            if let Err(e) = self.store.upsert_identity(identity) {
                log::error!("Cannot queue an identity change for the store: {e}.");
            }
        }
    }

    /// The identity of a node id, for an operator's act on it.
    fn key_of(&self, node_id: NodeId) -> Result<u64, IdentityOpError> {
        self.book
            .by_node_id(node_id)
            .map(|i| i.key)
            .ok_or_else(|| IdentityOpError::NotFound(format!("no identity for node {node_id}")))
    }
}

impl Admission for IdentityGate {
    fn decide(&mut self, applicant: &Applicant<'_>) -> Verdict {
        let reg = applicant.registration;
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let source = applicant.remote_addr.ip();
        let (decision, changes) = self.book.decide(reg, source, unix, Instant::now());
        let durable_first = !changes.is_empty();
        self.persist(changes);
        match decision {
            Decision::Accept { identity, totp_key } => {
                // A node back under a new id is recorded under its identity's first id.
                let first = self
                    .book
                    .get(identity)
                    .and_then(|i| i.node_ids.first().copied())
                    .unwrap_or(reg.node_id);
                Verdict::Accept {
                    totp_key,
                    identity: (first != reg.node_id).then_some(first),
                    durable_first,
                }
            }
            Decision::Refuse { code, reason, log } => {
                if log {
                    limited_log!(
                        self.log,
                        info,
                        "Node {} from {}: {code}: {reason}.",
                        reg.node_id,
                        applicant.remote_addr
                    );
                }
                Verdict::Refuse { code, reason }
            }
        }
    }

    fn operate(&mut self, op: IdentityOp) -> Result<IdentityOpDone, IdentityOpError> {
        match op {
            IdentityOp::Enroll { node_id, name } => {
                if node_id.is_none() && name.is_none() {
                    return Err(IdentityOpError::Invalid(
                        "enrolling needs a node id or a name".to_owned(),
                    ));
                }
                let live = |i: &Identity| i.state != IdentityState::Revoked;
                if let Some(id) = node_id
                    && self.book.by_node_id(id).is_some_and(live)
                {
                    return Err(IdentityOpError::Conflict(format!(
                        "node {id} is already enrolled; revoke it first to issue a new key"
                    )));
                }
                if let Some(name) = &name
                    && node_id.is_none()
                    && self.book.named(name).any(live)
                {
                    return Err(IdentityOpError::Conflict(
                        "a node with that name is already enrolled; revoke it first to issue \
                         a new key"
                            .to_owned(),
                    ));
                }
                let (identity, changes) = self.book.enroll(node_id, name.as_deref());
                self.persist(changes);
                let totp_key = identity.secret.ok_or_else(|| {
                    IdentityOpError::Conflict("enrollment made no key".to_owned())
                })?;
                let account = name
                    .clone()
                    .or_else(|| node_id.map(|id| id.to_string()))
                    .unwrap_or_default();
                let otpauth_uri = SecretString::new(totp::otpauth_uri(&totp_key, &account));
                log::info!(
                    "Enrolled node {} by an operator's request.",
                    name.as_deref()
                        .map_or_else(|| account.clone(), str::to_owned)
                );
                Ok(IdentityOpDone::Enrolled {
                    node_id,
                    name,
                    totp_key,
                    otpauth_uri,
                })
            }
            IdentityOp::Approve(node_id) => {
                let change = self.book.approve(self.key_of(node_id)?).ok_or_else(|| {
                    IdentityOpError::Conflict(format!("node {node_id} is not waiting for approval"))
                })?;
                self.persist([change]);
                Ok(IdentityOpDone::Done)
            }
            IdentityOp::Reject(node_id) => {
                let key = self.key_of(node_id)?;
                if self.book.get(key).map(|i| i.state) != Some(IdentityState::Pending) {
                    return Err(IdentityOpError::Conflict(format!(
                        "node {node_id} is not waiting for approval"
                    )));
                }
                let change = self.book.revoke(key).ok_or_else(|| no_identity(node_id))?;
                self.persist([change]);
                Ok(IdentityOpDone::Done)
            }
            IdentityOp::Revoke(node_id) => {
                let change = self
                    .book
                    .revoke(self.key_of(node_id)?)
                    .ok_or_else(|| no_identity(node_id))?;
                self.persist([change]);
                log::info!("Revoked node {node_id}; its key is forgotten.");
                Ok(IdentityOpDone::Done)
            }
        }
    }

    fn identities(&self) -> Vec<IdentityView> {
        self.book.all().map(view).collect()
    }

    fn identity_of(&self, node_id: NodeId) -> Option<IdentityView> {
        self.book.by_node_id(node_id).map(view)
    }
}

fn view(i: &Identity) -> IdentityView {
    IdentityView {
        node_ids: i.node_ids.clone(),
        name: i.name.clone(),
        state: i.state,
        name_shared: i.name_shared,
    }
}

fn no_identity(node_id: NodeId) -> IdentityOpError {
    IdentityOpError::NotFound(format!("no identity for node {node_id}"))
}
