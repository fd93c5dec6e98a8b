//! The fleet's routes: nodes, honeypots and their history, enrollments and revocation, alerts,
//! and the audit log.

use actix_web::{HttpResponse, web};
use honeybee_actors::admission::{IdentityOp, IdentityOpDone, IdentityOpError};
use honeybee_actors::policy::{DesiredPot, RestartPolicy};
use honeybee_actors::registry::{
    DesiredError, GetNode, ListIdentities, ListNodes, ListPots, Operate, PotHistory, SetDesired,
};
use honeybee_protocol::{NodeStatus, validate};
use honeybee_store::{CLEARED_ALERTS_KEPT, IdentityState};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, Code, json_u64, parse_node_id};
use super::server::ApiState;
use super::views;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NodeFilters {
    status: Option<String>,
    connected: Option<bool>,
}

pub(super) async fn list_nodes(
    state: web::Data<ApiState>,
    filters: web::Query<NodeFilters>,
) -> ApiResult {
    let status = filters
        .status
        .as_deref()
        .map(|s| {
            NodeStatus::from_wire(s).ok_or_else(|| {
                ApiError::invalid(format!(
                    "status must be one of {}",
                    NodeStatus::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .transpose()?;
    let nodes: Vec<Value> = state
        .registry
        .send(ListNodes)
        .await?
        .iter()
        .filter(|n| status.is_none_or(|s| n.status == s))
        .filter(|n| filters.connected.is_none_or(|c| n.connected == c))
        .map(views::node)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "nodes": nodes })))
}

pub(super) async fn get_node(state: web::Data<ApiState>, id: web::Path<String>) -> ApiResult {
    let node_id = parse_node_id(&id)?;
    let detail = state
        .registry
        .send(GetNode { node_id })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no node {node_id}")))?;
    Ok(HttpResponse::Ok().json(views::node_detail(&detail)))
}

pub(super) async fn list_pots(state: web::Data<ApiState>) -> ApiResult {
    let pots: Vec<Value> = state
        .registry
        .send(ListPots)
        .await?
        .iter()
        .map(views::pot)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "honeypots": pots })))
}

