//! Commands: send one to a node (tracked to its outcome), broadcast, and read them back.

use actix_web::{HttpResponse, web};
use honeybee_actors::registry::{Broadcast, NodeFilter, SubmitCommand, SubmitError};
use honeybee_protocol::validate::{self, CommandError};
use honeybee_protocol::{Command, NodeStatus, NodeType, decode_command};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, Code, parse_node_id, u64_digits};
use super::events::ids_of;
use super::server::ApiState;
use super::views;

/// Commands listed per node at most.
const MAX_HISTORY: usize = 1000;

/// `GET /api/v1/commands/{id}`.
pub(super) async fn get(state: web::Data<ApiState>, id: web::Path<String>) -> ApiResult {
    let id = u64_digits(&id).ok_or_else(|| {
        ApiError::invalid("a command id is a u64 in decimal digits (at most 18446744073709551615)")
    })?;
    // A command still pending or sent is answered by the registry (no store round trip for
    // a client polling it); a final one from the store. Status changes are queued to the store
    // in order: after a flush it has every one the registry made before this request.
    if let Some(live) = state
        .registry
        .send(honeybee_actors::registry::GetCommand { command_id: id })
        .await?
    {
        return Ok(HttpResponse::Ok().json(views::command(&live)));
    }
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let row = web::block(move || {
        writer.flush()?;
        store.command(id)
    })
    .await??
    .ok_or_else(|| ApiError::not_found(format!("no command {id}")))?;
    Ok(HttpResponse::Ok().json(views::command_row(&row)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/nodes/{id}/commands`: newest first.
pub(super) async fn of_node(
    state: web::Data<ApiState>,
    id: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> ApiResult {
    let node_id = parse_node_id(&id)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_HISTORY).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_HISTORY}"
        )));
    }
    if state
        .registry
        .send(honeybee_actors::registry::GetNode { node_id })
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!("no node {node_id}")));
    }
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let rows = web::block(move || {
        writer.flush()?;
        let ids = ids_of(&store, Some(node_id))?;
        store.commands_of(&ids, limit).map_err(ApiError::from)
    })
    .await??;
    let commands: Vec<Value> = rows.iter().map(views::command_row).collect();
    Ok(HttpResponse::Ok().json(json!({ "commands": commands })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SendQuery {
    queue: Option<bool>,
}

/// A wire `Command` from JSON (numbers and booleans in `InstallPot` config become strings;
/// nested values are refused). The registry checks it with `validate::command` before it is
/// tracked or sent.
fn command_from(value: &Value) -> ApiResult<Command> {
    no_unknown_fields(value)?;
    let bytes = serde_json::to_vec(value).map_err(|e| ApiError::invalid(e.to_string()))?;
    decode_command(&bytes)
        .map_err(|e| ApiError::invalid(format!("not a valid command: {}", e.detail)))
}

/// `InstallPot`'s fields.
const INSTALL_FIELDS: [&str; 6] = [
    "pot_id",
    "honeypot_type",
    "git_url",
    "git_branch",
    "config",
    "auto_start",
];

/// The API refuses unknown body fields rather than ignoring them, also inside a command: the
/// protocol's decoder is lenient with them (a node tolerates what it does not know), an
/// operator's typo should not be. Everything else is left to the decoder.
fn no_unknown_fields(value: &Value) -> ApiResult<()> {
    let Some((name, payload)) = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    else {
        return Ok(());
    };
    let Some(fields) = payload.as_object() else {
        return Ok(());
    };
    let known: &[&str] = match name.as_str() {
        "InstallPot" => &INSTALL_FIELDS,
        "Restart" | "UpdateConfig" | "GetInstalledPots" => &[],
        _ => return Ok(()),
    };
    match fields.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::invalid(format!(
            "not a valid command: {name} has no field {:?}",
            honeybee_protocol::error::sanitize(unknown, 64)
        ))),
        None => Ok(()),
    }
}

fn submit_error(node_id: u64, e: SubmitError) -> ApiError {
    match e {
        SubmitError::UnknownNode => ApiError::not_found(format!("no node {node_id}")),
        SubmitError::Offline => ApiError::new(
            Code::NodeOffline,
            format!("node {node_id} is not connected (add ?queue=true to send it on reconnect)"),
        ),
        SubmitError::LegacyProtocol => ApiError::new(
            Code::NodeLegacyProtocol,
            format!("node {node_id} speaks protocol version 1, which takes no commands"),
        ),
        SubmitError::QueueFull => ApiError::new(
            Code::Conflict,
            format!("node {node_id} has too many commands waiting; try again later"),
        ),
        SubmitError::Invalid(e @ CommandError::GitUrl(_)) => {
            ApiError::new(Code::Forbidden, e.to_string())
        }
        SubmitError::Invalid(e) => ApiError::invalid(e.to_string()),
    }
}

/// `POST /api/v1/nodes/{id}/commands[?queue=true]`.
pub(super) async fn send(
    state: web::Data<ApiState>,
    id: web::Path<String>,
    query: web::Query<SendQuery>,
    body: web::Json<Value>,
) -> ApiResult {
    let node_id = parse_node_id(&id)?;
    let (command_id, status) = submit(&state, node_id, &body, query.queue.unwrap_or(false)).await?;
    Ok(HttpResponse::Accepted().json(json!({
        "command_id": command_id,
        "status": status,
    })))
}

/// Sends the command `body` (the API's JSON shape) to `node_id`, with the API's checks: its
/// id and status. The route above and the dashboard's command form both go through it.
pub(crate) async fn submit(
    state: &ApiState,
    node_id: u64,
    body: &Value,
    queue: bool,
) -> ApiResult<(u64, &'static str)> {
    let command = command_from(body)?;
    let submitted = state
        .registry
        .send(SubmitCommand {
            node_id,
            command,
            queue,
        })
        .await?
        .map_err(|e| submit_error(node_id, e))?;
    Ok((submitted.command_id, submitted.status.as_str()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BroadcastRequest {
    command: Value,
    node_type: Option<String>,
    status: Option<String>,
}

/// `POST /api/v1/commands/broadcast`: the command to every connected node matching the
/// filters, each tracked on its own.
pub(super) async fn broadcast(
    state: web::Data<ApiState>,
    body: web::Json<BroadcastRequest>,
) -> ApiResult {
    let BroadcastRequest {
        command,
        node_type,
        status,
    } = body.into_inner();
    let command = command_from(&command)?;
    let node_type = node_type
        .map(|t| {
            NodeType::from_wire(&t)
                .ok_or_else(|| ApiError::invalid("node_type must be Full or Agent"))
        })
        .transpose()?;
    let status = status
        .map(|s| {
            NodeStatus::from_wire(&s)
                .ok_or_else(|| ApiError::invalid(format!("status {s:?} is not a node status")))
        })
        .transpose()?;
    // Checked once here so that a bad command is a 400/403, not a silent broadcast to nobody.
    validate::command(&command, &state.allowed_sources).map_err(|e| match e {
        e @ CommandError::GitUrl(_) => ApiError::new(Code::Forbidden, e.to_string()),
        e => ApiError::invalid(e.to_string()),
    })?;
    let reached = state
        .registry
        .send(Broadcast {
            command,
            filter: NodeFilter { node_type, status },
        })
        .await?;
    let commands: Vec<Value> = reached
        .iter()
        .map(|(node_id, command_id)| {
            views::with_node_id(*node_id, json!({"command_id": command_id}))
        })
        .collect();
    Ok(HttpResponse::Accepted().json(json!({ "commands": commands })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_inside_a_command_are_refused() {
        for bad in [
            json!({"GetInstalledPots": {"x": 1}}),
            json!({"Restart": {"now": true}}),
            json!({"InstallPot": {"pot_id": "p", "honeypot_type": "cowrie", "branch": "main"}}),
        ] {
            let error = command_from(&bad).unwrap_err();
            assert!(error.message.contains("has no field"), "{bad}: {error}");
        }
        for good in [
            json!({"GetInstalledPots": {}}),
            json!({"GetInstalledPots": null}),
            json!("GetInstalledPots"),
            json!({"DeployPot": "cowrie-01"}),
            json!({"InstallPot": {"pot_id": "p", "honeypot_type": "cowrie", "git_url": null,
                "git_branch": null, "config": {"port": 2222}, "auto_start": true}}),
        ] {
            assert!(command_from(&good).is_ok(), "{good}");
        }
    }
}
