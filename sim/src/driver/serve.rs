//! A registered connection, served: commands in and their answers out (through the pure
//! [`NodeModel`](crate::node::NodeModel)), deferred work finished on time, heartbeats, events at
//! the node's share of the fleet rate, misbehaviour, and the fleet's stop and drop signals.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use honeybee_protocol::{
    CoreToNode, Frame, FrameSplitter, NodeToCore, decode_core_frame, encode, encode_into,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant as TokioInstant, MissedTickBehavior, interval_at, sleep_until};

use super::{Conn, End, Io, SimNode, write};
use crate::events::PotEvents;
use crate::misbehave::{self, Misbehaviour};
use crate::node::{self, Deferred, Reply};
use crate::stats::Stats;

/// The periodic timers of a served connection.
struct Timers {
    heartbeat: tokio::time::Interval,
    events: tokio::time::Interval,
    events_period: Duration,
    misbehave: tokio::time::Interval,
    misbehaves: bool,
    slow: tokio::time::Interval,
    crash: tokio::time::Interval,
    crashes: bool,
}

/// What a served connection holds besides its socket.
struct Serving {
    splitter: FrameSplitter,
    /// Frames to write at the end of this turn.
    out: Vec<u8>,
    /// Work that finishes later, with when.
    deferred: Vec<(TokioInstant, Deferred)>,
    /// A slowloris frame in progress (bytes, next byte); other output waits behind it.
    slow: Option<(Vec<u8>, usize)>,
    timers: Timers,
    /// Whether drop orders can still come.
    drops_open: bool,
}

/// What one turn of the loop decided.
enum Step {
    Go,
    End(End),
}

fn lost() -> Step {
    Step::End(End::Lost {
        lasted: Duration::ZERO,
    })
}

impl SimNode {
    /// Serves a registered connection until it ends.
    pub(super) async fn serve(&mut self, io: &mut Box<dyn Io>, conn: Conn) -> End {
        let mut st = self.start_serving(conn);
        let stats = Arc::clone(&self.shared.stats);
        let mut buf = vec![0u8; 2048];
        loop {
            if st.slow.is_none() && !st.out.is_empty() {
                if write(io, &st.out, &stats).await.is_err() {
                    return End::Lost {
                        lasted: Duration::ZERO,
                    };
                }
                st.out.clear();
            }
            let next_deferred = st.deferred.iter().map(|(at, _)| *at).min();
            let step = tokio::select! {
                changed = self.signals.stop.changed() => {
                    if changed.is_err() || *self.signals.stop.borrow() {
                        Step::End(self.say_goodbye(io, &mut st).await)
                    } else {
                        Step::Go
                    }
                }
                changed = self.signals.drops.changed(), if st.drops_open => {
                    st.drops_open = changed.is_ok();
                    self.on_drop_order()
                }
                read = io.read(&mut buf) => match read {
                    Ok(0) => lost(),
                    Ok(n) => self.on_bytes(&buf[..n], &mut st),
                    Err(_) => {
                        Stats::inc(&stats.io_errors);
                        lost()
                    }
                },
                _ = sleep_until(next_deferred.unwrap_or_else(TokioInstant::now)),
                    if next_deferred.is_some() => self.finish_due(&mut st),
                _ = st.timers.heartbeat.tick() => {
                    if st.slow.is_none() {
                        encode_into(&mut st.out, &self.model.heartbeat());
                        Stats::inc(&stats.heartbeats_sent);
                    }
                    Step::Go
                }
                _ = st.timers.events.tick() => {
                    if st.slow.is_none() {
                        self.emit_events(st.timers.events_period, &mut st.out);
                    }
                    Step::Go
                }
                _ = st.timers.misbehave.tick(), if st.timers.misbehaves => self.misbehave(&mut st),
                _ = st.timers.slow.tick(), if st.slow.is_some() => {
                    self.slow_byte(io, &mut st).await
                }
                _ = st.timers.crash.tick(), if st.timers.crashes => self.maybe_crash(&mut st),
            };
            if let Step::End(end) = step {
                return end;
            }
        }
    }

