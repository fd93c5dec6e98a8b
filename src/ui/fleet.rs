//! The Fleet page (the start page): counts, then one page of nodes with their pots, last
//! event, events in the last hour beside the usual rate, restarts, drift and open alerts;
//! filters, sorting and pages (at most [`MAX_PER_PAGE`] rows ever reach the browser). The
//! fleet comes from the registry (memory); the page's rows' last events and hourly counts
//! from the store in one read each, never from a scan of events.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use honeybee_actors::registry::{CountNodes, GetNode, ListNodes, ListPots, NodeView, PotView};
use honeybee_protocol::{NodeId, NodeStatus};
use serde::Deserialize;

use super::format::{When, group, shown, when};
use super::session::Viewer;
use super::{Nav, UiError, UiResult, render, signin, viewer};
use crate::api::server::ApiState;

/// Rows per page at most (and by default).
pub(crate) const MAX_PER_PAGE: usize = 100;
/// "Quiet": the last hour under this share of the usual rate…
const QUIET_SHARE: u64 = 10;
/// …when the usual rate is at least this many events per hour.
const QUIET_FLOOR: u64 = 10;
/// Days whose same hour makes the usual rate.
const USUAL_DAYS: i64 = 7;

#[derive(Debug, Default, Deserialize)]
pub(super) struct FleetQuery {
    status: Option<String>,
    connected: Option<String>,
    pot_type: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    page: Option<usize>,
    per: Option<usize>,
}

/// A filter value as forms send it: empty means "any".
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The sort keys (a leading `-` sorts descending).
const SORTS: &[&str] = &["name", "status", "last_seen", "alerts", "restarts", "pots"];

#[derive(Debug)]
pub(crate) struct Chip {
    pub pot_id: String,
    pub pot_type: String,
    pub status: &'static str,
}

#[derive(Debug)]
pub(crate) struct Row {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub connected: bool,
    pub last_seen: When,
    pub pots: Vec<Chip>,
    pub last_event: Option<When>,
    pub last_hour: String,
    pub usual: String,
    pub quiet: bool,
    pub restarts: u32,
    pub drift: usize,
    pub alerts: Vec<&'static str>,
}

