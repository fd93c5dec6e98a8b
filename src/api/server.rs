//! The HTTP API server: actix-web on `api.host:api.port` (separate from the node listener),
//! without its own signal handling — the Core's one shutdown sequence stops it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Instant;

use actix::Addr;
use actix_web::dev::ServerHandle;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{
    App, HttpRequest, HttpResponse, HttpServer, Resource, ResponseError, Route, guard, web,
};
use honeybee_actors::counters::Counters;
use honeybee_actors::feed::Feed;
use honeybee_actors::pipeline::Ingest;
use honeybee_actors::{ConnectionLimits, Registry};
use honeybee_store::{Store, WriterHandle};

use actix_web::middleware::from_fn;

use super::auth::{self, Tickets, Tokens};
use super::error::{self, ApiError, Code};
use super::{commands, events, fleet, health, intel, metrics, outputs, stream, taxii};
use crate::net;

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub registry: Addr<Registry>,
    pub store: Store,
    pub writer: WriterHandle,
    pub ingest: Arc<Ingest>,
    pub disk_low: Arc<AtomicBool>,
    pub started: Instant,
    pub limits: ConnectionLimits,
    pub exported: Option<Arc<AtomicU64>>,
    pub tokens: Tokens,
    /// `api.public_metrics`: `/metrics` without a token.
    pub public_metrics: bool,
    pub feed: Feed,
    pub counters: Arc<Counters>,
    pub tickets: Tickets,
    /// `api.max_body_bytes`.
    pub max_body_bytes: usize,
    /// Requests under `/api/` refused for want of a valid token (counted, not audited).
    pub unauthorized: Arc<AtomicU64>,
    /// `/health`'s counts and when they were taken (connected nodes, stored events).
    pub health_counts: Arc<std::sync::Mutex<Option<(Instant, usize, u64)>>>,
    /// Turns true when the API stops: open streams close at once.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// `pots.allowed_sources`, parsed.
    pub allowed_sources: Arc<honeybee_protocol::AllowedSources>,
    /// The output sinks' status and counters.
    pub outputs: crate::outputs::OutputsView,
    /// `[intel]`: the rules of the threat-intel feeds.
    pub intel: Arc<crate::config::outputs::IntelConfig>,
    /// The dashboard's sessions, sign-in limits and event rate.
    pub ui: crate::ui::UiState,
}

/// A running API server.
#[derive(Debug)]
pub struct ApiServer {
    pub addr: SocketAddr,
    handle: ServerHandle,
    closing: tokio::sync::watch::Sender<bool>,
}

impl ApiServer {
    /// Binds `addr` (port 0: any free port) and serves, over HTTPS when `tls` is given; must
    /// run inside an actix `System`.
    pub fn start(
        addr: SocketAddr,
        mut state: ApiState,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<ApiServer> {
        let (closing, closing_rx) = tokio::sync::watch::channel(false);
        state.ui.rate.follow(&state.feed, closing_rx.clone());
        state.closing = closing_rx;
        let listener = net::bind_listener(addr, net::LISTEN_BACKLOG)?.into_std()?;
        let addr = listener.local_addr()?;
        let max_body = state.max_body_bytes;
        let state = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_body)
                        .error_handler(|e, _| error::json_error(&e)),
                )
                .app_data(web::PayloadConfig::default().limit(max_body))
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| error::extractor_error(&e, false)),
                )
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|e, _| error::extractor_error(&e, false)),
                )
                .configure(crate::ui::configure)
                .service(resource(
                    "/health",
                    vec![(Method::GET, web::to(health::health))],
                ))
                .service(resource(
                    "/ready",
                    vec![(Method::GET, web::to(health::ready))],
                ))
                .service(resource(
                    "/metrics",
                    vec![(Method::GET, web::to(metrics::metrics))],
                ))
                .service(resource(
                    "/api/v1/openapi.json",
                    vec![(Method::GET, web::to(openapi))],
                ))
                .service(api_routes())
                .service(taxii::routes(web::scope("")))
                .default_service(web::to(not_found))
        })
        .workers(1)
        .shutdown_timeout(5)
        // A closed stream's client may still be reading what was buffered for it.
        .client_disconnect_timeout(std::time::Duration::from_secs(10))
        .disable_signals();
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, Arc::unwrap_or_clone(tls))?,
            None => server.listen(listener)?,
        }
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Ok(ApiServer {
            addr,
            handle,
            closing,
        })
    }

    /// Stops accepting and finishes the requests in flight.
    /// Open streams are closed first (they would hold a graceful stop for its whole timeout).
    pub async fn stop(self) {
        let _ = self.closing.send(true);
        self.handle.stop(true).await;
    }
}

