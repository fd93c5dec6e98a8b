//! One sink's follower: it reads the store after its position (alert changes first, then
//! events, each in order), hands what passes its filter to its sink, and moves its durable
//! position as the sink settles items — in order, so a position never passes an item that was
//! not sent, dead-lettered or filtered out. Failures are retried with a capped exponential
//! backoff from the durable position. It runs on its own thread and actix `System`, so a slow or
//! dead receiver holds up nothing but itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use honeybee_actors::registry::CoreAlert;
use honeybee_store::{
    Cursor, DeadKind, DeadLetter, EventQuery, OutputPosition, Store, WriterHandle,
};

use super::deliver::{Outcome, Sender};
use super::item::{EventFilter, Item, ItemKey, Summary};
use super::rate::{AlertBudget, TokenBucket};
use super::{Control, SinkShared};

mod watch;
use crate::config::outputs::OutputConfig;

/// Alert changes read at once.
const ALERT_PAGE: usize = 100;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// How long an idle follower waits for a commit before it looks again (alert changes have
/// no wake-up of their own).
const IDLE: Duration = Duration::from_millis(250);
/// A position is queued to the store at most this often (and at every stop).
const SAVE_EVERY: Duration = Duration::from_millis(200);
/// Lag is measured at most this often.
const LAG_EVERY: Duration = Duration::from_secs(1);
/// Items a stream may hold in flight before the follower waits for them to settle.
const MAX_IN_FLIGHT: usize = 100_000;

pub(super) struct Follower {
    pub config: OutputConfig,
    pub store: Store,
    pub writer: WriterHandle,
    pub shared: Arc<SinkShared>,
    pub control: Arc<Control>,
    pub alerts: Option<actix::Recipient<CoreAlert>>,
    pub pos: OutputPosition,
}

/// The follower's moving parts.
struct State {
    handed: VecDeque<ItemKey>,
    read_event: u64,
    read_alert: u64,
    summary: Summary,
    budget: AlertBudget,
    bucket: TokenBucket,
    filter: EventFilter,
    backoff: Duration,
    saved: OutputPosition,
    saved_at: Instant,
    lag_at: Option<Instant>,
    lagging: bool,
    /// Gaps (pruned events) are counted once, up to this id.
    gaps_counted_to: u64,
    stop_target: Option<u64>,
    /// A stopping follower whose last attempt failed stops at once: its receiver is not
    /// taking anything, and the rest goes from the position at the next start.
    give_up: bool,
}

impl Follower {
    pub(super) async fn run(mut self, mut sender: Sender) {
        let mut s = State {
            handed: VecDeque::new(),
            read_event: self.pos.last_event_id,
            read_alert: self.pos.last_alert_seq,
            summary: Summary::default(),
            budget: AlertBudget::new(self.config.alerts_per_minute),
            bucket: TokenBucket::new(self.config.max_events_per_sec),
            filter: EventFilter::new(self.config.filter.clone()),
            backoff: FIRST_BACKOFF,
            saved: self.pos.clone(),
            saved_at: Instant::now(),
            lag_at: None,
            lagging: false,
            gaps_counted_to: self.pos.last_event_id,
            stop_target: None,
            give_up: false,
        };
        self.prepare(&mut sender, &mut s).await;
        loop {
            self.measure_lag(&mut s);
            if self.control.stopping() && self.stop_now(&mut s, &sender) {
                break;
            }
            match self.step(&mut sender, &mut s).await {
                Ok(true) => {}
                Ok(false) => self.idle(&sender).await,
                Err(e) => self.failed(&mut sender, &mut s, e).await,
            }
            self.save(&mut s, false);
        }
        self.save(&mut s, true);
        self.shared.set_state("stopped");
    }

    /// The `_bulk` sink's template, retried until it is in place (or the Core stops).
    async fn prepare(&mut self, sender: &mut Sender, s: &mut State) {
        while let Err(e) = sender.prepare().await {
            self.shared.failures.fetch_add(1, Ordering::Relaxed);
            self.shared.failure(&e);
            log::warn!("Output {}: {e}; retrying.", self.config.name);
            if self.control.stopping() {
                return;
            }
            self.control.sleep(s.backoff).await;
            s.backoff = (s.backoff * 2).min(self.config.retry_max);
        }
        s.backoff = FIRST_BACKOFF;
    }

