//! `StoreError`: everything the store can refuse or fail at, with the path it concerns where
//! there is one.

use std::io;
use std::path::PathBuf;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store directory cannot be created, is not a directory, or is not writable.
    #[error("store directory {path} is not usable: {source}")]
    Directory { path: PathBuf, source: io::Error },
    /// The database file exists but is not a SQLite database, is damaged, or cannot be opened.
    #[error("cannot open store database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    /// The database was written by a newer HoneyBee Core.
    #[error(
        "store database {path} has schema version {found}; this build knows up to {known} (was it written by a newer HoneyBee Core?)"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// A schema migration failed; nothing of that step was applied.
    #[error("migrating store database {path} to schema version {version} failed: {source}")]
    Migration {
        path: PathBuf,
        version: i64,
        source: rusqlite::Error,
    },
    /// A read or write on an open store failed.
    #[error("store database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A pagination cursor that this store did not make.
    #[error("invalid cursor {0:?}: not a cursor returned by this API")]
    BadCursor(String),
    /// A stored value this build cannot read (a damaged or foreign row).
    #[error("store holds an unreadable value: {0}")]
    BadValue(String),
    /// The online backup failed.
    #[error("backup to {path} failed: {reason}")]
    Backup { path: PathBuf, reason: String },
    /// The writer thread has stopped (shut down, or failed to start); nothing more is accepted.
    #[error("the store writer has stopped")]
    WriterStopped,
    /// A commit failed; the batch stays queued and is retried.
    #[error("committing to the store failed (will retry): {0}")]
    Commit(String),
}

impl StoreError {
    pub(crate) fn open(path: impl Into<PathBuf>, error: &rusqlite::Error) -> Self {
        let reason = match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                format!("not a SQLite database, or damaged ({error})")
            }
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => format!("database is damaged ({error})"),
            Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::CannotOpen) => {
                format!("cannot write to it ({error})")
            }
            _ => error.to_string(),
        };
        StoreError::Open {
            path: path.into(),
            reason,
        }
    }
}
