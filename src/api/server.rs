//! The HTTP API server: actix-web on `api.host:api.port` (separate from the node listener),
//! without its own signal handling — the Core's one shutdown sequence stops it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Instant;

use actix::Addr;
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use honeybee_actors::counters::Counters;
use honeybee_actors::feed::Feed;
use honeybee_actors::pipeline::Ingest;
use honeybee_actors::{ConnectionLimits, Registry};
use honeybee_store::{Store, WriterHandle};

use actix_web::middleware::from_fn;

use super::auth::{self, Tickets, Tokens};
use super::error::{self, ApiError};
use super::{commands, events, fleet, health, metrics, stream};
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
        state.closing = closing_rx;
        let listener = net::bind_listener(addr, net::LISTEN_BACKLOG)?.into_std()?;
        let addr = listener.local_addr()?;
        let max_body = state.max_body_bytes;
        let state = web::Data::new(state);
        let server =
            HttpServer::new(move || {
                App::new()
                .app_data(state.clone())
                .app_data(web::JsonConfig::default().limit(max_body).error_handler(|e, _| {
                    let too_large = matches!(
                        e,
                        actix_web::error::JsonPayloadError::Overflow { .. }
                            | actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
                    );
                    error::extractor_error(&e, too_large)
                }))
                .app_data(web::PayloadConfig::default().limit(max_body))
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| error::extractor_error(&e, false)),
                )
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|e, _| error::extractor_error(&e, false)),
                )
                .route("/", web::get().to(health::index))
                .route("/health", web::get().to(health::health))
                .route("/ready", web::get().to(health::ready))
                .route("/metrics", web::get().to(metrics::metrics))
                .route("/api/v1/openapi.json", web::get().to(openapi))
                .service(
                    web::scope("/api/v1")
                        .wrap(from_fn(auth::guard))
                        .route("/nodes", web::get().to(fleet::list_nodes))
                        .route("/nodes/{id}", web::get().to(fleet::get_node))
                        .route("/nodes/{id}", web::delete().to(fleet::revoke_node))
                        .route("/nodes/{id}/pots/{pot_id}", web::put().to(fleet::put_desired))
                        .route(
                            "/nodes/{id}/pots/{pot_id}",
                            web::delete().to(fleet::delete_desired),
                        )
                        .route("/honeypots", web::get().to(fleet::list_pots))
                        .route(
                            "/honeypots/{node_id}/{pot_id}/history",
                            web::get().to(fleet::pot_history),
                        )
                        .route("/enrollments", web::post().to(fleet::enroll))
                        .route("/enrollments", web::get().to(fleet::list_enrollments))
                        .route("/enrollments/{id}/approve", web::post().to(fleet::approve))
                        .route("/enrollments/{id}/reject", web::post().to(fleet::reject))
                        .route("/nodes/{id}/commands", web::get().to(commands::of_node))
                        .route("/nodes/{id}/commands", web::post().to(commands::send))
                        .route("/commands/broadcast", web::post().to(commands::broadcast))
                        .route("/commands/{id}", web::get().to(commands::get))
                        .route("/events", web::get().to(events::events))
                        .route("/stats", web::get().to(events::stats))
                        .route("/stream/tickets", web::post().to(stream::ticket))
                        .route("/stream", web::get().to(stream::stream))
                        .route("/alerts", web::get().to(fleet::alerts))
                        .route("/audit", web::get().to(fleet::audit))
                        .default_service(web::to(not_found)),
                )
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

async fn not_found(request: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "no route {} {}",
        request.method(),
        honeybee_protocol::error::sanitize(request.path(), 120)
    )))
}
