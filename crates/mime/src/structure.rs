//! The MIME tree of a message (BODYSTRUCTURE) with the byte offsets of every entity.
//!
//! The tree is found by our own walk over the raw bytes rather than taken from
//! `mail-parser`'s message tree, so that offsets follow IMAP's rules exactly, nesting and part
//! counts are bounded, and hostile nesting cannot exhaust the stack: the walk recurses at most
//! [`MAX_DEPTH`] levels. `mail-parser` parses each header block.
//!
//! Offsets of a part (see [`Part`]): `header_start..body_start` is its MIME header including
//! the empty line ending it; `body_start..body_end` is its body. The line break before a
//! boundary delimiter belongs to the delimiter (RFC 2046), so it is not in the body of the part
//! before it. A multipart's body runs from after its header to the end of the multipart's
//! range, preamble, delimiters and epilogue included.

use crate::envelope::envelope;
use crate::headers::{Headers, header_end};
use crate::{Envelope, Part};

/// Parts nest at most this deep (the message itself is level 1). A multipart or
/// message/rfc822 at the last level is kept as an opaque leaf.
pub(crate) const MAX_DEPTH: usize = 32;
/// At most this many parts are listed; later parts of a multipart are left out.
pub(crate) const MAX_PARTS: usize = 10_000;
/// At most this many Content-Type or Content-Disposition parameters are kept per part.
const MAX_PARAMS: usize = 100;

/// The envelope and body structure of the message in `raw`, and its parsed top-level header.
pub(crate) fn parse_structure(raw: &[u8]) -> (Envelope, Part, Headers<'_>) {
    let mut walker = Walker { raw, parts: 0 };
    walker.message(0, raw.len(), 1)
}

/// Type assumed when a part has no (usable) Content-Type.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DefaultType {
    TextPlain,
    /// Inside multipart/digest.
    MessageRfc822,
}

struct Walker<'a> {
    raw: &'a [u8],
    /// Parts created so far.
    parts: usize,
}

impl<'a> Walker<'a> {
    fn header(&self, start: usize, end: usize) -> (usize, Headers<'a>) {
        let body_start = header_end(self.raw, start, end);
        let block = self.raw.get(start..body_start).unwrap_or_default();
        (body_start, Headers::parse(block))
    }

    /// A whole message (the top level or an enclosed message/rfc822) in `raw[start..end]`,
    /// with its parsed header.
    fn message(&mut self, start: usize, end: usize, depth: usize) -> (Envelope, Part, Headers<'a>) {
        let (body_start, headers) = self.header(start, end);
        let envelope = envelope(&headers);
        let part = self.build(
            &headers,
            start,
            body_start,
            end,
            depth,
            DefaultType::TextPlain,
        );
        (envelope, part, headers)
    }

    /// A body part of a multipart in `raw[start..end]`.
    fn entity(&mut self, start: usize, end: usize, depth: usize, default: DefaultType) -> Part {
        let (body_start, headers) = self.header(start, end);
        self.build(&headers, start, body_start, end, depth, default)
    }

    fn build(
        &mut self,
        headers: &Headers<'_>,
        header_start: usize,
        body_start: usize,
        body_end: usize,
        depth: usize,
        default: DefaultType,
    ) -> Part {
        self.parts += 1;
        let mut part = describe(headers, default);
        part.header_start = header_start as u64;
        part.body_start = body_start as u64;
        part.body_end = body_end as u64;
        part.size = body_end.saturating_sub(body_start) as u64;

        let can_nest = depth < MAX_DEPTH && self.parts < MAX_PARTS;
        if part.content_type == "multipart" {
            if can_nest {
                self.multipart(&mut part, depth);
            } else {
                opaque(&mut part);
            }
        } else if part.content_type == "message"
            && part.subtype == "rfc822"
            && matches!(part.encoding.as_str(), "7BIT" | "8BIT" | "BINARY")
            && can_nest
        {
            let (envelope, enclosed, _) = self.message(body_start, body_end, depth + 1);
            part.message = Some(Box::new((envelope, enclosed)));
        }

        if matches!(part.content_type.as_str(), "text" | "message") {
            let body = self.raw.get(body_start..body_end).unwrap_or_default();
            part.lines = count_lines(body);
        }
        part
    }

