//! Enrollment through the running Core: `enroll` (a new TOTP secret, shown once with its
//! otpauth URI and a QR code drawn in the terminal), the approval queue (`enrollments`,
//! `approve`, `reject`) and `revoke`.

use std::process::ExitCode;

use clap::{ArgGroup, Args};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use serde_json::{Map, Value};

use super::client::{encode, with_api};
use super::escape::escape;
use super::table::{Table, field, id_field, items};
use super::{ApiArgs, CliError, show};
use crate::config::Config;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("who").required(true).multiple(true).args(["node_id", "name"])))]
pub struct EnrollArgs {
    /// The node's id (what it sends in NodeRegistration).
    #[arg(long, value_name = "N")]
    pub node_id: Option<u64>,
    /// The node's name (for a node whose id is not known yet).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
}

pub(super) fn enroll(args: &EnrollArgs, config: &Config) -> Result<ExitCode, CliError> {
    let mut body = Map::new();
    if let Some(id) = args.node_id {
        body.insert("node_id".into(), id.into());
    }
    if let Some(name) = &args.name {
        body.insert("node_name".into(), name.clone().into());
    }
    let body = Value::Object(body);
    let reply = with_api(&args.api, config, async |api| {
        api.post("/api/v1/enrollments", &[], Some(&body)).await
    })?;
    show(args.api.json, &reply, |enrolled| {
        format!("Enrolled {}.\n{}", who(enrolled), secret(enrolled))
    });
    Ok(ExitCode::SUCCESS)
}

/// `enrollments`: the queue of nodes waiting for an operator.
pub(super) fn pending(api: &ApiArgs, config: &Config) -> Result<ExitCode, CliError> {
    let query = [("state", "pending".to_owned())];
    let reply = with_api(api, config, async |api| {
        api.get("/api/v1/enrollments", &query).await
    })?;
    show(api.json, &reply, |document| {
        let mut table = Table::new(&["NODE_ID", "NAME", "STATE", "NAME_SHARED", "IDS"]);
        for e in items(document, "enrollments") {
            table.row(vec![
                id_field(e, "node_id"),
                field(e, "node_name"),
                field(e, "state"),
                field(e, "name_shared"),
                field(e, "node_ids"),
            ]);
        }
        if table.is_empty() {
            return "No enrollments are waiting for approval.\n".to_owned();
        }
        table.render()
    });
    Ok(ExitCode::SUCCESS)
}

/// `approve` or `reject` (`action`) the pending enrollment `id`.
pub(super) fn decide(
    id: &str,
    action: &str,
    api: &ApiArgs,
    config: &Config,
) -> Result<ExitCode, CliError> {
    let path = format!("/api/v1/enrollments/{}/{action}", encode(id));
    let reply = with_api(api, config, async |api| api.post(&path, &[], None).await)?;
    let done = if action == "approve" {
        "Approved"
    } else {
        "Rejected"
    };
    show(api.json, &reply, |answer| {
        let mut text = format!("{done} enrollment {}.\n", escape(id));
        if answer.get("totp_key").is_some() {
            text.push_str(&secret(answer));
        }
        text
    });
    Ok(ExitCode::SUCCESS)
}

/// `revoke`: the node is disconnected at once, its secret forgotten, a tombstone left.
pub(super) fn revoke(id: &str, api: &ApiArgs, config: &Config) -> Result<ExitCode, CliError> {
    let path = format!("/api/v1/nodes/{}", encode(id));
    let reply = with_api(api, config, async |api| api.delete(&path).await)?;
    show(api.json, &reply, |_| {
        format!(
            "Revoked node {}: disconnected, its secret forgotten; it cannot register again \
             until it is enrolled anew.\n",
            escape(id)
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// "node 7 (edge-1)", "node 7" or "the name edge-1".
fn who(enrolled: &Value) -> String {
    let name = enrolled["node_name"].as_str().map(escape);
    match (enrolled.get("node_id").filter(|id| !id.is_null()), name) {
        (Some(_), Some(name)) => format!("node {} ({name})", id_field(enrolled, "node_id")),
        (Some(_), None) => format!("node {}", id_field(enrolled, "node_id")),
        (None, Some(name)) => format!("the name {name}"),
        (None, None) => "a node".to_owned(),
    }
}

/// The secret block: key, URI, QR code and a warning.
fn secret(answer: &Value) -> String {
    let key = answer["totp_key"].as_str().unwrap_or_default();
    let uri = answer["otpauth_uri"].as_str().unwrap_or_default();
    let mut out = format!(
        "TOTP secret:  {}\notpauth URI:  {}\n\n",
        escape(key),
        escape(uri)
    );
    if !uri.is_empty() {
        out.push_str(&qr(uri));
        out.push('\n');
    }
    out.push_str(
        "\nGive the node this secret (or scan the code into its configuration). Anyone who holds \
         it can register as this node: keep it out of tickets, chats and shell history.\n",
    );
    out
}

/// `text` as a QR code in Unicode half blocks, light on dark (as most terminals are) with the
/// quiet zone around it.
pub(super) fn qr(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
        Err(e) => format!("(no QR code: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_secret_block_escapes_and_draws_the_code() {
        let answer = json!({"node_id": 7, "node_id_str": "7", "node_name": "edge\u{1b}[2J",
            "totp_key": "JBSWY3DPEHPK3PXP",
            "otpauth_uri": "otpauth://totp/HoneyBee:edge?secret=JBSWY3DPEHPK3PXP&issuer=HoneyBee"});
        assert_eq!(who(&answer), "node 7 (edge\\x1b[2J)");
        let block = secret(&answer);
        assert!(
            block.contains("TOTP secret:  JBSWY3DPEHPK3PXP\n"),
            "{block}"
        );
        assert!(block.contains("otpauth URI:  otpauth://totp/HoneyBee:edge?secret="));
        assert!(
            block.contains('\u{2588}') || block.contains('\u{2580}'),
            "{block}"
        );
        assert!(!block.contains('\u{1b}'));
    }

    #[test]
    fn the_qr_code_is_square_and_starts_with_its_quiet_zone() {
        let code = qr("otpauth://totp/x?secret=ABC");
        let lines: Vec<&str> = code.lines().collect();
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width));
        // Two pixel rows per line: a width-w code has about w/2 lines.
        assert_eq!(lines.len(), width.div_ceil(2));
        // The quiet zone is light: full blocks (light on dark).
        assert!(lines[0].chars().all(|c| c == '\u{2588}'), "{}", lines[0]);
    }

    #[test]
    fn who_names_what_is_known() {
        assert_eq!(who(&json!({"node_name": "n"})), "the name n");
        assert_eq!(who(&json!({"node_id": 5, "node_id_str": "5"})), "node 5");
        assert_eq!(who(&json!({})), "a node");
    }
}
