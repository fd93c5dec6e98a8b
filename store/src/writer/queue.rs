//! The writer thread's queue of work not yet committed, in arrival order, and how a batch is
//! cut from its front (at most `max_batch` events; an appended `Vec` may be split). A
//! [`Receipt`] waits in the queue like any other op and is answered once the batch holding it
//! commits: everything queued before it is then durable.

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
    /// Someone waits for everything queued before this to be durable.
    Receipt(Receipt),
}

impl Op {
    pub(crate) fn events(&self) -> usize {
        match self {
            Op::Events(v) => v.len(),
            Op::Fleet(_) | Op::Receipt(_) => 0,
        }
    }
}

/// Called once, on the writer thread, when everything queued before it has committed; dropped
/// without a call if the writer stops with it still queued (its data could not be stored).
pub(crate) struct Receipt(Box<dyn FnOnce() + Send>);

impl Receipt {
    pub(crate) fn new(on_durable: impl FnOnce() + Send + 'static) -> Self {
        Receipt(Box::new(on_durable))
    }

    pub(crate) fn answer(self) {
        (self.0)();
    }
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receipt")
    }
}

#[derive(Debug, Default)]
pub(crate) struct Queue {
    ops: VecDeque<(Instant, Op)>,
    events: usize,
    /// Receipts queued, and when the oldest of them arrived (a batch holding it is due soon).
    receipts: usize,
    first_receipt: Option<Instant>,
}

impl Queue {
    pub(crate) fn push(&mut self, op: Op, at: Instant) {
        self.events += op.events();
        if matches!(op, Op::Receipt(_)) {
            self.receipts += 1;
            self.first_receipt.get_or_insert(at);
        }
        self.ops.push_back((at, op));
    }

    /// When the oldest waiting receipt arrived, if any.
    pub(crate) fn first_receipt(&self) -> Option<Instant> {
        self.first_receipt
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
        self.receipts -= batch.receipts;
        // Receipts cut off behind a full batch are due with the next one.
        self.first_receipt = self
            .first_receipt
            .and(self.oldest())
            .filter(|_| self.receipts > 0);
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
        self.receipts += batch.receipts;
        for item in batch.ops.into_iter().rev() {
            self.ops.push_front(item);
        }
        if self.receipts > 0 {
            self.first_receipt = self.oldest();
        }
    }
}

/// Ops committed together.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) ops: Vec<(Instant, Op)>,
    pub(crate) events: usize,
    receipts: usize,
}

impl Batch {
    fn push(&mut self, at: Instant, op: Op) {
        self.events += op.events();
        self.receipts += usize::from(matches!(op, Op::Receipt(_)));
        self.ops.push((at, op));
    }

    /// Takes the batch's receipts out (to answer once it has committed).
    pub(crate) fn take_receipts(&mut self) -> Vec<Receipt> {
        if self.receipts == 0 {
            return Vec::new();
        }
        let mut receipts = Vec::with_capacity(self.receipts);
        for (at, op) in std::mem::take(&mut self.ops) {
            match op {
                Op::Receipt(r) => receipts.push(r),
                op => self.ops.push((at, op)),
            }
        }
        self.receipts = 0;
        receipts
    }

    /// The batch's events, in order.
    pub(crate) fn events(&self) -> impl Iterator<Item = &NewEvent> {
        self.ops.iter().flat_map(|(_, op)| match op {
            Op::Events(v) => v.as_slice(),
            Op::Fleet(_) | Op::Receipt(_) => &[],
        })
    }

    pub(crate) fn into_events(self) -> impl Iterator<Item = NewEvent> {
        self.ops.into_iter().flat_map(|(_, op)| match op {
            Op::Events(v) => v,
            Op::Fleet(_) | Op::Receipt(_) => Vec::new(),
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
    fn receipts_travel_in_order_and_stay_due_until_committed() {
        let t0 = Instant::now();
        let t1 = t0 + std::time::Duration::from_millis(5);
        let mut q = Queue::default();
        q.push(events(3), t0);
        assert_eq!(q.first_receipt(), None);
        q.push(Op::Receipt(Receipt::new(|| {})), t1);
        q.push(events(4), t1);
        q.push(Op::Receipt(Receipt::new(|| {})), t1);
        assert_eq!(q.first_receipt(), Some(t1));

        // The first batch holds the first receipt; the second waits, due at once.
        let mut b = q.take_batch(5);
        assert_eq!(b.take_receipts().len(), 1);
        assert_eq!(b.events, 5);
        assert_eq!(q.first_receipt(), Some(t1));
        // A failed commit puts it back: it is due again.
        q.put_back(b);
        assert_eq!(q.first_receipt(), Some(t0));

        let b = q.take_batch(100);
        assert_eq!(
            b.receipts, 1,
            "the receipt taken out before the failure is gone"
        );
        assert!(q.is_empty());
        assert_eq!(q.first_receipt(), None);
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
