//! The dashboard's actions (every one a `<form method="post">` that works without scripts).
//! Each checks, in order: a session (else 403), the session's CSRF token (else 403), an admin
//! token (else 403, audited like the API's refusals); then calls the very function its API
//! route calls (same checks, same errors) and records the same audit entry as that route,
//! under the token's name and the client's address.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, ResponseError, web};
use askama::Template;
use honeybee_actors::admission::IdentityOp;
use serde_json::{Map, Value, json};

use super::client::Client;
use super::node::{Echo, node_page};
use super::pages::enrollment_page;
use super::session::{self, Viewer};
use super::{Nav, UiError, UiResult, html, see_other};
use crate::api::auth::record_audit;
use crate::api::error::{ApiError, parse_node_id};
use crate::api::server::ApiState;
use crate::api::{commands, fleet};

/// A posted form's fields, in order (a body that is not a form has none).
#[derive(Debug, Default)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(crate) fn parse(body: &[u8]) -> Fields {
        Fields(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    /// A field's value, trimmed; `""` when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// A field's value when given and not empty.
    pub(crate) fn given(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    /// A checkbox.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v != "off")
    }
}

/// Who may act: a session, its CSRF token, an admin token. A read token's attempt is audited
/// as the API audits it (403).
fn admin(
    request: &HttpRequest,
    state: &ApiState,
    fields: &Fields,
    action: &str,
    target: &str,
) -> UiResult<(Viewer, Client)> {
    let client = Client::of(request, state.ui.sessions.settings());
    let viewer = session::cookie_of(request)
        .and_then(|id| state.ui.sessions.resolve(&id, &state.tokens))
        .ok_or_else(|| UiError::forbidden("Sign in first: this action needs a session."))?;
    if !viewer.csrf_ok(Some(fields.get("csrf"))) {
        return Err(UiError::forbidden(
            "This form's CSRF token is missing or wrong; reload the page and try again.",
        ));
    }
    if !viewer.principal.admin {
        audit(state, &viewer, &client, action, target, 403);
        return Err(UiError::forbidden(
            "This token may only read; changes need an admin token.",
        ));
    }
    Ok((viewer, client))
}

fn audit(
    state: &ApiState,
    viewer: &Viewer,
    client: &Client,
    action: &str,
    target: &str,
    status: u16,
) {
    record_audit(
        state,
        viewer.principal.name.clone(),
        client.source(),
        action.to_owned(),
        honeybee_protocol::error::sanitize(target, 256),
        status,
    );
}

fn status_of(e: &ApiError) -> StatusCode {
    e.status_code()
}

/// `config` as the forms take it: one `key=value` per line.
fn config_lines(text: &str) -> Result<Map<String, Value>, String> {
    let mut config = Map::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("config: line {} is not key=value", n + 1));
        };
        config.insert(
            key.trim().to_owned(),
            Value::String(value.trim().to_owned()),
        );
    }
    Ok(config)
}

/// The command the form describes, in the API's JSON shape.
fn command_json(f: &Fields) -> Result<Value, String> {
    let name = f.get("command");
    let pot = || f.get("pot_id").to_owned();
    Ok(match name {
        "InstallPot" => json!({"InstallPot": {
            "pot_id": pot(),
            "honeypot_type": f.get("honeypot_type"),
            "git_url": f.given("git_url"),
            "git_branch": f.given("git_branch"),
            "config": config_lines(f.get("config"))?,
            "auto_start": f.checked("auto_start"),
        }}),
        "DeployPot" | "StopPot" | "RestartPot" | "GetPotStatus" | "GetPotInfo" | "GetPotLogs"
        | "GetPotMetrics" => json!({ name: pot() }),
        "Restart" | "UpdateConfig" | "GetInstalledPots" => json!({ name: {} }),
        _ => return Err("choose one of the 11 commands".to_owned()),
    })
}

fn echo_of(f: &Fields, error: String) -> Echo {
    Echo {
        error: Some(error),
        notice: None,
        command: f.get("command").to_owned(),
        pot_id: f.get("pot_id").to_owned(),
        honeypot_type: f.get("honeypot_type").to_owned(),
        git_url: f.get("git_url").to_owned(),
        git_branch: f.get("git_branch").to_owned(),
        config: f.get("config").to_owned(),
        restart: f.get("restart").to_owned(),
    }
}