pub(super) async fn pot_history(
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (id, pot_id) = path.into_inner();
    let node_id = parse_node_id(&id)?;
    let history = state
        .registry
        .send(PotHistory {
            node_id,
            pot_id: pot_id.clone(),
        })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("node {node_id} has no pot {pot_id:?}")))?;
    let transitions: Vec<Value> = history
        .iter()
        .map(|t| {
            json!({
                "from": t.from.map(|s| s.as_str()),
                "to": t.to.as_str(),
                "at": views::ts(t.at),
                "message": t.message,
                "unexpected": !t.expected,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(views::with_node_id(
        node_id,
        json!({"pot_id": pot_id, "transitions": transitions}),
    )))
}

fn op_error(e: IdentityOpError) -> ApiError {
    match e {
        IdentityOpError::NotFound(m) => ApiError::not_found(m),
        IdentityOpError::Conflict(m) => ApiError::new(Code::Conflict, m),
        IdentityOpError::Invalid(m) => ApiError::invalid(m),
    }
}

/// An operator's act on an identity (revoke, approve, reject, enroll), as the API does it.
pub(crate) async fn operate(state: &ApiState, op: IdentityOp) -> ApiResult<IdentityOpDone> {
    state.registry.send(Operate(op)).await?.map_err(op_error)
}

/// `DELETE /api/v1/nodes/{id}`: revoke.
pub(super) async fn revoke_node(state: web::Data<ApiState>, id: web::Path<String>) -> ApiResult {
    let node_id = parse_node_id(&id)?;
    operate(&state, IdentityOp::Revoke(node_id)).await?;
    Ok(HttpResponse::Ok().json(views::with_node_id(node_id, json!({"state": "revoked"}))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnrollRequest {
    /// Kept as its JSON text: a number is read exactly, never through an `f64`.
    node_id: Option<Box<serde_json::value::RawValue>>,
    node_name: Option<String>,
}

pub(super) async fn enroll(
    state: web::Data<ApiState>,
    body: web::Json<EnrollRequest>,
) -> ApiResult {
    let EnrollRequest { node_id, node_name } = body.into_inner();
    let not_a_u64 = || ApiError::invalid("node_id must be a u64 (a number or a string of digits)");
    let node_id = match node_id.as_deref().map(serde_json::value::RawValue::get) {
        None | Some("null") => None,
        Some(text) if text.starts_with('"') => {
            let digits: String = serde_json::from_str(text).map_err(|_| not_a_u64())?;
            Some(parse_node_id(&digits)?)
        }
        Some(text) => Some(json_u64(text).ok_or_else(not_a_u64)?),
    };
    let enrolled = enroll_identity(&state, node_id, node_name).await?;
    // CORE.md's `{"node_id"?,"node_name"?,"totp_key","otpauth_uri"}`: what was not enrolled is
    // left out, never `null`.
    let mut out = serde_json::Map::new();
    if let Some(id) = enrolled.node_id {
        out.insert("node_id".into(), id.into());
        out.insert("node_id_str".into(), id.to_string().into());
    }
    if let Some(name) = enrolled.name {
        out.insert("node_name".into(), name.into());
    }
    out.insert("totp_key".into(), enrolled.totp_key.expose().into());
    out.insert("otpauth_uri".into(), enrolled.otpauth_uri.expose().into());
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(out))
}

/// A pre-enrolled node's key (secrets: shown once, never logged).
#[derive(Debug)]
pub(crate) struct Enrolled {
    pub node_id: Option<u64>,
    pub name: Option<String>,
    pub totp_key: honeybee_protocol::SecretString,
    pub otpauth_uri: honeybee_protocol::SecretString,
}

/// Pre-enrolls a node by id, name or both, with the API's checks (the route above and the
/// dashboard's enrollment form).
pub(crate) async fn enroll_identity(
    state: &ApiState,
    node_id: Option<u64>,
    node_name: Option<String>,
) -> ApiResult<Enrolled> {
    if let Some(name) = &node_name {
        validate::node_name(name).map_err(|e| ApiError::invalid(format!("node_name: {e}")))?;
    }
    if node_id.is_none() && node_name.is_none() {
        return Err(ApiError::invalid("give node_id, node_name or both"));
    }
    let done = operate(
        state,
        IdentityOp::Enroll {
            node_id,
            name: node_name,
        },
    )
    .await?;
    let IdentityOpDone::Enrolled {
        node_id,
        name,
        totp_key,
        otpauth_uri,
    } = done
    else {
        return Err(ApiError::unavailable("enrollment gave no key"));
    };
    Ok(Enrolled {
        node_id,
        name,
        totp_key,
        otpauth_uri,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnrollmentFilter {
    state: Option<String>,
}

pub(super) async fn list_enrollments(
    state: web::Data<ApiState>,
    filter: web::Query<EnrollmentFilter>,
) -> ApiResult {
    let wanted = filter
        .state
        .as_deref()
        .map(|s| {
            IdentityState::parse(s)
                .ok_or_else(|| ApiError::invalid("state must be pending, active or revoked"))
        })
        .transpose()?;
    let mut identities = state.registry.send(ListIdentities).await?;
    identities.sort_by_key(|i| i.node_ids.first().copied());
    let enrollments: Vec<Value> = identities
        .iter()
        .filter(|i| wanted.is_none_or(|w| i.state == w))
        .map(|i| {
            let first = i.node_ids.first().copied();
            json!({
                "node_id": first,
                "node_id_str": first.map(|id| id.to_string()),
                "node_ids": i.node_ids,
                "node_name": i.name,
                "state": i.state.as_str(),
                "name_shared": i.name_shared,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "enrollments": enrollments })))
}

pub(super) async fn approve(state: web::Data<ApiState>, id: web::Path<String>) -> ApiResult {
    let node_id = parse_node_id(&id)?;
    operate(&state, IdentityOp::Approve(node_id)).await?;
    Ok(HttpResponse::Ok().json(views::with_node_id(node_id, json!({"state": "active"}))))
}

pub(super) async fn reject(state: web::Data<ApiState>, id: web::Path<String>) -> ApiResult {
    let node_id = parse_node_id(&id)?;
    operate(&state, IdentityOp::Reject(node_id)).await?;
    Ok(HttpResponse::Ok().json(views::with_node_id(node_id, json!({"state": "revoked"}))))
}

/// Cleared alerts listed when `limit` is not given.
const CLEARED_LISTED: usize = 500;

/// `GET /api/v1/alerts?limit=N`: every open alert (oldest first), then the `N` (default 500)
/// most recently cleared, from the store.
pub(super) async fn alerts(state: web::Data<ApiState>, query: web::Query<Limit>) -> ApiResult {
    let limit = query.limit.unwrap_or(CLEARED_LISTED);
    if limit > CLEARED_ALERTS_KEPT {
        return Err(ApiError::invalid(format!(
            "limit must be between 0 and {CLEARED_ALERTS_KEPT}"
        )));
    }
    // Alert changes are queued to the store in order; flushing first shows the newest.
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let rows = web::block(move || {
        writer.flush()?;
        store.alerts(limit)
    })
    .await??;
    let alerts: Vec<Value> = rows.iter().map(views::alert_row).collect();
    Ok(HttpResponse::Ok().json(json!({ "alerts": alerts })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Limit {
    limit: Option<usize>,
}

pub(super) async fn audit(state: web::Data<ApiState>, query: web::Query<Limit>) -> ApiResult {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit must be between 1 and 1000"));
    }
    // Entries are queued to the store in order; flushing first makes the newest visible.
    let (writer, store) = (state.writer.clone(), state.store.clone());
    let rows = web::block(move || {
        writer.flush()?;
        store.audit(limit)
    })
    .await??;
    let audit: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "at": views::ts(r.at),
                "actor": r.actor,
                "source": r.source,
                "action": r.action,
                "target": r.target,
                "outcome": r.outcome,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "audit": audit })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DesiredBody {
    pub honeypot_type: String,
    #[serde(default)]
    pub config: serde_json::Map<String, Value>,
    pub restart: Option<String>,
    pub git_url: Option<String>,
    pub git_branch: Option<String>,
}

fn desired_error(node_id: u64, e: DesiredError) -> ApiError {
    match e {
        DesiredError::UnknownNode => ApiError::not_found(format!("no node {node_id}")),
        DesiredError::Invalid(m) if m.contains("git_url") => ApiError::new(Code::Forbidden, m),
        DesiredError::Invalid(m) => ApiError::invalid(m),
    }
}

/// `PUT /api/v1/nodes/{id}/pots/{pot_id}`: the Core installs the pot and keeps it running.
pub(super) async fn put_desired(
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    body: web::Json<DesiredBody>,
) -> ApiResult {
    let (id, pot_id) = path.into_inner();
    let node_id = parse_node_id(&id)?;
    let set = set_desired(&state, node_id, &pot_id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(views::with_node_id(
        node_id,
        json!({"pot_id": pot_id, "desired": set.as_ref().map(views::desired)}),
    )))
}

/// Sets a pot's desired state with the API's checks (the route above and the dashboard).
pub(crate) async fn set_desired(
    state: &ApiState,
    node_id: u64,
    pot_id: &str,
    body: DesiredBody,
) -> ApiResult<Option<DesiredPot>> {
    let mut config = std::collections::BTreeMap::new();
    for (key, value) in body.config {
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(ApiError::invalid(format!(
                    "config.{key}: values are strings, numbers or booleans"
                )));
            }
        };
        config.insert(key, text);
    }
    let restart = body
        .restart
        .as_deref()
        .map(|r| {
            RestartPolicy::parse(r)
                .ok_or_else(|| ApiError::invalid("restart must be always, on-failure or never"))
        })
        .transpose()?;
    let desired = DesiredPot {
        pot_type: body.honeypot_type,
        config,
        restart,
        git_url: body.git_url,
        git_branch: body.git_branch,
    };
    state
        .registry
        .send(SetDesired {
            node_id,
            pot_id: pot_id.to_owned(),
            desired: Some(desired),
        })
        .await?
        .map_err(|e| desired_error(node_id, e))
}

/// `DELETE /api/v1/nodes/{id}/pots/{pot_id}`: no longer desired; the Core stops it.
pub(super) async fn delete_desired(
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (id, pot_id) = path.into_inner();
    let node_id = parse_node_id(&id)?;
    remove_desired(&state, node_id, &pot_id).await?;
    Ok(HttpResponse::Ok().json(views::with_node_id(
        node_id,
        json!({"pot_id": pot_id, "desired": null}),
    )))
}

/// Removes a pot's desired state (the route above and the dashboard).
pub(crate) async fn remove_desired(state: &ApiState, node_id: u64, pot_id: &str) -> ApiResult<()> {
    state
        .registry
        .send(SetDesired {
            node_id,
            pot_id: pot_id.to_owned(),
            desired: None,
        })
        .await?
        .map_err(|e| desired_error(node_id, e))?;
    Ok(())
}
