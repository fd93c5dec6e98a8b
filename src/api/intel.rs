//! The threat-intel feeds under `/api/v1/intel/` (read tokens): `blocklist` — one attacker
//! address per line, the external dynamic list format firewalls poll — and `stix` — a STIX 2.1
//! bundle. Both are built from the TCP peer addresses pots report (`src_ip`; never a header an
//! attacker wrote), without `intel.allowlist` and special ranges (unless
//! `intel.include_private`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use actix_web::{HttpResponse, web};
use honeybee_store::{IndicatorKind, Observations};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::server::ApiState;
use crate::intel::{self, stix};

/// `since` when none is given.
const DEFAULT_SINCE: Duration = Duration::from_secs(86_400);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BlocklistQuery {
    since: Option<String>,
    min_events: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StixQuery {
    since: Option<String>,
}

fn since(text: Option<&str>) -> ApiResult<SystemTime> {
    let now = SystemTime::now();
    match text {
        Some(t) => intel::parse_since(t, now).map_err(|e| ApiError::invalid(e.to_string())),
        None => Ok(now
            .checked_sub(DEFAULT_SINCE)
            .unwrap_or(SystemTime::UNIX_EPOCH)),
    }
}

async fn observations(state: &ApiState, since: SystemTime) -> ApiResult<Observations> {
    let store = state.store.clone();
    let until = SystemTime::now() + Duration::from_secs(1);
    Ok(web::block(move || store.observations(since, until)).await??)
}

/// `GET /api/v1/intel/blocklist?since=24h&min_events=1`.
pub(super) async fn blocklist(
    state: web::Data<ApiState>,
    query: web::Query<BlocklistQuery>,
) -> ApiResult {
    let since = since(query.since.as_deref())?;
    let min_events = query.min_events.unwrap_or(1);
    if min_events == 0 {
        return Err(ApiError::invalid("min_events must be at least 1"));
    }
    let seen = observations(&state, since).await?;
    let mut counts: BTreeMap<std::net::IpAddr, u64> = BTreeMap::new();
    for o in seen.rows.iter().filter(|o| o.kind == IndicatorKind::Ip) {
        if let Some(ip) = intel::listable(&o.value, &state.intel) {
            *counts.entry(ip).or_default() += o.count;
        }
    }
    let mut body = String::new();
    for (ip, _) in counts.iter().filter(|(_, n)| **n >= min_events) {
        body.push_str(&ip.to_string());
        body.push('\n');
    }
    let mut response = HttpResponse::Ok();
    response.content_type("text/plain; charset=utf-8");
    if seen.truncated {
        response.insert_header(("X-HoneyBee-Truncated", "true"));
    }
    Ok(response.body(body))
}

/// `GET /api/v1/intel/stix?since=24h`.
pub(super) async fn stix_bundle(
    state: web::Data<ApiState>,
    query: web::Query<StixQuery>,
) -> ApiResult {
    let since = since(query.since.as_deref())?;
    let mut seen = observations(&state, since).await?;
    seen.rows.retain(|o| {
        o.kind != IndicatorKind::Ip || intel::listable(&o.value, &state.intel).is_some()
    });
    let values: Vec<(IndicatorKind, String)> = {
        let mut v: Vec<_> = seen
            .rows
            .iter()
            .map(|o| (o.kind, o.value.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let store = state.store.clone();
    let lookup = values.clone();
    let first = web::block(move || store.indicators_first_seen(&lookup)).await??;
    let known: BTreeMap<(IndicatorKind, String), SystemTime> = values
        .into_iter()
        .zip(first)
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let mut random = [0u8; 16];
    let _ = getrandom::fill(&mut random);
    let id = uuid::Builder::from_random_bytes(random).into_uuid();
    let bundle = stix::bundle(
        &seen.rows,
        &|kind, value| known.get(&(kind, value.to_owned())).copied(),
        id,
    );
    let mut response = HttpResponse::Ok();
    response.content_type("application/stix+json;version=2.1");
    if seen.truncated {
        response.insert_header(("X-HoneyBee-Truncated", "true"));
    }
    Ok(response.body(serde_json::to_vec(&bundle).map_err(ApiError::unavailable)?))
}
