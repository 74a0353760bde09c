//! IMAP sections: section numbers ("1", "2.1.3") resolved against the part tree
//! (RFC 3501 6.4.5), and the bytes of a part sliced from the raw message.

use crate::Part;

impl Part {
    /// Whether this part is a multipart with its body parts in [`Part::parts`]. A multipart
    /// that could not be split (no boundary, too deep) is never reported as one: its
    /// `content_type` is rewritten, so `content_type == "multipart"` iff this is true.
    pub fn is_multipart(&self) -> bool {
        !self.parts.is_empty()
    }

    /// The part at an IMAP section path, `self` being the message's root part. Part 1 of a
    /// message that is not multipart is its body (the root itself); the parts of an enclosed
    /// message/rfc822 are numbered under the message/rfc822 part, e.g. "2.1".
    pub fn find_section(&self, path: &[u32]) -> Option<&Part> {
        let (&first, rest) = path.split_first()?;
        let mut part = message_child(self, first)?;
        for &n in rest {
            part = if part.is_multipart() {
                part.parts.get(index(n)?)?
            } else {
                let (_, enclosed) = part.message.as_deref()?;
                message_child(enclosed, n)?
            };
        }
        Some(part)
    }

    /// Like [`Part::find_section`] with the path as text ("1.2"); `None` if it is malformed.
    pub fn find_section_str(&self, path: &str) -> Option<&Part> {
        let numbers = path
            .split('.')
            .map(|n| n.parse::<u32>().ok())
            .collect::<Option<Vec<_>>>()?;
        self.find_section(&numbers)
    }
}

impl Part {
    /// The encoded body of this part in `raw` (`BODY[n]`, or `TEXT` of the root or of an
    /// enclosed message's root). Offsets are clamped, so a wrong `raw` gives wrong bytes,
    /// never a panic.
    pub fn body<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        slice(raw, self.body_start, self.body_end)
    }

    /// The header of this part in `raw`, with the empty line ending it (`BODY[n.MIME]`, or
    /// `HEADER` of the root or of an enclosed message's root).
    pub fn header<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        slice(raw, self.header_start, self.body_start)
    }
}

fn slice(raw: &[u8], start: u64, end: u64) -> &[u8] {
    let start = usize::try_from(start).unwrap_or(usize::MAX).min(raw.len());
    let end = usize::try_from(end)
        .unwrap_or(usize::MAX)
        .clamp(start, raw.len());
    raw.get(start..end).unwrap_or_default()
}

fn index(n: u32) -> Option<usize> {
    usize::try_from(n).ok()?.checked_sub(1)
}

/// Part `n` of the message whose root part is `root`.
fn message_child(root: &Part, n: u32) -> Option<&Part> {
    if root.is_multipart() {
        root.parts.get(index(n)?)
    } else if n == 1 {
        Some(root)
    } else {
        None
    }
}
