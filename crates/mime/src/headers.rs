//! Header blocks: where an entity's header ends, and its fields both as raw (unfolded) text
//! and as values parsed by `mail-parser`.

use mail_parser::{Header, HeaderValue, MessageParser};

/// Only this much of one header block is handed to the field parser; the offsets of the
/// block itself are not affected. Bounds memory for a message made of megabytes of headers.
const MAX_PARSED_HEADER_BLOCK: usize = 1024 * 1024;

/// Offset where the body of the entity in `raw[start..end]` starts: just past the first
/// empty line (CRLF or lone LF). Without an empty line the entity is header-only (the body
/// starts at `end`), unless its first line has no colon at all, in which case it has no header
/// and the body starts at `start`.
pub(crate) fn header_end(raw: &[u8], start: usize, end: usize) -> usize {
    let end = end.min(raw.len());
    if start >= end {
        return end;
    }
    let mut pos = start;
    while pos < end {
        let rest = raw.get(pos..end).unwrap_or_default();
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => (rest.get(..nl).unwrap_or_default(), pos + nl + 1),
            None => (rest, end),
        };
        if line.is_empty() || line == b"\r" {
            return next;
        }
        if pos == start && !line.contains(&b':') {
            return start;
        }
        pos = next;
    }
    end
}

/// The length of the top-level header block of a message (with the empty line ending it),
/// exactly as [`crate::parse_message`] delimits it (`BODY[HEADER]`), worked out from the first
/// bytes of the message only. `complete` tells whether `prefix` is the whole message.
/// `None` when the prefix is too short to tell: the header may go on past it.
pub fn header_len_in_prefix(prefix: &[u8], complete: bool) -> Option<usize> {
    if complete {
        return Some(header_end(prefix, 0, prefix.len()));
    }
    // Only whole lines: the walk then sees each line exactly as it would in the full message.
    let last_nl = prefix.iter().rposition(|&b| b == b'\n')?;
    let lines = prefix.get(..=last_nl).unwrap_or_default();
    let end = header_end(lines, 0, lines.len());
    if end < lines.len() {
        return Some(end);
    }
    // `end` is the end of the lines: either an empty line ends them (the header really ends
    // there) or the walk ran out of lines (the header goes on).
    let before = lines.get(..lines.len() - 1).unwrap_or_default();
    let before = before.strip_suffix(b"\r").unwrap_or(before);
    (before.is_empty() || before.ends_with(b"\n")).then_some(end)
}

/// The fields of one header block.
pub(crate) struct Headers<'x> {
    block: &'x [u8],
    fields: Vec<Header<'x>>,
}

impl<'x> Headers<'x> {
    /// Parses a header block (including its terminating empty line, if any) with the
    /// standard typed parsers: addresses, dates, ids, Content-Type, unstructured text.
    pub(crate) fn parse(block: &'x [u8]) -> Self {
        Self::parse_with(block, &MessageParser::new())
    }

    /// Parses a header block decoding every field as unstructured text (RFC 2047 words
    /// decoded), for the searchable header index.
    pub(crate) fn parse_as_text(block: &'x [u8]) -> Self {
        let parser = MessageParser::new()
            .header_text(mail_parser::HeaderName::Subject)
            .default_header_text();
        Self::parse_with(block, &parser)
    }

    fn parse_with(block: &'x [u8], parser: &MessageParser) -> Self {
        let parsed = parsable_prefix(block);
        let fields = if parsed.is_empty() {
            Vec::new()
        } else {
            parser
                .parse_headers(parsed)
                .and_then(|message| message.parts.into_iter().next())
                .map(|part| part.headers)
                .unwrap_or_default()
        };
        Headers { block, fields }
    }

    /// All fields in order.
    pub(crate) fn fields(&self) -> &[Header<'x>] {
        &self.fields
    }

