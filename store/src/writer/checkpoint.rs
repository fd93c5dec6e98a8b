//! WAL checkpoints on their own thread and connection, so the writer never copies pages into
//! the database file or waits for its fsync while events queue up. The writer connection has
//! `wal_autocheckpoint = 0`; this thread runs a PASSIVE checkpoint (which never blocks the
//! writer) every [`PERIOD`]. SQLite restarts the WAL from its beginning at the next commit
//! once a checkpoint has caught up, and `journal_size_limit` then truncates the file.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::lock;
use crate::error::StoreError;
use crate::schema;

/// Time between checkpoints. Each copies the pages written since the last one once, however
/// many commits rewrote them: at real fan-in most commits rewrite the same index pages, and a
/// checkpoint every 200 ms copied them about five times as often (measured 80 → 23 CPU ticks
/// per 30 s at 10,000 nodes sending 5,000 events/s).
const PERIOD: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn spawn(db: &Path) -> Result<Checkpointer, StoreError> {
        let conn = schema::open_plain(db)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("honeybee-ckpt".into())
            .spawn(move || run(&conn, &flag))
            .map_err(|source| StoreError::Directory {
                path: db.to_path_buf(),
                source,
            })?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }

    pub(crate) fn stop(&mut self) {
        *lock(&self.stop.0) = true;
        self.stop.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(conn: &Connection, stop: &(Mutex<bool>, Condvar)) {
    let mut last_log: Option<Instant> = None;
    loop {
        {
            let guard = lock(&stop.0);
            let (guard, _) = stop
                .1
                .wait_timeout_while(guard, PERIOD, |stopped| !*stopped)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *guard {
                return;
            }
        }
        if let Err(e) = checkpoint(conn, "PASSIVE") {
            let now = Instant::now();
            if last_log.is_none_or(|at| now >= at + Duration::from_secs(60)) {
                last_log = Some(now);
                log::warn!("Store WAL checkpoint failed ({e}); retrying.");
            }
        }
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)`; returns (WAL frames, frames checkpointed).
pub(crate) fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}
