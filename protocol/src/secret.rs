//! A string that must never be printed: TOTP codes and keys travel in these.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret string (a TOTP code or key). `Debug` and `Display` print a placeholder, and a
/// decoding error never echoes the value; [`SecretString::expose`] is the only way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        SecretString(secret.into())
    }

    /// The secret itself. Call sites are the places to audit.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

/// Accepts only a string, and on anything else fails without quoting the value (serde's default
/// "invalid type: integer `123456`" would put a code into a log line).
struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = SecretString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretString, E> {
        Ok(SecretString(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<SecretString, E> {
        Ok(SecretString(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretString, E> {
        Err(not_a_string())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretString, E> {
        Err(not_a_string())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretString, E> {
        Err(not_a_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretString, E> {
        Err(not_a_string())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<SecretString, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Err(not_a_string())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<SecretString, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Err(not_a_string())
    }
}

fn not_a_string<E: de::Error>() -> E {
    E::custom("a secret field must be a string (value not shown)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = SecretString::new("123456");
        assert!(!format!("{s:?} {s}").contains("123456"));
        assert_eq!(s.expose(), "123456");
    }

    #[test]
    fn wrong_type_error_does_not_echo_the_value() {
        let err = serde_json::from_str::<SecretString>("123456").unwrap_err();
        assert!(!err.to_string().contains("123456"), "{err}");
        let err = serde_json::from_str::<SecretString>("[\"654321\"]").unwrap_err();
        assert!(!err.to_string().contains("654321"), "{err}");
    }
}
