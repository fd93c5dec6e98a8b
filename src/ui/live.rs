//! `GET /ui/live`: the dashboard's WebSocket. The Core's own stream (`api/stream.rs`), opened
//! with the session's token (checked again while it stays open, so it ends with the token) and
//! only for a page of this Core: the handshake's `Origin` must be the Core's own address.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{UiError, UiResult};
use crate::api::events::EventFilters;
use crate::api::server::ApiState;
use crate::api::{handshake, stream};

#[derive(Debug, Deserialize)]
pub(super) struct LiveQuery {
    node_id: Option<String>,
    pot_id: Option<String>,
    pot_type: Option<String>,
    event_type: Option<String>,
    src_ip: Option<String>,
    /// `1`: stored events too (the Attacks page); otherwise only fleet changes.
    events: Option<u8>,
}

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Whether the handshake's `Origin` is this Core (same host and port the browser asked for).
fn same_origin(request: &HttpRequest) -> bool {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let (Some(origin), Some(host)) = (header(header::ORIGIN), header(header::HOST)) else {
        return false;
    };
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    authority.eq_ignore_ascii_case(host)
}

pub(super) async fn live(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<ApiState>,
    query: web::Query<LiveQuery>,
) -> UiResult<HttpResponse> {
    if !same_origin(&request) {
        return Err(UiError::forbidden(
            "The dashboard's stream only opens from a page of this Core.",
        ));
    }
    let id = super::session::cookie_of(&request).unwrap_or_default();
    let viewer = state
        .ui
        .sessions
        .resolve(&id, &state.tokens)
        .ok_or_else(|| UiError::forbidden("Sign in first."))?;
    if let Err(why) = handshake::check(request.method(), request.headers()) {
        return Err(UiError::bad_request(why));
    }
    let filters = EventFilters {
        node_id: given(&query.node_id),
        pot_id: given(&query.pot_id),
        pot_type: given(&query.pot_type),
        event_type: given(&query.event_type),
        src_ip: given(&query.src_ip),
        ..EventFilters::default()
    };
    let matching = filters.checked()?;
    let sessions = state.ui.sessions.clone();
    stream::open(
        &request,
        body,
        &state,
        matching,
        viewer.caller,
        query.events == Some(1),
        // A stream does not keep its session in use: it ends with sign-out and the timeouts.
        Some(Box::new(move || sessions.alive(&id))),
    )
    .await
    .map_err(|e| UiError::bad_request(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn only_the_cores_own_pages_may_open_it() {
        let request = |origin: Option<&str>| {
            let mut r = TestRequest::default().insert_header(("Host", "127.0.0.1:9002"));
            if let Some(o) = origin {
                r = r.insert_header(("Origin", o));
            }
            r.to_http_request()
        };
        assert!(same_origin(&request(Some("http://127.0.0.1:9002"))));
        assert!(same_origin(&request(Some("https://127.0.0.1:9002"))));
        assert!(!same_origin(&request(Some("http://evil.example"))));
        assert!(!same_origin(&request(Some("http://127.0.0.1:9003"))));
        assert!(!same_origin(&request(Some("null"))));
        assert!(!same_origin(&request(None)));
    }
}
