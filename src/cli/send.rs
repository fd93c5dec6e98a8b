//! `send <node_id> <command-json>`: posts a wire command to a node, then polls
//! `GET /api/v1/commands/{id}` until the command is `completed`, `failed` or `timed_out`, or
//! the wait ends. The exit code says which: 0 completed (or not waited for), 1 failed or timed
//! out, 3 no outcome yet.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::Value;

use super::client::{Reply, encode, with_api};
use super::table::{Table, field, id_field, items};
use super::{ApiArgs, CliError, show};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The node (any of its ids).
    pub node_id: String,
    /// A wire command as JSON, e.g. '{"DeployPot":"cowrie-01"}' or '"GetInstalledPots"'.
    pub command: String,
    /// Queue the command when the node is offline (sent when it reconnects).
    #[arg(long)]
    pub queue: bool,
    /// How long to wait for the outcome; 0 = do not wait. Default: the Core's command timeout
    /// from the config (commands.timeout_secs, or install_timeout_secs for InstallPot) plus 5 s.
    #[arg(long, value_name = "N")]
    pub wait_secs: Option<u64>,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// The statuses a command ends in.
const FINAL: [&str; 3] = ["completed", "failed", "timed_out"];

/// Exit code when the wait ended before the outcome.
const NO_OUTCOME_YET: u8 = 3;