/// The OpenAPI document of this API (public: it describes no fleet data).
async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("openapi.json"))
}

/// Everything under `/api/v1/` but the OpenAPI document, behind the token guard.
fn api_routes() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    use Method as M;
    web::scope("/api/v1")
        .wrap(from_fn(auth::guard))
        .service(resource(
            "/nodes",
            vec![(M::GET, web::to(fleet::list_nodes))],
        ))
        .service(resource(
            "/nodes/{id}",
            vec![
                (M::GET, web::to(fleet::get_node)),
                (M::DELETE, web::to(fleet::revoke_node)),
            ],
        ))
        .service(resource(
            "/nodes/{id}/pots/{pot_id}",
            vec![
                (M::PUT, web::to(fleet::put_desired)),
                (M::DELETE, web::to(fleet::delete_desired)),
            ],
        ))
        .service(resource(
            "/honeypots",
            vec![(M::GET, web::to(fleet::list_pots))],
        ))
        .service(resource(
            "/honeypots/{node_id}/{pot_id}/history",
            vec![(M::GET, web::to(fleet::pot_history))],
        ))
        .service(resource(
            "/enrollments",
            vec![
                (M::GET, web::to(fleet::list_enrollments)),
                (M::POST, web::to(fleet::enroll)),
            ],
        ))
        .service(resource(
            "/enrollments/{id}/approve",
            vec![(M::POST, web::to(fleet::approve))],
        ))
        .service(resource(
            "/enrollments/{id}/reject",
            vec![(M::POST, web::to(fleet::reject))],
        ))
        .service(resource(
            "/nodes/{id}/commands",
            vec![
                (M::GET, web::to(commands::of_node)),
                (M::POST, web::to(commands::send)),
            ],
        ))
        .service(resource(
            "/commands/broadcast",
            vec![(M::POST, web::to(commands::broadcast))],
        ))
        .service(resource(
            "/commands/{id}",
            vec![(M::GET, web::to(commands::get))],
        ))
        .service(resource("/events", vec![(M::GET, web::to(events::events))]))
        .service(resource("/stats", vec![(M::GET, web::to(events::stats))]))
        .service(resource(
            "/stream/tickets",
            vec![(M::POST, web::to(stream::ticket))],
        ))
        .service(resource("/stream", vec![(M::GET, web::to(stream::stream))]))
        .service(resource("/alerts", vec![(M::GET, web::to(fleet::alerts))]))
        .service(resource("/audit", vec![(M::GET, web::to(fleet::audit))]))
        .service(resource("/outputs", vec![(M::GET, web::to(outputs::list))]))
        .service(resource(
            "/outputs/{name}/dead",
            vec![(M::GET, web::to(outputs::dead))],
        ))
        .service(resource(
            "/intel/blocklist",
            vec![(M::GET, web::to(intel::blocklist))],
        ))
        .service(resource(
            "/intel/stix",
            vec![(M::GET, web::to(intel::stix_bundle))],
        ))
        .default_service(web::to(not_found))
}

/// One path and the methods it serves. `HEAD` is served wherever `GET` is, by the same
/// handler (actix-http sends the head without the body, RFC 9110 §9.3.2); any other method
/// answers 405 `method_not_allowed` with an `Allow` header listing the methods served.
pub(crate) fn resource(path: &str, routes: Vec<(Method, Route)>) -> Resource {
    let mut allow: Vec<String> = Vec::new();
    let mut resource = web::resource(path);
    for (method, route) in routes {
        let route = if method == Method::GET {
            allow.extend(["GET".to_owned(), "HEAD".to_owned()]);
            route.guard(guard::Any(guard::Get()).or(guard::Head()))
        } else {
            allow.push(method.to_string());
            route.method(method)
        };
        resource = resource.route(route);
    }
    let allow = allow.join(", ");
    resource.default_service(web::to(move |request: HttpRequest| {
        let allow = allow.clone();
        async move { method_not_allowed(&request, &allow) }
    }))
}

fn method_not_allowed(request: &HttpRequest, allow: &str) -> HttpResponse {
    let mut response = ApiError::new(
        Code::MethodNotAllowed,
        format!(
            "{} is not allowed here; this path allows {allow}",
            honeybee_protocol::error::sanitize(request.method().as_str(), 32)
        ),
    )
    .error_response();
    if let Ok(value) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

async fn not_found(request: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "no route {} {}",
        request.method(),
        honeybee_protocol::error::sanitize(request.path(), 120)
    )))
}
