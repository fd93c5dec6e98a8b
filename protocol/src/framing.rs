//! The incremental frame splitter: bytes in arbitrary chunks → frames, following PROTOCOL.md's
//! framing rules exactly.
//!
//! - A frame that starts with `{` (after spaces or tabs) ends at its matching `}`, string-aware;
//!   it needs no newline, so `{..}{..}` and `{..} {..}` on one line are two frames.
//! - A raw `\n` before that `}` ends the frame unfinished (decoding it fails to parse).
//! - Anything else runs to the end of its line and is one frame (decoding it gives the error).
//! - `\r` before `\n` is ignored; blank lines are ignored.
//! - A frame over `max_frame` bytes yields one [`Frame::TooLarge`] and the rest of its line is
//!   discarded as it arrives, holding no memory; if no `\n` comes within 4 × `max_frame` bytes of
//!   the start of that line, [`Frame::Overflow`] says to close the connection.
//!
//! Recoverable problems come out as items, never as `Err`, because a tokio-util `FramedRead`
//! ends its stream at the first error.

use bytes::{Buf, Bytes, BytesMut};

/// One item of the splitter's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A frame's bytes, without line ending, to decode. Lines that do not start with `{` and
    /// objects cut short by a newline come out here too: decoding gives their error code.
    Data(Bytes),
    /// A frame over the limit (`MESSAGE_TOO_LARGE`, once per overlong line).
    TooLarge,
    /// An overlong line ran past 4 × the limit without a newline: close the connection. Nothing
    /// more is yielded after this.
    Overflow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames: skipping blanks.
    Between,
    /// Inside a frame that began with `{`.
    Object,
    /// Inside a frame that runs to the end of its line.
    Line,
    /// Dropping the rest of an overlong line.
    Discard,
    /// After an overflow: everything is ignored.
    Closed,
}

/// Splits a byte stream into frames. Feed it through [`FrameSplitter::push`], or use it as a
/// tokio-util `Decoder` (feature `codec`).
#[derive(Debug)]
pub struct FrameSplitter {
    max_frame: usize,
    state: State,
    /// Bytes at the front of the input already scanned as part of the current frame.
    scanned: usize,
    /// Bytes since the last `\n`, for the overflow rule.
    line_len: usize,
    /// Object scanning: brace depth outside strings, and string state.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Input held between [`FrameSplitter::push`] calls.
    pending: BytesMut,
}

/// How a frame ended.
enum End {
    /// At a `}` closing the object: the frame is `consumed` bytes long.
    Brace { consumed: usize },
    /// At a `\n` (not part of the frame).
    Newline { consumed: usize },
}

impl FrameSplitter {
    /// A splitter refusing frames longer than `max_frame` bytes (at least 1).
    pub fn new(max_frame: usize) -> Self {
        FrameSplitter {
            max_frame: max_frame.max(1),
            state: State::Between,
            scanned: 0,
            line_len: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            pending: BytesMut::new(),
        }
    }

