//! Signing in and out. The form takes an API token (admin, read or named); a valid one starts a
//! session (`session.rs`). A wrong one gets the same generic message whatever was wrong, counts
//! in `honeybee_api_unauthorized_total`, and is never logged. Attempts are limited per source
//! address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::client::Client;
use super::session;
use super::{UiError, UiResult, html, see_other};
use crate::api::auth::record_audit;
use crate::api::server::ApiState;

/// Sign-in attempts allowed per source address per window.
const ATTEMPTS: u32 = 10;
const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at most (each entry is tiny; the bound keeps a spray from growing it).
const MAX_TRACKED: usize = 100_000;

/// The one message for every refused token.
pub(crate) const REFUSED: &str = "That token was not accepted.";

/// Per source address: when its window started and the attempts in it.
type Windows = HashMap<Option<IpAddr>, (Instant, u32)>;

/// Sign-in attempts per source address, in fixed windows.
#[derive(Debug, Clone, Default)]
pub struct SignInLimiter {
    seen: Arc<Mutex<Windows>>,
}

impl SignInLimiter {
    /// Counts an attempt from `addr`; false when it is over the limit.
    pub(crate) fn allow(&self, addr: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= MAX_TRACKED {
            seen.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        if seen.len() >= MAX_TRACKED {
            return false;
        }
        let entry = seen.entry(addr).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= ATTEMPTS
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    next: &'a str,
    error: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

/// Where to go after signing in: only a path of this dashboard (never another site).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if (n == "/" || n.starts_with("/ui"))
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n
        }
        _ => "/ui/",
    }
}

pub(super) fn page(status: StatusCode, next: &str, error: Option<&str>) -> UiResult {
    let body = SignInPage { next, error }.render()?;
    Ok(html(status, body))
}

/// `GET /ui/signin`.
pub(super) async fn form(query: web::Query<NextQuery>) -> UiResult {
    page(StatusCode::OK, safe_next(query.next.as_deref()), None)
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    token: String,
    next: Option<String>,
}

/// `POST /ui/signin`.
pub(super) async fn sign_in(
    request: HttpRequest,
    state: web::Data<ApiState>,
    form: web::Form<SignInForm>,
) -> UiResult {
    let client = Client::of(&request, state.ui.sessions.settings());
    let next = safe_next(form.next.as_deref());
    if !state.ui.signin.allow(client.addr) {
        return page(
            StatusCode::TOO_MANY_REQUESTS,
            next,
            Some("Too many sign-in attempts from this address; wait a minute."),
        );
    }
    let token = form.token.trim();
    let Some(principal) = state.tokens.identify(token) else {
        state.unauthorized.fetch_add(1, Ordering::Relaxed);
        return page(StatusCode::UNAUTHORIZED, next, Some(REFUSED));
    };
    let id = state
        .ui
        .sessions
        .start(token)
        .map_err(|_| UiError::bad_request("no randomness for a session"))?;
    record_audit(
        &state,
        principal.name,
        client.source(),
        "POST /ui/signin".to_owned(),
        "dashboard session".to_owned(),
        303,
    );
    let mut response = see_other(next);
    if let Ok(value) = header::HeaderValue::from_str(&session::set_cookie(&id, client.https)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(super) struct SignOutForm {
    csrf: Option<String>,
}

/// `POST /ui/signout`: ends the session (its CSRF token required, so no other site can sign
/// a viewer out).
pub(super) async fn sign_out(
    request: HttpRequest,
    state: web::Data<ApiState>,
    form: web::Form<SignOutForm>,
) -> UiResult {
    let client = Client::of(&request, state.ui.sessions.settings());
    let Some(id) = session::cookie_of(&request) else {
        return Ok(see_other("/ui/signin"));
    };
    if let Some(viewer) = state.ui.sessions.resolve(&id, &state.tokens) {
        if !viewer.csrf_ok(form.csrf.as_deref()) {
            return Err(UiError::forbidden(
                "This form is missing its CSRF token; reload the page and try again.",
            ));
        }
        record_audit(
            &state,
            viewer.principal.name,
            client.source(),
            "POST /ui/signout".to_owned(),
            "dashboard session".to_owned(),
            303,
        );
    }
    state.ui.sessions.end(&id);
    let mut response: HttpResponse = see_other("/ui/signin");
    if let Ok(value) = header::HeaderValue::from_str(&session::clear_cookie(client.https)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/ui/nodes/7")), "/ui/nodes/7");
        assert_eq!(safe_next(Some("/")), "/");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/api/v1/nodes",
            "/ui\\x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/ui/", "{bad}");
        }
        assert_eq!(safe_next(None), "/ui/");
    }

    #[test]
    fn attempts_are_limited_per_address() {
        let limiter = SignInLimiter::default();
        let a = Some("192.0.2.1".parse().unwrap());
        for _ in 0..ATTEMPTS {
            assert!(limiter.allow(a));
        }
        assert!(!limiter.allow(a));
        assert!(limiter.allow(Some("192.0.2.2".parse().unwrap())));
    }
}
