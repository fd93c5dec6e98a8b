//! `GET /api/v1/outputs` (every sink with its position, lag, counters, last error and last
//! success) and `GET /api/v1/outputs/{name}/dead` (a sink's dead letters, newest first, paged
//! with `before`). Nothing here carries a secret: targets are shown without user information,
//! and error texts were cleaned by the sinks.

use actix_web::{HttpResponse, web};
use honeybee_store::DEAD_LETTERS_KEPT;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, u64_digits};
use super::server::ApiState;
use super::views::ts;

pub(super) async fn list(state: web::Data<ApiState>) -> ApiResult {
    let sinks: Vec<Value> = state
        .outputs
        .sinks
        .iter()
        .map(|s| {
            let status = s.status();
            let load =
                |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
            json!({
                "name": s.name,
                "type": s.kind,
                "what": s.what,
                "target": s.target,
                "state": status.state,
                "position": {
                    "last_event_id": status.position.last_event_id,
                    "last_alert_seq": status.position.last_alert_seq,
                },
                "lag_events": load(&s.lag),
                "lagging": status.lagging,
                "sent": load(&s.sent),
                "failures": load(&s.failures),
                "dead": load(&s.dead),
                "skipped": status.position.skipped,
                "last_error": status.last_error.as_ref().map(|(at, message)| {
                    json!({"at": ts(*at), "message": message})
                }),
                "last_success": status.last_success.map(ts),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "outputs": sinks })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeadQuery {
    limit: Option<usize>,
    before: Option<String>,
}

pub(super) async fn dead(
    state: web::Data<ApiState>,
    name: web::Path<String>,
    query: web::Query<DeadQuery>,
) -> ApiResult {
    let name = name.into_inner();
    if state.outputs.get(&name).is_none() {
        return Err(ApiError::not_found(format!(
            "no output named {:?}",
            honeybee_protocol::error::sanitize(&name, 64)
        )));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit must be between 1 and 1000"));
    }
    let before = match &query.before {
        Some(text) => Some(u64_digits(text).ok_or_else(|| {
            ApiError::invalid("before must be a dead letter's seq (decimal digits)")
        })?),
        None => None,
    };
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let sink = name.clone();
    let (letters, total) = web::block(move || {
        writer.flush()?;
        store.dead_letters(&sink, before, limit)
    })
    .await??;
    let next = (letters.len() == limit)
        .then(|| letters.last().map(|d| d.seq.to_string()))
        .flatten();
    let dead: Vec<Value> = letters
        .iter()
        .map(|d| {
            json!({
                "seq": d.seq,
                "kind": d.kind.as_str(),
                "item_id": d.item_id,
                "change_seq": (d.change_seq > 0).then_some(d.change_seq),
                "at": ts(d.at),
                "status": d.status,
                "error": d.error,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "name": name,
        "total": total,
        "kept": DEAD_LETTERS_KEPT,
        "dead": dead,
        "next": next,
    })))
}