    fn start_serving(&mut self, conn: Conn) -> Serving {
        let Conn { splitter, early } = conn;
        let mut st = Serving {
            splitter,
            out: Vec::with_capacity(1024),
            deferred: Vec::new(),
            slow: None,
            timers: self.timers(),
            drops_open: true,
        };
        // Real nodes report their status right after registering.
        encode_into(&mut st.out, &self.model.heartbeat());
        Stats::inc(&self.shared.stats.heartbeats_sent);
        for frame in early {
            self.on_frame(frame, &mut st);
        }
        self.last_emit = Some(Instant::now());
        st
    }

    fn timers(&mut self) -> Timers {
        let config = &self.shared.config;
        let now = TokioInstant::now();
        let mut every = |period: Duration| {
            let first = now + period.mul_f64(self.rng.unit());
            let mut interval = interval_at(first, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        };
        let rate = self.shared.per_node_rate;
        let events_period = if rate > 0.0 {
            Duration::from_secs_f64((1.0 / rate).clamp(0.02, 2.0))
        } else {
            Duration::from_secs(3600)
        };
        let misbehaves = matches!(
            self.spec.misbehaviour,
            Some(
                Misbehaviour::Garbage
                    | Misbehaviour::Oversize
                    | Misbehaviour::Slowloris
                    | Misbehaviour::SpoofedIds
            )
        );
        Timers {
            heartbeat: every(config.heartbeat),
            events: every(events_period),
            events_period,
            misbehave: every(config.misbehave_every),
            misbehaves,
            slow: every(config.slowloris_byte_interval),
            crash: every(Duration::from_secs(1)),
            crashes: config.pot_crashes_per_hour > 0.0,
        }
    }

    /// The fleet stops: `NodeDrop` (unless a slowloris frame is half written), then close.
    async fn say_goodbye(&mut self, io: &mut Box<dyn Io>, st: &mut Serving) -> End {
        if st.slow.is_none() {
            encode_into(&mut st.out, &NodeToCore::NodeDrop);
            let _ = io.write_all(&st.out).await;
        }
        let _ = io.shutdown().await;
        End::Stopped
    }

    /// A drop order: this connection ends at once when the order names this node.
    fn on_drop_order(&mut self) -> Step {
        let order = *self.signals.drops.borrow_and_update();
        if order.generation == self.last_drop {
            return Step::Go;
        }
        self.last_drop = order.generation;
        if !self.spec.index.is_multiple_of(order.every.max(1)) {
            return Step::Go;
        }
        if order.half_drop {
            self.shared.stats.misbehaved(Misbehaviour::HalfDrop);
        }
        Step::End(End::Dropped(order.away))
    }

    fn on_bytes(&mut self, bytes: &[u8], st: &mut Serving) -> Step {
        for frame in st.splitter.push(bytes) {
            if frame == Frame::Overflow {
                return lost();
            }
            self.on_frame(frame, st);
        }
        Step::Go
    }

    /// Handles one frame from the Core.
    fn on_frame(&mut self, frame: Frame, st: &mut Serving) {
        let stats = &self.shared.stats;
        let Frame::Data(bytes) = frame else {
            Stats::inc(&stats.undecodable);
            return;
        };
        match decode_core_frame(&bytes).map(|d| d.message) {
            Ok(CoreToNode::NodeCommand(command)) => {
                stats.command(Some(&command.command));
                for reply in self.model.on_command(&command.command) {
                    match reply {
                        Reply::Now(message) => encode_into(&mut st.out, &message),
                        Reply::Later { after, work } => {
                            st.deferred.push((TokioInstant::now() + after, work));
                        }
                    }
                }
            }
            Ok(CoreToNode::ProtocolError(e)) => {
                log::debug!("Node {} got {}: {}.", self.spec.name, e.code, e.message);
                stats.protocol_error(e.code.as_str());
            }
            Ok(CoreToNode::RegistrationAck(_)) => Stats::inc(&stats.undecodable),
            // A command this node does not know: what a real node answers.
            Err(_) if contains(&bytes, b"\"NodeCommand\"") => {
                stats.command(None);
                encode_into(&mut st.out, &node::unknown_command());
            }
            Err(_) => Stats::inc(&stats.undecodable),
        }
    }

    /// Finishes the deferred work that is due.
    fn finish_due(&mut self, st: &mut Serving) -> Step {
        let now = TokioInstant::now();
        let (due, later): (Vec<_>, Vec<_>) = st.deferred.drain(..).partition(|(at, _)| *at <= now);
        st.deferred = later;
        for (_, work) in due {
            for message in self.model.finish(&work, &mut self.rng) {
                encode_into(&mut st.out, &message);
            }
        }
        Step::Go
    }

    /// Sends the events owed since the last time, spread over the running pots. The credit
    /// follows the clock (not the nominal tick), so late ticks do not lower the rate; it is
    /// capped so that a node held back by the Core does not burst afterwards.
    fn emit_events(&mut self, period: Duration, out: &mut Vec<u8>) {
        let rate = self.shared.node_rate_now();
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_emit.unwrap_or(now));
        self.last_emit = Some(now);
        let cap = rate * (2.0 * period.as_secs_f64()).max(1.0) + 1.0;
        self.credit = (self.credit + rate * elapsed.as_secs_f64()).min(cap);
        let due = self.credit.floor();
        if due < 1.0 {
            return;
        }
        self.credit -= due;
        let due = due as u64;
        let running: Vec<(String, String)> = self
            .model
            .running_pots()
            .into_iter()
            .map(|(id, kind)| (id.to_owned(), kind.to_owned()))
            .collect();
        if running.is_empty() {
            Stats::add(&self.shared.stats.events_skipped, due);
            return;
        }
        let now = SystemTime::now();
        for _ in 0..due {
            let (pot_id, pot_type) = self.rng.pick(&running).clone();
            let name = &self.spec.name;
            let stream = self
                .pot_events
                .entry(pot_id.clone())
                .or_insert_with(|| PotEvents::new(&pot_type, name));
            let event = stream.next(&mut self.rng, self.model.node_id, &pot_id, now);
            encode_into(out, &NodeToCore::PotEvent(event));
        }
        Stats::add(&self.shared.stats.events_sent, due);
    }

