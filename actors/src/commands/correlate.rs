//! CORE.md's correlation table as pure functions: which answer settles which command, how
//! long a sent command may go unanswered, and what its `result` says.

use std::time::Duration;

use honeybee_protocol::{Command, PotStatus};
use serde_json::{Map, Value, json};

use super::CommandStatus;
use crate::settings::CommandSettings;

/// How an answer settles a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Completed,
    Failed,
}

impl Verdict {
    pub fn status(self) -> CommandStatus {
        match self {
            Verdict::Completed => CommandStatus::Completed,
            Verdict::Failed => CommandStatus::Failed,
        }
    }
}

/// What a `PotStatusUpdate` for the command's own pot means for it (CORE.md's table);
/// `None`: progress, or no answer to this command.
pub fn pot_verdict(command: &Command, status: PotStatus) -> Option<Verdict> {
    use Command::*;
    use PotStatus::*;
    match (command, status) {
        (InstallPot(_), Stopped | Running) => Some(Verdict::Completed),
        (DeployPot(_) | RestartPot(_), Running) => Some(Verdict::Completed),
        (StopPot(_), Stopped) => Some(Verdict::Completed),
        (InstallPot(_) | DeployPot(_) | RestartPot(_), Failed) => Some(Verdict::Failed),
        (GetPotStatus(_) | GetPotInfo(_), _) => Some(Verdict::Completed),
        _ => None,
    }
}

/// Whether any non-error `NodeEvent` answers the command.
pub(super) fn answered_by_any_event(command: &Command) -> bool {
    matches!(
        command,
        Command::UpdateConfig | Command::GetPotLogs(_) | Command::GetPotMetrics(_)
    )
}

/// Whether `message` names `pot_id` as a whole word (pot ids are `[A-Za-z0-9._-]`; a `.`
/// next to it counts as punctuation, so "pot cowrie-01." names `cowrie-01`).
pub fn names_pot(message: &str, pot_id: &str) -> bool {
    let part_of_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    !pot_id.is_empty()
        && message.match_indices(pot_id).any(|(at, _)| {
            let before = message[..at].chars().next_back();
            let after = message[at + pot_id.len()..].chars().next();
            !before.is_some_and(part_of_word) && !after.is_some_and(part_of_word)
        })
}

/// How long a sent command may go unanswered.
pub fn timeout_of(command: &Command, settings: &CommandSettings) -> Duration {
    match command {
        Command::InstallPot(_) => settings.install_timeout,
        Command::GetInstalledPots => settings.list_window,
        _ => settings.timeout,
    }
}

/// A pot a `GetInstalledPots` answer lists.
#[derive(Debug, Clone)]
pub(super) struct ListedPot {
    pub pot_id: String,
    pub pot_type: String,
    pub status: PotStatus,
    pub message: Option<String>,
}

/// A result from an answer: `{"status": .., "message": ..}` (no `message` when there is none).
pub(super) fn answer(status: &str, text: Option<&str>) -> Value {
    let mut result = Map::new();
    result.insert("status".into(), status.into());
    if let Some(text) = text {
        result.insert("message".into(), text.into());
    }
    Value::Object(result)
}

/// A result that is only an explanation: `{"message": ..}`.
pub(super) fn message(text: &str) -> Value {
    json!({ "message": text })
}

/// `GetInstalledPots`' result: `{"pots": [{"pot_id","pot_type","status","message"}]}`.
pub(super) fn pots_result(listed: &[ListedPot]) -> Value {
    let pots: Vec<Value> = listed
        .iter()
        .map(|p| {
            json!({
                "pot_id": p.pot_id,
                "pot_type": p.pot_type,
                "status": p.status.as_str(),
                "message": p.message,
            })
        })
        .collect();
    json!({ "pots": pots })
}
