//! What the registry starts from, read from the store at start: the stored fleet's commands a
//! crash left unsettled (failed now), the open alerts, the fleet file; and the thread that
//! moves committed events onto the live feed.

use std::sync::Arc;

use honeybee_actors::alerts::{Alert, AlertBook};
use honeybee_actors::feed::{Change, EVENTS_PER_CHANGE, Feed};
use honeybee_actors::policy::FleetFile;

use crate::config::Config;
use crate::storage::{Storage, StorageError};

/// Publishes every commit of stored events to the live feed, in chunks of at most
/// [`EVENTS_PER_CHANGE`], from a thread of its own (the writer hands commits over a channel;
/// publishing never waits). It ends with the writer.
pub(super) fn feed_events(
    writer: &honeybee_store::WriterHandle,
    feed: Feed,
) -> std::io::Result<()> {
    let commits = writer.subscribe();
    std::thread::Builder::new()
        .name("honeybee-feed".into())
        .spawn(move || {
            while let Ok(commit) = commits.recv() {
                if !feed.listened() {
                    continue;
                }
                if commit.events.len() <= EVENTS_PER_CHANGE {
                    feed.publish(Change::Events(commit));
                    continue;
                }
                for chunk in commit.events.chunks(EVENTS_PER_CHANGE) {
                    feed.publish(Change::Events(Arc::new(honeybee_store::Committed {
                        events: chunk.to_vec(),
                    })));
                }
            }
        })
        .map(drop)
}

/// Commands a crash left `pending` or `sent` can never be settled (the node's answer went to
/// the old process, and queues live in memory): they are stored as failed, saying why.
pub(super) fn settle_unfinished_commands(storage: &Storage) -> Result<(), StorageError> {
    let unfinished = storage.store.unfinished_commands()?;
    if unfinished.is_empty() {
        return Ok(());
    }
    log::warn!(
        "{} command(s) were still pending or sent when the Core last stopped; marking them failed.",
        unfinished.len()
    );
    let result = serde_json::json!({
        "message": "the Core stopped before this command finished"
    })
    .to_string();
    let now = std::time::SystemTime::now();
    for mut row in unfinished {
        row.status = "failed".to_owned();
        row.result = Some(result.clone());
        row.updated_at = now;
        storage.writer().upsert_command(row)?;
    }
    Ok(())
}

/// The registry's alert book: the stored open alerts, ids continuing after the largest stored.
pub(super) fn alert_book(storage: &Storage) -> Result<AlertBook, StorageError> {
    let last_id = storage.store.last_alert_id()?;
    let open = storage.store.open_alerts()?.into_iter().filter_map(|row| {
        let (id, kind) = (row.alert_id, row.kind.clone());
        let alert = Alert::from_row(row);
        if alert.is_none() {
            log::warn!(
                "Stored alert {id} has a type this build does not know ({kind:?}); it stays \
                 open in the store."
            );
        }
        alert
    });
    Ok(AlertBook::restore(last_id, open))
}

/// The fleet file's desired state, checked against `pots.allowed_sources`.
pub(super) fn load_fleet_file(
    path: &std::path::Path,
    config: &Config,
) -> Result<FleetFile, String> {
    crate::fleet_file::load(path, &config.pots.allowed_sources).map_err(|e| e.to_string())
}
