//! The operator commands of the `honeybee-core` binary: `token` edits the named tokens file
//! directly; everything else talks to a running Core's HTTP API (so its live state stays the
//! one truth) and prints an aligned table, or the API's JSON with `--json`.
//!
//! Exit codes: 0 done, 1 failed (the API refused, the Core is unreachable, a command failed or
//! timed out), 2 bad usage or config, 3 `send` ended its wait before the command's outcome.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::tokens::{Role, TokenFileError};

mod client;
mod enroll;
pub mod escape;
mod events;
mod fleet;
mod send;
pub mod table;
mod target;
mod tls;
mod token;

pub use target::{TOKEN_ENV, Target};

/// Options every command that talks to the API takes.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// Config file (default: conf/default.toml, or the built-in defaults when it is absent);
    /// gives the API's address, its certificate and the storage directory.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The Core's API URL (e.g. http://127.0.0.1:9002), instead of the config's api.host and
    /// api.port.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// A file holding the API token (when HONEYBEE_TOKEN is not set). Default: the config's
    /// api.token, else <storage.dir>/api-token.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Print the API's JSON as it is (one document) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The operator commands (flattened into the binary's own subcommands).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the named API tokens (api.tokens_file) directly.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Enroll a node: a new TOTP secret for a node id or a name, shown once with a QR code.
    Enroll(enroll::EnrollArgs),
    /// List the enrollments waiting for approval (auth.enrollment = "approve").
    Enrollments {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Approve a pending enrollment.
    Approve {
        /// The enrollment's node id.
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Reject a pending enrollment.
    Reject {
        /// The enrollment's node id.
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Revoke a node: disconnect it at once, forget its secret, leave a tombstone.
    Revoke {
        /// Any of the node's ids.
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// List the nodes.
    Nodes(fleet::NodesArgs),
    /// List the honeypots of every node.
    Pots {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// List stored events (oldest first), or follow new ones live with --follow.
    Events(events::EventsArgs),
    /// Send a command to a node and wait for its outcome.
    Send(send::SendArgs),
    /// Event statistics.
    Stats(fleet::StatsArgs),
    /// Open and recent alerts: every open one, then the most recently cleared.
    Alerts {
        /// At most this many cleared alerts (the API's default is 500, its maximum 10000).
        #[arg(long)]
        limit: Option<u32>,
        #[command(flatten)]
        api: ApiArgs,
    },
}

/// What went wrong, in words for the operator. Text that came from the API is escaped.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("no API token: {looked}. Set {TOKEN_ENV}, or pass --token-file FILE")]
    NoToken { looked: String },
    #[error("cannot connect to {url}: {detail}.{hint}")]
    Connect {
        url: String,
        detail: String,
        /// What to check, with a leading space (or empty).
        hint: &'static str,
    },
    #[error("{url}: {detail}")]
    Http { url: String, detail: String },
    #[error("the Core refused the token from {origin} (401 unauthorized): it is not a valid token")]
    Unauthorized { origin: String },
    #[error(
        "the token from {origin} may not do this (403 forbidden): {message}. A read token can \
         only read"
    )]
    Forbidden { origin: String, message: String },
    #[error(
        "the Core answered {status}{}: {message}",
        code.as_deref().map(|code| format!(" {code}")).unwrap_or_default()
    )]
    Api {
        status: u16,
        /// The API's error code, when it sent one.
        code: Option<String>,
        message: String,
    },
    #[error("cannot use the API's certificate: {0}")]
    Tls(String),
    #[error(transparent)]
    Tokens(#[from] TokenFileError),
    #[error("the live stream ended: {0}")]
    Stream(String),
}

impl CliError {
    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}

/// Runs `command`; `load` loads the config exactly as `serve` does (and reports a bad one).
pub fn run(
    command: Command,
    load: impl FnOnce(Option<&Path>) -> Result<Config, ExitCode>,
) -> ExitCode {
    let config_path = match &command {
        Command::Token(token) => token.config(),
        Command::Enroll(args) => args.api.config.as_deref(),
        Command::Nodes(args) => args.api.config.as_deref(),
        Command::Events(args) => args.api.config.as_deref(),
        Command::Send(args) => args.api.config.as_deref(),
        Command::Stats(args) => args.api.config.as_deref(),
        Command::Enrollments { api }
        | Command::Approve { api, .. }
        | Command::Reject { api, .. }
        | Command::Revoke { api, .. }
        | Command::Pots { api }
        | Command::Alerts { api, .. } => api.config.as_deref(),
    };
    let config = match load(config_path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let result = match command {
        Command::Token(token) => token::run(token, &config),
        Command::Enroll(args) => enroll::enroll(&args, &config),
        Command::Enrollments { api } => enroll::pending(&api, &config),
        Command::Approve { id, api } => enroll::decide(&id, "approve", &api, &config),
        Command::Reject { id, api } => enroll::decide(&id, "reject", &api, &config),
        Command::Revoke { id, api } => enroll::revoke(&id, &api, &config),
        Command::Nodes(args) => fleet::nodes(&args, &config),
        Command::Pots { api } => fleet::pots(&api, &config),
        Command::Events(args) => events::run(&args, &config),
        Command::Send(args) => send::run(&args, &config),
        Command::Stats(args) => fleet::stats(&args, &config),
        Command::Alerts { limit, api } => fleet::alerts(limit, &api, &config),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("honeybee-core: {e}");
            e.exit_code()
        }
    }
}

/// Parses a `--role` value.
fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

/// Prints an answer: with `--json` its JSON as the API sent it (one document, made safe for a
/// terminal), else `human(answer)`.
fn show(json: bool, reply: &client::Reply, human: impl FnOnce(&serde_json::Value) -> String) {
    if json {
        let text = reply.text.trim();
        if !text.is_empty() {
            print(&format!("{}\n", escape::json_safe(text)));
        }
    } else {
        print(&human(&reply.json));
    }
}

/// Writes `text` to stdout; a closed pipe (`| head`) ends the output quietly.
fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
