//! Where the API's tokens come from at run time: the generated admin token
//! (`<storage.dir>/api-token`) and the named tokens file (`api.tokens_file`), which is read at
//! start and again on SIGHUP or when it changes on disk (checked every couple of seconds), so
//! `honeybee-core token create|revoke` takes effect without a restart.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use std::collections::BTreeMap;

use honeybee_store::{AuditRow, WriterHandle};
use tokio::sync::{Notify, watch};

use super::auth::{NamedTokens, Principal, Tokens};
use crate::config::Config;
use crate::tokens::{Role, TokenFile, TokenFileError, random_token, write_private};

/// How often the tokens file is looked at for changes.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// The generated admin token's file.
pub fn generated_token_path(config: &Config) -> PathBuf {
    config.storage.dir.join("api-token")
}

/// The generated admin token, if this Core uses one: when `api.token` is unset, the token in
/// `<storage.dir>/api-token`, created (mode 0600) at first start when neither it nor a tokens
/// file exists. Its path is logged, never its value.
pub fn generated_token(config: &Config) -> io::Result<Option<String>> {
    if config.api.token.is_some() {
        return Ok(None);
    }
    let path = generated_token_path(config);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let token = text.trim().to_owned();
            if token.len() < 16 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} holds no usable token; delete it to get a new one",
                        path.display()
                    ),
                ));
            }
            log::info!("Admin API token: the one in {}.", path.display());
            Ok(Some(token))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if config.api.tokens_file.exists() {
                return Ok(None);
            }
            let token = random_token().map_err(io::Error::other)?;
            write_private(&path, format!("{token}\n").as_bytes())?;
            log::info!(
                "Generated an admin API token into {} (mode 0600; the CLI reads it from there).",
                path.display()
            );
            Ok(Some(token))
        }
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// The named tokens, as the guard asks about them.
#[derive(Debug)]
struct Named(TokenFile);

impl NamedTokens for Named {
    fn verify(&self, presented: &str) -> Option<Principal> {
        self.0.verify(presented).map(|(name, role)| Principal {
            name: name.to_owned(),
            admin: role == Role::Admin,
        })
    }
}

/// Keeps [`Tokens`]' named set in step with the tokens file.
#[derive(Debug)]
pub struct TokensFileWatch {
    path: PathBuf,
    tokens: Tokens,
    seen: Option<(SystemTime, u64)>,
    /// The names and roles loaded last (changes go to the audit log).
    loaded: BTreeMap<String, Role>,
    audit: WriterHandle,
}

fn names(file: &TokenFile) -> BTreeMap<String, Role> {
    file.tokens()
        .iter()
        .map(|t| (t.name.clone(), t.role))
        .collect()
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl TokensFileWatch {
    /// Loads the file into `tokens`; a file that cannot be read or parsed stops the start.
    pub fn start(
        path: PathBuf,
        tokens: Tokens,
        audit: WriterHandle,
    ) -> Result<TokensFileWatch, TokenFileError> {
        let seen = stamp(&path);
        let file = TokenFile::load(&path)?;
        if !file.tokens().is_empty() {
            log::info!(
                "Loaded {} named API token(s) from {}.",
                file.tokens().len(),
                path.display()
            );
        }
        let loaded = names(&file);
        tokens.set_named(Arc::new(Named(file)));
        Ok(TokensFileWatch {
            path,
            tokens,
            seen,
            loaded,
            audit,
        })
    }

    /// Reads the file again. A broken file is logged and the tokens in use stay.
    pub fn reload(&mut self) {
        self.seen = stamp(&self.path);
        match TokenFile::load(&self.path) {
            Ok(file) => {
                log::info!(
                    "Named API tokens reloaded from {}: {}.",
                    self.path.display(),
                    file.tokens().len()
                );
                let loaded = names(&file);
                self.audit_changes(&loaded);
                self.loaded = loaded;
                self.tokens.set_named(Arc::new(Named(file)));
            }
            Err(e) => log::error!("Keeping the API tokens in use: {e}."),
        }
    }

    /// Records which named tokens appeared, went or changed role (the CLI edits the file
    /// directly; the audit log still gets every change).
    fn audit_changes(&self, now: &BTreeMap<String, Role>) {
        let mut entries = Vec::new();
        for (name, role) in now {
            match self.loaded.get(name) {
                None => entries.push(("token created", name, role.as_str())),
                Some(before) if before != role => {
                    entries.push(("token role changed", name, role.as_str()));
                }
                Some(_) => {}
            }
        }
        for (name, role) in &self.loaded {
            if !now.contains_key(name) {
                entries.push(("token revoked", name, role.as_str()));
            }
        }
        for (action, name, role) in entries {
            let row = AuditRow {
                at: SystemTime::now(),
                actor: "tokens-file".to_owned(),
                source: self.path.display().to_string(),
                action: action.to_owned(),
                target: Some(name.clone()),
                outcome: role.to_owned(),
            };
            if let Err(e) = self.audit.append_audit(row) {
                log::error!("Cannot queue an audit entry: {e}.");
            }
        }
    }

    /// Reloads whenever the file changes, and whenever `hup` is notified (SIGHUP), until `stop`
    /// turns true.
    pub async fn watch(mut self, mut stop: watch::Receiver<bool>, hup: Arc<Notify>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(WATCH_EVERY) => {
                    if stamp(&self.path) != self.seen {
                        self.reload();
                    }
                }
                _ = hup.notified() => self.reload(),
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
        }
    }
}
