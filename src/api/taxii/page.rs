//! The collection's pages: the filters of `objects/` and `manifest/` requests (`added_after` to
//! the microsecond, `limit`, `next`, `match[...]`), one page of objects in `date_added` order
//! (the Core's identity first, then the indicator index by `seq`, skipping what the feed rules
//! hide), the envelope and its `X-TAXII-Date-Added-*` headers, and finding one object by id.

use std::collections::HashMap;
use std::time::SystemTime;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web;
use honeybee_store::{Indicator, IndicatorKind};
use serde_json::{Value, json};

use super::{TAXII, TaxiiError};
use crate::api::server::ApiState;
use crate::intel::{self, stix};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;
/// Indicators examined per request at most (rows the allowlist hides are skipped over).
const MAX_SCAN: usize = 100_000;

/// The filters of objects and manifest requests.
#[derive(Debug, Default)]
pub(super) struct Filters {
    added_after: Option<SystemTime>,
    limit: usize,
    next: u64,
    first_page: bool,
    types: Option<Vec<String>>,
    ids: Option<Vec<String>>,
    spec_ok: bool,
}

pub(super) fn filters(query: &HashMap<String, String>) -> Result<Filters, TaxiiError> {
    let bad = |m: String| TaxiiError::new(StatusCode::BAD_REQUEST, m);
    let mut f = Filters {
        limit: DEFAULT_LIMIT,
        first_page: true,
        spec_ok: true,
        ..Filters::default()
    };
    for (key, value) in query {
        let list = || {
            value
                .split(',')
                .map(|v| v.trim().to_owned())
                .collect::<Vec<_>>()
        };
        match key.as_str() {
            "added_after" => {
                f.added_after = Some(intel::parse_time(value).ok_or_else(|| {
                    bad("added_after must be an RFC 3339 time like 2026-01-15T10:30:00.123Z".into())
                })?);
            }
            "limit" => {
                f.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| bad(format!("limit must be from 1 to {MAX_LIMIT}")))?;
            }
            "next" => {
                f.next = crate::api::error::u64_digits(value)
                    .ok_or_else(|| bad("next must be a value this server returned".into()))?;
                f.first_page = false;
            }
            "match[type]" => f.types = Some(list()),
            "match[id]" => f.ids = Some(list()),
            "match[version]" => {}
            "match[spec_version]" => f.spec_ok = list().iter().any(|v| v == "2.1"),
            other => {
                return Err(bad(format!(
                    "unknown parameter {:?}",
                    honeybee_protocol::error::sanitize(other, 40)
                )));
            }
        }
    }
    Ok(f)
}

/// One page of the collection: (object, date_added) and whether more may follow, and where.
pub(super) struct Page {
    pub(super) objects: Vec<(Value, SystemTime)>,
    pub(super) more: bool,
    pub(super) next: u64,
}

pub(super) fn identity_added() -> SystemTime {
    honeybee_protocol::Timestamp::parse_rfc3339(stix::IDENTITY_CREATED)
        .map(|t| {
            SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(t.unix_seconds().max(0).unsigned_abs())
        })
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

pub(super) fn wanted(f: &Filters, object: &Value) -> bool {
    let ty = object.get("type").and_then(Value::as_str).unwrap_or("");
    let id = object.get("id").and_then(Value::as_str).unwrap_or("");
    f.spec_ok
        && f.types.as_ref().is_none_or(|t| t.iter().any(|x| x == ty))
        && f.ids.as_ref().is_none_or(|i| i.iter().any(|x| x == id))
}

pub(super) fn indicator_object(row: &Indicator) -> Value {
    stix::indicator(row.kind, &row.value, row.first_seen)
}

pub(super) async fn page(state: &ApiState, f: &Filters) -> Result<Page, TaxiiError> {
    let mut objects = Vec::new();
    if f.first_page && f.added_after.is_none_or(|a| identity_added() > a) {
        let identity = stix::identity();
        if wanted(f, &identity) {
            objects.push((identity, identity_added()));
        }
    }
    let mut cursor = f.next;
    let mut examined = 0;
    let mut exhausted = false;
    while objects.len() < f.limit && examined < MAX_SCAN {
        let (store, after) = (state.store.clone(), f.added_after);
        let rows = web::block(move || store.indicators(cursor, after, 1000))
            .await
            .map_err(|e| TaxiiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?
            .map_err(|e| TaxiiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
        if rows.is_empty() {
            exhausted = true;
            break;
        }
        for row in rows {
            examined += 1;
            cursor = row.seq;
            if row.kind == IndicatorKind::Ip && intel::listable(&row.value, &state.intel).is_none()
            {
                continue;
            }
            let object = indicator_object(&row);
            if wanted(f, &object) {
                objects.push((object, row.date_added));
                if objects.len() == f.limit {
                    break;
                }
            }
        }
    }
    let more = !exhausted && {
        let (store, after) = (state.store.clone(), f.added_after);
        web::block(move || store.indicators(cursor, after, 1))
            .await
            .ok()
            .and_then(Result::ok)
            .is_some_and(|rows| !rows.is_empty())
    };
    Ok(Page {
        objects,
        more,
        next: cursor,
    })
}

pub(super) fn with_date_headers(page: &Page, body: &Value) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.content_type(TAXII);
    if let (Some(first), Some(last)) = (page.objects.first(), page.objects.last()) {
        response.insert_header(("X-TAXII-Date-Added-First", stix::time(first.1)));
        response.insert_header(("X-TAXII-Date-Added-Last", stix::time(last.1)));
    }
    response.body(body.to_string())
}

pub(super) fn envelope_of(page: &Page, items: Vec<Value>, key: &str) -> Value {
    let mut envelope = json!({ "more": page.more });
    if let Value::Object(map) = &mut envelope {
        if page.more {
            map.insert("next".into(), page.next.to_string().into());
        }
        if !items.is_empty() {
            map.insert(key.into(), items.into());
        }
    }
    envelope
}

/// Finds one object of the collection by its id (the indicator index is walked: ids are
/// UUIDv5s of the values).
pub(super) async fn find(
    state: &ApiState,
    object_id: &str,
) -> Result<(Value, SystemTime), TaxiiError> {
    let identity = stix::identity();
    if identity.get("id").and_then(Value::as_str) == Some(object_id) {
        return Ok((identity, identity_added()));
    }
    let f = Filters {
        limit: 1,
        ids: Some(vec![object_id.to_owned()]),
        spec_ok: true,
        ..Filters::default()
    };
    let mut f = f;
    loop {
        let page = page(state, &f).await?;
        if let Some(found) = page.objects.into_iter().next() {
            return Ok(found);
        }
        if !page.more {
            return Err(TaxiiError::new(StatusCode::NOT_FOUND, "no such object"));
        }
        f.next = page.next;
    }
}