    /// Splits a multipart body into its parts. A multipart without a boundary, or whose
    /// boundary never occurs, is read as text/plain.
    fn multipart(&mut self, part: &mut Part, depth: usize) {
        let boundary = part
            .params
            .iter()
            .find(|(name, _)| name == "boundary")
            .map(|(_, value)| value.clone())
            .filter(|b| !b.is_empty());
        let Some(boundary) = boundary else {
            as_text(part);
            return;
        };
        let default = if part.subtype == "digest" {
            DefaultType::MessageRfc822
        } else {
            DefaultType::TextPlain
        };
        let ranges = split_multipart(
            self.raw,
            part.body_start as usize,
            part.body_end as usize,
            boundary.as_bytes(),
            MAX_PARTS.saturating_sub(self.parts),
        );
        for (start, end) in ranges {
            if self.parts >= MAX_PARTS {
                break;
            }
            let child = self.entity(start, end, depth + 1, default);
            part.parts.push(child);
        }
        if part.parts.is_empty() {
            as_text(part);
        }
    }
}

/// Type, parameters and the other MIME fields of a part from its header.
fn describe(headers: &Headers<'_>, default: DefaultType) -> Part {
    let mut part = Part::default();
    let content_type = headers
        .value("content-type")
        .and_then(|v| v.as_content_type())
        .filter(|ct| {
            !ct.ctype().trim().is_empty() && ct.subtype().is_some_and(|s| !s.trim().is_empty())
        });
    match content_type {
        Some(ct) => {
            part.content_type = ct.ctype().trim().to_ascii_lowercase();
            part.subtype = ct.subtype().unwrap_or_default().trim().to_ascii_lowercase();
            part.params = params(ct.attributes());
        }
        None if default == DefaultType::MessageRfc822 => {
            part.content_type = "message".into();
            part.subtype = "rfc822".into();
        }
        None => {
            part.content_type = "text".into();
            part.subtype = "plain".into();
            part.params = vec![("charset".into(), "us-ascii".into())];
        }
    }

    part.encoding = headers
        .raw("content-transfer-encoding")
        .and_then(|raw| {
            raw.split(|c: char| c.is_ascii_whitespace() || c == '(' || c == ';')
                .next()
                .map(str::to_ascii_uppercase)
        })
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "7BIT".into());

    let non_empty = |name: &str| headers.raw(name).filter(|v| !v.is_empty());
    part.id = non_empty("content-id");
    part.description = non_empty("content-description");
    part.md5 = non_empty("content-md5");
    part.location = non_empty("content-location");
    part.language = headers
        .raw("content-language")
        .map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(MAX_PARAMS)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    part.disposition = headers
        .value("content-disposition")
        .and_then(|v| v.as_content_type())
        .filter(|d| !d.ctype().trim().is_empty())
        .map(|d| {
            (
                d.ctype().trim().to_ascii_lowercase(),
                params(d.attributes()),
            )
        });
    part
}

fn params(attributes: Option<&[mail_parser::Attribute<'_>]>) -> Vec<(String, String)> {
    attributes
        .unwrap_or_default()
        .iter()
        .take(MAX_PARAMS)
        .map(|a| (a.name.to_ascii_lowercase(), a.value.to_string()))
        .collect()
}

/// A multipart too deep (or past the part limit) to be split: one opaque leaf.
fn opaque(part: &mut Part) {
    part.content_type = "application".into();
    part.subtype = "octet-stream".into();
}

/// A multipart that cannot be split is read as text.
fn as_text(part: &mut Part) {
    part.content_type = "text".into();
    part.subtype = "plain".into();
    part.params.retain(|(name, _)| name != "boundary");
}

/// Whether `line` (without its LF) is a delimiter of `boundary`: `Some(true)` for the close
/// delimiter, `Some(false)` for a part delimiter.
fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    if rest.starts_with(b"--") {
        Some(true)
    } else if rest.iter().all(u8::is_ascii_whitespace) {
        Some(false)
    } else {
        None
    }
}

