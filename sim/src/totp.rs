//! TOTP as a node computes it (RFC 6238: SHA-1, 6 digits, 30 s steps) and the node's side of
//! the replay guard: the Core accepts each step once per identity, so a node that registers
//! again within the step it last used waits for the next step instead of being refused.

use honeybee_protocol::SecretString;
use totp_rs::{Algorithm, Builder, Secret};

/// Seconds per step.
pub const STEP_SECS: u64 = 30;

/// Whether `key` has the shape a real node accepts from a `RegistrationAck`: exactly 32
/// characters of `A-Z2-7` (one real node silently throws away any other key).
pub fn is_wire_key(key: &str) -> bool {
    key.len() == 32
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// The 6-digit code of a base32 `key` at `unix_secs`; `None` when the key is not base32 or is
/// shorter than RFC 4226 allows (128 bits).
pub fn code_at(key: &SecretString, unix_secs: u64) -> Option<String> {
    let secret = Secret::try_from_base32(key.expose()).ok()?;
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .build()
        .ok()?;
    Some(totp.generate(unix_secs).to_string())
}

/// The step `unix_secs` falls in.
pub const fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// What a node should put in its next `NodeRegistration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodePlan {
    /// No key yet: register without a code (open enrollment hands one out).
    NoKey,
    /// Send this code (of `step`).
    Send { code: SecretString, step: u64 },
    /// The current step was already used: wait until this unix second, then ask again.
    WaitUntil(u64),
}

/// A node's TOTP key and the last step it sent a code for.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    key: Option<SecretString>,
    last_step: Option<u64>,
}

impl Credentials {
    /// Whether the node holds a key.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// Keeps a key from a `RegistrationAck`, as a real node does: only a well-formed one
    /// (returns whether it was kept). A new key starts a new replay history.
    pub fn accept_key(&mut self, key: &SecretString) -> bool {
        if !is_wire_key(key.expose()) {
            return false;
        }
        if self.key.as_ref() != Some(key) {
            self.key = Some(key.clone());
            self.last_step = None;
        }
        true
    }

    /// The Core answered a registration with the code of `step` (accepted or not): the step is
    /// used. A code that never got an answer — the connection failed or closed first, as when
    /// the Core restarts — was not accepted (the Core acknowledges only what it stored), so
    /// its step stays usable and the node gets back in without waiting for the next one.
    pub fn answered(&mut self, step: u64) {
        self.last_step = Some(self.last_step.map_or(step, |last| last.max(step)));
    }

    /// The code of `now_secs` even if its step was used already (a reconnect storm does not
    /// wait); `None` without a key.
    pub fn code_regardless(&self, now_secs: u64) -> Option<SecretString> {
        code_at(self.key.as_ref()?, now_secs).map(SecretString::new)
    }

    /// The code to send at `now_secs`: the current step's, unless the Core already answered a
    /// code of that step (see [`Credentials::answered`]).
    pub fn plan(&self, now_secs: u64) -> CodePlan {
        let Some(key) = &self.key else {
            return CodePlan::NoKey;
        };
        let step = step_of(now_secs);
        if let Some(last) = self.last_step
            && step <= last
        {
            return CodePlan::WaitUntil((last + 1) * STEP_SECS);
        }
        match code_at(key, now_secs) {
            Some(code) => CodePlan::Send {
                code: SecretString::new(code),
                step,
            },
            // Invariant: only well-formed keys are kept, and they always make a code.
            None => CodePlan::NoKey,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (the ASCII secret "12345678901234567890"); the 6-digit codes
    /// are the last six digits of the RFC's 8-digit values.
    const RFC_KEY: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    const RFC_VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn codes_match_the_rfc_6238_vectors() {
        let key = SecretString::new(RFC_KEY);
        for (time, eight) in RFC_VECTORS {
            assert_eq!(
                code_at(&key, time).as_deref(),
                Some(&eight[2..]),
                "t={time}"
            );
        }
    }

    #[test]
    fn only_wire_shaped_keys_are_kept() {
        let mut creds = Credentials::default();
        assert!(!creds.accept_key(&SecretString::new("gezdgnbvgy3tqojqgezdgnbvgy3tqojq")));
        assert!(!creds.accept_key(&SecretString::new("GEZDGNBVGY3TQOJQ")));
        assert!(!creds.has_key());
        assert!(creds.accept_key(&SecretString::new(RFC_KEY)));
        assert!(creds.has_key());
    }

    #[test]
    fn a_step_is_used_once_answered_then_the_node_waits_for_the_next() {
        let mut creds = Credentials::default();
        assert_eq!(creds.plan(1_000), CodePlan::NoKey);
        creds.accept_key(&SecretString::new(RFC_KEY));
        let t = 1_111_111_111;
        let step = match creds.plan(t) {
            CodePlan::Send { code, step } => {
                assert_eq!(code.expose(), "050471");
                assert_eq!(step, t / 30);
                step
            }
            other => panic!("{other:?}"),
        };
        // Sent but never answered (the Core went away): still usable.
        assert!(matches!(creds.plan(t + 1), CodePlan::Send { .. }));
        creds.answered(step);
        let next = (t / 30 + 1) * 30;
        assert_eq!(creds.plan(t + 5), CodePlan::WaitUntil(next));
        assert!(matches!(creds.plan(next), CodePlan::Send { .. }));
        // A new key starts over.
        creds.accept_key(&SecretString::new("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"));
        assert!(matches!(creds.plan(next), CodePlan::Send { .. }));
    }
}
