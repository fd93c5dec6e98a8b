//! The identity book: who may register, decided as PROTOCOL.md's Authentication section says.
//! An identity is a secret plus the node ids and the name used with it. Pure: the caller passes
//! the time, and persists the [`Change`]s a decision returns.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use honeybee_protocol::{NodeId, NodeRegistration, RefusalCode, SecretString};

use super::lockout::{IdentityKey, Lockouts, Outcome};
use super::totp::{self, CodeCheck};

/// How new identities come in (`auth.enrollment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrollment {
    /// Trust on first use: a new identity gets its key in the ack.
    Open,
    /// New identities wait for an operator; the first registration after approval gets the key.
    Approve,
    /// Only identities an operator enrolled beforehand.
    Closed,
}

/// An identity as the store keeps it: a secret plus the node ids and the name used with it.
pub use honeybee_store::{IdentityRow as Identity, IdentityState};

/// Settings of the book (`auth.*`).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub totp: bool,
    pub enrollment: Enrollment,
    pub exempt_ids: HashSet<NodeId>,
    pub exempt_names: HashSet<String>,
    pub max_failures: u32,
    pub lockout: Duration,
    pub max_identities_per_source: u32,
    pub max_new_per_minute: u32,
    pub max_nodes: usize,
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept {
        /// The identity the node registered as.
        identity: IdentityKey,
        /// A key handed to the node in this ack.
        totp_key: Option<SecretString>,
    },
    Refuse {
        code: RefusalCode,
        reason: String,
        /// Worth a log line (a lockout starting, a new identity pending); refused retries are
        /// silent.
        log: bool,
    },
}

/// What a decision changed, for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityChange {
    /// Create or replace this identity's record.
    Upsert(Identity),
}

/// Where a known identity stands for a registration (`IdentityBook::standing`).
#[derive(Debug)]
enum Standing {
    Revoked,
    Pending,
    /// Listed in `auth.totp_exempt`: in without a code.
    Exempt,
    /// It has no key yet (it was made while exempt).
    NoKey,
    /// Its key waits to be handed over (approved, or enrolled without handing it out).
    KeyToDeliver,
    LockedOut(Instant),
    NoCode,
    Code(SecretString),
}

/// Identities enrolled by name only get keys from the top of the u64 range down (a node id
/// that lands there is still told apart: keys are never reused).
const SYNTHETIC_FLOOR: IdentityKey = u64::MAX - (1 << 32);

/// Registrations' verdicts and the identities behind them.
#[derive(Debug)]
pub struct IdentityBook {
    settings: AuthSettings,
    /// Boxed: the table's spare slots cost a pointer each, not an identity.
    identities: HashMap<IdentityKey, Box<Identity>>,
    by_node_id: HashMap<NodeId, IdentityKey>,
    by_name: HashMap<String, Vec<IdentityKey>>,
    lockouts: Lockouts,
    new_by_source: HashMap<IpAddr, (Instant, u32)>,
    next_synthetic: IdentityKey,
}

impl IdentityBook {
    pub fn new(settings: AuthSettings, stored: impl IntoIterator<Item = Identity>) -> Self {
        let lockouts = Lockouts::new(
            settings.max_failures,
            settings.lockout,
            settings.max_identities_per_source,
        );
        let mut book = IdentityBook {
            settings,
            identities: HashMap::new(),
            by_node_id: HashMap::new(),
            by_name: HashMap::new(),
            lockouts,
            new_by_source: HashMap::new(),
            next_synthetic: u64::MAX,
        };
        for identity in stored {
            book.index(identity);
        }
        book
    }

    fn index(&mut self, identity: Identity) {
        for id in &identity.node_ids {
            self.by_node_id.insert(*id, identity.key);
        }
        if let Some(name) = &identity.name {
            let keys = self.by_name.entry(name.clone()).or_default();
            if !keys.contains(&identity.key) {
                keys.push(identity.key);
            }
        }
        if identity.key >= SYNTHETIC_FLOOR {
            self.next_synthetic = self.next_synthetic.min(identity.key.saturating_sub(1));
        }
        self.identities.insert(identity.key, Box::new(identity));
    }

    /// Every identity.
    pub fn all(&self) -> impl Iterator<Item = &Identity> {
        self.identities.values().map(|i| &**i)
    }

    pub fn get(&self, key: IdentityKey) -> Option<&Identity> {
        self.identities.get(&key).map(|i| &**i)
    }

