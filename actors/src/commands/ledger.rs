//! One node's commands as a pure state machine: which command holds which slot (one in flight
//! per pot, one node-level command per node), which wait their turn, and how the node's answers
//! (pot reports, node events, node status) complete or fail them. The caller passes the time and
//! persists, publishes and sends what every call returns: the records whose status changed, in
//! order (a record that became `sent` is a frame to write).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use honeybee_protocol::{Command, NodeEventKind, NodeStatus, PotStatus};
use serde_json::Value;

use super::CommandStatus;
use super::correlate::{
    ListedPot, answer, answered_by_any_event, message, names_pot, pot_verdict, pots_result,
    timeout_of,
};
use crate::settings::CommandSettings;

/// Pots one `GetInstalledPots` answer lists at most (as many as a node's record keeps).
pub const MAX_LISTED_POTS: usize = crate::registry::MAX_POTS_PER_NODE;

/// The time, both ways: `instant` for deadlines, `wall` for the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub instant: Instant,
    pub wall: SystemTime,
}

impl Now {
    pub fn current() -> Now {
        Now {
            instant: Instant::now(),
            wall: crate::clock::now(),
        }
    }

    /// This moment plus `d` on both clocks.
    pub fn after(self, d: Duration) -> Now {
        Now {
            instant: self.instant + d,
            wall: self.wall + d,
        }
    }
}

/// What a command occupies while in flight: the pot it names, or the node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    Node,
    Pot(String),
}

impl Slot {
    pub fn of(command: &Command) -> Slot {
        command
            .pot_id()
            .map_or(Slot::Node, |id| Slot::Pot(id.to_owned()))
    }
}

/// A tracked command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRecord {
    pub id: u64,
    pub command: Command,
    pub status: CommandStatus,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    /// `{"status": .., "message": .., "pots": [..]}` with what applies, once there is one.
    pub result: Option<Value>,
    /// What settled it, once final (the same as `result` says, typed).
    pub settlement: Option<Settlement>,
    /// Who asked for it.
    pub origin: Origin,
    /// Once sent: when it times out (for `GetInstalledPots`: when its window ends). Kept
    /// after it is final, so the caller can forget the deadline it set.
    pub deadline: Option<Instant>,
}

/// Who asked for a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An operator, through the API (one node or a broadcast).
    Operator,
    /// The Core itself: a registration's `GetInstalledPots`, a confirmation, a step towards
    /// the desired state.
    Core,
    /// A pot's restart policy: a restart, reinstall or start it waited a backoff for (a failed
    /// one counts against the pot's budget).
    PotPolicy,
    /// The node policy (`nodes.restart`): a `Restart` (a failed one counts against the node).
    NodePolicy,
}

/// What settled a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// The node answered: a pot status or a node event by CORE.md's table (`Error` excluded).
    Answered,
    /// The node answered with a `NodeEvent` `Error`.
    NodeError,
    /// A `GetInstalledPots` window closed.
    WindowClosed,
    /// No answer within its timeout.
    TimedOut,
    /// The connection it was sent on was lost before an answer.
    ConnectionLost,
    /// It could not be sent (a v1 node, or the Core shutting down).
    NotSent,
}

impl CommandRecord {
    /// It was sent and the node did not do it: it answered `Error`, or nothing in time (a
    /// failed attempt, for the policy that ordered it).
    pub fn unanswered(&self) -> bool {
        matches!(
            self.settlement,
            Some(Settlement::NodeError | Settlement::TimedOut)
        )
    }
}

/// A command to track: its id (the caller's), who asked, and where it joins its slot's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: u64,
    pub command: Command,
    pub origin: Origin,
    pub place: Place,
}

/// Where a new command joins its slot's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Behind every command already waiting (what operators get).
    Back,
    /// Ahead of them (the Core's own `GetInstalledPots` at a registration).
    Front,
}

/// Too many commands wait for this node already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} commands already wait for this node")]
pub struct QueueFull(pub usize);

#[derive(Debug)]
struct InFlight {
    slot: Slot,
    record: CommandRecord,
    progress: Progress,
}

#[derive(Debug)]
enum Progress {
    Waiting,
    /// `Restart`: the node reported `Stopped` since it was sent.
    NodeStopped,
    /// `GetInstalledPots`: the pots reported in its window, in first-seen order.
    Listed(Vec<ListedPot>),
}

