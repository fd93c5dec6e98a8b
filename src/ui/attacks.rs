//! The Attacks page (a live feed filled by `attacks.js` from the Core's stream, events per hour
//! over 24 hours and 7 days drawn with uPlot, the top source addresses, usernames, passwords,
//! commands and downloads from the hourly aggregates), its chart data, and the Events page: the
//! stored events matching filters, in pages (where a source address links to).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use honeybee_store::{Cursor, EventQuery, StatsQuery};
use serde::Deserialize;
use serde_json::json;

use super::format::{CELL_CHARS, When, group, shown, when};
use super::{Nav, UiError, UiResult, render, viewer};
use crate::api::error::parse_node_id;
use crate::api::events::ids_of;
use crate::api::server::ApiState;

/// Events on one page of the Events page.
const EVENTS_PER_PAGE: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub(super) struct AttackQuery {
    node_id: Option<String>,
    pot_type: Option<String>,
    event_type: Option<String>,
    src_ip: Option<String>,
    range: Option<String>,
    after: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// One entry of a top list: the value shown, its count, and where it links (addresses only).
#[derive(Debug)]
pub(crate) struct Top {
    pub value: String,
    pub count: String,
    pub link: Option<String>,
}

#[derive(Debug)]
pub(crate) struct TopList {
    pub title: &'static str,
    pub entries: Vec<Top>,
}

#[derive(Template)]
#[template(path = "attacks.html")]
struct AttacksPage {
    nav: Nav,
    node_id: String,
    pot_type: String,
    event_type: String,
    src_ip: String,
    week: bool,
    total: String,
    lists: Vec<TopList>,
    live: String,
}

fn top(title: &'static str, list: &[(String, u64)], link: bool) -> TopList {
    TopList {
        title,
        entries: list
            .iter()
            .map(|(value, count)| Top {
                value: shown(value, CELL_CHARS),
                count: group(*count),
                link: link.then(|| format!("/ui/events?src_ip={}", encode(value))),
            })
            .collect(),
    }
}

/// `GET /ui/attacks`.
pub(super) async fn page(
    request: HttpRequest,
    state: web::Data<ApiState>,
    query: web::Query<AttackQuery>,
) -> UiResult {
    let viewer = viewer(&request, &state)?;
    let node_id = given(&query.node_id).map(parse_node_id).transpose()?;
    let week = given(&query.range) == Some("7d");
    let span = Duration::from_secs(if week { 7 * 86_400 } else { 86_400 });
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let stats = web::block(move || {
        // As `GET /api/v1/stats`: the counts the writer still holds are written first.
        writer.flush_stats()?;
        let query = StatsQuery {
            since: Some(SystemTime::now() - span),
            until: None,
            node_ids: ids_of(&store, node_id)?,
        };
        store
            .stats(&query)
            .map_err(crate::api::error::ApiError::from)
    })
    .await??;
    let mut live = vec!["events=1".to_owned()];
    for (name, value) in [
        ("node_id", given(&query.node_id)),
        ("pot_type", given(&query.pot_type)),
        ("event_type", given(&query.event_type)),
        ("src_ip", given(&query.src_ip)),
    ] {
        if let Some(v) = value {
            live.push(format!("{name}={}", encode(v)));
        }
    }
    render(&AttacksPage {
        nav: Nav::of(&viewer, "attacks"),
        node_id: given(&query.node_id).unwrap_or_default().to_owned(),
        pot_type: given(&query.pot_type).unwrap_or_default().to_owned(),
        event_type: given(&query.event_type).unwrap_or_default().to_owned(),
        src_ip: given(&query.src_ip).unwrap_or_default().to_owned(),
        week,
        total: group(stats.total_events),
        lists: vec![
            top("Source addresses", &stats.top_src_ips, true),
            top("Usernames", &stats.top_usernames, false),
            top("Passwords", &stats.top_passwords, false),
            top("Commands", &stats.top_commands, false),
            top("Download URLs", &stats.top_downloads, false),
            top("Downloaded files (SHA-256)", &stats.top_sha256, false),
        ],
        live: format!("/ui/live?{}", live.join("&")),
    })
}

/// The hours from `first` to `last` (unix seconds of hour starts) with their counts, zero
/// where none were stored.
fn series(per_hour: &[(i64, u64)], first: i64, last: i64) -> (Vec<i64>, Vec<u64>) {
    let mut hours = Vec::new();
    let mut counts = Vec::new();
    let mut at = first;
    while at <= last {
        hours.push(at);
        counts.push(
            per_hour
                .iter()
                .find(|(h, _)| *h == at)
                .map_or(0, |(_, c)| *c),
        );
        at += 3600;
    }
    (hours, counts)
}

/// `GET /ui/attacks/chart`: events per hour for the last 24 hours and 7 days (JSON for
/// `attacks.js`; the page cannot carry inline data scripts under its CSP).
pub(super) async fn chart(
    request: HttpRequest,
    state: web::Data<ApiState>,
    query: web::Query<AttackQuery>,
) -> UiResult<HttpResponse> {
    let _viewer = viewer(&request, &state)?;
    let node_id = given(&query.node_id).map(parse_node_id).transpose()?;
    let now = SystemTime::now();
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let stats = web::block(move || {
        // As `GET /api/v1/stats`: the counts the writer still holds are written first.
        writer.flush_stats()?;
        let query = StatsQuery {
            since: Some(now - Duration::from_secs(7 * 86_400)),
            until: None,
            node_ids: ids_of(&store, node_id)?,
        };
        store
            .stats(&query)
            .map_err(crate::api::error::ApiError::from)
    })
    .await??;
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let hour = secs - secs.rem_euclid(3600);
    let (day_x, day_y) = series(&stats.per_hour, hour - 23 * 3600, hour);
    let (week_x, week_y) = series(&stats.per_hour, hour - (7 * 24 - 1) * 3600, hour);
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "day": {"hours": day_x, "counts": day_y},
            "week": {"hours": week_x, "counts": week_y},
        })))
}

