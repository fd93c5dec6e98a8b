//! The JSON-lines export sink (`export.jsonl`): appends every stored event to a file, one line
//! per event exactly as `GET /api/v1/events` returns it, exactly once and in order, across
//! restarts and crashes; reopens the file on SIGHUP (log rotation).
//!
//! It follows the store, not the ingest path: on its own thread it reads committed events
//! after its position, so a slow disk here never slows storage (its lag is visible in
//! [`ExportSink::exported`] against the store's last id). Its position is the file itself: at
//! start the last complete line's `id` says where to resume (a torn last line from a crash is
//! cut off first); a position file beside the store covers a file that was rotated away.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use honeybee_store::{Committed, Cursor, EventQuery, Store};

use crate::api::event::write_event;

/// Events read from the store per write.
const PAGE: usize = 5_000;
/// How long the sink sleeps when it has caught up and hears of no commit.
const IDLE_POLL: Duration = Duration::from_millis(200);
/// How far back from the end of the file the last line is looked for (more than two of the
/// largest events `protocol.max_frame_bytes` allows).
const TAIL_WINDOW: u64 = 40 << 20;

enum Control {
    /// Reopen the file; answers once it did.
    Reopen(mpsc::SyncSender<()>),
    Stop,
}

/// Longest wait for the sink to confirm a reopen.
const REOPEN_WAIT: Duration = Duration::from_secs(5);

/// A running sink.
#[derive(Debug)]
pub struct ExportSink {
    control: Sender<Control>,
    exported: Arc<AtomicU64>,
    position: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl ExportSink {
    /// Starts exporting `store`'s events to `path`; `commits` (a writer subscription) wakes it
    /// as soon as something is stored. `position_file` keeps the last exported id.
    pub fn start(
        path: PathBuf,
        position_file: PathBuf,
        store: Store,
        commits: Receiver<Arc<Committed>>,
    ) -> io::Result<ExportSink> {
        let mut sink = Sink::open(path, position_file, store)?;
        let exported = Arc::new(AtomicU64::new(0));
        let position = Arc::new(AtomicU64::new(sink.position));
        let (control, requests) = mpsc::channel();
        let (exported2, position2) = (Arc::clone(&exported), Arc::clone(&position));
        let thread = std::thread::Builder::new()
            .name("honeybee-export".into())
            .spawn(move || sink.run(&requests, &commits, &exported2, &position2))?;
        Ok(ExportSink {
            control,
            exported,
            position,
            thread: Some(thread),
        })
    }

    /// Asks the sink to reopen the file (after log rotation); returns at once.
    pub fn reopen(&self) {
        let (done, _) = mpsc::sync_channel(1);
        let _ = self.control.send(Control::Reopen(done));
    }

    /// [`ExportSink::reopen`], returning once the sink writes to the new file (blocks: not for
    /// async threads).
    pub fn reopen_and_wait(&self) {
        let (done, reopened) = mpsc::sync_channel(1);
        if self.control.send(Control::Reopen(done)).is_ok() {
            let _ = reopened.recv_timeout(REOPEN_WAIT);
        }
    }

    /// Events written since start.
    pub fn exported(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }

    /// The exported-events counter, to read from elsewhere (metrics).
    pub fn exported_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.exported)
    }

    /// The last exported event id.
    pub fn position(&self) -> u64 {
        self.position.load(Ordering::Relaxed)
    }

    /// Exports everything stored so far, then stops.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.control.send(Control::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ExportSink {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Sink {
    path: PathBuf,
    position_file: PathBuf,
    store: Store,
    file: File,
    position: u64,
}

impl Sink {
    fn open(path: PathBuf, position_file: PathBuf, store: Store) -> io::Result<Sink> {
        let mut file = open_append(&path)?;
        let from_file = recover_tail(&mut file)?;
        let saved = read_position(&position_file)?;
        let position = from_file.unwrap_or(0).max(saved);
        log::info!(
            "Exporting events to {} from event {} on.",
            path.display(),
            position + 1
        );
        Ok(Sink {
            path,
            position_file,
            store,
            file,
            position,
        })
    }