    /// The identity a node id belongs to.
    pub fn by_node_id(&self, node_id: NodeId) -> Option<&Identity> {
        self.by_node_id
            .get(&node_id)
            .and_then(|k| self.identities.get(k))
            .map(|i| &**i)
    }

    /// Decides on a registration from `source`; `unix_secs` is the TOTP clock, `now` the
    /// monotonic one for lockouts and flood limits.
    pub fn decide(
        &mut self,
        reg: &NodeRegistration,
        source: IpAddr,
        unix_secs: u64,
        now: Instant,
    ) -> (Decision, Vec<IdentityChange>) {
        let known = self.by_node_id.get(&reg.node_id).copied();
        if !self.settings.totp {
            // PROTOCOL.md: with TOTP off every registration is accepted and no key is handed
            // out; no identity is made or changed.
            return accept(known.unwrap_or(reg.node_id));
        }
        if let Some(key) = known {
            return self.known(key, reg, source, unix_secs, now);
        }
        let named: Vec<IdentityKey> = self
            .by_name
            .get(&reg.node_name)
            .cloned()
            .unwrap_or_default();
        // A node back under a new id first: a valid code for an active identity of that name
        // wins over a tombstone another identity left on the name.
        if let Some(code) = reg.totp_code.as_ref() {
            for key in &named {
                let (decision, changes) = self.returning(*key, reg, code, source, unix_secs, now);
                if let Some(decision) = decision {
                    return (decision, changes);
                }
            }
        }
        if named.iter().any(|k| {
            self.identities
                .get(k)
                .is_some_and(|i| i.state == IdentityState::Revoked)
        }) {
            return refuse(RefusalCode::Revoked, "this node was revoked", false);
        }
        self.enroll_new(reg, source, !named.is_empty(), now)
    }

    /// A registration from a node id the book knows: its verdict follows from where the
    /// identity stands.
    fn known(
        &mut self,
        key: IdentityKey,
        reg: &NodeRegistration,
        source: IpAddr,
        unix_secs: u64,
        now: Instant,
    ) -> (Decision, Vec<IdentityChange>) {
        let Some(identity) = self.identities.get(&key) else {
            return refuse(RefusalCode::AuthenticationFailed, "unknown identity", false);
        };
        match self.standing(identity, reg, source, now) {
            Standing::Revoked => refuse(RefusalCode::Revoked, "this node was revoked", false),
            Standing::Pending => refuse(
                RefusalCode::PendingApproval,
                "this node waits for an operator's approval",
                false,
            ),
            Standing::Exempt => accept(key),
            Standing::NoKey if self.settings.enrollment == Enrollment::Closed => refuse(
                RefusalCode::AuthenticationFailed,
                "this node has no key; an operator must enroll it",
                false,
            ),
            Standing::NoKey => {
                if let Some(identity) = self.identities.get_mut(&key) {
                    identity.secret = Some(totp::new_secret());
                    identity.key_delivered = false;
                }
                self.deliver_key(key, reg)
            }
            Standing::KeyToDeliver => self.deliver_key(key, reg),
            Standing::LockedOut(until) => locked_out(until, now, false),
            Standing::NoCode => {
                let outcome = self.lockouts.failure(key, source, now);
                refuse_failed("this node is enrolled and must send totp_code", outcome)
            }
            Standing::Code(code) => match self.verify(key, &code, unix_secs) {
                CodeCheck::Accepted { step } => {
                    self.lockouts.success(key, source);
                    self.accepted_step(key, step, None)
                }
                CodeCheck::Replayed => refuse(
                    RefusalCode::AuthenticationFailed,
                    "replayed TOTP code; wait for the next 30 s step",
                    false,
                ),
                CodeCheck::Invalid => {
                    let outcome = self.lockouts.failure(key, source, now);
                    refuse_failed("invalid TOTP code", outcome)
                }
            },
        }
    }

    /// Where a known identity stands for this registration, the first rule that applies.
    fn standing(
        &self,
        identity: &Identity,
        reg: &NodeRegistration,
        source: IpAddr,
        now: Instant,
    ) -> Standing {
        match identity.state {
            IdentityState::Revoked => Standing::Revoked,
            IdentityState::Pending => Standing::Pending,
            IdentityState::Active if self.exempt_identity(identity, reg) => Standing::Exempt,
            // Made while exempt: it gets a key now, unless only operators hand out keys.
            IdentityState::Active if identity.secret.is_none() => Standing::NoKey,
            IdentityState::Active if !identity.key_delivered => Standing::KeyToDeliver,
            IdentityState::Active => {
                match (
                    self.lockouts.locked_until(Some(identity.key), source, now),
                    reg.totp_code.clone(),
                ) {
                    (Some(until), _) => Standing::LockedOut(until),
                    (None, None) => Standing::NoCode,
                    (None, Some(code)) => Standing::Code(code),
                }
            }
        }
    }

