//! The single decision point for registrations. The registry asks it about every
//! `NodeRegistration`; node authentication (TOTP enrollment, lockouts, revocation) plugs in here
//! by implementing [`Admission`].

use std::net::SocketAddr;

use honeybee_protocol::{NodeId, NodeRegistration, RefusalCode, SecretString};

/// What the registry knows about a registration when it asks.
#[derive(Debug)]
pub struct Applicant<'a> {
    pub registration: &'a NodeRegistration,
    /// The envelope version the registration arrived with.
    pub version: u64,
    pub remote_addr: SocketAddr,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept {
        /// A secret issued to the node with this ack (enrollment).
        totp_key: Option<SecretString>,
        /// The node this registration is, when it is a known node back under a new id (its
        /// identity's first id); `None`: the registration's own id.
        identity: Option<NodeId>,
        /// The decision changed a stored identity (an accepted TOTP step, a key handed out, a
        /// new id linked): the ack waits until that change is durable, so a crash can never
        /// forget a step a node was told was accepted.
        durable_first: bool,
    },
    Refuse {
        code: RefusalCode,
        reason: String,
    },
}

/// An operator's act on node identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityOp {
    /// Pre-enroll by node id and/or name: a fresh key, handed out of band.
    Enroll {
        node_id: Option<NodeId>,
        name: Option<String>,
    },
    /// Let a pending node in (its next registration gets its key).
    Approve(NodeId),
    /// Refuse a pending node (it stays refused until enrolled).
    Reject(NodeId),
    /// Forget a node's key and leave a tombstone.
    Revoke(NodeId),
}

/// What an [`IdentityOp`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityOpDone {
    Enrolled {
        node_id: Option<NodeId>,
        name: Option<String>,
        totp_key: SecretString,
        otpauth_uri: SecretString,
    },
    Done,
}

/// Why an operator's act on identities was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityOpError {
    /// No identity is known by that node id.
    #[error("{0}")]
    NotFound(String),
    /// The identity is not in a state the act applies to (e.g. approving a node not pending).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong (e.g. enrolling with neither an id nor a name).
    #[error("{0}")]
    Invalid(String),
}

/// An identity as operators see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityView {
    pub node_ids: Vec<NodeId>,
    pub name: Option<String>,
    pub state: honeybee_store::IdentityState,
    pub name_shared: bool,
}

/// Decides on registrations. Runs inside the registry actor: it must not block (keep what it
/// needs in memory; persist asynchronously).
pub trait Admission: Send + 'static {
    fn decide(&mut self, applicant: &Applicant<'_>) -> Verdict;

    /// Carries out an operator's act on identities.
    fn operate(&mut self, op: IdentityOp) -> Result<IdentityOpDone, IdentityOpError>;

    /// Every identity (for listings and the approval queue).
    fn identities(&self) -> Vec<IdentityView>;

    /// The identity a node id belongs to, if any (cheap: called per node in listings).
    fn identity_of(&self, node_id: NodeId) -> Option<IdentityView>;
}