pub(super) fn run(args: &SendArgs, config: &Config) -> Result<ExitCode, CliError> {
    let command: Value = serde_json::from_str(&args.command).map_err(|e| {
        CliError::Usage(format!(
            "the command is not JSON ({e}); for example '{{\"DeployPot\":\"cowrie-01\"}}'"
        ))
    })?;
    let wait = args
        .wait_secs
        .map_or_else(|| default_wait(&command, config), Duration::from_secs);
    let query: Vec<(&str, String)> = if args.queue {
        vec![("queue", "true".to_owned())]
    } else {
        Vec::new()
    };
    let path = format!("/api/v1/nodes/{}/commands", encode(&args.node_id));
    let (accepted, outcome) = with_api(&args.api, config, async |api| {
        let accepted = api.post(&path, &query, Some(&command)).await?;
        let Some(id) = command_id(&accepted.json) else {
            return Err(CliError::Http {
                url: path.clone(),
                detail: "the answer has no command_id".to_owned(),
            });
        };
        if wait.is_zero() {
            return Ok((accepted, None));
        }
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(100);
        loop {
            let state = api
                .get(&format!("/api/v1/commands/{}", encode(&id)), &[])
                .await?;
            let now = Instant::now();
            if is_final(&state.json) || now >= deadline {
                return Ok((accepted, Some(state)));
            }
            actix_rt::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    })?;
    let Some(outcome) = outcome else {
        show(args.api.json, &accepted, |answer| {
            format!(
                "Command {} is {}.\n",
                field(answer, "command_id"),
                field(answer, "status")
            )
        });
        return Ok(ExitCode::SUCCESS);
    };
    show(args.api.json, &outcome, |state| outcome_text(state, wait));
    Ok(exit_code(&outcome))
}

fn default_wait(command: &Value, config: &Config) -> Duration {
    let timeout = if command.get("InstallPot").is_some() {
        config.commands.install_timeout
    } else {
        config.commands.timeout
    };
    timeout + Duration::from_secs(5)
}

/// The id as text (the API may send a number or a string).
fn command_id(answer: &Value) -> Option<String> {
    match answer.get("command_id")? {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

fn is_final(state: &Value) -> bool {
    state["status"].as_str().is_some_and(|s| FINAL.contains(&s))
}

fn exit_code(outcome: &Reply) -> ExitCode {
    match outcome.json["status"].as_str() {
        Some("completed") => ExitCode::SUCCESS,
        Some(_) if is_final(&outcome.json) => ExitCode::FAILURE,
        _ => ExitCode::from(NO_OUTCOME_YET),
    }
}

/// The command's state in words: what, where, how it ended, and the result's details.
pub(super) fn outcome_text(state: &Value, waited: Duration) -> String {
    let status = field(state, "status");
    let mut out = Table::new(&["", ""]);
    out.row(vec!["Command".into(), field(state, "command_id")]);
    out.row(vec!["Node".into(), id_field(state, "node_id")]);
    out.row(vec!["Sent".into(), field(state, "command")]);
    out.row(vec!["Status".into(), status.clone()]);
    out.row(vec!["Created".into(), field(state, "created_at")]);
    out.row(vec!["Updated".into(), field(state, "updated_at")]);
    let result = &state["result"];
    if result.is_object() {
        out.row(vec!["Pot status".into(), field(result, "status")]);
        out.row(vec!["Message".into(), field(result, "message")]);
    }
    // Skip the header row: these are label/value pairs.
    let mut text: String = out
        .render()
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    let mut pots = Table::new(&["POT_ID", "TYPE", "STATUS", "MESSAGE"]);
    for pot in items(result, "pots") {
        pots.row(vec![
            field(pot, "pot_id"),
            field(pot, "pot_type"),
            field(pot, "status"),
            field(pot, "message"),
        ]);
    }
    if !pots.is_empty() {
        text.push('\n');
        text.push_str(&pots.render());
    }
    if !is_final(state) {
        text.push_str(&format!(
            "\nNo outcome after {} s; the command is still {status}.\n",
            waited.as_secs()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_outcome_in_words() {
        let state = json!({"command_id": 42, "node_id": 7, "node_id_str": "7",
            "command": {"DeployPot": "cowrie-01"}, "status": "failed",
            "created_at": "2024-01-15T10:30:00Z", "updated_at": "2024-01-15T10:30:02Z",
            "result": {"status": "Failed", "message": "port 2222 in use\u{1b}[2J",
                "pots": [{"pot_id": "cowrie-01", "pot_type": "cowrie", "status": "Failed"}]}});
        let text = outcome_text(&state, Duration::from_secs(35));
        assert_eq!(
            text,
            "Command     42\n\
             Node        7\n\
             Sent        {\"DeployPot\":\"cowrie-01\"}\n\
             Status      failed\n\
             Created     2024-01-15T10:30:00Z\n\
             Updated     2024-01-15T10:30:02Z\n\
             Pot status  Failed\n\
             Message     port 2222 in use\\x1b[2J\n\
             \n\
             POT_ID     TYPE    STATUS  MESSAGE\n\
             cowrie-01  cowrie  Failed  -\n"
        );
        let pending = json!({"command_id": "9", "status": "pending", "result": null});
        let text = outcome_text(&pending, Duration::from_secs(3));
        assert!(text.ends_with("\nNo outcome after 3 s; the command is still pending.\n"));
    }

    #[test]
    fn exit_codes_follow_the_outcome() {
        let reply = |status: &str| Reply {
            text: String::new(),
            json: json!({ "status": status }),
        };
        assert_eq!(exit_code(&reply("completed")), ExitCode::SUCCESS);
        assert_eq!(exit_code(&reply("failed")), ExitCode::FAILURE);
        assert_eq!(exit_code(&reply("timed_out")), ExitCode::FAILURE);
        assert_eq!(exit_code(&reply("sent")), ExitCode::from(NO_OUTCOME_YET));
    }

    #[test]
    fn the_default_wait_follows_the_core_timeouts() {
        let config = crate::config::load_str("", Vec::<(String, String)>::new()).unwrap();
        let install = json!({"InstallPot": {"pot_id": "p"}});
        assert_eq!(default_wait(&install, &config), Duration::from_secs(605));
        assert_eq!(
            default_wait(&json!("GetInstalledPots"), &config),
            Duration::from_secs(35)
        );
        assert_eq!(command_id(&json!({"command_id": 5})), Some("5".to_owned()));
        assert_eq!(
            command_id(&json!({"command_id": "a"})),
            Some("a".to_owned())
        );
        assert_eq!(command_id(&json!({})), None);
    }
}
