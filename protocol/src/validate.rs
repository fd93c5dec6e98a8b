//! Validation of everything the Core may send, as pure functions. Real nodes trust the Core
//! blindly (one writes config pairs verbatim into the honeypot's config file and uses `pot_id`
//! as a directory name), so nothing reaches the wire without passing here.

use std::fmt;

use crate::error::sanitize;
use crate::git_url::{AllowedSources, GitUrlError};
use crate::types::Command;

/// Longest `node_name`, in characters.
pub const MAX_NODE_NAME_CHARS: usize = 128;
/// Longest `pot_id`.
pub const MAX_POT_ID_LEN: usize = 64;
/// Longest `honeypot_type`.
pub const MAX_HONEYPOT_TYPE_LEN: usize = 32;
/// Longest config key.
pub const MAX_CONFIG_KEY_LEN: usize = 64;
/// Longest config value, in characters.
pub const MAX_CONFIG_VALUE_CHARS: usize = 1024;
/// Longest `git_branch`.
pub const MAX_GIT_BRANCH_LEN: usize = 100;

/// A field that failed validation, and why. The message quotes the offending value only in
/// sanitised, truncated form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct FieldError {
    /// The field, e.g. `"pot_id"` or `"config.ssh_port"`.
    pub field: String,
    /// Why it was refused.
    pub reason: String,
}

impl FieldError {
    fn new(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        FieldError {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

/// Why a command may not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A malformed field (the API answers 400).
    #[error("invalid command: {0}")]
    Invalid(#[from] FieldError),
    /// A `git_url` outside the allowed sources (the API answers 403).
    #[error("git_url refused: {0}")]
    GitUrl(#[from] GitUrlError),
}

/// Checks a whole command before it is sent.
pub fn command(command: &Command, allowed: &AllowedSources) -> Result<(), CommandError> {
    if let Some(id) = command.pot_id() {
        pot_id(id)?;
    }
    if let Command::InstallPot(install) = command {
        honeypot_type(&install.honeypot_type)?;
        if let Some(branch) = &install.git_branch {
            git_branch(branch)?;
        }
        for (key, value) in install.config.iter().flatten() {
            config_key(key)?;
            config_value(key, value)?;
        }
        if let Some(url) = &install.git_url {
            allowed.check(url)?;
        }
    }
    Ok(())
}

/// `node_name`: 1–128 characters, no control characters.
pub fn node_name(name: &str) -> Result<(), FieldError> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err(FieldError::new("node_name", "must not be empty"));
    }
    if chars > MAX_NODE_NAME_CHARS {
        return Err(FieldError::new(
            "node_name",
            format_args!("is {chars} characters long; at most {MAX_NODE_NAME_CHARS} allowed"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "node_name",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// `pot_id`: `[A-Za-z0-9._-]{1,64}`, and not `.` or `..` (nodes use it as a directory name).
pub fn pot_id(id: &str) -> Result<(), FieldError> {
    charset("pot_id", id, MAX_POT_ID_LEN, "A-Z a-z 0-9 . _ -", |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
    })?;
    if id == "." || id == ".." {
        return Err(FieldError::new("pot_id", "must not be \".\" or \"..\""));
    }
    Ok(())
}

/// `honeypot_type`: `[a-z0-9_-]{1,32}`.
pub fn honeypot_type(kind: &str) -> Result<(), FieldError> {
    charset(
        "honeypot_type",
        kind,
        MAX_HONEYPOT_TYPE_LEN,
        "a-z 0-9 _ -",
        |b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'),
    )
}

/// A config key: `[A-Za-z0-9_.-]{1,64}`.
pub fn config_key(key: &str) -> Result<(), FieldError> {
    charset(
        "config key",
        key,
        MAX_CONFIG_KEY_LEN,
        "A-Z a-z 0-9 _ . -",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'),
    )
}

/// A config value: at most 1024 characters, no control characters (a newline would start a new
/// line in the node's config file), no `[` or `]` (a section header).
pub fn config_value(key: &str, value: &str) -> Result<(), FieldError> {
    let field = || format!("config.{}", sanitize(key, MAX_CONFIG_KEY_LEN));
    let chars = value.chars().count();
    if chars > MAX_CONFIG_VALUE_CHARS {
        return Err(FieldError::new(
            field(),
            format_args!("is {chars} characters long; at most {MAX_CONFIG_VALUE_CHARS} allowed"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field(),
            "must not contain control characters (newlines included)",
        ));
    }
    if value.contains(['[', ']']) {
        return Err(FieldError::new(field(), "must not contain '[' or ']'"));
    }
    Ok(())
}

/// `git_branch`: `[A-Za-z0-9._/-]{1,100}`, not starting with `-` (it would read as an option),
/// and a valid git ref name: no `..`, `//` or `@{`, no component starting with `.` or ending
/// with `.lock`, not ending with `/` or `.`.
pub fn git_branch(branch: &str) -> Result<(), FieldError> {
    const FIELD: &str = "git_branch";
    charset(
        FIELD,
        branch,
        MAX_GIT_BRANCH_LEN,
        "A-Z a-z 0-9 . _ / -",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'),
    )?;
    if branch.starts_with('-') {
        return Err(FieldError::new(FIELD, "must not start with '-'"));
    }
    if branch.contains("..") {
        return Err(FieldError::new(FIELD, "must not contain \"..\""));
    }
    if branch.ends_with('/') || branch.ends_with('.') {
        return Err(FieldError::new(FIELD, "must not end with '/' or '.'"));
    }
    for component in branch.split('/') {
        if component.is_empty() {
            return Err(FieldError::new(
                FIELD,
                "must not start with '/' or contain \"//\"",
            ));
        }
        if component.starts_with('.') || component.ends_with(".lock") {
            return Err(FieldError::new(
                FIELD,
                "has a component starting with '.' or ending with \".lock\"",
            ));
        }
    }
    Ok(())
}

/// Checks `value` against an ASCII character set and a length of 1..=`max` bytes.
fn charset(
    field: &str,
    value: &str,
    max: usize,
    allowed: &str,
    ok: impl Fn(u8) -> bool,
) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(FieldError::new(
            field,
            format_args!("is {} bytes long; at most {max} allowed", value.len()),
        ));
    }
    if let Some(bad) = value.chars().find(|c| !c.is_ascii() || !ok(*c as u8)) {
        return Err(FieldError::new(
            field,
            format_args!(
                "has the character '{}'; only {allowed} are allowed",
                sanitize(&bad.to_string(), 1)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
