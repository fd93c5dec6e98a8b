//! The writer thread's queue of work not yet committed, in arrival order, and how a batch is
//! cut from its front (at most `max_batch` events; an appended `Vec` may be split).

use std::collections::VecDeque;
use std::time::Instant;

use crate::event::NewEvent;
use crate::fleet::FleetOp;

/// Queue capacity kept however idle the writer is.
const KEEP_OPS: usize = 1024;

/// One unit of queued work.
#[derive(Debug)]
pub(crate) enum Op {
    Events(Vec<NewEvent>),
    /// Boxed: a burst of registrations queues thousands of these, and the queue's slots
    /// should be small.
    Fleet(Box<FleetOp>),
}

impl Op {
    pub(crate) fn events(&self) -> usize {
        match self {
            Op::Events(v) => v.len(),
            Op::Fleet(_) => 0,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Queue {
    ops: VecDeque<(Instant, Op)>,
    events: usize,
}

impl Queue {
    pub(crate) fn push(&mut self, op: Op, at: Instant) {
        self.events += op.events();
        self.ops.push_back((at, op));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub(crate) fn events(&self) -> usize {
        self.events
    }

    /// When the oldest queued op arrived.
    pub(crate) fn oldest(&self) -> Option<Instant> {
        self.ops.front().map(|(at, _)| *at)
    }

    /// Takes ops from the front holding at most `max_events` events (splitting an event list
    /// if needed). Fleet ops travel with the events around them.
    pub(crate) fn take_batch(&mut self, max_events: usize) -> Batch {
        let mut batch = Batch::default();
        while let Some((at, op)) = self.ops.pop_front() {
            let room = max_events - batch.events;
            match op {
                Op::Events(mut v) if v.len() > room => {
                    if room == 0 {
                        self.ops.push_front((at, Op::Events(v)));
                        break;
                    }
                    let rest = v.split_off(room);
                    self.ops.push_front((at, Op::Events(rest)));
                    batch.push(at, Op::Events(v));
                    break;
                }
                op => batch.push(at, op),
            }
        }
        self.events -= batch.events;
        self.give_back_spare();
        batch
    }

    /// A burst (a fleet registering at once) grows the queue; once it has drained, the
    /// capacity left behind goes back to the allocator instead of staying for the process's life.
    fn give_back_spare(&mut self) {
        if self.ops.capacity() > KEEP_OPS && self.ops.len() * 4 < self.ops.capacity() {
            self.ops.shrink_to((self.ops.len() * 2).max(KEEP_OPS));
        }
    }

    /// Puts a batch that failed to commit back at the front, in its order.
    pub(crate) fn put_back(&mut self, batch: Batch) {
        self.events += batch.events;
        for item in batch.ops.into_iter().rev() {
            self.ops.push_front(item);
        }
    }
}

/// Ops committed together.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) ops: Vec<(Instant, Op)>,
    pub(crate) events: usize,
}

impl Batch {
    fn push(&mut self, at: Instant, op: Op) {
        self.events += op.events();
        self.ops.push((at, op));
    }

    pub(crate) fn into_events(self) -> impl Iterator<Item = NewEvent> {
        self.ops.into_iter().flat_map(|(_, op)| match op {
            Op::Events(v) => v,
            Op::Fleet(_) => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::event::TimestampSource;

    fn events(n: usize) -> Op {
        let e = NewEvent {
            node_id: 1,
            node_name: "n".into(),
            pot_id: "p".into(),
            pot_type: None,
            event_type: "t".into(),
            timestamp: "2024-01-15T10:30:00Z".into(),
            timestamp_source: TimestampSource::Node,
            received_at: SystemTime::UNIX_EPOCH,
            src_ip: None,
            username: None,
            password: None,
            command: None,
            download_url: None,
            sha256: None,
            data: "{}".into(),
        };
        Op::Events(vec![e; n])
    }

    fn link() -> Op {
        Op::Fleet(Box::new(FleetOp::LinkNodeId {
            node_id: 1,
            alias_id: 2,
        }))
    }

    #[test]
    fn batches_hold_at_most_max_events_and_keep_order() {
        let now = Instant::now();
        let mut q = Queue::default();
        q.push(events(3), now);
        q.push(link(), now);
        q.push(events(4), now);
        q.push(link(), now);
        let sizes = |b: &Batch| b.ops.iter().map(|(_, op)| op.events()).collect::<Vec<_>>();

        let b = q.take_batch(5);
        assert_eq!((b.events, sizes(&b)), (5, vec![3, 0, 2]));
        assert_eq!(q.events(), 2);
        q.put_back(b);
        assert_eq!(q.events(), 7);

        let b = q.take_batch(5);
        assert_eq!(sizes(&b), vec![3, 0, 2]);
        let b = q.take_batch(5);
        assert_eq!((b.events, sizes(&b)), (2, vec![2, 0]));
        assert!(q.is_empty());
    }

    #[test]
    fn a_drained_burst_gives_its_capacity_back() {
        let now = Instant::now();
        let mut q = Queue::default();
        for _ in 0..50_000 {
            q.push(link(), now);
        }
        assert!(q.ops.capacity() >= 50_000);
        while !q.is_empty() {
            q.take_batch(1_000);
        }
        assert!(q.ops.capacity() <= 2 * KEEP_OPS, "{}", q.ops.capacity());
    }
}
