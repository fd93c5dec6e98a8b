//! The identity book as the registry's decision point: every registration is decided by the
//! book, every identity change it makes is queued to the store (secrets stay in the store and
//! the node; nothing here logs them).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use honeybee_store::WriterHandle;

use super::book::{Change, Decision, IdentityBook};
use crate::admission::{Admission, Applicant, Verdict};
use crate::limited_log;
use crate::log_limit::LogLimiter;

/// Decides registrations with TOTP and enrollment rules.
#[derive(Debug)]
pub struct BookAdmission {
    book: IdentityBook,
    store: WriterHandle,
    log: LogLimiter,
}

impl BookAdmission {
    pub fn new(book: IdentityBook, store: WriterHandle) -> Self {
        BookAdmission {
            book,
            store,
            log: LogLimiter::new(20, Duration::from_secs(60)),
        }
    }

    pub fn book_mut(&mut self) -> &mut IdentityBook {
        &mut self.book
    }
}

impl Admission for BookAdmission {
    fn decide(&mut self, applicant: &Applicant<'_>) -> Verdict {
        let reg = applicant.registration;
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let source = applicant.remote_addr.ip();
        let (decision, changes) = self.book.decide(reg, source, unix, Instant::now());
        for Change::Upsert(identity) in changes {
            if let Err(e) = self.store.upsert_identity(identity) {
                log::error!("Cannot queue an identity change for the store: {e}.");
            }
        }
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
}