    /// Whether a stopping follower is done: everything stored when the stop came is settled,
    /// or its time is up.
    fn stop_now(&self, s: &mut State, sender: &Sender) -> bool {
        let target = *s
            .stop_target
            .get_or_insert_with(|| self.store.last_event_id().ok().flatten().unwrap_or(0));
        let caught_up = !self.config.what.events || self.pos.last_event_id >= target;
        (caught_up && s.handed.is_empty() && sender.in_flight() == 0)
            || s.give_up
            || self.control.past_deadline()
    }

    /// One pass: settles what is in flight, then hands the next alert changes or events.
    /// `Ok(false)` when there was nothing to do.
    async fn step(&mut self, sender: &mut Sender, s: &mut State) -> Result<bool, String> {
        if sender.in_flight() > 0 {
            let outcome = sender.poll().await;
            self.apply(s, outcome)?;
            if sender.in_flight() >= MAX_IN_FLIGHT {
                return Ok(false);
            }
        }
        if self.config.what.alerts {
            let items = self.next_alerts(s)?;
            if !items.is_empty() {
                self.hand(sender, s, items).await?;
                return Ok(true);
            }
        }
        if self.config.what.events {
            return self.next_events(sender, s).await;
        }
        Ok(false)
    }

    fn next_alerts(&mut self, s: &mut State) -> Result<Vec<Item>, String> {
        if !s.summary.is_empty() && s.budget.window_over() {
            s.budget.take();
            return Ok(vec![Item::Summary(std::mem::take(&mut s.summary))]);
        }
        let changes = self
            .store
            .alert_changes(s.read_alert, self.config.batch_size.min(ALERT_PAGE))
            .map_err(|e| format!("reading alert changes: {e}"))?;
        let mut items = Vec::new();
        for change in changes {
            s.read_alert = change.seq;
            if s.summary.is_empty() && s.budget.take() {
                items.push(Item::Alert(change));
            } else {
                s.summary.fold(&change);
            }
        }
        Ok(items)
    }

    async fn next_events(&mut self, sender: &mut Sender, s: &mut State) -> Result<bool, String> {
        let allowed = s.bucket.allowed(self.config.batch_size);
        if allowed == 0 {
            self.control.sleep(s.bucket.wait()).await;
            return Ok(true);
        }
        let query = EventQuery {
            after: Some(Cursor::after_id(s.read_event)),
            limit: Some(allowed),
            ..EventQuery::default()
        };
        let page = self
            .store
            .events(&query)
            .map_err(|e| format!("reading events: {e}"))?;
        let Some(last) = page.events.last().map(|e| e.id) else {
            return Ok(false);
        };
        if let Some(first) = page.events.first().map(|e| e.id) {
            self.count_gap(s, first);
        }
        s.read_event = last;
        let items: Vec<Item> = page
            .events
            .into_iter()
            .filter(|e| s.filter.matches(e))
            .map(Item::Event)
            .collect();
        s.bucket.spend(items.len());
        if items.is_empty() {
            self.advance_idle_positions(s);
            return Ok(true);
        }
        self.hand(sender, s, items).await?;
        Ok(true)
    }

    async fn hand(
        &mut self,
        sender: &mut Sender,
        s: &mut State,
        items: Vec<Item>,
    ) -> Result<(), String> {
        s.handed.extend(items.iter().map(Item::key));
        // At shutdown a request may take no longer than the time left.
        let outcome = match self.control.time_left() {
            Some(left) => tokio::time::timeout(left, sender.send(&items))
                .await
                .unwrap_or_else(|_| Outcome::failed(0, "the Core stopped while sending")),
            None => sender.send(&items).await,
        };
        self.dead_letters(&outcome);
        self.apply(s, outcome)
    }

