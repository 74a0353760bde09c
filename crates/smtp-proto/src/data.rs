//! The body of DATA: bytes up to a line holding a single `.`, with the leading dot of every
//! other line that starts with one removed (RFC 5321 section 4.5.2).
//!
//! Lines end with CRLF only: a `.` after a bare LF, or followed by a bare LF, does not end the
//! message (a server that treated it differently from the MTA before it could be fed a
//! second, smuggled message). The CRLF before the final `.` belongs to the message.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line (after CRLF, or at the very start).
    LineStart,
    /// Inside a line.
    Text,
    /// After a CR inside a line.
    Cr,
    /// After a `.` at the start of a line.
    Dot,
    /// After `.` CR at the start of a line.
    DotCr,
}

/// Decodes a DATA body from a byte stream, chunk by chunk.
#[derive(Debug, Clone)]
pub struct DotDecoder {
    state: State,
    limit: usize,
    size: usize,
}

impl DotDecoder {
    /// A decoder that keeps at most `limit` bytes of message; the rest is counted and
    /// dropped (see [`DotDecoder::overflowed`]) so that the stream stays in step.
    pub fn new(limit: usize) -> DotDecoder {
        DotDecoder {
            state: State::LineStart,
            limit,
            size: 0,
        }
    }

    /// Whether the message was larger than the limit.
    pub fn overflowed(&self) -> bool {
        self.size > self.limit
    }

    /// Size of the decoded message so far, dropped bytes included.
    pub fn size(&self) -> usize {
        self.size
    }

    fn emit(&mut self, b: u8, out: &mut Vec<u8>) {
        self.size = self.size.saturating_add(1);
        if self.size <= self.limit {
            out.push(b);
        }
    }

    /// Consumes `input`, appending message bytes to `out`. Returns `Some(n)` when the end
    /// line was found, `n` being the bytes of `input` used up to and including it (the rest
    /// is the next command); `None` when all of `input` was used and more is needed.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        for (i, &b) in input.iter().enumerate() {
            match self.state {
                State::LineStart if b == b'.' => self.state = State::Dot,
                State::LineStart | State::Text => {
                    self.emit(b, out);
                    self.state = if b == b'\r' { State::Cr } else { State::Text };
                }
                State::Cr => self.after_cr(b, out),
                State::Dot => {
                    if b == b'\r' {
                        self.state = State::DotCr;
                    } else {
                        // The stuffed dot is dropped.
                        self.emit(b, out);
                        self.state = State::Text;
                    }
                }
                State::DotCr => {
                    if b == b'\n' {
                        self.state = State::LineStart;
                        return Some(i + 1);
                    }
                    self.emit(b'\r', out);
                    self.after_cr(b, out);
                }
            }
        }
        None
    }

    fn after_cr(&mut self, b: u8, out: &mut Vec<u8>) {
        self.emit(b, out);
        self.state = match b {
            b'\n' => State::LineStart,
            b'\r' => State::Cr,
            _ => State::Text,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in chunks of `step`; returns (message, bytes consumed) once ended.
    fn decode(input: &[u8], step: usize, limit: usize) -> Option<(Vec<u8>, usize, bool)> {
        let mut d = DotDecoder::new(limit);
        let mut out = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let end = (at + step).min(input.len());
            if let Some(n) = d.feed(&input[at..end], &mut out) {
                return Some((out, at + n, d.overflowed()));
            }
            at = end;
        }
        None
    }

    #[test]
    fn ends_at_crlf_dot_crlf_in_any_chunking() {
        let input = b"Subject: x\r\n\r\nhello\r\n..dots\r\n.x\r\n.\r\nQUIT\r\n";
        for step in 1..input.len() {
            let (msg, used, over) = decode(input, step, 1000).unwrap();
            assert_eq!(
                msg, b"Subject: x\r\n\r\nhello\r\n.dots\r\nx\r\n",
                "step {step}"
            );
            assert_eq!(&input[used..], b"QUIT\r\n");
            assert!(!over);
        }
    }

    #[test]
    fn empty_message_and_dot_lines() {
        assert_eq!(decode(b".\r\n", 1, 10), Some((vec![], 3, false)));
        let (msg, _, _) = decode(b"a\r\n.\r\r\n.\r\n", 2, 100).unwrap();
        assert_eq!(msg, b"a\r\n\r\r\n");
    }

    #[test]
    fn bare_lf_never_ends_the_message() {
        assert_eq!(decode(b"a\n.\nb\r\n", 1, 100), None);
        assert_eq!(decode(b"a\r\n.\nb\r\n", 3, 100), None);
        assert_eq!(decode(b"a\n.\r\nb", 3, 100), None);
        let (msg, _, _) = decode(b"a\n.\r\n.\r\n", 1, 100).unwrap();
        assert_eq!(msg, b"a\n.\r\n");
    }

    #[test]
    fn overflow_is_counted_and_the_stream_stays_in_step() {
        let input = b"0123456789\r\nabc\r\n.\r\nNEXT";
        let (msg, used, over) = decode(input, 4, 5).unwrap();
        assert_eq!(msg, b"01234");
        assert!(over);
        assert_eq!(&input[used..], b"NEXT");
    }
}