    /// Hands an identity's key over in this ack (approved, enrolled without handing it out, or
    /// just made) — only to a registration under the name the identity was made with.
    fn deliver_key(
        &mut self,
        key: IdentityKey,
        reg: &NodeRegistration,
    ) -> (Decision, Vec<IdentityChange>) {
        let Some(identity) = self.identities.get_mut(&key) else {
            return refuse(RefusalCode::AuthenticationFailed, "unknown identity", false);
        };
        if identity.name.as_ref().is_some_and(|n| *n != reg.node_name) {
            return refuse(
                RefusalCode::AuthenticationFailed,
                "this node's key waits for a registration under its own name",
                false,
            );
        }
        identity.key_delivered = true;
        let totp_key = identity.secret.clone();
        let change = IdentityChange::Upsert(Identity::clone(identity));
        (
            Decision::Accept {
                identity: key,
                totp_key,
            },
            vec![change],
        )
    }

    /// An unknown node id with the name of an enrolled identity: is it that identity back (a
    /// real node picks a new id at every start)? `None` when the code is not valid for it
    /// (that identity is then left untouched).
    fn returning(
        &mut self,
        key: IdentityKey,
        reg: &NodeRegistration,
        code: &SecretString,
        source: IpAddr,
        unix_secs: u64,
        now: Instant,
    ) -> (Option<Decision>, Vec<IdentityChange>) {
        let active = self
            .identities
            .get(&key)
            .is_some_and(|i| i.state == IdentityState::Active && i.secret.is_some());
        if !active {
            return (None, Vec::new());
        }
        // A locked pair is not tried at all: guessing through new ids is counted like any
        // other failure.
        if self.lockouts.locked_until(Some(key), source, now).is_some() {
            return (None, Vec::new());
        }
        match self.verify(key, code, unix_secs) {
            CodeCheck::Accepted { step } => {
                self.lockouts.success(key, source);
                let (decision, changes) = self.accepted_step(key, step, Some(reg.node_id));
                (Some(decision), changes)
            }
            CodeCheck::Replayed => {
                let (decision, changes) = refuse(
                    RefusalCode::AuthenticationFailed,
                    "replayed TOTP code; wait for the next 30 s step",
                    false,
                );
                (Some(decision), changes)
            }
            CodeCheck::Invalid => {
                self.lockouts.failure(key, source, now);
                (None, Vec::new())
            }
        }
    }

    fn verify(&self, key: IdentityKey, code: &SecretString, unix_secs: u64) -> CodeCheck {
        match self.identities.get(&key).map(|i| &**i) {
            Some(Identity {
                secret: Some(secret),
                last_step,
                ..
            }) => totp::check(secret, code.expose(), unix_secs, *last_step),
            _ => CodeCheck::Invalid,
        }
    }

    /// Records an accepted step (and a newly linked node id) and accepts.
    fn accepted_step(
        &mut self,
        key: IdentityKey,
        step: u64,
        link: Option<NodeId>,
    ) -> (Decision, Vec<IdentityChange>) {
        let Some(identity) = self.identities.get_mut(&key) else {
            return refuse(RefusalCode::AuthenticationFailed, "unknown identity", false);
        };
        identity.last_step = Some(step);
        if let Some(node_id) = link {
            if !identity.node_ids.contains(&node_id) {
                identity.node_ids.push(node_id);
            }
            self.by_node_id.insert(node_id, key);
        }
        let change = IdentityChange::Upsert(Identity::clone(identity));
        (accept(key).0, vec![change])
    }

