//! `GET /health` (the process is alive; cheap) and `GET /ready` (store writable, disk above the
//! watermark, ingest backlog below its bound). Neither carries fleet data, so neither needs a
//! token.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::server::ApiState;
use honeybee_actors::registry::CountNodes;

/// `/health` needs no token: its counts are computed at most this often, whatever the rate of
/// calls (counting walks the fleet).
const HEALTH_COUNTS_EVERY: Duration = Duration::from_secs(1);

pub(super) async fn health(state: web::Data<ApiState>) -> HttpResponse {
    let cached = *state
        .health_counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let (nodes_connected, events) = match cached {
        Some((at, connected, events)) if at.elapsed() < HEALTH_COUNTS_EVERY => (connected, events),
        _ => {
            let nodes = state.registry.send(CountNodes).await.unwrap_or_default();
            let store = state.store.clone();
            let events = web::block(move || store.event_count())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            *state
                .health_counts
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some((Instant::now(), nodes.connected, events));
            (nodes.connected, events)
        }
    };
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": state.started.elapsed().as_secs(),
        "nodes_connected": nodes_connected,
        "events_stored": events,
    }))
}

pub(super) async fn ready(state: web::Data<ApiState>) -> HttpResponse {
    let mut reasons = Vec::new();
    if let Some(error) = state.writer.last_error() {
        reasons.push(format!("the store cannot commit: {error}"));
    }
    if state.disk_low.load(Ordering::Relaxed) {
        reasons.push("free disk space is below storage.min_free_disk_mb".to_owned());
    }
    let backlog = state.ingest.backlog();
    let bound = state.ingest.settings().max_backlog;
    if backlog >= bound {
        reasons.push(format!(
            "the ingest backlog ({backlog} events) is at its bound ({bound}); nodes are paused"
        ));
    }
    if reasons.is_empty() {
        HttpResponse::Ok().json(json!({"status": "ready", "ingest_backlog": backlog}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "status": "not ready",
            "reasons": reasons,
            "ingest_backlog": backlog,
        }))
    }
}