    /// One act of the node's misbehaviour.
    fn misbehave(&mut self, st: &mut Serving) -> Step {
        let Some(kind) = self.spec.misbehaviour else {
            return Step::Go;
        };
        match kind {
            Misbehaviour::Garbage => st.out.extend(misbehave::garbage_line(&mut self.rng)),
            Misbehaviour::Oversize => {
                let pot = self.model.pots.keys().next().map_or("none", String::as_str);
                let frame = misbehave::oversize_frame(
                    self.model.node_id,
                    pot,
                    self.shared.config.oversize_bytes,
                );
                st.out.extend(frame);
            }
            Misbehaviour::SpoofedIds => {
                let mut other = *self.rng.pick(&self.shared.ids);
                if other == self.model.node_id {
                    other = other.wrapping_add(1) | (1 << 63);
                }
                st.out
                    .extend(misbehave::spoofed_frame(other, &mut self.rng));
            }
            Misbehaviour::Slowloris if st.slow.is_none() => {
                st.slow = Some((encode(&self.model.heartbeat()), 0));
            }
            Misbehaviour::Slowloris | Misbehaviour::ReconnectStorm | Misbehaviour::HalfDrop => {
                return Step::Go;
            }
        }
        self.shared.stats.misbehaved(kind);
        Step::Go
    }

    /// Writes the next byte of the slowloris frame in progress.
    async fn slow_byte(&mut self, io: &mut Box<dyn Io>, st: &mut Serving) -> Step {
        let Some((bytes, next)) = st.slow.as_mut() else {
            return Step::Go;
        };
        if io.write_all(&bytes[*next..*next + 1]).await.is_err() {
            Stats::inc(&self.shared.stats.io_errors);
            return lost();
        }
        *next += 1;
        if *next == bytes.len() {
            st.slow = None;
        }
        Step::Go
    }

    /// A running pot fails now and then (`--pot-crashes-per-hour`, checked every second).
    fn maybe_crash(&mut self, st: &mut Serving) -> Step {
        let running = self.model.running_pots().len() as f64;
        let p = self.shared.config.pot_crashes_per_hour * running / 3600.0;
        if self.rng.chance(p)
            && let Some(update) = self.model.crash_a_pot(&mut self.rng)
        {
            Stats::inc(&self.shared.stats.pot_crashes);
            encode_into(&mut st.out, &update);
        }
        Step::Go
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