    fn dead_letters(&self, outcome: &Outcome) {
        for dead in &outcome.dead {
            let (kind, item_id, change_seq) = match (dead.key, dead.alert_id) {
                (ItemKey::Event(id), _) => (DeadKind::Event, id, 0),
                (ItemKey::Alert(seq), Some(id)) => (DeadKind::Alert, id, seq),
                (ItemKey::Alert(seq), None) => (DeadKind::Alert, 0, seq),
            };
            let letter = DeadLetter {
                seq: 0,
                sink: self.config.name.clone(),
                kind,
                item_id,
                change_seq,
                at: SystemTime::now(),
                status: dead.status,
                error: dead.error.clone(),
            };
            if let Err(e) = self.writer.dead_letter(letter) {
                log::error!(
                    "Output {}: cannot store a dead letter: {e}.",
                    self.config.name
                );
            }
            log::warn!(
                "Output {}: {} {item_id} refused for good ({}); dead-lettered.",
                self.config.name,
                kind.as_str(),
                dead.error
            );
        }
        self.shared
            .dead
            .fetch_add(outcome.dead.len() as u64, Ordering::Relaxed);
    }

    /// Moves the durable position past what the sink settled.
    fn apply(&mut self, s: &mut State, outcome: Outcome) -> Result<(), String> {
        let settled = outcome.settled.min(s.handed.len());
        for key in s.handed.drain(..settled) {
            match key {
                ItemKey::Event(id) => self.pos.last_event_id = self.pos.last_event_id.max(id),
                ItemKey::Alert(seq) => self.pos.last_alert_seq = self.pos.last_alert_seq.max(seq),
            }
        }
        let sent = settled.saturating_sub(outcome.dead.len()) as u64;
        if settled > 0 {
            self.shared.sent.fetch_add(sent, Ordering::Relaxed);
            self.shared.success();
            s.backoff = FIRST_BACKOFF;
        }
        self.advance_idle_positions(s);
        match outcome.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// With nothing handed and unsettled, everything read is settled (filtered out or sent),
    /// but never past alert changes folded into a summary not yet sent.
    fn advance_idle_positions(&mut self, s: &mut State) {
        if !s.handed.is_empty() {
            return;
        }
        self.pos.last_event_id = self.pos.last_event_id.max(s.read_event);
        let alert_bound = if s.summary.is_empty() {
            s.read_alert
        } else {
            s.summary.first_seq.saturating_sub(1)
        };
        self.pos.last_alert_seq = self.pos.last_alert_seq.max(alert_bound);
    }

    async fn failed(&mut self, sender: &mut Sender, s: &mut State, error: String) {
        self.shared.failures.fetch_add(1, Ordering::Relaxed);
        self.shared.failure(&error);
        log::warn!(
            "Output {}: {error}; retrying in {:.1} s from its position.",
            self.config.name,
            s.backoff.as_secs_f64()
        );
        sender.reset();
        s.handed.clear();
        s.give_up = self.control.stopping();
        s.summary = Summary::default();
        s.read_event = self.pos.last_event_id;
        s.read_alert = self.pos.last_alert_seq;
        self.save(s, true);
        self.control.sleep(s.backoff).await;
        s.backoff = (s.backoff * 2).min(self.config.retry_max.max(FIRST_BACKOFF));
    }

    async fn idle(&self, sender: &Sender) {
        if sender.in_flight() > 0 {
            self.control.sleep(super::syslog::SETTLE / 2).await;
        } else if !self.control.stopping() {
            self.control.wait(IDLE).await;
        } else {
            self.control.sleep(Duration::from_millis(20)).await;
        }
    }

    /// Queues the position to the store when it moved (at most every [`SAVE_EVERY`]).
    fn save(&mut self, s: &mut State, now: bool) {
        self.shared.set_position(&self.pos);
        if self.pos == s.saved || (!now && s.saved_at.elapsed() < SAVE_EVERY) {
            return;
        }
        match self.writer.set_output_position(self.pos.clone()) {
            Ok(()) => {
                s.saved = self.pos.clone();
                s.saved_at = Instant::now();
            }
            Err(e) => log::error!(
                "Output {}: cannot store its position: {e}.",
                self.config.name
            ),
        }
    }
}
