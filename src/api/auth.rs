//! Bearer tokens on everything under `/api/` and `/metrics`: the admin token (`api.token`) and
//! read-only tokens (`api.read_tokens`), compared in constant time. Tokens never reach a log
//! or an error message.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

/// The tokens the API accepts.
#[derive(Clone, Default)]
pub struct Tokens {
    admin: Option<String>,
    read: Vec<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("admin", &self.admin.as_ref().map(|_| "<redacted>"))
            .field("read", &self.read.len())
            .finish()
    }
}

impl Tokens {
    pub fn new(admin: Option<String>, read: Vec<String>) -> Self {
        Tokens { admin, read }
    }
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request carries a valid token (admin or read).
pub fn reader(request: &HttpRequest, tokens: &Tokens) -> bool {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::as_bytes);
    presented.is_some_and(|p| {
        let admin = tokens
            .admin
            .as_deref()
            .is_some_and(|t| same(p, t.as_bytes()));
        // Every read token is compared, so timing does not say which matched.
        let read = tokens
            .read
            .iter()
            .fold(false, |any, t| same(p, t.as_bytes()) | any);
        admin | read
    })
}

/// The 401 answer.
pub fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
        .json(json!({"error": {"code": "unauthorized",
            "message": "a valid bearer token is required"}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison_is_still_a_comparison() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(same(b"", b""));
    }

    #[test]
    fn tokens_are_never_printed() {
        let tokens = Tokens::new(Some("s3cret".into()), vec!["r3ad".into()]);
        let printed = format!("{tokens:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("r3ad"),
            "{printed}"
        );
    }
}