#[derive(Debug)]
pub(crate) struct Counts {
    pub known: String,
    pub connected: String,
    pub by_status: Vec<(&'static str, String, String)>,
    pub pots: Vec<(&'static str, String)>,
    pub per_minute: String,
    pub alerts_open: String,
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    nav: Nav,
    counts: Counts,
    rows: Vec<Row>,
    statuses: Vec<&'static str>,
    pot_types: Vec<String>,
    status: String,
    connected: String,
    pot_type: String,
    q: String,
    sort: String,
    matched: String,
    first: usize,
    last: usize,
    prev: Option<String>,
    next: Option<String>,
    sort_links: Vec<(&'static str, String)>,
}

impl FleetPage {
    /// The link that sorts by `key` (descending when already sorted by it ascending).
    fn sort_link(&self, key: &str) -> &str {
        self.sort_links
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("/ui/fleet", |(_, link)| link.as_str())
    }
}

/// `GET /`: the fleet for a signed-in viewer, the sign-in form for anybody else.
pub(super) async fn start(
    request: HttpRequest,
    state: web::Data<ApiState>,
    query: web::Query<FleetQuery>,
) -> UiResult {
    match viewer(&request, &state) {
        Ok(viewer) => fleet(&state, &viewer, query.into_inner()).await,
        Err(_) => signin::page(StatusCode::OK, "/ui/", None),
    }
}

/// `GET /ui/` and `/ui/fleet`.
pub(super) async fn page(
    request: HttpRequest,
    state: web::Data<ApiState>,
    query: web::Query<FleetQuery>,
) -> UiResult {
    let viewer = viewer(&request, &state)?;
    fleet(&state, &viewer, query.into_inner()).await
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn fleet(state: &ApiState, viewer: &Viewer, query: FleetQuery) -> UiResult {
    let status = given(&query.status)
        .map(|s| {
            NodeStatus::from_wire(s).ok_or_else(|| {
                UiError::bad_request(format!("{} is not a node status", shown(s, 40)))
            })
        })
        .transpose()?;
    let connected = match given(&query.connected) {
        None => None,
        Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(_) => return Err(UiError::bad_request("connected is yes or no")),
    };
    let sort = given(&query.sort).unwrap_or("name").to_owned();
    if !SORTS.contains(&sort.trim_start_matches('-')) {
        return Err(UiError::bad_request(format!(
            "sort is one of {}",
            SORTS.join(", ")
        )));
    }
    let per = query.per.unwrap_or(MAX_PER_PAGE).clamp(1, MAX_PER_PAGE);
    let pot_type = given(&query.pot_type).map(str::to_owned);
    let needle = given(&query.q).map(str::to_lowercase);

    let nodes = state.registry.send(ListNodes).await?;
    let pots = state.registry.send(ListPots).await?;
    let counts = state.registry.send(CountNodes).await?;
    let mut pots_of: HashMap<NodeId, Vec<PotView>> = HashMap::new();
    let mut pot_types: Vec<String> = Vec::new();
    for pot in pots {
        if !pot_types.contains(&pot.pot_type) {
            pot_types.push(pot.pot_type.clone());
        }
        pots_of.entry(pot.node_id).or_default().push(pot);
    }
    pot_types.sort();
    let none: Vec<PotView> = Vec::new();
    let pots_for = |id: NodeId| pots_of.get(&id).unwrap_or(&none);

    let mut matched: Vec<&NodeView> = nodes
        .iter()
        .filter(|n| status.is_none_or(|s| n.status == s))
        .filter(|n| connected.is_none_or(|c| n.connected == c))
        .filter(|n| {
            pot_type
                .as_deref()
                .is_none_or(|t| pots_for(n.node_id).iter().any(|p| p.pot_type == t))
        })
        .filter(|n| {
            needle.as_deref().is_none_or(|q| {
                n.node_name.to_lowercase().contains(q) || n.node_id.to_string().contains(q)
            })
        })
        .collect();
    let restarts = |n: &NodeView| pots_for(n.node_id).iter().map(|p| p.restarts).sum::<u32>();
    let key = sort.trim_start_matches('-');
    matched.sort_by(|a, b| {
        let by_name = a
            .node_name
            .cmp(&b.node_name)
            .then(a.node_id.cmp(&b.node_id));
        match key {
            "status" => a.status.as_str().cmp(b.status.as_str()).then(by_name),
            "last_seen" => a.last_seen.cmp(&b.last_seen).then(by_name),
            "alerts" => a.alerts.len().cmp(&b.alerts.len()).then(by_name),
            "restarts" => restarts(a).cmp(&restarts(b)).then(by_name),
            "pots" => a.pot_count.cmp(&b.pot_count).then(by_name),
            _ => by_name,
        }
    });
    if sort.starts_with('-') {
        matched.reverse();
    }
    let total = matched.len();
    let pages = total.div_ceil(per).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let shown_nodes: Vec<&NodeView> = matched
        .into_iter()
        .skip((page - 1) * per)
        .take(per)
        .collect();
    let rows = rows(state, &shown_nodes, &pots_for).await?;

    let base = |page: usize| {
        let mut parts = vec![format!("page={page}")];
        for (name, value) in [
            ("status", given(&query.status)),
            ("connected", given(&query.connected)),
            ("pot_type", given(&query.pot_type)),
            ("q", given(&query.q)),
            ("sort", Some(sort.as_str())),
        ] {
            if let Some(v) = value {
                parts.push(format!("{name}={}", encode(v)));
            }
        }
        if per != MAX_PER_PAGE {
            parts.push(format!("per={per}"));
        }
        format!("/ui/fleet?{}", parts.join("&"))
    };
    let sort_links = SORTS
        .iter()
        .map(|&k| {
            let flip = if sort == k {
                format!("-{k}")
            } else {
                k.to_owned()
            };
            let mut parts = vec![format!("sort={flip}")];
            for (name, value) in [
                ("status", given(&query.status)),
                ("connected", given(&query.connected)),
                ("pot_type", given(&query.pot_type)),
                ("q", given(&query.q)),
            ] {
                if let Some(v) = value {
                    parts.push(format!("{name}={}", encode(v)));
                }
            }
            (k, format!("/ui/fleet?{}", parts.join("&")))
        })
        .collect();
    let first = if total == 0 { 0 } else { (page - 1) * per + 1 };
    let counts = Counts {
        known: group(counts.known as u64),
        connected: group(counts.connected as u64),
        by_status: counts
            .by_status
            .iter()
            .filter(|(_, c)| c.connected + c.disconnected > 0)
            .map(|(s, c)| {
                (
                    s.as_str(),
                    group(c.connected as u64),
                    group(c.disconnected as u64),
                )
            })
            .collect(),
        pots: counts
            .pots_by_status()
            .iter()
            .map(|(s, n)| (s.as_str(), group(*n as u64)))
            .collect(),
        per_minute: group(state.ui.rate.per_minute()),
        alerts_open: group(counts.alerts_open as u64),
    };
    render(&FleetPage {
        nav: Nav::of(viewer, "fleet"),
        counts,
        rows,
        statuses: NodeStatus::ALL.iter().map(|s| s.as_str()).collect(),
        pot_types,
        status: given(&query.status).unwrap_or_default().to_owned(),
        connected: given(&query.connected).unwrap_or_default().to_owned(),
        pot_type: pot_type.unwrap_or_default(),
        q: given(&query.q).unwrap_or_default().to_owned(),
        sort: sort.clone(),
        matched: group(total as u64),
        first,
        last: first + shown_nodes.len().saturating_sub(1),
        prev: (page > 1).then(|| base(page - 1)),
        next: (page < pages).then(|| base(page + 1)),
        sort_links,
    })
}

/// The start of the hour `at` falls in, in unix seconds.
fn hour_of(at: SystemTime) -> i64 {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    secs - secs.rem_euclid(3600)
}

/// The last complete hour and the same hour on each of the [`USUAL_DAYS`] days before.
fn hours(now: SystemTime) -> (i64, Vec<i64>) {
    let last = hour_of(now) - 3600;
    (last, (1..=USUAL_DAYS).map(|d| last - d * 86_400).collect())
}

/// The median of the usual hours' counts (a missing hour counts 0).
fn median(mut counts: Vec<u64>) -> u64 {
    counts.sort_unstable();
    counts.get(counts.len() / 2).copied().unwrap_or(0)
}

/// Quiet: the last hour under a tenth of the usual rate, which is at least ten.
pub(crate) fn quiet(last_hour: u64, usual: u64) -> bool {
    usual >= QUIET_FLOOR && last_hour * QUIET_SHARE < usual
}

async fn rows<'a>(
    state: &ApiState,
    nodes: &[&NodeView],
    pots_for: &impl Fn(NodeId) -> &'a Vec<PotView>,
) -> UiResult<Vec<Row>> {
    // Every id a node is known by (events are counted under the id they came with).
    let ids: Vec<(NodeId, Vec<NodeId>)> = nodes
        .iter()
        .map(|n| {
            let mut all = vec![n.node_id];
            all.extend(&n.previous_ids);
            (n.node_id, all)
        })
        .collect();
    let (last, usual_hours) = hours(SystemTime::now());
    let store = state.store.clone();
    let every: Vec<NodeId> = ids
        .iter()
        .flat_map(|(_, all)| all.iter().copied())
        .collect();
    let primary: Vec<NodeId> = nodes.iter().map(|n| n.node_id).collect();
    let mut asked = usual_hours.clone();
    asked.push(last);
    let (counts, last_events) = web::block(move || {
        let counts = store.node_hour_counts(&every, &asked)?;
        let last_events = store.last_events(&primary)?;
        Ok::<_, honeybee_store::StoreError>((counts, last_events))
    })
    .await??;
    let mut per: HashMap<(NodeId, i64), u64> = HashMap::new();
    for (node, hour, count) in counts {
        *per.entry((node, hour)).or_default() += count;
    }
    let count = |all: &[NodeId], hour: i64| -> u64 {
        all.iter()
            .map(|id| per.get(&(*id, hour)).copied().unwrap_or(0))
            .sum()
    };
    let mut rows = Vec::with_capacity(nodes.len());
    for (node, (_, all)) in nodes.iter().zip(&ids) {
        let last_hour = count(all, last);
        let usual = median(usual_hours.iter().map(|h| count(all, *h)).collect());
        // Drift is worked out by the registry per node (desired pots it has not reported).
        let drift = state
            .registry
            .send(GetNode {
                node_id: node.node_id,
            })
            .await?
            .map_or(0, |d| d.drift.len());
        let pots = pots_for(node.node_id);
        rows.push(Row {
            id: node.node_id.to_string(),
            name: shown(&node.node_name, 80),
            status: node.status.as_str(),
            connected: node.connected,
            last_seen: when(node.last_seen),
            pots: pots
                .iter()
                .map(|p| Chip {
                    pot_id: shown(&p.pot_id, 64),
                    pot_type: shown(&p.pot_type, 64),
                    status: p.status.as_str(),
                })
                .collect(),
            last_event: last_events.get(&node.node_id).copied().map(when),
            last_hour: group(last_hour),
            usual: group(usual),
            quiet: quiet(last_hour, usual),
            restarts: pots.iter().map(|p| p.restarts).sum(),
            drift,
            alerts: node.alerts.iter().map(|k| k.as_str()).collect(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_needs_a_usual_rate_and_a_drop() {
        assert!(quiet(0, 10));
        assert!(!quiet(1, 10));
        assert!(!quiet(0, 9));
        assert!(quiet(9, 100));
        assert!(!quiet(10, 100));
    }

    #[test]
    fn the_usual_rate_is_the_median_of_the_same_hour() {
        assert_eq!(median(vec![0, 0, 0, 50, 60, 70, 80]), 50);
        assert_eq!(median(vec![]), 0);
        let now = UNIX_EPOCH + std::time::Duration::from_secs(10 * 86_400 + 5 * 3600 + 120);
        let (last, usual) = hours(now);
        assert_eq!(last, 10 * 86_400 + 4 * 3600);
        assert_eq!(usual.len(), 7);
        assert_eq!(usual[0], 9 * 86_400 + 4 * 3600);
    }
}
