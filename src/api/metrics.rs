//! `GET /metrics`: Prometheus text exposition. Needs a token (admin or read) unless
//! `api.public_metrics = true`.
//!
//! Series so far: `honeybee_connections`, `honeybee_nodes{status}`, `honeybee_pots{status}`,
//! `honeybee_events_ingested_total`, `honeybee_events_stored_total`,
//! `honeybee_events_exported_total{sink}`, `honeybee_ingest_backlog`,
//! `honeybee_store_commit_seconds` (histogram), `honeybee_store_commit_failures_total`,
//! `honeybee_events_pruned_total`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use actix_web::{HttpRequest, HttpResponse, web};
use honeybee_actors::registry::CountNodes;
use honeybee_store::COMMIT_SECONDS_BUCKETS;

use super::auth;
use super::server::ApiState;

pub async fn metrics(request: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    if !state.public_metrics && !auth::reader(&request, &state.tokens) {
        return auth::unauthorized();
    }
    let counts = state.registry.send(CountNodes).await.unwrap_or_default();
    let writer = state.writer.metrics();
    let mut out = String::with_capacity(4096);
    header(
        &mut out,
        "honeybee_connections",
        "Node connections open.",
        "gauge",
    );
    let _ = writeln!(out, "honeybee_connections {}", state.limits.open());
    header(
        &mut out,
        "honeybee_nodes",
        "Known nodes by status.",
        "gauge",
    );
    for (status, n) in &counts.by_status {
        let _ = writeln!(out, "honeybee_nodes{{status=\"{status}\"}} {n}");
    }
    header(&mut out, "honeybee_pots", "Known pots by status.", "gauge");
    for (status, n) in counts.pots_by_status() {
        let _ = writeln!(out, "honeybee_pots{{status=\"{status}\"}} {n}");
    }
    header(
        &mut out,
        "honeybee_events_ingested_total",
        "Events accepted from nodes.",
        "counter",
    );
    let _ = writeln!(
        out,
        "honeybee_events_ingested_total {}",
        state.ingest.accepted()
    );
    header(
        &mut out,
        "honeybee_events_stored_total",
        "Events committed to the store.",
        "counter",
    );
    let _ = writeln!(
        out,
        "honeybee_events_stored_total {}",
        writer.events_committed
    );
    header(
        &mut out,
        "honeybee_events_exported_total",
        "Events written by each export sink.",
        "counter",
    );
    if let Some(exported) = &state.exported {
        let _ = writeln!(
            out,
            "honeybee_events_exported_total{{sink=\"jsonl\"}} {}",
            exported.load(Ordering::Relaxed)
        );
    }
    header(
        &mut out,
        "honeybee_ingest_backlog",
        "Events accepted but not yet committed (reads pause at the bound).",
        "gauge",
    );
    let _ = writeln!(out, "honeybee_ingest_backlog {}", writer.backlog);
    header(
        &mut out,
        "honeybee_store_commit_seconds",
        "Time to commit one batch of events.",
        "histogram",
    );
    for (bound, count) in COMMIT_SECONDS_BUCKETS
        .iter()
        .zip(writer.commit_seconds_buckets)
    {
        let _ = writeln!(
            out,
            "honeybee_store_commit_seconds_bucket{{le=\"{bound}\"}} {count}"
        );
    }
    let _ = writeln!(
        out,
        "honeybee_store_commit_seconds_bucket{{le=\"+Inf\"}} {}\n\
         honeybee_store_commit_seconds_sum {}\nhoneybee_store_commit_seconds_count {}",
        writer.commits, writer.commit_seconds_sum, writer.commits
    );
    header(
        &mut out,
        "honeybee_store_commit_failures_total",
        "Store commits that failed (and were retried).",
        "counter",
    );
    let _ = writeln!(
        out,
        "honeybee_store_commit_failures_total {}",
        writer.commit_failures
    );
    header(
        &mut out,
        "honeybee_events_pruned_total",
        "Events removed by retention.",
        "counter",
    );
    let _ = writeln!(out, "honeybee_events_pruned_total {}", writer.events_pruned);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}

/// A series' HELP and TYPE lines.
fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