/// `POST /ui/nodes/{id}/commands`: `POST /api/v1/nodes/{id}/commands`.
pub(super) async fn command(
    request: HttpRequest,
    state: web::Data<ApiState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> UiResult {
    let fields = Fields::parse(&body);
    let node_id = parse_node_id(&id)?;
    let action = "POST /api/v1/nodes/{id}/commands";
    let target = format!("/api/v1/nodes/{node_id}/commands");
    let (viewer, client) = admin(&request, &state, &fields, action, &target)?;
    let outcome = match command_json(&fields) {
        Err(e) => Err(ApiError::invalid(e)),
        Ok(json) => commands::submit(&state, node_id, &json, fields.checked("queue")).await,
    };
    match outcome {
        Ok((command_id, _)) => {
            audit(&state, &viewer, &client, action, &target, 202);
            Ok(see_other(&format!(
                "/ui/nodes/{node_id}?sent={command_id}#commands"
            )))
        }
        Err(e) => {
            let status = status_of(&e);
            audit(&state, &viewer, &client, action, &target, status.as_u16());
            let echo = echo_of(&fields, format!("The command was not sent: {}", e.message));
            node_page(&state, &viewer, node_id, echo, status).await
        }
    }
}

/// `POST /ui/nodes/{id}/desired`: `PUT` or `DELETE /api/v1/nodes/{id}/pots/{pot_id}`.
pub(super) async fn desired(
    request: HttpRequest,
    state: web::Data<ApiState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> UiResult {
    let fields = Fields::parse(&body);
    let node_id = parse_node_id(&id)?;
    let pot_id = fields.get("pot_id").to_owned();
    let remove = fields.get("op") == "remove";
    let action = if remove {
        "DELETE /api/v1/nodes/{id}/pots/{pot_id}"
    } else {
        "PUT /api/v1/nodes/{id}/pots/{pot_id}"
    };
    let target = format!("/api/v1/nodes/{node_id}/pots/{pot_id}");
    let (viewer, client) = admin(&request, &state, &fields, action, &target)?;
    let outcome = if remove {
        fleet::remove_desired(&state, node_id, &pot_id).await
    } else {
        match config_lines(fields.get("config")) {
            Err(e) => Err(ApiError::invalid(e)),
            Ok(config) => {
                let body = fleet::DesiredBody {
                    honeypot_type: fields.get("honeypot_type").to_owned(),
                    config,
                    restart: fields.given("restart").map(str::to_owned),
                    git_url: fields.given("git_url").map(str::to_owned),
                    git_branch: fields.given("git_branch").map(str::to_owned),
                };
                fleet::set_desired(&state, node_id, &pot_id, body)
                    .await
                    .map(|_| ())
            }
        }
    };
    match outcome {
        Ok(()) => {
            audit(&state, &viewer, &client, action, &target, 200);
            Ok(see_other(&format!("/ui/nodes/{node_id}?done=desired#pots")))
        }
        Err(e) => {
            let status = status_of(&e);
            audit(&state, &viewer, &client, action, &target, status.as_u16());
            let echo = echo_of(
                &fields,
                format!("The desired state was not changed: {}", e.message),
            );
            node_page(&state, &viewer, node_id, echo, status).await
        }
    }
}

/// `POST /ui/nodes/{id}/identity` (`op` = approve, reject or revoke): the enrollment routes
/// and `DELETE /api/v1/nodes/{id}`. `back=enrollment` returns to the enrollment page.
pub(super) async fn identity(
    request: HttpRequest,
    state: web::Data<ApiState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> UiResult {
    let fields = Fields::parse(&body);
    let node_id = parse_node_id(&id)?;
    let (op, action, target) = match fields.get("op") {
        "approve" => (
            IdentityOp::Approve(node_id),
            "POST /api/v1/enrollments/{id}/approve",
            format!("/api/v1/enrollments/{node_id}/approve"),
        ),
        "reject" => (
            IdentityOp::Reject(node_id),
            "POST /api/v1/enrollments/{id}/reject",
            format!("/api/v1/enrollments/{node_id}/reject"),
        ),
        "revoke" => (
            IdentityOp::Revoke(node_id),
            "DELETE /api/v1/nodes/{id}",
            format!("/api/v1/nodes/{node_id}"),
        ),
        _ => return Err(UiError::bad_request("op is approve, reject or revoke")),
    };
    let (viewer, client) = admin(&request, &state, &fields, action, &target)?;
    let back_to_queue = fields.get("back") == "enrollment";
    match fleet::operate(&state, op).await {
        Ok(_) => {
            audit(&state, &viewer, &client, action, &target, 200);
            if back_to_queue {
                return Ok(see_other("/ui/enrollment"));
            }
            Ok(see_other(&format!("/ui/nodes/{node_id}?done=identity")))
        }
        Err(e) => {
            let status = status_of(&e);
            audit(&state, &viewer, &client, action, &target, status.as_u16());
            let message = format!("Not done: {}", e.message);
            if back_to_queue {
                return enrollment_page(&state, &viewer, Some(message), status).await;
            }
            let echo = Echo {
                error: Some(message),
                ..Echo::default()
            };
            node_page(&state, &viewer, node_id, echo, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "enrolled.html")]
struct EnrolledPage {
    nav: Nav,
    node_id: String,
    node_name: String,
    totp_key: String,
    otpauth_uri: String,
    qr_svg: String,
}

/// The QR code of `text` as an SVG element drawn by the Core (no script, no image request).
fn qr_svg(text: &str) -> Result<String, UiError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| UiError::bad_request(format!("no QR code for this key: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Only the `<svg>` element (no XML declaration) goes inline into the page.
    Ok(svg
        .find("<svg")
        .map_or(svg.clone(), |at| svg[at..].to_owned()))
}

/// `POST /ui/enrollment`: `POST /api/v1/enrollments` (pre-enroll by id and/or name); the
/// answer shows the key, the `otpauth://` URI and its QR code, never cached.
pub(super) async fn enroll(
    request: HttpRequest,
    state: web::Data<ApiState>,
    body: web::Bytes,
) -> UiResult {
    let fields = Fields::parse(&body);
    let action = "POST /api/v1/enrollments";
    let target = "/api/v1/enrollments";
    let (viewer, client) = admin(&request, &state, &fields, action, target)?;
    let node_id = match fields.given("node_id") {
        None => Ok(None),
        Some(text) => parse_node_id(text).map(Some),
    };
    let outcome = match node_id {
        Err(e) => Err(e),
        Ok(node_id) => {
            let name = fields.given("node_name").map(str::to_owned);
            fleet::enroll_identity(&state, node_id, name).await
        }
    };
    match outcome {
        Ok(enrolled) => {
            audit(&state, &viewer, &client, action, target, 201);
            let page = EnrolledPage {
                nav: Nav::of(&viewer, "enrollment"),
                node_id: enrolled.node_id.map(|i| i.to_string()).unwrap_or_default(),
                node_name: enrolled.name.clone().unwrap_or_default(),
                qr_svg: qr_svg(enrolled.otpauth_uri.expose())?,
                totp_key: enrolled.totp_key.expose().to_owned(),
                otpauth_uri: enrolled.otpauth_uri.expose().to_owned(),
            };
            Ok(html(StatusCode::CREATED, page.render()?))
        }
        Err(e) => {
            let status = status_of(&e);
            audit(&state, &viewer, &client, action, target, status.as_u16());
            enrollment_page(
                &state,
                &viewer,
                Some(format!("Not enrolled: {}", e.message)),
                status,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_become_the_apis_commands() {
        let f = Fields::parse(b"command=StopPot&pot_id=cowrie-01&csrf=x");
        assert_eq!(command_json(&f).unwrap(), json!({"StopPot": "cowrie-01"}));
        let f = Fields::parse(b"command=Restart");
        assert_eq!(command_json(&f).unwrap(), json!({"Restart": {}}));
        let f = Fields::parse(
            b"command=InstallPot&pot_id=p1&honeypot_type=cowrie&config=port%3D2222%0Ahost%3Dx&auto_start=on",
        );
        assert_eq!(
            command_json(&f).unwrap(),
            json!({"InstallPot": {"pot_id": "p1", "honeypot_type": "cowrie", "git_url": null,
                "git_branch": null, "config": {"port": "2222", "host": "x"}, "auto_start": true}})
        );
        let f = Fields::parse(b"command=InstallPot&config=novalue");
        assert!(command_json(&f).unwrap_err().contains("key=value"));
        assert!(command_json(&Fields::parse(b"command=Nope")).is_err());
        assert!(command_json(&Fields::parse(b"\xff\xfe")).is_err());
    }
}
