//! The Node page: details and every id, pots with their lifecycle as a timeline, desired vs
//! reported and drift, commands newest first with outcome and result, node events, status
//! history; for admins the forms (a command, a desired pot, approve/revoke). The live script
//! reloads the changing parts when the stream says this node, its pots or commands changed.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use honeybee_actors::registry::{GetNode, PotHistory};
use honeybee_protocol::NodeId;
use serde::Deserialize;

use super::format::{CELL_CHARS, When, shown, when};
use super::session::Viewer;
use super::{Nav, UiError, UiResult, html, viewer};
use crate::api::error::parse_node_id;
use crate::api::events::ids_of;
use crate::api::server::ApiState;

/// Commands listed on the page.
const COMMANDS_SHOWN: usize = 50;

/// The 11 commands, as the form offers them.
pub(crate) const COMMANDS: [&str; 11] = [
    "GetInstalledPots",
    "InstallPot",
    "DeployPot",
    "StopPot",
    "RestartPot",
    "GetPotStatus",
    "GetPotInfo",
    "GetPotLogs",
    "GetPotMetrics",
    "Restart",
    "UpdateConfig",
];

#[derive(Debug)]
pub(crate) struct Step {
    pub at: When,
    pub from: &'static str,
    pub to: &'static str,
    pub message: String,
    pub unexpected: bool,
}

#[derive(Debug)]
pub(crate) struct PotBlock {
    pub pot_id: String,
    pub pot_type: String,
    pub status: &'static str,
    pub message: String,
    pub updated_at: When,
    pub restarts: u32,
    pub desired: String,
    pub steps: Vec<Step>,
}

#[derive(Debug)]
pub(crate) struct CommandLine {
    pub id: u64,
    pub command: String,
    pub status: String,
    pub created_at: When,
    pub updated_at: When,
    pub result: String,
}

/// What the forms held when an action was refused (shown again with the reason).
#[derive(Debug, Default, Clone)]
pub(crate) struct Echo {
    pub error: Option<String>,
    pub notice: Option<String>,
    pub command: String,
    pub pot_id: String,
    pub honeypot_type: String,
    pub git_url: String,
    pub git_branch: String,
    pub config: String,
    pub restart: String,
}

