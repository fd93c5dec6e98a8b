//! The read side of a node connection: bytes → [`Frame`]s, holding no buffer while idle.
//!
//! A tokio-util `FramedRead` keeps an 8 KiB read buffer for the life of the connection; with
//! thousands of nodes that mostly sit between heartbeats, those buffers are most of the
//! Core's memory. Here each read lands in a scratch buffer shared by every session of the
//! arbiter thread, only what is left of an unfinished frame is kept per connection, and that
//! allocation is given back as soon as the frame completes.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use futures_util::Stream;
use honeybee_protocol::{Frame, FrameSplitter};
use tokio::io::{AsyncRead, ReadBuf};

/// One read's worth of bytes at most (per arbiter thread, shared by its sessions).
const SCRATCH_BYTES: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_BYTES].into_boxed_slice());
}

/// Frames read from `R`, in order; an I/O error ends the stream after it is yielded.
pub(super) struct FrameStream<R> {
    reader: R,
    splitter: FrameSplitter,
    /// The unfinished frame's bytes (empty, with no allocation, between frames).
    pending: BytesMut,
    eof: bool,
}

impl<R> FrameStream<R> {
    pub(super) fn new(reader: R, splitter: FrameSplitter) -> Self {
        FrameStream {
            reader,
            splitter,
            pending: BytesMut::new(),
            eof: false,
        }
    }

    /// Bytes held for an unfinished frame (for tests and measurements).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.pending.capacity()
    }
}

impl<R: AsyncRead + Unpin> Stream for FrameStream<R> {
    type Item = Result<Frame, io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.splitter.next_frame(&mut this.pending) {
                return Poll::Ready(Some(Ok(frame)));
            }
            if this.eof {
                let last = this.splitter.finish_frame(&mut this.pending);
                if last.is_none() {
                    this.pending = BytesMut::new();
                }
                return Poll::Ready(last.map(Ok));
            }
            if this.pending.is_empty() && this.pending.capacity() > 0 {
                // Between frames: give the memory back until the node says more.
                this.pending = BytesMut::new();
            }
            let read = SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let mut buf = ReadBuf::new(&mut scratch[..]);
                let polled = Pin::new(&mut this.reader).poll_read(cx, &mut buf);
                if let Poll::Ready(Ok(())) = polled {
                    this.pending.extend_from_slice(buf.filled());
                }
                polled.map_ok(|()| buf.filled().len())
            });
            match ready!(read) {
                Ok(0) => this.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    this.eof = true;
                    this.pending = BytesMut::new();
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;

    fn data(text: &str) -> Frame {
        Frame::Data(bytes::Bytes::copy_from_slice(text.as_bytes()))
    }

    #[tokio::test]
    async fn frames_across_reads_then_nothing_held_between_them() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut frames = FrameStream::new(server, FrameSplitter::new(1024));
        client.write_all(b"{\"a\":1}\n{\"b\":").await.unwrap();
        assert_eq!(frames.next().await.unwrap().unwrap(), data("{\"a\":1}"));
        client.write_all(b"2}\n").await.unwrap();
        assert_eq!(frames.next().await.unwrap().unwrap(), data("{\"b\":2}"));
        client.write_all(b"x").await.unwrap();
        drop(client);
        // The unfinished last line is yielded at the end, then the stream ends.
        assert_eq!(frames.next().await.unwrap().unwrap(), data("x"));
        assert!(frames.next().await.is_none());
        assert_eq!(frames.held(), 0);
    }

    #[tokio::test]
    async fn an_idle_connection_holds_no_read_buffer() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut frames = FrameStream::new(server, FrameSplitter::new(1024));
        client.write_all(&[b' '; 4000]).await.unwrap();
        client.write_all(b"{\"heartbeat\":true}\n").await.unwrap();
        assert_eq!(
            frames.next().await.unwrap().unwrap(),
            data("{\"heartbeat\":true}")
        );
        // Waiting for the next frame: the poll finds nothing to read and holds nothing.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut frames).poll_next(&mut cx).is_pending());
        assert_eq!(frames.held(), 0);
    }
}
