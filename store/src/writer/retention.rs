//! Retention: deleting events older than `retention_days` or beyond `max_events`, and
//! statistics of hours older than `retention_days`, in transactions of at most [`CHUNK`] rows
//! run by the writer thread between batches (so ingestion never waits long for it).
//!
//! Events are only ever deleted as a prefix of the id order (both rules select the oldest, and
//! `received_at` never decreases in id order), so stored ids stay contiguous and the count of
//! stored events is `last id - first id + 1`.

use std::time::{Duration, Instant, SystemTime};

use rusqlite::{Connection, OptionalExtension, params};

use super::commit::Position;
use crate::convert::{hour_of_micros, time_to_micros};
use crate::{dim, time_index};

/// Most rows deleted per transaction.
pub(crate) const CHUNK: i64 = 5_000;

/// How often the bounds are recomputed.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct Retention {
    days: u32,
    max_events: u64,
    /// Events with an id up to this are due for deletion.
    events_bound: i64,
    /// Statistics of hours starting before this (unix s) are due for deletion.
    stats_before: Option<i64>,
    events_done: bool,
    stats_done: bool,
    next_refresh: Instant,
}

impl Retention {
    pub(crate) fn new(days: u32, max_events: u64) -> Self {
        Retention {
            days,
            max_events,
            events_bound: i64::MIN,
            stats_before: None,
            events_done: true,
            stats_done: true,
            next_refresh: Instant::now(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.days > 0 || self.max_events > 0
    }

    /// Whether deletions are known to be due.
    pub(crate) fn has_work(&self) -> bool {
        !(self.events_done && self.stats_done)
    }

    /// When the bounds should be recomputed next (`None` when retention is off).
    pub(crate) fn next_refresh(&self) -> Option<Instant> {
        self.enabled().then_some(self.next_refresh)
    }

    /// Recomputes what is due, at most every [`REFRESH_EVERY`].
    pub(crate) fn refresh_if_due(
        &mut self,
        conn: &Connection,
        pos: Position,
    ) -> rusqlite::Result<()> {
        let now = Instant::now();
        if !self.enabled() || now < self.next_refresh {
            return Ok(());
        }
        self.next_refresh = now + REFRESH_EVERY;
        let last_id = pos.next_id - 1;
        let mut bound = i64::MIN;
        if self.max_events > 0 {
            let keep = i64::try_from(self.max_events).unwrap_or(i64::MAX);
            bound = last_id.saturating_sub(keep);
        }
        if self.days > 0 {
            let age = i64::from(self.days) * 86_400 * 1_000_000;
            let cutoff = time_to_micros(SystemTime::now()).saturating_sub(age);
            let first_kept = time_index::first_id_at_or_after(conn, cutoff)?;
            bound = bound.max(first_kept.map_or(last_id, |id| id - 1));
            self.stats_before = Some(hour_of_micros(cutoff));
            self.stats_done = false;
        }
        self.events_bound = bound;
        self.events_done = false;
        Ok(())
    }

    /// Deletes one chunk of what is due. Returns the number of events deleted.
    pub(crate) fn prune_chunk(&mut self, conn: &Connection) -> rusqlite::Result<u64> {
        if !self.events_done {
            match time_index::id_span(conn)? {
                Some((first, _)) if first <= self.events_bound => {
                    let end = self.events_bound.min(first + CHUNK - 1);
                    let n = conn
                        .prepare_cached("DELETE FROM events WHERE id BETWEEN ?1 AND ?2")?
                        .execute([first, end])?;
                    return Ok(n as u64);
                }
                _ => self.events_done = true,
            }
        }
        if !self.stats_done {
            if let Some(before) = self.stats_before
                && prune_stats_chunk(conn, before)? > 0
            {
                return Ok(0);
            }
            self.stats_done = true;
        }
        Ok(0)
    }
}

/// Deletes up to [`CHUNK`] statistics rows of hours before `before`; returns how many. Each
/// delete is one primary-key range: up to the `CHUNK`-th due key.
fn prune_stats_chunk(conn: &Connection, before: i64) -> rusqlite::Result<usize> {
    for d in dim::ALL {
        let bound: Option<(i64, String)> = conn
            .prepare_cached(
                "SELECT hour, value FROM stats_hourly WHERE dim = ?1 AND hour < ?2
                 ORDER BY hour, value LIMIT 1 OFFSET ?3",
            )?
            .query_row(params![d, before, CHUNK - 1], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let n = match bound {
            Some((hour, value)) => conn
                .prepare_cached(
                    "DELETE FROM stats_hourly WHERE dim = ?1 AND (hour, value) <= (?2, ?3)",
                )?
                .execute(params![d, hour, value])?,
            None => conn
                .prepare_cached("DELETE FROM stats_hourly WHERE dim = ?1 AND hour < ?2")?
                .execute(params![d, before])?,
        };
        if n > 0 {
            return Ok(n);
        }
    }
    let bound: Option<(i64, i64, i64, String)> = conn
        .prepare_cached(
            "SELECT hour, node_id, dim, value FROM stats_node_hourly WHERE hour < ?1
             ORDER BY hour, node_id, dim, value LIMIT 1 OFFSET ?2",
        )?
        .query_row(params![before, CHUNK - 1], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    match bound {
        Some((hour, node, d, value)) => conn
            .prepare_cached(
                "DELETE FROM stats_node_hourly WHERE (hour, node_id, dim, value) <= (?1, ?2, ?3, ?4)",
            )?
            .execute(params![hour, node, d, value]),
        None => conn
            .prepare_cached("DELETE FROM stats_node_hourly WHERE hour < ?1")?
            .execute([before]),
    }
}
