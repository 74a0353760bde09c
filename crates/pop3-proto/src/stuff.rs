//! Message text in a multi-line response: byte-stuffing (a line starting with `.` gets one
//! more, RFC 1939 section 3), CRLF line ends, and the cut that TOP makes.

use crate::reply::END;

/// Writes message text as the body of a multi-line response, chunk by chunk, so that a large
/// message need not be copied whole. Lines that start with `.` get a second one; a bare LF
/// becomes CRLF; [`DotStuffer::finish`] ends the last line and writes the final `.`.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    /// The next byte starts a line.
    at_line_start: bool,
    /// The last byte written was a CR (its LF may come in the next chunk).
    after_cr: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer::new()
    }
}

impl DotStuffer {
    pub fn new() -> DotStuffer {
        DotStuffer {
            at_line_start: true,
            after_cr: false,
        }
    }

    /// Appends `input`, stuffed, to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 64);
        for piece in input.split_inclusive(|&b| b == b'\n') {
            if self.at_line_start && piece.first() == Some(&b'.') {
                out.push(b'.');
            }
            match piece.strip_suffix(b"\n") {
                Some(text) => {
                    let has_cr = text.last() == Some(&b'\r') || (text.is_empty() && self.after_cr);
                    out.extend_from_slice(text);
                    out.extend_from_slice(if has_cr { b"\n" } else { b"\r\n" });
                    self.at_line_start = true;
                    self.after_cr = false;
                }
                None => {
                    out.extend_from_slice(piece);
                    self.at_line_start = false;
                    self.after_cr = piece.last() == Some(&b'\r');
                }
            }
        }
    }

    /// Ends the last line if the text did not, and writes the terminating `.` line.
    pub fn finish(self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(if self.after_cr { b"\n" } else { b"\r\n" });
        }
        out.extend_from_slice(END);
    }
}

/// The cut that `TOP msg lines` makes, chunk by chunk: the header, the empty line after it
/// and the first `lines` lines of the body (the whole message when it has fewer, or no empty
/// line at all).
#[derive(Debug, Clone)]
pub struct TopCut {
    in_header: bool,
    /// Body lines still to send.
    left: u32,
    /// What the current line holds so far: nothing, a lone CR, or more.
    line: LineStart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineStart {
    Empty,
    Cr,
    Text,
}

impl TopCut {
    pub fn new(lines: u32) -> TopCut {
        TopCut {
            in_header: true,
            left: lines,
            line: LineStart::Empty,
        }
    }

    /// The part of `chunk` (the next bytes of the message) that belongs to the output, and
    /// whether the output is complete with it (nothing after it is sent).
    pub fn take<'a>(&mut self, chunk: &'a [u8]) -> (&'a [u8], bool) {
        let mut pos = 0;
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            pos += piece.len();
            let Some(text) = piece.strip_suffix(b"\n") else {
                self.line = match (self.line, piece) {
                    (LineStart::Empty, b"\r") => LineStart::Cr,
                    _ => LineStart::Text,
                };
                continue;
            };
            let empty = match self.line {
                LineStart::Empty => text.is_empty() || text == b"\r",
                LineStart::Cr => text.is_empty(),
                LineStart::Text => false,
            };
            self.line = LineStart::Empty;
            if self.in_header {
                if empty {
                    self.in_header = false;
                    if self.left == 0 {
                        return (&chunk[..pos], true);
                    }
                }
            } else {
                self.left = self.left.saturating_sub(1);
                if self.left == 0 {
                    return (&chunk[..pos], true);
                }
            }
        }
        (chunk, false)
    }
}

/// [`TopCut`] over a whole message.
pub fn top(message: &[u8], lines: u32) -> &[u8] {
    TopCut::new(lines).take(message).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(chunks: &[&[u8]]) -> Vec<u8> {
        let mut s = DotStuffer::new();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn stuffing() {
        assert_eq!(stuff(&[b"a\r\n.b\r\n..\r\n"]), b"a\r\n..b\r\n...\r\n.\r\n");
        assert_eq!(stuff(&[b".\r\n"]), b"..\r\n.\r\n");
        assert_eq!(stuff(&[b""]), b".\r\n");
        assert_eq!(stuff(&[b"no end"]), b"no end\r\n.\r\n");
        assert_eq!(stuff(&[b"lf\n.only\n"]), b"lf\r\n..only\r\n.\r\n");
        assert_eq!(stuff(&[b"a.b\r\n x.\r\n"]), b"a.b\r\n x.\r\n.\r\n");
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let text: &[u8] = b"Subject: x\r\n\r\n.line\r\nnext\n..\r\nend.\r\n.";
        let whole = stuff(&[text]);
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(
                    stuff(&[&text[..i], &text[i..j], &text[j..]]),
                    whole,
                    "split at {i}, {j}"
                );
            }
        }
        assert_eq!(
            whole,
            b"Subject: x\r\n\r\n..line\r\nnext\r\n...\r\nend.\r\n..\r\n.\r\n"
        );
    }

    #[test]
    fn top_cuts_after_the_header() {
        let m: &[u8] = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
        assert_eq!(top(m, 0), b"A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(top(m, 2), b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n");
        assert_eq!(top(m, 10), m);
        assert_eq!(top(b"A: 1\n\nbody\nmore", 1), b"A: 1\n\nbody\n");
        assert_eq!(top(b"A: 1\n\nbody\nmore", 2), b"A: 1\n\nbody\nmore");
        assert_eq!(top(b"A: 1\r\nno body", 0), b"A: 1\r\nno body");
        assert_eq!(top(b"\r\nbody\r\n", 0), b"\r\n");
        assert_eq!(top(b"A: 1\r\n\r\n", 3), b"A: 1\r\n\r\n");
    }

    #[test]
    fn top_cut_is_the_same_in_chunks() {
        let m: &[u8] = b"A: 1\r\nB: \r\n\r\n\r\nl2\r\n\rx\r\nl4\nl5";
        for lines in 0..7 {
            let whole = top(m, lines);
            for i in 0..=m.len() {
                let mut cut = TopCut::new(lines);
                let mut out = Vec::new();
                let (a, done) = cut.take(&m[..i]);
                out.extend_from_slice(a);
                if !done {
                    out.extend_from_slice(cut.take(&m[i..]).0);
                }
                assert_eq!(out, whole, "lines {lines}, split at {i}");
            }
        }
        assert_eq!(top(m, 0), b"A: 1\r\nB: \r\n\r\n");
        assert_eq!(top(m, 1), b"A: 1\r\nB: \r\n\r\n\r\n");
        assert_eq!(top(m, 3), b"A: 1\r\nB: \r\n\r\n\r\nl2\r\n\rx\r\n");
        assert_eq!(top(m, 9), m);
    }
}