    /// The frame size limit.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Feeds a chunk and returns the items it completes, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Frame> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(frame) = self.next_frame(&mut pending) {
            out.push(frame);
        }
        self.pending = pending;
        out
    }

    /// Ends the stream: yields an unfinished last frame, if any.
    pub fn finish(&mut self) -> Vec<Frame> {
        let mut pending = std::mem::take(&mut self.pending);
        let mut out = Vec::new();
        while let Some(frame) = self
            .next_frame(&mut pending)
            .or_else(|| self.finish_frame(&mut pending))
        {
            out.push(frame);
        }
        out
    }

    /// The next item from `src`, consuming what it used; `None` when `src` holds no complete
    /// item yet (a partial frame stays in `src`, already scanned).
    pub fn next_frame(&mut self, src: &mut BytesMut) -> Option<Frame> {
        loop {
            match self.state {
                State::Closed => {
                    src.clear();
                    return None;
                }
                State::Between => {
                    let blanks = src
                        .iter()
                        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                        .count();
                    self.consume(src, blanks);
                    let &first = src.first()?;
                    self.start_frame(if first == b'{' {
                        State::Object
                    } else {
                        State::Line
                    });
                }
                State::Object | State::Line => {
                    let end = match self.scan(src) {
                        Some(end) => end,
                        None if self.surely_too_large(src) => {
                            let scanned = self.scanned;
                            self.consume(src, scanned);
                            self.state = State::Discard;
                            return Some(Frame::TooLarge);
                        }
                        None => return None,
                    };
                    return Some(self.end_frame(src, end));
                }
                State::Discard => {
                    // A newline ends the discarding if at most 4 × the limit precede it on
                    // its line.
                    let budget = self
                        .max_frame
                        .saturating_mul(4)
                        .saturating_sub(self.line_len);
                    let window = &src[..src.len().min(budget.saturating_add(1))];
                    if let Some(newline) = window.iter().position(|&b| b == b'\n') {
                        self.consume(src, newline + 1);
                        self.state = State::Between;
                    } else if src.len() > budget {
                        src.clear();
                        self.state = State::Closed;
                        return Some(Frame::Overflow);
                    } else {
                        let all = src.len();
                        self.consume(src, all);
                        return None;
                    }
                }
            }
        }
    }

    /// At the end of the stream: the unfinished frame in `src`, if any.
    pub fn finish_frame(&mut self, src: &mut BytesMut) -> Option<Frame> {
        match self.state {
            State::Object | State::Line if !src.is_empty() => {
                let len = src.len();
                let content = trim_cr(&src[..len]);
                let frame = if content > self.max_frame {
                    src.clear();
                    Frame::TooLarge
                } else {
                    let data = src.split_to(content).freeze();
                    src.clear();
                    Frame::Data(data)
                };
                self.state = State::Between;
                self.scanned = 0;
                Some(frame)
            }
            _ => {
                src.clear();
                None
            }
        }
    }

    fn start_frame(&mut self, state: State) {
        self.state = state;
        self.scanned = 0;
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
    }

    /// Scans the current frame from where the last call stopped, up to the most a frame may
    /// hold (+2 for a `\r\n` ending), and says where it ended, if it did.
    fn scan(&mut self, src: &[u8]) -> Option<End> {
        let window = &src[..src.len().min(self.max_frame + 2)];
        let from = self.scanned;
        let found = if self.state == State::Line {
            window[from..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| End::Newline { consumed: from + i })
        } else {
            self.scan_object(&window[from..]).map(|end| match end {
                End::Brace { consumed } => End::Brace {
                    consumed: from + consumed,
                },
                End::Newline { consumed } => End::Newline {
                    consumed: from + consumed,
                },
            })
        };
        if found.is_none() {
            self.scanned = window.len();
        }
        found
    }

    /// String-aware brace matching over `bytes`, continuing the saved state.
    fn scan_object(&mut self, bytes: &[u8]) -> Option<End> {
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                return Some(End::Newline { consumed: i });
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' => self.depth += 1,
                b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(End::Brace { consumed: i + 1 });
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Whether the unfinished frame already holds more than the limit (a last `\r` may still
    /// turn out to be part of a `\r\n` ending, so it is not counted yet).
    fn surely_too_large(&self, src: &[u8]) -> bool {
        trim_cr(&src[..self.scanned]) > self.max_frame
    }

    /// Yields the frame that ended at `end` and moves past it.
    fn end_frame(&mut self, src: &mut BytesMut, end: End) -> Frame {
        self.scanned = 0;
        let (content, through) = match end {
            End::Brace { consumed } => (consumed, consumed),
            End::Newline { consumed } => (trim_cr(&src[..consumed]), consumed + 1),
        };
        let ended_line = matches!(end, End::Newline { .. });
        if content > self.max_frame {
            self.consume(src, through);
            self.state = if ended_line {
                State::Between
            } else {
                State::Discard
            };
            return Frame::TooLarge;
        }
        let data = src.split_to(content).freeze();
        self.line_len = self.line_len.saturating_add(content);
        self.consume(src, through - content);
        self.state = State::Between;
        Frame::Data(data)
    }

    /// Drops `n` bytes from the front of `src`, keeping `line_len` up to date.
    fn consume(&mut self, src: &mut BytesMut, n: usize) {
        let dropped = &src[..n];
        self.line_len = match dropped.iter().rposition(|&b| b == b'\n') {
            Some(last) => n - last - 1,
            None => self.line_len.saturating_add(n),
        };
        src.advance(n);
    }
}

/// The length of `line` without the `\r` of a `\r\n` ending.
fn trim_cr(line: &[u8]) -> usize {
    match line {
        [.., b'\r'] => line.len() - 1,
        _ => line.len(),
    }
}

#[cfg(feature = "codec")]
impl tokio_util::codec::Decoder for FrameSplitter {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        Ok(self.next_frame(src))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        Ok(self.next_frame(src).or_else(|| self.finish_frame(src)))
    }
}

#[cfg(test)]
mod tests;