/// Where the content before a delimiter line starting at `line_start` ends: before the line
/// break preceding the delimiter, never before `content_start`.
fn content_end(raw: &[u8], line_start: usize, content_start: usize) -> usize {
    let mut end = line_start;
    if end > content_start && raw.get(end - 1) == Some(&b'\n') {
        end -= 1;
        if end > content_start && raw.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
    }
    end.max(content_start)
}

/// Ranges of the body parts of the multipart body `raw[start..end]`, at most `max` of them.
/// A part left open by a missing close delimiter runs to `end`.
fn split_multipart(
    raw: &[u8],
    start: usize,
    end: usize,
    boundary: &[u8],
    max: usize,
) -> Vec<(usize, usize)> {
    let end = end.min(raw.len());
    let mut children = Vec::new();
    let mut open: Option<usize> = None;
    let mut pos = start;
    while pos < end && children.len() < max {
        let rest = raw.get(pos..end).unwrap_or_default();
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => (rest.get(..nl).unwrap_or_default(), pos + nl + 1),
            None => (rest, end),
        };
        if let Some(closing) = delimiter(line, boundary) {
            if let Some(content_start) = open.take() {
                children.push((content_start, content_end(raw, pos, content_start)));
            }
            if closing {
                return children;
            }
            open = Some(next);
        }
        pos = next;
    }
    if let Some(content_start) = open
        && children.len() < max
    {
        children.push((content_start, end));
    }
    children
}

/// Lines of a body: line breaks, plus one for a last line without one.
fn count_lines(body: &[u8]) -> u64 {
    let breaks = body.iter().filter(|&&b| b == b'\n').count() as u64;
    match body.last() {
        Some(b'\n') | None => breaks,
        Some(_) => breaks + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(delimiter(b"--abc", b"abc"), Some(false));
        assert_eq!(delimiter(b"--abc  \r", b"abc"), Some(false));
        assert_eq!(delimiter(b"--abc--", b"abc"), Some(true));
        assert_eq!(delimiter(b"--abc--\r", b"abc"), Some(true));
        assert_eq!(delimiter(b"--abcdef", b"abc"), None);
        assert_eq!(delimiter(b"-abc", b"abc"), None);
    }

    #[test]
    fn split_offsets_exclude_the_line_break_before_a_delimiter() {
        let body = b"preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue";
        let ranges = split_multipart(body, 0, body.len(), b"b", usize::MAX);
        assert_eq!(ranges.len(), 2);
        assert_eq!(&body[ranges[0].0..ranges[0].1], b"A: 1\r\n\r\none");
        assert_eq!(&body[ranges[1].0..ranges[1].1], b"\r\ntwo");
    }

    #[test]
    fn split_without_close_delimiter_runs_to_the_end() {
        let body = b"--b\nx\n--b\ny\ntruncated";
        let ranges = split_multipart(body, 0, body.len(), b"b", usize::MAX);
        assert_eq!(ranges.len(), 2);
        assert_eq!(&body[ranges[1].0..ranges[1].1], b"y\ntruncated");
        let ranges = split_multipart(body, 0, body.len(), b"b", 1);
        assert_eq!(ranges.len(), 1);
    }

    #[test]
    fn empty_parts_between_adjacent_delimiters() {
        let body = b"--b\r\n--b\r\n--b--";
        let ranges = split_multipart(body, 0, body.len(), b"b", usize::MAX);
        assert_eq!(ranges, vec![(5, 5), (10, 10)]);
    }

    #[test]
    fn lines() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\r\n"), 1);
        assert_eq!(count_lines(b"a\r\nb"), 2);
    }
}
