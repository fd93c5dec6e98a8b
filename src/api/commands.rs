//! Commands: send one to a node (tracked to its outcome), broadcast, and read them back.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, parse_node_id};
use super::events::ids_of;
use super::server::ApiState;
use super::views;

/// Commands listed per node at most.
const MAX_HISTORY: usize = 1000;

/// `GET /api/v1/commands/{id}`.
pub async fn get(state: web::Data<ApiState>, id: web::Path<String>) -> ApiResult {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::invalid("a command id is a decimal u64"))?;
    // Status changes are queued to the store in order: after a flush it has every one the
    // registry made before this request.
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
pub struct HistoryQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/nodes/{id}/commands`: newest first.
pub async fn of_node(
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
