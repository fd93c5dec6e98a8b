//! `GET /api/v1/events` (filters, cursor pages, oldest first) and `GET /api/v1/stats`.

use std::time::SystemTime;

use actix_web::{HttpResponse, web};
use honeybee_protocol::NodeId;
use honeybee_store::{Cursor, EventQuery, MAX_LIMIT, StatsQuery, Store, StoredEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, parse_node_id};
use super::event::write_event;
use super::server::ApiState;
use super::views::{parse_time, ts};

/// The event filters (`/api/v1/events` and the stream share them).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventFilters {
    pub node_id: Option<String>,
    pub pot_id: Option<String>,
    pub pot_type: Option<String>,
    pub event_type: Option<String>,
    pub src_ip: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<usize>,
    pub after: Option<String>,
    /// Only for the stream (its single-use ticket).
    pub ticket: Option<String>,
}

/// The filters, checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventMatch {
    pub node_id: Option<NodeId>,
    pub pot_id: Option<String>,
    pub pot_type: Option<String>,
    pub event_type: Option<String>,
    pub src_ip: Option<String>,
    pub since: Option<SystemTime>,
    pub until: Option<SystemTime>,
}

impl EventFilters {
    pub(crate) fn checked(&self) -> ApiResult<EventMatch> {
        Ok(EventMatch {
            node_id: self.node_id.as_deref().map(parse_node_id).transpose()?,
            pot_id: self.pot_id.clone(),
            pot_type: self.pot_type.clone(),
            event_type: self.event_type.clone(),
            src_ip: self.src_ip.clone(),
            since: self
                .since
                .as_deref()
                .map(|t| parse_time("since", t))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|t| parse_time("until", t))
                .transpose()?,
        })
    }
}

impl EventMatch {
    /// Whether a stored event passes the filters (`node_ids`: every id of the node asked for).
    pub(super) fn matches(&self, event: &StoredEvent, node_ids: &[NodeId]) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        (node_ids.is_empty() || node_ids.contains(&event.node_id))
            && eq(&self.pot_id, Some(&event.pot_id))
            && eq(&self.pot_type, event.pot_type.as_deref())
            && eq(&self.event_type, Some(&event.event_type))
            && eq(&self.src_ip, event.src_ip.as_deref())
            && self.since.is_none_or(|s| event.received_at >= s)
            && self.until.is_none_or(|u| event.received_at <= u)
    }
}

/// Every id of a node (it may have registered under several); at least the id asked for.
pub(crate) fn ids_of(store: &Store, node_id: Option<NodeId>) -> Result<Vec<NodeId>, ApiError> {
    let Some(id) = node_id else {
        return Ok(Vec::new());
    };
    let mut ids = store.node_ids_of(id)?;
    if !ids.contains(&id) {
        ids.push(id);
    }
    Ok(ids)
}

pub(super) async fn events(
    state: web::Data<ApiState>,
    filters: web::Query<EventFilters>,
) -> ApiResult {
    if filters.ticket.is_some() {
        return Err(ApiError::invalid("ticket is only for /api/v1/stream"));
    }
    let matching = filters.checked()?;
    if let Some(limit) = filters.limit
        && !(1..=MAX_LIMIT).contains(&limit)
    {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let after = filters.after.as_deref().map(Cursor::parse).transpose()?;
    let limit = filters.limit;
    let store = state.store.clone();
    let page = web::block(move || {
        let query = EventQuery {
            node_ids: ids_of(&store, matching.node_id)?,
            pot_id: matching.pot_id,
            pot_type: matching.pot_type,
            event_type: matching.event_type,
            src_ip: matching.src_ip,
            since: matching.since,
            until: matching.until,
            limit,
            after,
        };
        store.events(&query).map_err(ApiError::from)
    })
    .await??;
    let mut body = Vec::with_capacity(256 + page.events.len() * 512);
    body.extend_from_slice(b"{\"events\":[");
    for (i, event) in page.events.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        write_event(&mut body, event);
    }
    body.extend_from_slice(b"],\"next\":");
    let next = page.next.map(|c| c.to_string());
    serde_json::to_writer(&mut body, &next).map_err(ApiError::unavailable)?;
    body.push(b'}');
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatsFilters {
    since: Option<String>,
    until: Option<String>,
    node_id: Option<String>,
}

pub(super) async fn stats(
    state: web::Data<ApiState>,
    filters: web::Query<StatsFilters>,
) -> ApiResult {
    let since = filters
        .since
        .as_deref()
        .map(|t| parse_time("since", t))
        .transpose()?;
    let until = filters
        .until
        .as_deref()
        .map(|t| parse_time("until", t))
        .transpose()?;
    let node_id = filters.node_id.as_deref().map(parse_node_id).transpose()?;
    let store = state.store.clone();
    let writer = state.writer.clone();
    let stats = web::block(move || {
        // The writer keeps counts for up to two seconds before writing them: a caller sees
        // every event stored before its request.
        writer.flush_stats()?;
        let query = StatsQuery {
            since,
            until,
            node_ids: ids_of(&store, node_id)?,
        };
        store.stats(&query).map_err(ApiError::from)
    })
    .await??;
    let top = |list: &[(String, u64)]| -> Vec<Value> {
        list.iter()
            .map(|(value, count)| json!({"value": value, "count": count}))
            .collect()
    };
    let by_node: serde_json::Map<String, Value> = stats
        .by_node
        .iter()
        .map(|(id, n)| (id.to_string(), (*n).into()))
        .collect();
    let per_hour: Vec<Value> = stats
        .per_hour
        .iter()
        .map(|(hour, count)| {
            let at = std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(*hour).unwrap_or(0));
            json!({"hour": ts(at), "count": count})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "total_events": stats.total_events,
        "by_event_type": stats.by_event_type,
        "by_pot_type": stats.by_pot_type,
        "by_node": by_node,
        "top_src_ips": top(&stats.top_src_ips),
        "top_usernames": top(&stats.top_usernames),
        "top_passwords": top(&stats.top_passwords),
        "top_commands": top(&stats.top_commands),
        "top_downloads": top(&stats.top_downloads),
        "top_sha256": top(&stats.top_sha256),
        "per_hour": per_hour,
    })))
}