#[derive(Template)]
#[template(path = "node.html")]
struct NodePage {
    nav: Nav,
    id: String,
    name: String,
    status: &'static str,
    connected: bool,
    node_type: &'static str,
    address: String,
    remote_addr: String,
    protocol_version: u64,
    registered_at: When,
    last_seen: When,
    last_event: Option<When>,
    previous_ids: Vec<String>,
    enrollment: &'static str,
    alerts: Vec<&'static str>,
    pots: Vec<PotBlock>,
    drift: Vec<(String, &'static str, String, String)>,
    commands: Vec<CommandLine>,
    node_events: Vec<(When, &'static str, String)>,
    history: Vec<(When, &'static str, &'static str)>,
    command_names: [&'static str; 11],
    echo: Echo,
}

#[derive(Debug, Deserialize)]
pub(super) struct NodeQuery {
    sent: Option<u64>,
    done: Option<String>,
}

/// `GET /ui/nodes/{id}`.
pub(super) async fn page(
    request: HttpRequest,
    state: web::Data<ApiState>,
    id: web::Path<String>,
    query: web::Query<NodeQuery>,
) -> UiResult {
    let viewer = viewer(&request, &state)?;
    let node_id = parse_node_id(&id)?;
    let notice = match (&query.sent, query.done.as_deref()) {
        (Some(command_id), _) => Some(format!("Command {command_id} sent.")),
        (None, Some("desired")) => Some("Desired state saved.".to_owned()),
        (None, Some("identity")) => Some("Done.".to_owned()),
        _ => None,
    };
    let echo = Echo {
        notice,
        ..Echo::default()
    };
    node_page(&state, &viewer, node_id, echo, StatusCode::OK).await
}

/// The node page with `echo` (a refused form's values and why), answered with `status`.
pub(crate) async fn node_page(
    state: &ApiState,
    viewer: &Viewer,
    node_id: NodeId,
    echo: Echo,
    status: StatusCode,
) -> UiResult {
    let detail = state
        .registry
        .send(GetNode { node_id })
        .await?
        .ok_or_else(|| UiError::Page {
            status: StatusCode::NOT_FOUND,
            message: format!("There is no node {node_id}."),
        })?;
    let mut pots = Vec::with_capacity(detail.pots.len());
    for pot in &detail.pots {
        let steps = state
            .registry
            .send(PotHistory {
                node_id: pot.node_id,
                pot_id: pot.pot_id.clone(),
            })
            .await?
            .unwrap_or_default();
        pots.push(PotBlock {
            pot_id: shown(&pot.pot_id, 64),
            pot_type: shown(&pot.pot_type, 64),
            status: pot.status.as_str(),
            message: shown(
                pot.gave_up
                    .as_deref()
                    .or(pot.message.as_deref())
                    .unwrap_or_default(),
                CELL_CHARS,
            ),
            updated_at: when(pot.updated_at),
            restarts: pot.restarts,
            desired: pot.desired.as_ref().map_or_else(String::new, |d| {
                shown(
                    &serde_json::to_string(&crate::api::views::desired(d)).unwrap_or_default(),
                    CELL_CHARS,
                )
            }),
            steps: steps
                .iter()
                .rev()
                .map(|t| Step {
                    at: when(t.at),
                    from: t.from.map_or("new", |s| s.as_str()),
                    to: t.to.as_str(),
                    message: shown(t.message.as_deref().unwrap_or_default(), CELL_CHARS),
                    unexpected: !t.expected,
                })
                .collect(),
        });
    }
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let (commands, last_event) = web::block(move || {
        writer.flush()?;
        let ids = ids_of(&store, Some(node_id))?;
        let commands = store.commands_of(&ids, COMMANDS_SHOWN)?;
        let last = store.last_events(&[node_id])?;
        Ok::<_, crate::api::error::ApiError>((commands, last.get(&node_id).copied()))
    })
    .await??;
    let view = &detail.node;
    let page = NodePage {
        nav: Nav::of(viewer, "fleet"),
        id: view.node_id.to_string(),
        name: shown(&view.node_name, 80),
        status: view.status.as_str(),
        connected: view.connected,
        node_type: view.node_type.as_str(),
        address: shown(&format!("{}:{}", view.address, view.port), 300),
        remote_addr: view.remote_addr.map(|a| a.to_string()).unwrap_or_default(),
        protocol_version: view.protocol_version,
        registered_at: when(view.registered_at),
        last_seen: when(view.last_seen),
        last_event: last_event.map(when),
        previous_ids: view.previous_ids.iter().map(|i| i.to_string()).collect(),
        enrollment: view.enrollment.map_or("", |e| e.as_str()),
        alerts: view.alerts.iter().map(|k| k.as_str()).collect(),
        pots,
        drift: detail
            .drift
            .iter()
            .map(|d| {
                (
                    shown(&d.pot_id, 64),
                    d.kind.as_str(),
                    shown(d.desired_type.as_deref().unwrap_or("—"), 64),
                    shown(d.observed_type.as_deref().unwrap_or("—"), 64),
                )
            })
            .collect(),
        commands: commands
            .iter()
            .map(|c| CommandLine {
                id: c.id,
                command: shown(&c.command, CELL_CHARS),
                status: c.status.clone(),
                created_at: when(c.created_at),
                updated_at: when(c.updated_at),
                result: shown(c.result.as_deref().unwrap_or_default(), CELL_CHARS),
            })
            .collect(),
        node_events: detail
            .node_events
            .iter()
            .rev()
            .map(|e| {
                (
                    when(e.at),
                    e.kind.as_str(),
                    shown(e.message.as_deref().unwrap_or_default(), CELL_CHARS),
                )
            })
            .collect(),
        history: detail
            .status_history
            .iter()
            .rev()
            .map(|c| {
                (
                    when(c.at),
                    c.from.map_or("new", |s| s.as_str()),
                    c.to.as_str(),
                )
            })
            .collect(),
        command_names: COMMANDS,
        echo,
    };
    Ok(html(status, page.render()?))
}