/// One node's tracked commands that are not final yet.
#[derive(Debug, Default)]
pub struct CommandBook {
    /// Sent and unanswered, oldest sent first; at most one per slot.
    in_flight: Vec<InFlight>,
    /// Waiting for their slot (or for the node to connect), in order per slot.
    waiting: BTreeMap<Slot, VecDeque<CommandRecord>>,
    waiting_count: usize,
    /// A `Restart` completed on `Running`: the node's `Started` that follows belongs to it, not
    /// to the next command an event answers (until this moment).
    awaiting_started: Option<Instant>,
}

/// How long after a `Restart` completed on `Running` its trailing `Started` is expected.
pub(super) const STARTED_GRACE: Duration = Duration::from_secs(5);

/// The records whose status changed, in the order they changed.
pub type Changes = Vec<CommandRecord>;

impl CommandBook {
    /// Nothing in flight and nothing waiting (the book may be dropped).
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_empty() && self.waiting_count == 0 && self.awaiting_started.is_none()
    }

    /// Commands waiting (`pending`).
    pub fn waiting(&self) -> usize {
        self.waiting_count
    }

    /// Commands in flight (`sent`).
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The command in flight for pot `pot_id`, if any.
    pub fn in_flight_for(&self, pot_id: &str) -> Option<&CommandRecord> {
        self.in_flight
            .iter()
            .find(|f| matches!(&f.slot, Slot::Pot(p) if p == pot_id))
            .map(|f| &f.record)
    }

    /// Whether a command for `pot_id` is in flight or waiting.
    pub fn pot_busy(&self, pot_id: &str) -> bool {
        self.in_flight_for(pot_id).is_some()
            || self
                .waiting
                .get(&Slot::Pot(pot_id.to_owned()))
                .is_some_and(|q| !q.is_empty())
    }

    /// Pots with a command in flight or waiting.
    pub fn busy_pots(&self) -> std::collections::BTreeSet<String> {
        let in_flight = self.in_flight.iter().map(|f| &f.slot);
        let waiting = self
            .waiting
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(slot, _)| slot);
        in_flight
            .chain(waiting)
            .filter_map(|slot| match slot {
                Slot::Pot(p) => Some(p.clone()),
                Slot::Node => None,
            })
            .collect()
    }

    /// A command that is not final yet.
    pub fn get(&self, id: u64) -> Option<&CommandRecord> {
        self.in_flight
            .iter()
            .map(|f| &f.record)
            .chain(self.waiting.values().flatten())
            .find(|r| r.id == id)
    }

    /// Takes a new command. When the node is `connected` and the command's slot is free with
    /// nobody ahead, it is sent at once; otherwise it waits (`pending`). The first change is
    /// the new command's record. `Place::Front` is never refused.
    pub fn submit(
        &mut self,
        order: Order,
        connected: bool,
        now: Now,
        settings: &CommandSettings,
    ) -> Result<Changes, QueueFull> {
        let Order {
            id,
            command,
            origin,
            place,
        } = order;
        if place == Place::Back && self.waiting_count >= settings.max_waiting {
            return Err(QueueFull(self.waiting_count));
        }
        let slot = Slot::of(&command);
        let record = CommandRecord {
            id,
            command,
            status: CommandStatus::Pending,
            created_at: now.wall,
            updated_at: now.wall,
            result: None,
            settlement: None,
            origin,
            deadline: None,
        };
        let mut changes = Vec::new();
        // Most nodes have one command at a time: room for one, not the default four (a fleet
        // registering at once holds a book per node).
        let queue = self
            .waiting
            .entry(slot.clone())
            .or_insert_with(|| VecDeque::with_capacity(1));
        match place {
            Place::Back => queue.push_back(record),
            Place::Front => queue.push_front(record),
        }
        self.waiting_count += 1;
        if connected {
            self.dispatch(&slot, now, settings, &mut changes);
        }
        let sent_at_once = changes.first().is_some_and(|r| r.id == id);
        if !sent_at_once && let Some(record) = self.get(id) {
            // It waits: its creation is the change.
            changes.insert(0, record.clone());
        }
        Ok(changes)
    }

    /// The node is connected: sends the first waiting command of every free slot, in the
    /// order those commands were submitted.
    pub fn dispatch_all(&mut self, now: Now, settings: &CommandSettings) -> Changes {
        let mut slots: Vec<(Slot, u64)> = self
            .waiting
            .iter()
            .filter_map(|(slot, queue)| queue.front().map(|r| (slot.clone(), r.id)))
            .collect();
        slots.sort_by_key(|(_, id)| *id);
        let mut changes = Vec::new();
        for (slot, _) in slots {
            self.dispatch(&slot, now, settings, &mut changes);
        }
        changes
    }

    /// The connection the in-flight commands were sent on is gone: they fail (their answers
    /// cannot be told apart any more). Waiting ones keep waiting.
    pub fn connection_lost(&mut self, now: Now) -> Changes {
        let result = message("the connection to the node was lost before it answered");
        self.in_flight
            .drain(..)
            .map(|f| {
                let failed = (CommandStatus::Failed, Settlement::ConnectionLost);
                settle(f.record, failed, Some(result.clone()), now)
            })
            .collect()
    }

    /// Every waiting command fails with `reason` (the node can take no commands).
    pub fn refuse_waiting(&mut self, reason: &str, now: Now) -> Changes {
        self.waiting_count = 0;
        std::mem::take(&mut self.waiting)
            .into_values()
            .flatten()
            .map(|r| {
                let failed = (CommandStatus::Failed, Settlement::NotSent);
                settle(r, failed, Some(message(reason)), now)
            })
            .collect()
    }

    /// A `PotStatusUpdate`: listed by a `GetInstalledPots` in its window, and an answer to the
    /// command in flight for that pot.
    pub fn pot_report(
        &mut self,
        pot_id: &str,
        pot_type: &str,
        status: PotStatus,
        message: Option<&str>,
        now: Now,
        settings: &CommandSettings,
    ) -> Changes {
        if let Some(listed) = self
            .in_flight
            .iter_mut()
            .find_map(|f| match &mut f.progress {
                Progress::Listed(listed) => Some(listed),
                _ => None,
            })
        {
            list_pot(listed, pot_id, pot_type, status, message);
        }
        let mut changes = Vec::new();
        let answered = self
            .in_flight
            .iter()
            .enumerate()
            .find_map(|(i, f)| match &f.slot {
                Slot::Pot(id) if id == pot_id => {
                    pot_verdict(&f.record.command, status).map(|v| (i, v))
                }
                _ => None,
            });
        if let Some((index, verdict)) = answered {
            let result = answer(status.as_str(), message);
            let settled = (verdict.status(), Settlement::Answered);
            self.finish(index, settled, Some(result), now, settings, &mut changes);
        }
        changes
    }

    /// A `NodeEvent`: `Error` fails the in-flight command whose pot it names, else the oldest;
    /// `Started` completes a `Restart`; any other answers the oldest command that any event
    /// answers.
    pub fn node_event(
        &mut self,
        kind: NodeEventKind,
        text: Option<&str>,
        now: Now,
        settings: &CommandSettings,
    ) -> Changes {
        let trailing = self
            .awaiting_started
            .take()
            .is_some_and(|until| now.instant <= until);
        let restart = self.position(|c| *c == Command::Restart);
        if kind == NodeEventKind::Started && trailing && restart.is_none() {
            // The `Started` of the restart that already completed: it answers nothing else.
            return Vec::new();
        }
        let target = match kind {
            NodeEventKind::Error => self.error_target(text.unwrap_or_default()),
            _ => (kind == NodeEventKind::Started)
                .then(|| self.position(|c| *c == Command::Restart))
                .flatten()
                .or_else(|| self.position(answered_by_any_event)),
        };
        let mut changes = Vec::new();
        if let Some(index) = target {
            let settled = match kind {
                NodeEventKind::Error => (CommandStatus::Failed, Settlement::NodeError),
                _ => (CommandStatus::Completed, Settlement::Answered),
            };
            let result = answer(kind.as_str(), text);
            self.finish(index, settled, Some(result), now, settings, &mut changes);
        }
        changes
    }

    /// A node status: a `Restart` in flight completes on `Running` after a `Stopped`.
    pub fn node_status(
        &mut self,
        status: NodeStatus,
        now: Now,
        settings: &CommandSettings,
    ) -> Changes {
        let mut changes = Vec::new();
        let Some(index) = self.position(|c| *c == Command::Restart) else {
            return changes;
        };
        let restart = &mut self.in_flight[index];
        match (status, &restart.progress) {
            (NodeStatus::Stopped, _) => restart.progress = Progress::NodeStopped,
            (NodeStatus::Running, Progress::NodeStopped) => {
                self.awaiting_started = Some(now.instant + STARTED_GRACE);
                let result = answer(status.as_str(), None);
                let settled = (CommandStatus::Completed, Settlement::Answered);
                self.finish(index, settled, Some(result), now, settings, &mut changes);
            }
            _ => {}
        }
        changes
    }

    /// The deadline of command `id` passed: a `GetInstalledPots` completes with the pots its
    /// window collected; anything else times out. Nothing happens before its deadline or once
    /// it is no longer in flight.
    pub fn expire(&mut self, id: u64, now: Now, settings: &CommandSettings) -> Changes {
        let mut changes = Vec::new();
        let Some(index) = self
            .in_flight
            .iter()
            .position(|f| f.record.id == id && f.record.deadline.is_some_and(|d| d <= now.instant))
        else {
            return changes;
        };
        let (settled, result) = match &self.in_flight[index].progress {
            Progress::Listed(listed) => (
                (CommandStatus::Completed, Settlement::WindowClosed),
                pots_result(listed),
            ),
            _ => {
                let waited = timeout_of(&self.in_flight[index].record.command, settings);
                (
                    (CommandStatus::TimedOut, Settlement::TimedOut),
                    message(&format!("no answer within {waited:?}")),
                )
            }
        };
        self.finish(index, settled, Some(result), now, settings, &mut changes);
        changes
    }

    /// The oldest in-flight command `matches` accepts.
    fn position(&self, matches: impl Fn(&Command) -> bool) -> Option<usize> {
        self.in_flight
            .iter()
            .position(|f| matches(&f.record.command))
    }

    /// Which in-flight command a `NodeEvent` `Error` fails: the one whose pot the message
    /// names (the longest such pot id), else the oldest. `GetInstalledPots` cannot fail.
    fn error_target(&self, text: &str) -> Option<usize> {
        let can_fail = |f: &&InFlight| f.record.command != Command::GetInstalledPots;
        let named = self
            .in_flight
            .iter()
            .enumerate()
            .filter(|(_, f)| can_fail(f))
            .filter_map(|(i, f)| match &f.slot {
                Slot::Pot(id) if names_pot(text, id) => Some((i, id.len())),
                _ => None,
            })
            .min_by_key(|(i, len)| (std::cmp::Reverse(*len), *i))
            .map(|(i, _)| i);
        named.or_else(|| self.in_flight.iter().position(|f| can_fail(&f)))
    }

    /// Settles in-flight command `index` and sends the next one waiting for its slot.
    fn finish(
        &mut self,
        index: usize,
        settled: (CommandStatus, Settlement),
        result: Option<Value>,
        now: Now,
        settings: &CommandSettings,
        changes: &mut Changes,
    ) {
        let done = self.in_flight.remove(index);
        changes.push(settle(done.record, settled, result, now));
        self.dispatch(&done.slot, now, settings, changes);
    }

    /// Sends the first command waiting for `slot` if the slot is free.
    fn dispatch(
        &mut self,
        slot: &Slot,
        now: Now,
        settings: &CommandSettings,
        changes: &mut Changes,
    ) {
        if self.in_flight.iter().any(|f| f.slot == *slot) {
            return;
        }
        let Some(queue) = self.waiting.get_mut(slot) else {
            return;
        };
        let Some(mut record) = queue.pop_front() else {
            return;
        };
        if queue.is_empty() {
            self.waiting.remove(slot);
        }
        self.waiting_count -= 1;
        record.status = CommandStatus::Sent;
        record.updated_at = now.wall;
        record.deadline = Some(now.instant + timeout_of(&record.command, settings));
        let progress = match record.command {
            Command::GetInstalledPots => Progress::Listed(Vec::new()),
            _ => Progress::Waiting,
        };
        changes.push(record.clone());
        self.in_flight.reserve_exact(1);
        self.in_flight.push(InFlight {
            slot: slot.clone(),
            record,
            progress,
        });
    }
}

fn settle(
    mut record: CommandRecord,
    (status, settlement): (CommandStatus, Settlement),
    result: Option<Value>,
    now: Now,
) -> CommandRecord {
    record.status = status;
    record.settlement = Some(settlement);
    record.updated_at = now.wall;
    record.result = result;
    record
}

fn list_pot(
    listed: &mut Vec<ListedPot>,
    pot_id: &str,
    pot_type: &str,
    status: PotStatus,
    message: Option<&str>,
) {
    let pot = ListedPot {
        pot_id: pot_id.to_owned(),
        pot_type: pot_type.to_owned(),
        status,
        message: message.map(str::to_owned),
    };
    if let Some(known) = listed.iter_mut().find(|p| p.pot_id == pot_id) {
        *known = pot;
    } else if listed.len() < MAX_LISTED_POTS {
        listed.push(pot);
    }
}
