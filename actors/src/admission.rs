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
    },
    Refuse {
        code: RefusalCode,
        reason: String,
    },
}

/// Decides on registrations. Runs inside the registry actor: it must not block (keep what it
/// needs in memory; persist asynchronously).
pub trait Admission: Send + 'static {
    fn decide(&mut self, applicant: &Applicant<'_>) -> Verdict;
}

/// Accepts every node (until node authentication is configured).
#[derive(Debug, Default, Clone, Copy)]
pub struct AcceptAll;

impl Admission for AcceptAll {
    fn decide(&mut self, _: &Applicant<'_>) -> Verdict {
        Verdict::Accept {
            totp_key: None,
            identity: None,
        }
    }
}
