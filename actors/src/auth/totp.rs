//! TOTP as PROTOCOL.md fixes it (RFC 6238: SHA-1, 6 digits, 30 s steps, ±1 step of skew) with
//! the replay rule the library leaves to its caller: a code is accepted only for a step
//! strictly after the last one accepted for the same identity.

use honeybee_protocol::SecretString;
use totp_rs::{Builder, Secret, Totp};

/// Seconds per step.
pub const STEP_SECS: u64 = 30;

/// A freshly generated 160-bit secret as the node receives it: exactly 32 characters of
/// `A-Z2-7` (one real node throws away any other key).
pub fn new_secret() -> SecretString {
    SecretString::new(Secret::generate().to_base32())
}

/// Whether `key` has the shape a node accepts.
pub fn is_wire_key(key: &str) -> bool {
    key.len() == 32
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

fn totp(secret: &SecretString) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret.expose()).ok()?;
    Builder::new().with_secret(secret).build().ok()
}

/// How a presented code fares against an identity's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Valid for the current step ±1, and newer than the last accepted step.
    Accepted { step: u64 },
    /// Valid, but for a step already accepted (or older): proves the sender held a valid code,
    /// so it is refused without counting as a failure.
    Replayed,
    /// Not a valid code for this secret now.
    Invalid,
}

/// Checks `code` against `secret` at `now_secs` (unix seconds), given the last accepted step.
pub fn check(
    secret: &SecretString,
    code: &str,
    now_secs: u64,
    last_step: Option<u64>,
) -> CodeCheck {
    let Some(totp) = totp(secret) else {
        return CodeCheck::Invalid;
    };
    match totp.check(code, now_secs) {
        Some(step) if last_step.is_none_or(|last| step > last) => CodeCheck::Accepted { step },
        Some(_) => CodeCheck::Replayed,
        None => CodeCheck::Invalid,
    }
}

/// The code for `secret` at `unix_secs` (what a node computes; for tests and the simulator).
pub fn code_at(secret: &SecretString, unix_secs: u64) -> Option<String> {
    totp(secret).map(|t| t.generate(unix_secs).to_string())
}

/// The `otpauth://` URI of a secret, for authenticator apps and QR codes. The account name is
/// sanitised (`:` is not allowed there).
pub fn otpauth_uri(secret: &SecretString, account: &str) -> String {
    let account: String = account
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "otpauth://totp/HoneyBee:{account}?secret={}&issuer=HoneyBee&algorithm=SHA1&digits=6&period={STEP_SECS}",
        secret.expose()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_705_314_600; // a step boundary (divisible by 30)

    #[test]
    fn secrets_have_the_wire_shape() {
        for _ in 0..20 {
            let key = new_secret();
            assert!(is_wire_key(key.expose()), "{}", key.expose().len());
        }
        assert!(!is_wire_key("jbswy3dpehpk3pxpjbswy3dpehpk3pxp"));
        assert!(!is_wire_key("JBSWY3DPEHPK3PXP"));
    }

    #[test]
    fn skew_of_one_step_is_accepted_two_is_not() {
        let secret = new_secret();
        let now = T + 10;
        for (offset, accepted) in [
            (-60i64, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let code = code_at(&secret, (now as i64 + offset) as u64).unwrap();
            let result = check(&secret, &code, now, None);
            assert_eq!(
                matches!(result, CodeCheck::Accepted { .. }),
                accepted,
                "offset {offset}: {result:?}"
            );
        }
    }

    #[test]
    fn a_step_is_accepted_once_and_only_newer_steps_after() {
        let secret = new_secret();
        let code = code_at(&secret, T).unwrap();
        let CodeCheck::Accepted { step } = check(&secret, &code, T, None) else {
            panic!("fresh code refused");
        };
        assert_eq!(
            check(&secret, &code, T + 5, Some(step)),
            CodeCheck::Replayed
        );
        // A node restarting within the same step gets in at the next step.
        let next = code_at(&secret, T + 30).unwrap();
        assert_eq!(
            check(&secret, &next, T + 30, Some(step)),
            CodeCheck::Accepted { step: step + 1 }
        );
        // An older (still in-window) step after a newer one was accepted is a replay.
        assert_eq!(
            check(&secret, &code, T + 30, Some(step + 1)),
            CodeCheck::Replayed
        );
    }

    #[test]
    fn garbage_is_invalid() {
        let secret = new_secret();
        for code in ["", "12345", "1234567", "abcdef", "00000x"] {
            assert_eq!(
                check(&secret, code, T, None),
                CodeCheck::Invalid,
                "{code:?}"
            );
        }
        let broken = SecretString::new("not base32!");
        assert_eq!(check(&broken, "123456", T, None), CodeCheck::Invalid);
    }

    #[test]
    fn otpauth_uris_are_well_formed() {
        let secret = SecretString::new("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        let uri = otpauth_uri(&secret, "edge:01 eu");
        assert!(uri.starts_with("otpauth://totp/HoneyBee:edge_01_eu?secret=JBSWY3DP"));
        assert!(uri.ends_with("&period=30"));
    }
}
