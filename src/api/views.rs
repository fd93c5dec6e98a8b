//! The API's JSON shapes of the registry's views (CORE.md's tables). Every object with a
//! `node_id` also has `node_id_str`: ids can exceed 2^53, where JavaScript numbers lose digits.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use honeybee_actors::alerts::Alert;
use honeybee_actors::commands::CommandView;
use honeybee_actors::policy::{DesiredPot, RestartPolicy};
use honeybee_actors::registry::{NodeDetail, NodeView, PotView};
use honeybee_protocol::{NodeId, Timestamp};
use honeybee_store::{AlertRow, CommandRow};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};

/// RFC 3339 UTC with microseconds.
pub(crate) fn ts(time: SystemTime) -> String {
    Timestamp::from_system_time(time).to_string()
}

/// A time from a query parameter: RFC 3339, or unix seconds.
pub(crate) fn parse_time(name: &str, text: &str) -> ApiResult<SystemTime> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = super::error::u64_digits(text).ok_or_else(|| {
            ApiError::invalid(format!(
                "{name}: unix seconds are a u64 in at most 20 decimal digits"
            ))
        })?;
        return Ok(UNIX_EPOCH + Duration::from_secs(secs.min(i64::MAX as u64 / 2)));
    }
    let t = Timestamp::parse_rfc3339(text).map_err(|e| {
        ApiError::invalid(format!(
            "{name}: {e} (expected RFC 3339, e.g. 2026-01-15T10:30:00Z, or unix seconds)"
        ))
    })?;
    let secs = t.unix_seconds();
    Ok(if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    })
}

pub(super) fn node(view: &NodeView) -> Value {
    json!({
        "node_id": view.node_id,
        "node_id_str": view.node_id.to_string(),
        "previous_ids": view.previous_ids,
        "node_name": view.node_name,
        "name_shared": view.name_shared,
        "node_type": view.node_type.as_str(),
        "address": view.address,
        "port": view.port,
        "status": view.status.as_str(),
        "connected": view.connected,
        "protocol_version": view.protocol_version,
        "remote_addr": view.remote_addr.map(|a| a.to_string()),
        "last_seen": ts(view.last_seen),
        "registered_at": ts(view.registered_at),
        "enrollment": view.enrollment.map(|e| e.as_str()),
        "pot_count": view.pot_count,
        "alerts": view.alerts.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
    })
}

pub(super) fn pot(view: &PotView) -> Value {
    json!({
        "node_id": view.node_id,
        "node_id_str": view.node_id.to_string(),
        "pot_id": view.pot_id,
        "pot_type": view.pot_type,
        "status": view.status.as_str(),
        // A pot the Core gave up on says so, with why.
        "message": view.gave_up.as_ref().or(view.message.as_ref()),
        "updated_at": ts(view.updated_at),
        "restarts": view.restarts,
        "desired": view.desired.as_ref().map(desired),
    })
}

/// A desired pot as the API shows it.
pub(crate) fn desired(desired: &DesiredPot) -> Value {
    json!({
        "honeypot_type": desired.pot_type,
        "config": desired.config,
        "restart": desired.restart.map(RestartPolicy::as_str),
        "git_url": desired.git_url,
        "git_branch": desired.git_branch,
    })
}

pub(super) fn node_detail(detail: &NodeDetail) -> Value {
    let mut out = node(&detail.node);
    if let Value::Object(map) = &mut out {
        map.insert(
            "honeypots".into(),
            detail.pots.iter().map(pot).collect::<Vec<_>>().into(),
        );
        map.insert(
            "drift".into(),
            detail
                .drift
                .iter()
                .map(|d| {
                    json!({
                        "pot_id": d.pot_id,
                        "kind": d.kind.as_str(),
                        "desired_type": d.desired_type,
                        "observed_type": d.observed_type,
                    })
                })
                .collect::<Vec<_>>()
                .into(),
        );
        map.insert(
            "status_history".into(),
            detail
                .status_history
                .iter()
                .map(|c| json!({"from": c.from.map(|s| s.as_str()), "to": c.to.as_str(), "at": ts(c.at)}))
                .collect::<Vec<_>>()
                .into(),
        );
        map.insert(
            "node_events".into(),
            detail
                .node_events
                .iter()
                .map(|e| json!({"type": e.kind.as_str(), "message": e.message, "at": ts(e.at)}))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    out
}

/// An alert as the stream pushes it (the same shape as [`alert_row`]).
pub(super) fn alert(alert: &Alert) -> Value {
    alert_row(&alert.to_row())
}

/// An alert in CORE.md's shape, the same in the API, on the stream and in every output:
/// `{alert_id, type, state, node_id, node_id_str, node_name, pot_id, message, opened_at,
/// cleared_at}`, with `null` for what does not apply (a Core alert has no node; an open one is
/// not cleared).
pub(crate) fn alert_row(row: &AlertRow) -> Value {
    json!({
        "alert_id": row.alert_id,
        "type": row.kind,
        "state": row.state().as_str(),
        "node_id": row.node_id,
        "node_id_str": row.node_id.map(|id| id.to_string()),
        "node_name": row.node_name,
        "pot_id": row.pot_id,
        "message": row.message,
        "opened_at": ts(row.opened_at),
        "cleared_at": row.cleared_at.map(ts),
    })
}

pub(super) fn command(view: &CommandView) -> Value {
    json!({
        "command_id": view.command_id,
        "node_id": view.node_id,
        "node_id_str": view.node_id.to_string(),
        "command": serde_json::to_value(&view.command).unwrap_or(Value::Null),
        "status": view.status.as_str(),
        "created_at": ts(view.created_at),
        "updated_at": ts(view.updated_at),
        "result": view.result,
    })
}

/// A stored command (its `command` and `result` are JSON text written by the Core).
pub(super) fn command_row(row: &CommandRow) -> Value {
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    json!({
        "command_id": row.id,
        "node_id": row.node_id,
        "node_id_str": row.node_id.to_string(),
        "command": parse(&row.command),
        "status": row.status,
        "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
        "result": row.result.as_deref().map(parse),
    })
}

/// `{"node_id":..,"node_id_str":..}` plus `extra`.
pub(super) fn with_node_id(node_id: NodeId, extra: Value) -> Value {
    let mut out = json!({"node_id": node_id, "node_id_str": node_id.to_string()});
    if let (Value::Object(map), Value::Object(more)) = (&mut out, extra) {
        map.extend(more);
    }
    out
}