    fn run(
        &mut self,
        requests: &Receiver<Control>,
        commits: &Receiver<Arc<Committed>>,
        exported: &AtomicU64,
        position: &AtomicU64,
    ) {
        let mut stopping = false;
        loop {
            while let Ok(request) = requests.try_recv() {
                match request {
                    Control::Reopen(done) => {
                        self.reopen();
                        let _ = done.send(());
                    }
                    Control::Stop => stopping = true,
                }
            }
            match self.export_page() {
                Ok(0) if stopping => return,
                Ok(0) => match commits.recv_timeout(IDLE_POLL) {
                    Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                    // Dropped for lagging, or the writer is gone: keep polling the store.
                    Err(RecvTimeoutError::Disconnected) => std::thread::sleep(IDLE_POLL),
                },
                Ok(n) => {
                    exported.fetch_add(n as u64, Ordering::Relaxed);
                    position.store(self.position, Ordering::Relaxed);
                }
                Err(e) => {
                    log::error!("Export to {} failed: {e}; retrying.", self.path.display());
                    if stopping {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    /// Writes the next page of stored events; returns how many.
    fn export_page(&mut self) -> io::Result<usize> {
        let query = EventQuery {
            after: Some(Cursor::after_id(self.position)),
            limit: Some(PAGE),
            ..EventQuery::default()
        };
        let page = self.store.events(&query).map_err(io::Error::other)?;
        let Some(last) = page.events.last().map(|e| e.id) else {
            return Ok(0);
        };
        if let Some(first) = page.events.first().map(|e| e.id)
            && first != self.position + 1
        {
            log::warn!(
                "Export to {}: events {} to {} are no longer in the store (pruned or restored \
                 from an older backup); continuing with event {first}.",
                self.path.display(),
                self.position + 1,
                first - 1
            );
        }
        let mut lines = Vec::with_capacity(page.events.len() * 512);
        for event in &page.events {
            write_event(&mut lines, event);
            lines.push(b'\n');
        }
        // A write or sync that fails part way must leave no partial page behind, or the retry
        // would write those events twice.
        let before = self.file.metadata()?.len();
        if let Err(e) = self
            .file
            .write_all(&lines)
            .and_then(|()| self.file.sync_data())
        {
            let _ = self.file.set_len(before);
            return Err(e);
        }
        self.position = last;
        write_position(&self.position_file, last)?;
        Ok(page.events.len())
    }

    fn reopen(&mut self) {
        match open_append(&self.path) {
            Ok(file) => {
                self.file = file;
                log::info!("Reopened the export file {}.", self.path.display());
            }
            Err(e) => log::error!(
                "Cannot reopen the export file {}: {e}; still writing to the old one.",
                self.path.display()
            ),
        }
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Cuts a torn last line (a crash mid-write) and returns the last complete line's event id.
fn recover_tail(file: &mut File) -> io::Result<Option<u64>> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let start = len.saturating_sub(TAIL_WINDOW);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::with_capacity((len - start) as usize);
    file.read_to_end(&mut tail)?;
    let Some(last_newline) = tail.iter().rposition(|&b| b == b'\n') else {
        return Ok(None);
    };
    if last_newline + 1 < tail.len() {
        let keep = start + last_newline as u64 + 1;
        log::warn!("Cutting a torn last line off the export file (at byte {keep}).");
        file.set_len(keep)?;
    }
    let complete = &tail[..last_newline];
    let line_start = complete
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    #[derive(serde::Deserialize)]
    struct Id {
        id: u64,
    }
    Ok(serde_json::from_slice::<Id>(&complete[line_start..])
        .ok()
        .map(|l| l.id))
}

fn read_position(path: &Path) -> io::Result<u64> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().parse().unwrap_or(0)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Replaces the position file atomically.
fn write_position(path: &Path, id: u64) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{id}\n"))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests;
