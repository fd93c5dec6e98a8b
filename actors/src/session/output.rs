//! The session's output side: a byte-counting wrapper around the socket's write half, so the
//! session knows how much it queued that the node has not taken yet (actix's `Writer` buffers
//! without bound when the socket is full), and the bad-frame counter.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::AsyncWrite;

/// Counts the bytes the socket accepted.
pub struct CountingWriter<W> {
    inner: W,
    written: Rc<Cell<u64>>,
}

impl<W> CountingWriter<W> {
    pub fn new(inner: W) -> (Self, Rc<Cell<u64>>) {
        let written = Rc::new(Cell::new(0));
        (
            CountingWriter {
                inner,
                written: Rc::clone(&written),
            },
            written,
        )
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for CountingWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            self.written.set(self.written.get() + n as u64);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Bad frames counted in fixed one-minute windows: O(1) whatever the configured maximum.
#[derive(Debug, Clone, Default)]
pub struct BadFrameCounter {
    window_start: Option<Instant>,
    count: u32,
}

impl BadFrameCounter {
    /// Counts one bad frame at `now`; returns how many fell in the current minute.
    pub fn count(&mut self, now: Instant) -> u32 {
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

    #[test]
    fn counts_what_the_socket_took() {
        let (mut writer, written) = CountingWriter::new(Vec::<u8>::new());
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let poll = Pin::new(&mut writer).poll_write(&mut cx, b"hello");
        assert!(matches!(poll, Poll::Ready(Ok(5))));
        assert_eq!(written.get(), 5);
    }
}
