//! The dashboard: server-rendered HTML pages on the API's address (`/` and `/ui/`), built from
//! askama templates compiled into the binary (every value HTML-escaped unless marked safe, and
//! nothing node- or attacker-controlled is), with small vendored scripts (htmx, uPlot) and the
//! project's own, all served from inside the binary.
//!
//! Security invariants (see ARCHITECTURE.md):
//! - every page needs a session (`session.rs`); the sign-in page is the only one without;
//! - every POST needs the session's CSRF token, then an admin token, else 403; every action
//!   goes through the same function as its API route and is audited under the token's name;
//! - every response carries `Content-Security-Policy: default-src 'self'` (no inline script or
//!   style anywhere), `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`.

mod actions;
mod assets;
mod attacks;
mod client;
mod fleet;
mod format;
mod live;
mod node;
mod pages;
mod rate;
mod session;
mod signin;

use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;

pub use rate::EventRate;
pub use session::{Sessions, UiSettings};
pub use signin::SignInLimiter;

use crate::api::error::ApiError;
use crate::api::server::{ApiState, resource};
use session::Viewer;

/// The dashboard's shared state (part of the API's state).
#[derive(Debug, Clone)]
pub struct UiState {
    pub sessions: Sessions,
    pub signin: SignInLimiter,
    pub rate: EventRate,
}

impl UiState {
    pub fn new(settings: UiSettings) -> UiState {
        UiState {
            sessions: Sessions::new(settings),
            signin: SignInLimiter::default(),
            rate: EventRate::default(),
        }
    }
}

/// The policy every dashboard response carries.
pub(crate) const CSP: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// The dashboard's routes: `/` and everything under `/ui/`.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    use Method as M;
    config
        .service(resource("/", vec![(M::GET, web::to(fleet::start))]).wrap(headers()))
        .service(
            web::scope("/ui")
                .wrap(headers())
                .service(resource("", vec![(M::GET, web::to(fleet::page))]))
                .service(resource("/", vec![(M::GET, web::to(fleet::page))]))
                .service(resource(
                    "/signin",
                    vec![
                        (M::GET, web::to(signin::form)),
                        (M::POST, web::to(signin::sign_in)),
                    ],
                ))
                .service(resource(
                    "/signout",
                    vec![(M::POST, web::to(signin::sign_out))],
                ))
                .service(resource("/fleet", vec![(M::GET, web::to(fleet::page))]))
                .service(resource("/nodes/{id}", vec![(M::GET, web::to(node::page))]))
                .service(resource(
                    "/nodes/{id}/commands",
                    vec![(M::POST, web::to(actions::command))],
                ))
                .service(resource(
                    "/nodes/{id}/desired",
                    vec![(M::POST, web::to(actions::desired))],
                ))
                .service(resource(
                    "/nodes/{id}/identity",
                    vec![(M::POST, web::to(actions::identity))],
                ))
                .service(resource("/attacks", vec![(M::GET, web::to(attacks::page))]))
                .service(resource(
                    "/attacks/chart",
                    vec![(M::GET, web::to(attacks::chart))],
                ))
                .service(resource(
                    "/events",
                    vec![(M::GET, web::to(attacks::events))],
                ))
                .service(resource("/alerts", vec![(M::GET, web::to(pages::alerts))]))
                .service(resource("/audit", vec![(M::GET, web::to(pages::audit))]))
                .service(resource(
                    "/enrollment",
                    vec![
                        (M::GET, web::to(pages::enrollment)),
                        (M::POST, web::to(actions::enroll)),
                    ],
                ))
                .service(resource("/live", vec![(M::GET, web::to(live::live))]))
                .service(resource(
                    "/assets/{name}",
                    vec![(M::GET, web::to(assets::asset))],
                ))
                .default_service(web::to(not_found)),
        );
}

/// What a dashboard request can end in besides its page.
#[derive(Debug)]
pub(crate) enum UiError {
    /// No valid session: to the sign-in page, then back to `next`.
    SignIn { next: String },
    /// An answer page with this status and message.
    Page {
        status: actix_web::http::StatusCode,
        message: String,
    },
}

impl UiError {
    pub(crate) fn forbidden(message: impl Into<String>) -> UiError {
        UiError::Page {
            status: actix_web::http::StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> UiError {
        UiError::Page {
            status: actix_web::http::StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UiError::SignIn { .. } => f.write_str("sign in first"),
            UiError::Page { message, .. } => f.write_str(message),
        }
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> UiError {
        UiError::Page {
            status: e.status_code(),
            message: e.message,
        }
    }
}

impl From<actix::MailboxError> for UiError {
    fn from(e: actix::MailboxError) -> UiError {
        ApiError::from(e).into()
    }
}

impl From<honeybee_store::StoreError> for UiError {
    fn from(e: honeybee_store::StoreError) -> UiError {
        ApiError::from(e).into()
    }
}

impl From<actix_web::error::BlockingError> for UiError {
    fn from(e: actix_web::error::BlockingError) -> UiError {
        ApiError::from(e).into()
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> UiError {
        log::error!("A dashboard page failed to render: {e}.");
        UiError::Page {
            status: actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            message: "this page could not be drawn".to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

impl ResponseError for UiError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self {
            UiError::SignIn { .. } => actix_web::http::StatusCode::SEE_OTHER,
            UiError::Page { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            UiError::SignIn { next } => see_other(&format!(
                "/ui/signin?next={}",
                percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
            )),
            UiError::Page { status, message } => {
                let title = status.canonical_reason().unwrap_or("Error");
                let body = MessagePage { title, message }
                    .render()
                    .unwrap_or_else(|_| "error".to_owned());
                html(*status, body)
            }
        }
    }
}

pub(crate) type UiResult<T = HttpResponse> = Result<T, UiError>;

/// A 303 to `location` (after a form, or to sign in).
pub(crate) fn see_other(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther().finish();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An HTML page. Pages are never cached: they hold fleet data and the session's CSRF token.
pub(crate) fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Renders `page` as a 200.
pub(crate) fn render(page: &impl Template) -> UiResult {
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

/// The navigation bar's facts: who is signed in, which page is open, the CSRF token.
#[derive(Debug)]
pub(crate) struct Nav {
    pub active: &'static str,
    pub who: String,
    pub admin: bool,
    pub csrf: String,
}

impl Nav {
    pub(crate) fn of(viewer: &Viewer, active: &'static str) -> Nav {
        Nav {
            active,
            who: viewer.principal.name.clone(),
            admin: viewer.principal.admin,
            csrf: viewer.csrf.clone(),
        }
    }

    /// The class of a navigation link.
    pub(crate) fn class(&self, page: &str) -> &'static str {
        if self.active == page { "active" } else { "" }
    }
}

/// The signed-in viewer of a page request, or the way to the sign-in page.
pub(crate) fn viewer(request: &HttpRequest, state: &ApiState) -> UiResult<Viewer> {
    session::cookie_of(request)
        .and_then(|id| state.ui.sessions.resolve(&id, &state.tokens))
        .ok_or_else(|| {
            let next = match request.uri().path_and_query() {
                Some(pq) => pq.as_str().to_owned(),
                None => "/ui/".to_owned(),
            };
            UiError::SignIn { next }
        })
}

async fn not_found(request: HttpRequest) -> UiResult {
    Err(UiError::Page {
        status: actix_web::http::StatusCode::NOT_FOUND,
        message: format!(
            "There is no dashboard page {}.",
            honeybee_protocol::error::sanitize(request.path(), 120)
        ),
    })
}
