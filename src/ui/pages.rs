//! The Alerts, Audit and Enrollment pages (read from the store and the registry; the
//! enrollment forms post to `actions.rs`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use honeybee_actors::registry::ListIdentities;
use honeybee_store::IdentityState;

use super::format::{CELL_CHARS, When, shown, when};
use super::session::Viewer;
use super::{Nav, UiResult, html, render, viewer};
use crate::api::server::ApiState;

/// Cleared alerts listed after the open ones.
const CLEARED_SHOWN: usize = 200;
/// Audit entries listed.
const AUDIT_SHOWN: usize = 200;

#[derive(Debug)]
pub(crate) struct AlertLine {
    pub id: u64,
    pub kind: String,
    pub open: bool,
    pub node_id: Option<String>,
    pub node_name: String,
    pub pot_id: Option<String>,
    pub message: String,
    pub opened_at: When,
    pub cleared_at: Option<When>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    nav: Nav,
    alerts: Vec<AlertLine>,
    open: usize,
}

/// `GET /ui/alerts`: the open alerts (oldest first), then the most recently cleared.
pub(super) async fn alerts(request: HttpRequest, state: web::Data<ApiState>) -> UiResult {
    let viewer = viewer(&request, &state)?;
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let rows = web::block(move || {
        writer.flush()?;
        store.alerts(CLEARED_SHOWN)
    })
    .await??;
    let alerts: Vec<AlertLine> = rows
        .iter()
        .map(|a| AlertLine {
            id: a.alert_id,
            kind: shown(&a.kind, 64),
            open: a.cleared_at.is_none(),
            node_id: a.node_id.map(|i| i.to_string()),
            node_name: shown(a.node_name.as_deref().unwrap_or_default(), 80),
            pot_id: a.pot_id.as_deref().map(|p| shown(p, 64)),
            message: shown(&a.message, CELL_CHARS),
            opened_at: when(a.opened_at),
            cleared_at: a.cleared_at.map(when),
        })
        .collect();
    let open = alerts.iter().filter(|a| a.open).count();
    render(&AlertsPage {
        nav: Nav::of(&viewer, "alerts"),
        alerts,
        open,
    })
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Nav,
    rows: Vec<(When, String, String, String, String, String)>,
}

/// `GET /ui/audit`: who did what, when, from where (newest first).
pub(super) async fn audit(request: HttpRequest, state: web::Data<ApiState>) -> UiResult {
    let viewer = viewer(&request, &state)?;
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let rows = web::block(move || {
        writer.flush()?;
        store.audit(AUDIT_SHOWN)
    })
    .await??;
    render(&AuditPage {
        nav: Nav::of(&viewer, "audit"),
        rows: rows
            .iter()
            .map(|r| {
                (
                    when(r.at),
                    shown(&r.actor, 80),
                    shown(&r.source, 300),
                    shown(&r.action, 120),
                    shown(r.target.as_deref().unwrap_or_default(), CELL_CHARS),
                    shown(&r.outcome, 40),
                )
            })
            .collect(),
    })
}

#[derive(Debug)]
pub(crate) struct Identity {
    pub node_id: Option<String>,
    pub ids: String,
    pub name: String,
    pub state: &'static str,
    pub name_shared: bool,
}

#[derive(Template)]
#[template(path = "enrollment.html")]
struct EnrollmentPage {
    nav: Nav,
    pending: Vec<Identity>,
    others: Vec<Identity>,
    error: Option<String>,
}

/// `GET /ui/enrollment`.
pub(super) async fn enrollment(request: HttpRequest, state: web::Data<ApiState>) -> UiResult {
    let viewer = viewer(&request, &state)?;
    enrollment_page(&state, &viewer, None, StatusCode::OK).await
}

/// The approval queue and every identity, with `error` when a form was refused.
pub(crate) async fn enrollment_page(
    state: &ApiState,
    viewer: &Viewer,
    error: Option<String>,
    status: StatusCode,
) -> UiResult {
    let mut identities = state.registry.send(ListIdentities).await?;
    identities.sort_by_key(|i| i.node_ids.first().copied());
    let (pending, others): (Vec<_>, Vec<_>) = identities
        .iter()
        .map(|i| Identity {
            node_id: i.node_ids.first().map(|id| id.to_string()),
            ids: i
                .node_ids
                .iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            name: shown(i.name.as_deref().unwrap_or_default(), 80),
            state: i.state.as_str(),
            name_shared: i.name_shared,
        })
        .partition(|i| i.state == IdentityState::Pending.as_str());
    let page = EnrollmentPage {
        nav: Nav::of(viewer, "enrollment"),
        pending,
        others,
        error,
    };
    Ok(html(status, page.render()?))
}