    /// The first field called `name` (case-insensitive).
    pub(crate) fn field(&self, name: &str) -> Option<&Header<'x>> {
        self.fields
            .iter()
            .find(|field| field.name().eq_ignore_ascii_case(name))
    }

    /// The parsed value of the first field called `name`.
    pub(crate) fn value(&self, name: &str) -> Option<&HeaderValue<'x>> {
        self.field(name).map(|field| field.value())
    }

    /// The raw value of the first field called `name`: unfolded, trimmed, encoded words kept.
    pub(crate) fn raw(&self, name: &str) -> Option<String> {
        self.field(name).map(|field| self.raw_value(field))
    }

    /// The raw value of one field: unfolded, trimmed, encoded words kept.
    pub(crate) fn raw_value(&self, field: &Header<'_>) -> String {
        let start = field.offset_start() as usize;
        let end = (field.offset_end() as usize).min(self.block.len());
        let bytes = self.block.get(start..end).unwrap_or_default();
        let unfolded: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        String::from_utf8_lossy(&unfolded).trim().to_string()
    }
}

/// The block, or its first [`MAX_PARSED_HEADER_BLOCK`] bytes cut after a line end.
fn parsable_prefix(block: &[u8]) -> &[u8] {
    if block.len() <= MAX_PARSED_HEADER_BLOCK {
        return block;
    }
    let head = block.get(..MAX_PARSED_HEADER_BLOCK).unwrap_or(block);
    match head.iter().rposition(|&b| b == b'\n') {
        Some(nl) => head.get(..=nl).unwrap_or(head),
        None => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_end_finds_the_empty_line() {
        let raw = b"Subject: a\r\nX: b\r\n\r\nbody";
        assert_eq!(header_end(raw, 0, raw.len()), 20);
        let raw = b"Subject: a\nX: b\n\nbody";
        assert_eq!(header_end(raw, 0, raw.len()), 17);
    }

    #[test]
    fn header_len_from_a_prefix_matches_the_whole_message() {
        let messages: [&[u8]; 9] = [
            b"Subject: a\r\n folded\r\nFrom: b\r\n\r\nbody\r\n",
            b"Subject: a\nFrom: b\n\nbody\n",
            b"Subject: only a header\r\n",
            b"Subject: only a header",
            b"no colon here\r\nSubject: x\r\n\r\n",
            b"\r\nbody only",
            b"\nbody only",
            b"Subject: x\r\n\r\n",
            b"Subject: x\n\r\nbody",
        ];
        for raw in messages {
            let whole = header_end(raw, 0, raw.len());
            for cut in 0..=raw.len() {
                let prefix = &raw[..cut];
                if let Some(n) = header_len_in_prefix(prefix, cut == raw.len()) {
                    assert_eq!(n, whole, "{:?} cut at {cut}", String::from_utf8_lossy(raw));
                } else {
                    // Once the empty line (or a colon-less first line) is in, it is known.
                    let known = whole > 0 && raw[whole - 1] == b'\n' && cut >= whole;
                    assert!(!known, "{:?} cut at {cut}", String::from_utf8_lossy(raw));
                }
            }
            assert_eq!(header_len_in_prefix(raw, true), Some(whole));
        }
    }

    #[test]
    fn header_end_without_separator() {
        let raw = b"Subject: only a header\r\n";
        assert_eq!(header_end(raw, 0, raw.len()), raw.len());
        let raw = b"just some text\r\nmore: text\r\n";
        assert_eq!(header_end(raw, 0, raw.len()), 0);
        let raw = b"\r\nbody right away";
        assert_eq!(header_end(raw, 0, raw.len()), 2);
        assert_eq!(header_end(b"", 0, 0), 0);
    }

    #[test]
    fn raw_values_are_unfolded_and_typed_values_parsed() {
        let block = b"Subject: =?utf-8?q?caf=C3=A9?=\r\n  folded\r\nTo: a@b.c,\r\n\tc@d.e\r\n\r\n";
        let headers = Headers::parse(block);
        assert_eq!(
            headers.raw("subject").as_deref(),
            Some("=?utf-8?q?caf=C3=A9?=  folded")
        );
        assert_eq!(headers.raw("TO").as_deref(), Some("a@b.c,\tc@d.e"));
        assert_eq!(
            headers.value("subject").and_then(|v| v.as_text()),
            Some("café folded")
        );
        assert!(headers.raw("cc").is_none());
    }
}