#[derive(Debug)]
pub(crate) struct EventLine {
    pub id: u64,
    pub received_at: When,
    pub node_id: String,
    pub node_name: String,
    pub pot_id: String,
    pub pot_type: String,
    pub event_type: String,
    pub src_ip: String,
    pub username: String,
    pub password: String,
    pub command: String,
    pub download: String,
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    nav: Nav,
    node_id: String,
    pot_type: String,
    event_type: String,
    src_ip: String,
    events: Vec<EventLine>,
    next: Option<String>,
}

/// `GET /ui/events`: stored events matching the filters, oldest first, a page at a time.
pub(super) async fn events(
    request: HttpRequest,
    state: web::Data<ApiState>,
    query: web::Query<AttackQuery>,
) -> UiResult {
    let viewer = viewer(&request, &state)?;
    let node_id = given(&query.node_id).map(parse_node_id).transpose()?;
    let after = given(&query.after)
        .map(Cursor::parse)
        .transpose()
        .map_err(|_| UiError::bad_request("that page position is not valid"))?;
    let filters = (
        given(&query.pot_type).map(str::to_owned),
        given(&query.event_type).map(str::to_owned),
        given(&query.src_ip).map(str::to_owned),
    );
    let store = state.store.clone();
    let (pot_type, event_type, src_ip) = filters.clone();
    let page = web::block(move || {
        let q = EventQuery {
            node_ids: ids_of(&store, node_id)?,
            pot_id: None,
            pot_type,
            event_type,
            src_ip,
            since: None,
            until: None,
            limit: Some(EVENTS_PER_PAGE),
            after,
        };
        store.events(&q).map_err(crate::api::error::ApiError::from)
    })
    .await??;
    let opt = |v: &Option<String>| shown(v.as_deref().unwrap_or_default(), CELL_CHARS);
    let events = page
        .events
        .iter()
        .map(|e| EventLine {
            id: e.id,
            received_at: when(e.received_at),
            node_id: e.node_id.to_string(),
            node_name: shown(&e.node_name, 80),
            pot_id: shown(&e.pot_id, 64),
            pot_type: opt(&e.pot_type),
            event_type: shown(&e.event_type, 120),
            src_ip: opt(&e.src_ip),
            username: opt(&e.username),
            password: opt(&e.password),
            command: opt(&e.command),
            download: opt(&e.download_url),
        })
        .collect();
    let next = page.next.map(|cursor| {
        let mut parts = vec![format!("after={}", encode(&cursor.to_string()))];
        for (name, value) in [
            ("node_id", given(&query.node_id)),
            ("pot_type", filters.0.as_deref()),
            ("event_type", filters.1.as_deref()),
            ("src_ip", filters.2.as_deref()),
        ] {
            if let Some(v) = value {
                parts.push(format!("{name}={}", encode(v)));
            }
        }
        format!("/ui/events?{}", parts.join("&"))
    });
    render(&EventsPage {
        nav: Nav::of(&viewer, "attacks"),
        node_id: given(&query.node_id).unwrap_or_default().to_owned(),
        pot_type: filters.0.unwrap_or_default(),
        event_type: filters.1.unwrap_or_default(),
        src_ip: filters.2.unwrap_or_default(),
        events,
        next,
    })
}
