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

use super::auth::Tokens;
use super::{health, metrics};
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
}

/// A running API server.
#[derive(Debug)]
pub struct ApiServer {
    pub addr: SocketAddr,
    handle: ServerHandle,
}

impl ApiServer {
    /// Binds `addr` (port 0: any free port) and serves; must run inside an actix `System`.
    pub fn start(addr: SocketAddr, state: ApiState) -> std::io::Result<ApiServer> {
        let listener = net::bind_listener(addr, net::LISTEN_BACKLOG)?.into_std()?;
        let addr = listener.local_addr()?;
        let state = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/health", web::get().to(health::health))
                .route("/ready", web::get().to(health::ready))
                .route("/metrics", web::get().to(metrics::metrics))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Ok(ApiServer { addr, handle })
    }

    /// Stops accepting and finishes the requests in flight.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}
