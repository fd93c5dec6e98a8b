//! The Core's durable side at run time: the store writer and its read side, the bounded ingest
//! path sessions feed, the export sink, and the disk-space watch.

use honeybee_actors::alerts::{AlertKey, AlertKind};
use honeybee_actors::registry::CoreAlert;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use honeybee_actors::pipeline::{Ingest, IngestSettings};
use honeybee_store::{Fleet, Store, StoreError, StoreWriter, WriterOptions, free_disk_bytes};
use tokio::sync::watch;

use crate::config::Config;
use crate::export::ExportSink;
use crate::server::Tuning;

/// How often free disk space is checked.
const DISK_CHECK_EVERY: Duration = Duration::from_secs(5);

/// Why the store could not be opened (the Core does not start).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("export.jsonl: {0}")]
    Export(std::io::Error),
}

/// The open store and what hangs off it.
#[derive(Debug)]
pub struct Storage {
    writer: StoreWriter,
    pub store: Store,
    pub ingest: Arc<Ingest>,
    export: Option<ExportSink>,
    disk_low: Arc<AtomicBool>,
}

impl Storage {
    /// Opens (creating or migrating) the store under `storage.dir`, starts its writer and,
    /// when configured, the export sink; returns the stored fleet to start the registry from.
    pub fn open(config: &Config, tuning: &Tuning) -> Result<(Storage, Fleet), StorageError> {
        let options = WriterOptions {
            commit_interval: config.storage.commit_interval,
            retention_days: config.storage.event_retention_days,
            max_events: config.storage.max_events,
            ..WriterOptions::default()
        };
        let (writer, store) = StoreWriter::spawn(&config.storage.dir, options)?;
        let fleet = store.load_fleet()?;
        log::info!(
            "Store {} open: {} nodes, {} events.",
            store.path().display(),
            fleet.nodes.len(),
            store.event_count()?
        );
        let export = match &config.export.jsonl {
            Some(path) => Some(
                ExportSink::start(
                    path.clone(),
                    config.storage.dir.join("export-jsonl.position"),
                    store.clone(),
                    // Only a wake-up signal: a lagging sink is dropped from the list after a
                    // few commits (and polls instead), never holding commits in memory.
                    writer.subscribe_with_capacity(4),
                )
                .map_err(StorageError::Export)?,
            ),
            None => None,
        };
        let disk_low = Arc::new(AtomicBool::new(false));
        let ingest = Arc::new(Ingest::new(
            writer.handle(),
            IngestSettings {
                node_events_per_sec: config.limits.node_events_per_sec,
                max_backlog: tuning.ingest_max_backlog,
            },
            Arc::clone(&disk_low),
        ));
        Ok((
            Storage {
                writer,
                store,
                ingest,
                export,
                disk_low,
            },
            fleet,
        ))
    }

    pub fn writer(&self) -> honeybee_store::WriterHandle {
        self.writer.handle()
    }

    /// Reopens the export file (SIGHUP).
    pub fn reopen_export(&self) {
        if let Some(export) = &self.export {
            export.reopen();
        }
    }

    /// Watches free space under `dir` until `stop`: below `min_free_mb` the ingest path counts
    /// as full (sessions stop reading events) and an error is logged until space returns. The
    /// first check also clears a `disk_low` alert a previous process left open.
    pub async fn watch_disk(
        disk_low: Arc<AtomicBool>,
        dir: std::path::PathBuf,
        min_free_mb: u64,
        alerts: actix::Recipient<CoreAlert>,
        mut stop: watch::Receiver<bool>,
    ) {
        let key = AlertKey::core(AlertKind::DiskLow);
        let min_free = min_free_mb.saturating_mul(1 << 20);
        let mut first = true;
        loop {
            let low = match free_disk_bytes(&dir) {
                Ok(free) => free < min_free,
                Err(e) => {
                    log::warn!("Cannot read free disk space of {}: {e}.", dir.display());
                    false
                }
            };
            let was_low = disk_low.swap(low, Ordering::Relaxed);
            if low && !was_low {
                log::error!(
                    "Free disk space under {} is below storage.min_free_disk_mb ({min_free_mb} MiB): \
                     the Core stops reading events until space is freed.",
                    dir.display()
                );
                alerts.do_send(CoreAlert {
                    key: key.clone(),
                    message: Some(format!(
                        "free disk space under {} is below storage.min_free_disk_mb \
                         ({min_free_mb} MiB); events are not read until space is freed",
                        dir.display()
                    )),
                });
            } else if !low && (was_low || first) {
                alerts.do_send(CoreAlert {
                    key: key.clone(),
                    message: None,
                });
                if was_low {
                    log::info!(
                        "Disk space under {} recovered; reading events again.",
                        dir.display()
                    );
                }
            }
            first = false;
            tokio::select! {
                _ = tokio::time::sleep(DISK_CHECK_EVERY) => {}
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
        }
    }

    /// The JSON-lines sink's exported-events counter, when the sink runs.
    pub fn exported_counter(&self) -> Option<Arc<std::sync::atomic::AtomicU64>> {
        self.export.as_ref().map(ExportSink::exported_counter)
    }

    pub fn disk_low_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.disk_low)
    }

    /// Stores every accepted event, exports everything stored, and closes the store. Blocking:
    /// run it off the async threads.
    pub fn close(self) {
        if let Err(e) = self.writer.flush() {
            log::error!("Could not store every accepted event at shutdown: {e}.");
        }
        if let Some(export) = self.export {
            export.finish();
        }
        match self.writer.shutdown() {
            Ok(()) => log::info!("Store closed."),
            Err(e) => log::error!("Store closed with an error: {e}."),
        }
    }
}
