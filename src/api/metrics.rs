//! `GET /metrics`: Prometheus text exposition. Needs a token (admin or read) unless
//! `api.public_metrics = true`.
//!
//! Series: `honeybee_connections`, `honeybee_nodes{status,connected}`, `honeybee_pots{status}`,
//! `honeybee_events_ingested_total`, `honeybee_events_stored_total`,
//! `honeybee_events_exported_total{sink}`, `honeybee_ingest_backlog`,
//! `honeybee_store_commit_seconds` (histogram), `honeybee_store_commit_failures_total`,
//! `honeybee_events_pruned_total`, `honeybee_frames_in_total`, `honeybee_frames_out_total`,
//! `honeybee_bad_frames_total{code}`, `honeybee_commands_total{outcome}`,
//! `honeybee_auth_failures_total{reason}`, `honeybee_alerts_open`; per output sink
//! `honeybee_output_sent_total{sink}`, `honeybee_output_failures_total{sink}`,
//! `honeybee_output_dead_total{sink}`, `honeybee_output_lag_events{sink}`,
//! `honeybee_output_skipped_total{sink}`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use actix_web::{HttpRequest, HttpResponse, web};
use honeybee_actors::registry::CountNodes;
use honeybee_store::COMMIT_SECONDS_BUCKETS;

use actix_web::ResponseError;

use super::auth;
use super::server::ApiState;

pub(super) async fn metrics(request: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    if !state.public_metrics && auth::principal(&request, &state.tokens).is_none() {
        return auth::unauthorized().error_response();
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
        "Known nodes by last reported status and whether they are connected now.",
        "gauge",
    );
    for (status, n) in &counts.by_status {
        for (connected, n) in [("true", n.connected), ("false", n.disconnected)] {
            let _ = writeln!(
                out,
                "honeybee_nodes{{status=\"{status}\",connected=\"{connected}\"}} {n}"
            );
        }
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
    let c = &state.counters;
    header(
        &mut out,
        "honeybee_frames_in_total",
        "Frames read from nodes.",
        "counter",
    );
    let _ = writeln!(out, "honeybee_frames_in_total {}", c.frames_in());
    header(
        &mut out,
        "honeybee_frames_out_total",
        "Frames written to nodes.",
        "counter",
    );
    let _ = writeln!(out, "honeybee_frames_out_total {}", c.frames_out());
    header(
        &mut out,
        "honeybee_bad_frames_total",
        "Frames answered with a ProtocolError, by code.",
        "counter",
    );
    for (code, n) in c.bad_frames() {
        let _ = writeln!(out, "honeybee_bad_frames_total{{code=\"{code}\"}} {n}");
    }
    header(
        &mut out,
        "honeybee_commands_total",
        "Commands that reached a final status, by outcome.",
        "counter",
    );
    for (outcome, n) in c.commands() {
        let _ = writeln!(
            out,
            "honeybee_commands_total{{outcome=\"{}\"}} {n}",
            outcome.as_str()
        );
    }
    header(
        &mut out,
        "honeybee_auth_failures_total",
        "Registrations refused, by reason.",
        "counter",
    );
    for (code, n) in c.auth_failures() {
        let _ = writeln!(
            out,
            "honeybee_auth_failures_total{{reason=\"{}\"}} {n}",
            code.as_str().to_ascii_lowercase()
        );
    }
    header(
        &mut out,
        "honeybee_alerts_open",
        "Alerts open now.",
        "gauge",
    );
    let _ = writeln!(out, "honeybee_alerts_open {}", counts.alerts_open);
    output_series(&mut out, &state);
    header(
        &mut out,
        "honeybee_api_unauthorized_total",
        "API requests and dashboard sign-ins refused for want of a valid token (not audited one by one).",
        "counter",
    );
    let _ = writeln!(
        out,
        "honeybee_api_unauthorized_total {}",
        state.unauthorized.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "honeybee_ui_sessions",
        "Dashboard sessions signed in now.",
        "gauge",
    );
    let _ = writeln!(out, "honeybee_ui_sessions {}", state.ui.sessions.count());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}

/// The output sinks' series (sink names are `A-Z a-z 0-9 . _ -`: no label escaping needed).
fn output_series(out: &mut String, state: &ApiState) {
    type Pick = fn(&crate::outputs::SinkShared) -> u64;
    let series: [(&str, &str, &str, Pick); 5] = [
        (
            "honeybee_output_sent_total",
            "Items each output sink delivered.",
            "counter",
            |s| s.sent.load(Ordering::Relaxed),
        ),
        (
            "honeybee_output_failures_total",
            "Failed delivery attempts of each output sink (each retried).",
            "counter",
            |s| s.failures.load(Ordering::Relaxed),
        ),
        (
            "honeybee_output_dead_total",
            "Items each output sink's receiver refused for good (dead letters).",
            "counter",
            |s| s.dead.load(Ordering::Relaxed),
        ),
        (
            "honeybee_output_lag_events",
            "Events stored after each output sink's position.",
            "gauge",
            |s| s.lag.load(Ordering::Relaxed),
        ),
        (
            "honeybee_output_skipped_total",
            "Events pruned before each output sink sent them.",
            "counter",
            |s| s.skipped.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, kind, pick) in series {
        header(out, name, help, kind);
        for sink in state.outputs.sinks.iter() {
            let _ = writeln!(out, "{name}{{sink=\"{}\"}} {}", sink.name, pick(sink));
        }
    }
}

/// A series' HELP and TYPE lines.
fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
