//! `honeybee-core token create|list|revoke`: edits the named tokens file (`api.tokens_file`)
//! directly, under a lock so that two edits at once do not lose one. The Core picks changes
//! up on SIGHUP or within a few seconds.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::table::Table;
use super::{CliError, parse_role, print};
use crate::config::Config;
use crate::tokens::{Role, TokenFile};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token: printed once on stdout, only its SHA-256 is stored.
    Create {
        /// A unique name: 1 to 64 of A-Z a-z 0-9 . _ -
        #[arg(long)]
        name: String,
        /// admin (everything) or read (GETs only).
        #[arg(long, value_parser = parse_role, value_name = "admin|read")]
        role: Role,
        /// Config file; gives api.tokens_file (default <storage.dir>/tokens.toml).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// List the tokens: name, role, creation time (never the hashes).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Config file; gives api.tokens_file (default <storage.dir>/tokens.toml).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Revoke the token named NAME.
    Revoke {
        name: String,
        /// Config file; gives api.tokens_file (default <storage.dir>/tokens.toml).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

impl TokenCommand {
    pub fn config(&self) -> Option<&Path> {
        match self {
            TokenCommand::Create { config, .. }
            | TokenCommand::List { config, .. }
            | TokenCommand::Revoke { config, .. } => config.as_deref(),
        }
    }
}

pub(super) fn run(command: TokenCommand, config: &Config) -> Result<ExitCode, CliError> {
    let path = &config.api.tokens_file;
    match command {
        TokenCommand::Create { name, role, .. } => {
            let _lock = lock(path)?;
            let mut tokens = TokenFile::load(path)?;
            let token = tokens.create(&name, role)?;
            tokens.save(path)?;
            // The token alone on stdout (so `> file` captures just it); the words on stderr.
            eprintln!(
                "Created {role} token \"{name}\" in {}. It is shown only this once:",
                path.display()
            );
            print(&format!("{token}\n"));
            eprintln!(
                "The Core picks it up on SIGHUP or within a few seconds. Hand it to clients in \
                 {} or a file, never on a command line.",
                super::TOKEN_ENV
            );
        }
        TokenCommand::List { json, .. } => list(path, json)?,
        TokenCommand::Revoke { name, .. } => {
            let _lock = lock(path)?;
            let mut tokens = TokenFile::load(path)?;
            if !tokens.revoke(&name) {
                return Err(CliError::Usage(format!(
                    "no token named {name:?} in {}",
                    path.display()
                )));
            }
            tokens.save(path)?;
            print(&format!(
                "Revoked token \"{name}\". The Core stops accepting it on SIGHUP or within a \
                 few seconds.\n"
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(path: &Path, json: bool) -> Result<(), CliError> {
    let tokens = TokenFile::load(path)?;
    if json {
        let entries: Vec<_> = (tokens.tokens().iter())
            .map(|t| json!({"name": t.name, "role": t.role.as_str(), "created_at": t.created_at}))
            .collect();
        print(&format!("{}\n", json!({ "tokens": entries })));
        return Ok(());
    }
    if tokens.tokens().is_empty() {
        print(&format!("No named tokens in {}.\n", path.display()));
        return Ok(());
    }
    let mut table = Table::new(&["NAME", "ROLE", "CREATED_AT"]);
    for token in tokens.tokens() {
        table.row(vec![
            token.name.clone(),
            token.role.to_string(),
            token.created_at.clone(),
        ]);
    }
    print(&table.render());
    Ok(())
}

/// Holds an exclusive lock on `.<file>.lock` beside the tokens file until dropped (the file
/// itself is replaced by each save, so it cannot carry the lock).
fn lock(path: &Path) -> Result<File, CliError> {
    let write_error = |source| crate::tokens::TokenFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    crate::tokens::create_private_dir(dir).map_err(write_error)?;
    let name = path
        .file_name()
        .map_or_else(|| "tokens".into(), |n| n.to_string_lossy().into_owned());
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(dir.join(format!(".{name}.lock")))
        .map_err(write_error)?;
    file.lock().map_err(write_error)?;
    Ok(file)
}
