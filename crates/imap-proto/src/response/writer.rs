//! Low-level serialisation: strings as quoted or literal, NIL, numbers, mailbox names.

use crate::utf7::encode_utf7;

/// Longest string sent quoted; longer ones go as literals.
const MAX_QUOTED: usize = 1024;

/// Appends IMAP tokens to an output buffer.
pub(crate) struct Writer<'o> {
    pub(crate) out: &'o mut Vec<u8>,
    /// UTF8=ACCEPT enabled: UTF-8 may be quoted and mailbox names are not UTF-7 encoded.
    pub(crate) utf8: bool,
}

impl Writer<'_> {
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn number(&mut self, n: impl std::fmt::Display) {
        self.out.extend_from_slice(n.to_string().as_bytes());
    }

    pub(crate) fn sp(&mut self) {
        self.out.push(b' ');
    }

    /// A string: quoted when every byte allows it, literal otherwise.
    pub(crate) fn string(&mut self, s: &[u8]) {
        if self.can_quote(s) {
            self.out.push(b'"');
            for &b in s {
                if b == b'"' || b == b'\\' {
                    self.out.push(b'\\');
                }
                self.out.push(b);
            }
            self.out.push(b'"');
        } else {
            self.literal(s);
        }
    }

    /// A string or NIL.
    pub(crate) fn nstring(&mut self, s: Option<&[u8]>) {
        match s {
            Some(s) => self.string(s),
            None => self.str("NIL"),
        }
    }

    /// A literal, or a literal8 (`~{n}`) when the data has a NUL byte.
    pub(crate) fn literal(&mut self, s: &[u8]) {
        if s.contains(&0) {
            self.out.push(b'~');
        }
        self.out.push(b'{');
        self.number(s.len());
        self.out.extend_from_slice(b"}\r\n");
        self.out.extend_from_slice(s);
    }

    /// An nstring that is always a literal when present (message bodies).
    pub(crate) fn body_data(&mut self, s: Option<&[u8]>) {
        match s {
            Some(s) => self.literal(s),
            None => self.str("NIL"),
        }
    }

    fn can_quote(&self, s: &[u8]) -> bool {
        s.len() <= MAX_QUOTED
            && s.iter().all(|&b| b != 0 && b != b'\r' && b != b'\n')
            && (s.is_ascii() || (self.utf8 && std::str::from_utf8(s).is_ok()))
    }

    /// An atom when `s` is a non-empty run of atom characters, a string otherwise.
    pub(crate) fn astring(&mut self, s: &str) {
        if !s.is_empty() && s.bytes().all(crate::parser::is_astring_char) {
            self.str(s);
        } else {
            self.string(s.as_bytes());
        }
    }

    /// A mailbox name: modified UTF-7 unless UTF8=ACCEPT; always quoted or literal, except
    /// `INBOX`.
    pub(crate) fn mailbox(&mut self, name: &str) {
        if name == "INBOX" {
            self.str("INBOX");
        } else if self.utf8 {
            self.string(name.as_bytes());
        } else {
            self.string(encode_utf7(name).as_bytes());
        }
    }

    /// Text after a status or continuation: no CR, LF or NUL, never empty.
    pub(crate) fn text(&mut self, text: &str) {
        if text.is_empty() {
            self.str("completed");
            return;
        }
        for &b in text.as_bytes() {
            self.out.push(if matches!(b, b'\r' | b'\n' | 0) {
                b' '
            } else {
                b
            });
        }
    }

    /// `(a b c)` using `item` for each element.
    pub(crate) fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.out.push(b'(');
        for (i, t) in items.iter().enumerate() {
            if i > 0 {
                self.sp();
            }
            item(self, t);
        }
        self.out.push(b')');
    }
}