    /// A node no identity knows.
    fn enroll_new(
        &mut self,
        reg: &NodeRegistration,
        source: IpAddr,
        name_taken: bool,
        now: Instant,
    ) -> (Decision, Vec<IdentityChange>) {
        let enrollment = self.settings.enrollment;
        if enrollment == Enrollment::Closed && !self.exempt(reg) {
            return refuse(
                RefusalCode::EnrollmentClosed,
                "this Core only accepts nodes an operator enrolled",
                false,
            );
        }
        if self.identities.len() >= self.settings.max_nodes {
            return refuse(
                RefusalCode::EnrollmentLimit,
                "this Core holds its maximum of identities (auth.max_nodes)",
                false,
            );
        }
        if !self.new_allowed(source, now) {
            return refuse(
                RefusalCode::EnrollmentLimit,
                "too many new nodes from this address; retry in a minute",
                false,
            );
        }
        let issue_key = !self.exempt(reg);
        let state = if issue_key && enrollment == Enrollment::Approve {
            IdentityState::Pending
        } else {
            IdentityState::Active
        };
        // An identity's key is its first node id, unless that key is taken (by a name-only
        // enrollment's synthetic key).
        let key = if self.identities.contains_key(&reg.node_id) {
            self.synthetic_key()
        } else {
            reg.node_id
        };
        let identity = Identity {
            key,
            name: Some(reg.node_name.clone()),
            node_ids: vec![reg.node_id],
            secret: issue_key.then(totp::new_secret),
            state,
            last_step: None,
            key_delivered: state == IdentityState::Active,
            name_shared: name_taken,
        };
        let mut changes = vec![IdentityChange::Upsert(Identity::clone(&identity))];
        if name_taken {
            changes.extend(self.mark_name_shared(&reg.node_name));
        }
        let totp_key = (state == IdentityState::Active)
            .then(|| identity.secret.clone())
            .flatten();
        self.index(identity);
        match state {
            IdentityState::Pending => {
                let (decision, _) = refuse(
                    RefusalCode::PendingApproval,
                    "this node waits for an operator's approval",
                    true,
                );
                (decision, changes)
            }
            _ => (
                Decision::Accept {
                    identity: key,
                    totp_key,
                },
                changes,
            ),
        }
    }

    fn mark_name_shared(&mut self, name: &str) -> Vec<IdentityChange> {
        let keys = self.by_name.get(name).cloned().unwrap_or_default();
        let mut changes = Vec::new();
        for key in keys {
            if let Some(identity) = self.identities.get_mut(&key)
                && !identity.name_shared
            {
                identity.name_shared = true;
                changes.push(IdentityChange::Upsert(Identity::clone(identity)));
            }
        }
        changes
    }

    fn new_allowed(&mut self, source: IpAddr, now: Instant) -> bool {
        let (start, count) = self.new_by_source.entry(source).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        if *count >= self.settings.max_new_per_minute {
            return false;
        }
        *count += 1;
        true
    }

    /// A new node is exempt by its id, or by a listed name (an explicit hole operators open
    /// for nodes that cannot do TOTP).
    fn exempt(&self, reg: &NodeRegistration) -> bool {
        self.settings.exempt_ids.contains(&reg.node_id)
            || self.settings.exempt_names.contains(&reg.node_name)
    }

    /// A known identity is exempt by the registering id, or by its own stored name — never by
    /// a name the registration merely claims.
    fn exempt_identity(&self, identity: &Identity, reg: &NodeRegistration) -> bool {
        self.settings.exempt_ids.contains(&reg.node_id)
            || identity.name.as_ref().is_some_and(|name| {
                *name == reg.node_name && self.settings.exempt_names.contains(name)
            })
    }

    /// The identities that use `name`.
    pub fn named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Identity> + 'a {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|key| self.identities.get(key).map(|i| &**i))
    }
}

fn accept(identity: IdentityKey) -> (Decision, Vec<IdentityChange>) {
    (
        Decision::Accept {
            identity,
            totp_key: None,
        },
        Vec::new(),
    )
}

fn refuse(code: RefusalCode, reason: &str, log: bool) -> (Decision, Vec<IdentityChange>) {
    (
        Decision::Refuse {
            code,
            reason: reason.to_owned(),
            log,
        },
        Vec::new(),
    )
}

fn locked_out(until: Instant, now: Instant, log: bool) -> (Decision, Vec<IdentityChange>) {
    let secs = until.saturating_duration_since(now).as_secs().max(1);
    refuse(
        RefusalCode::LockedOut,
        &format!("too many failed codes; retry in {secs} s"),
        log,
    )
}

/// A failure: refused as AUTHENTICATION_FAILED, or as LOCKED_OUT when it started a lockout (the
/// one refusal worth a log line).
fn refuse_failed(reason: &str, outcome: Outcome) -> (Decision, Vec<IdentityChange>) {
    // The attempt that starts a lockout still hears what was wrong with it (and is the one
    // worth a log line); the attempts after it are refused as LOCKED_OUT.
    let starts_lockout = !matches!(outcome, Outcome::Counted);
    refuse(RefusalCode::AuthenticationFailed, reason, starts_lockout)
}

mod operators;
#[cfg(test)]
mod tests;
