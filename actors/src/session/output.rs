//! The session's output side: the frames queued for the node and the one task that writes
//! them, counting what the socket took (so the session knows how much the node has left
//! unread), and the bad-frame counter.
//!
//! Unlike actix's `Writer`, which keeps its buffer for the connection's life, the buffer is
//! given back as soon as the socket has taken everything: most nodes sit idle between a few
//! small frames, and tens of thousands of idle buffers would be most of the Core's memory.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use actix::io::WriteHandler;
use actix::prelude::*;
use bytes::{Buf, BytesMut};
use tokio::io::AsyncWrite;

/// What is waiting to be written, shared by the session and its writing task.
#[derive(Default)]
struct Outbox {
    buf: BytesMut,
    /// Bytes queued so far, and bytes the socket has taken.
    queued: u64,
    written: u64,
    closing: bool,
    /// The writing task, when it waits for something to write.
    waker: Option<Waker>,
}

impl Outbox {
    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// The session's handle on its output.
pub(super) struct Output {
    outbox: Rc<RefCell<Outbox>>,
}

impl Output {
    /// Starts the task writing to `io` in the actor's context. It reports to the actor's
    /// [`WriteHandler`]: `error` on a failed write (the task ends; `finished` follows when
    /// `error` says stop), `finished` once closed and flushed.
    pub(super) fn start<A, W>(io: W, ctx: &mut Context<A>) -> Output
    where
        A: Actor<Context = Context<A>> + WriteHandler<io::Error>,
        W: AsyncWrite + Unpin + 'static,
    {
        let outbox = Rc::new(RefCell::new(Outbox::default()));
        ctx.spawn(Flush {
            io,
            outbox: Rc::clone(&outbox),
        });
        Output { outbox }
    }

    /// Queues `frame` to be written.
    pub(super) fn write(&self, frame: &[u8]) {
        let mut outbox = self.outbox.borrow_mut();
        outbox.buf.extend_from_slice(frame);
        outbox.queued += frame.len() as u64;
        outbox.wake();
    }

    /// Writes what is queued, then reports `finished`.
    pub(super) fn close(&self) {
        let mut outbox = self.outbox.borrow_mut();
        outbox.closing = true;
        outbox.wake();
    }

    /// Bytes queued that the socket has not taken yet (the node has left them unread).
    pub(super) fn unread(&self) -> u64 {
        let outbox = self.outbox.borrow();
        outbox.queued - outbox.written
    }
}

/// The writing task.
struct Flush<W> {
    io: W,
    outbox: Rc<RefCell<Outbox>>,
}

/// Where a round of writing got to.
enum Drained {
    /// Everything was written; waiting for more.
    Idle,
    /// Everything was written and the output is closing.
    Closed,
}

impl<W: AsyncWrite + Unpin> Flush<W> {
    /// Writes and flushes what is queued (the outbox is borrowed only in here, never while
    /// the actor's handlers run).
    fn drain(&mut self, task: &mut TaskContext<'_>) -> Poll<io::Result<Drained>> {
        let mut outbox = self.outbox.borrow_mut();
        while !outbox.buf.is_empty() {
            match Pin::new(&mut self.io).poll_write(task, &outbox.buf) {
                Poll::Ready(Ok(0)) => {
                    outbox.buf = BytesMut::new();
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => {
                    outbox.buf.advance(n);
                    outbox.written += n as u64;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => {
                    outbox.buf = BytesMut::new();
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        // All taken: give the buffer back until the next frame.
        outbox.buf = BytesMut::new();
        match Pin::new(&mut self.io).poll_flush(task) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if outbox.closing {
            return Poll::Ready(Ok(Drained::Closed));
        }
        outbox.waker = Some(task.waker().clone());
        Poll::Ready(Ok(Drained::Idle))
    }
}

impl<A, W> ActorFuture<A> for Flush<W>
where
    A: Actor<Context = Context<A>> + WriteHandler<io::Error>,
    W: AsyncWrite + Unpin,
{
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut Context<A>,
        task: &mut TaskContext<'_>,
    ) -> Poll<()> {
        match self.get_mut().drain(task) {
            Poll::Pending | Poll::Ready(Ok(Drained::Idle)) => Poll::Pending,
            Poll::Ready(Ok(Drained::Closed)) => {
                act.finished(ctx);
                Poll::Ready(())
            }
            // A socket that failed a write is done for: the task ends either way, and the
            // actor decides whether it goes on without its output.
            Poll::Ready(Err(e)) => {
                if act.error(e, ctx) == Running::Stop {
                    act.finished(ctx);
                }
                Poll::Ready(())
            }
        }
    }
}

/// Bad frames counted in fixed one-minute windows: O(1) whatever the configured maximum.
#[derive(Debug, Clone, Default)]
pub(super) struct BadFrameCounter {
    window_start: Option<Instant>,
    count: u32,
}

impl BadFrameCounter {
    /// Counts one bad frame at `now`; returns how many fell in the current minute.
    pub(super) fn count(&mut self, now: Instant) -> u32 {
        let fresh = self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= Duration::from_secs(60));
        if fresh {
            self.window_start = Some(now);
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_frames_per_minute() {
        let mut counter = BadFrameCounter::default();
        let t0 = Instant::now();
        assert_eq!(counter.count(t0), 1);
        assert_eq!(counter.count(t0 + Duration::from_secs(30)), 2);
        assert_eq!(counter.count(t0 + Duration::from_secs(59)), 3);
        assert_eq!(counter.count(t0 + Duration::from_secs(60)), 1);
    }

    /// An actor that only writes: it records when its output finished.
    struct Sink {
        finished: Rc<RefCell<bool>>,
    }

    impl Actor for Sink {
        type Context = Context<Self>;
    }

    impl WriteHandler<io::Error> for Sink {
        fn finished(&mut self, ctx: &mut Context<Self>) {
            *self.finished.borrow_mut() = true;
            ctx.stop();
        }
    }

    #[actix_rt::test]
    async fn writes_everything_in_order_then_holds_no_buffer_and_finishes_on_close() {
        use tokio::io::AsyncReadExt;
        // A pipe much smaller than what is written: the writer must wait for the reader.
        let (mut node, core) = tokio::io::duplex(64);
        let finished = Rc::new(RefCell::new(false));
        let outbox = Rc::new(RefCell::new(None));
        let frames: Vec<Vec<u8>> = (0..200)
            .map(|i| format!("{{\"frame\":{i}}}\n").into_bytes())
            .collect();
        let expected: Vec<u8> = frames.concat();
        let (sent, seen) = (frames.clone(), Rc::clone(&outbox));
        let _sink = Sink::create({
            let finished = Rc::clone(&finished);
            move |ctx| {
                let output = Output::start(core, ctx);
                for frame in &sent {
                    output.write(frame);
                }
                *seen.borrow_mut() = Some(output);
                Sink { finished }
            }
        });
        let mut received = vec![0; expected.len()];
        node.read_exact(&mut received).await.unwrap();
        assert_eq!(received, expected);
        tokio::task::yield_now().await;
        {
            let output = outbox.borrow();
            let output = output.as_ref().unwrap();
            assert_eq!(output.outbox.borrow().written, expected.len() as u64);
            assert_eq!(output.unread(), 0);
            assert_eq!(
                output.outbox.borrow().buf.capacity(),
                0,
                "idle: no buffer held"
            );
            output.close();
        }
        // Closing ends the writing task: the node sees the end of the stream.
        let mut rest = Vec::new();
        node.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        assert!(*finished.borrow());
    }
}
