//! The lexical layer of the grammar: atoms, numbers, quoted strings, literals (`{n}`,
//! `{n+}`, `{n-}`, `~{n}`), astrings, nstrings, flags, dates, sequence sets and mailbox
//! names. Every primitive checks bounds and reports `Incomplete` at the end of the input.

use super::{Error, PResult, Parser, bad};
use crate::datetime::{Date, DateTime, month_from_name};
use crate::flag::Flag;
use crate::mailbox::MailboxName;
use crate::sequence::{SeqBound, Sequence, SequenceSet};

/// ATOM-CHAR: any CHAR except atom-specials.
pub(crate) fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// ASTRING-CHAR: ATOM-CHAR or `]`.
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// Characters of a tag: ASTRING-CHAR except `+`.
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// list-char: ATOM-CHAR, list-wildcards or `]`.
fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

impl<'a> Parser<'a> {
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn next_byte(&mut self) -> PResult<u8> {
        let b = self.peek().ok_or(Error::Incomplete)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn expect(&mut self, want: u8, message: &str) -> PResult<()> {
        match self.peek() {
            None => Err(Error::Incomplete),
            Some(b) if b == want => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => bad(message),
        }
    }

    pub(crate) fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "expected a space")
    }

    /// Consumes `b` when it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn at_eol(&self) -> bool {
        matches!(self.peek(), Some(b'\r') | Some(b'\n'))
    }

    /// CRLF (a bare LF is tolerated).
    pub(crate) fn eol(&mut self) -> PResult<()> {
        if self.eat(b'\r') {
            return self.expect(b'\n', "expected LF after CR");
        }
        self.expect(b'\n', "expected end of line")
    }

    /// Enters a parenthesised list or a nested search key, bounded by `max_depth`.
    pub(crate) fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return bad("too deeply nested");
        }
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        self.buf.get(start..self.pos).unwrap_or_default()
    }

    fn nonempty(&self, token: &'a [u8], what: &str) -> PResult<&'a [u8]> {
        if !token.is_empty() {
            return Ok(token);
        }
        match self.peek() {
            None => Err(Error::Incomplete),
            Some(_) => bad(format!("expected {what}")),
        }
    }

    pub(crate) fn tag(&mut self) -> PResult<String> {
        let raw = self.take_while(is_tag_char);
        if raw.is_empty() {
            return bad("missing or invalid tag");
        }
        Ok(ascii(raw))
    }

    /// An atom as text.
    pub(crate) fn atom(&mut self) -> PResult<String> {
        let raw = self.take_while(is_atom_char);
        Ok(ascii(self.nonempty(raw, "an atom")?))
    }

    /// An atom, upper-cased (keywords).
    pub(crate) fn atom_upper(&mut self) -> PResult<String> {
        Ok(self.atom()?.to_ascii_uppercase())
    }

    /// A run of letters, digits, `.` and `-` (FETCH attribute names before `[`), upper-cased.
    pub(crate) fn word_upper(&mut self) -> PResult<String> {
        let raw = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        Ok(ascii(self.nonempty(raw, "a keyword")?).to_ascii_uppercase())
    }

    pub(crate) fn number(&mut self) -> PResult<u32> {
        let n = self.number64()?;
        u32::try_from(n).or_else(|_| bad("number too large"))
    }

    pub(crate) fn nz_number(&mut self) -> PResult<u32> {
        match self.number()? {
            0 => bad("zero is not allowed here"),
            n => Ok(n),
        }
    }

    /// number64 (RFC 9051): at most 2^63-1.
    pub(crate) fn number64(&mut self) -> PResult<u64> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        let digits = self.nonempty(digits, "a number")?;
        let mut n: u64 = 0;
        for &d in digits {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .filter(|n| *n <= i64::MAX as u64)
                .ok_or_else(|| Error::Bad("number too large".to_string()))?;
        }
        Ok(n)
    }

    /// A quoted string, unescaped.
    pub(crate) fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'"', "expected a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.next_byte()? {
                b'"' => return Ok(out),
                b'\\' => match self.next_byte()? {
                    c @ (b'"' | b'\\') => out.push(c),
                    _ => return bad("invalid escape in quoted string"),
                },
                b'\r' | b'\n' => return bad("unterminated quoted string"),
                0 => return bad("NUL in quoted string"),
                c => out.push(c),
            }
        }
    }

    /// A literal (`{n}`, `{n+}`, `{n-}`; `~{n}` when `allow_binary`). Returns the data and
    /// whether it was a literal8.
    pub(crate) fn literal(&mut self, allow_binary: bool) -> PResult<(&'a [u8], bool)> {
        let binary = self.eat(b'~');
        if binary && !allow_binary {
            return bad("literal8 not allowed here");
        }
        self.expect(b'{', "expected a literal")?;
        let size = self.number64()?;
        if !self.eat(b'+') {
            self.eat(b'-');
        }
        self.expect(b'}', "invalid literal announcement")?;
        // A bare LF is tolerated as everywhere else.
        self.eat(b'\r');
        self.expect(b'\n', "expected CRLF after literal announcement")?;
        if size > self.limits.max_literal_size {
            return bad("literal too large");
        }
        let size = usize::try_from(size).or_else(|_| bad("literal too large"))?;
        let end = self.pos.checked_add(size).ok_or(Error::Incomplete)?;
        let data = self.buf.get(self.pos..end).ok_or(Error::Incomplete)?;
        if !binary && data.contains(&0) {
            return bad("NUL in literal (use literal8)");
        }
        self.pos = end;
        Ok((data, binary))
    }

    /// string: quoted or literal.
    pub(crate) fn string(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => Ok(self.literal(false)?.0.to_vec()),
            None => Err(Error::Incomplete),
            Some(_) => bad("expected a string"),
        }
    }

    /// astring: atom (with `]`) or string.
    pub(crate) fn astring(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.string(),
            _ => {
                let raw = self.take_while(is_astring_char);
                Ok(self.nonempty(raw, "a string")?.to_vec())
            }
        }
    }

    /// astring that must be UTF-8.
    pub(crate) fn astring_utf8(&mut self) -> PResult<String> {
        String::from_utf8(self.astring()?).or_else(|_| bad("string is not valid UTF-8"))
    }

    /// string that must be UTF-8.
    pub(crate) fn string_utf8(&mut self) -> PResult<String> {
        String::from_utf8(self.string()?).or_else(|_| bad("string is not valid UTF-8"))
    }

    /// Consumes `NIL` when it is next (not followed by another atom character).
    pub(crate) fn nil(&mut self) -> bool {
        let is_nil = self
            .buf
            .get(self.pos..self.pos + 3)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"NIL"))
            && !self
                .buf
                .get(self.pos + 3)
                .is_some_and(|&b| is_astring_char(b));
        if is_nil {
            self.pos += 3;
        }
        is_nil
    }

    /// nstring that must be UTF-8.
    pub(crate) fn nstring_utf8(&mut self) -> PResult<Option<String>> {
        if self.nil() {
            return Ok(None);
        }
        self.string_utf8().map(Some)
    }

    /// ` mailbox`
    pub(crate) fn sp_mailbox(&mut self) -> PResult<MailboxName> {
        self.sp()?;
        self.mailbox()
    }

    pub(crate) fn mailbox(&mut self) -> PResult<MailboxName> {
        let raw = self.astring()?;
        MailboxName::from_wire(&raw, self.limits.utf8_accept)
            .ok_or_else(|| Error::Refused("invalid mailbox name encoding".into()))
    }

    /// list-mailbox: a mailbox name that may contain `*` and `%`.
    pub(crate) fn list_mailbox(&mut self) -> PResult<MailboxName> {
        let raw = match self.peek() {
            Some(b'"') | Some(b'{') => self.string()?,
            _ => {
                let raw = self.take_while(is_list_char);
                self.nonempty(raw, "a mailbox pattern")?.to_vec()
            }
        };
        MailboxName::from_wire(&raw, self.limits.utf8_accept)
            .ok_or_else(|| Error::Refused("invalid mailbox name encoding".into()))
    }

    /// A flag (`\Seen`, `$Label`, `Work`).
    pub(crate) fn flag(&mut self) -> PResult<Flag> {
        let system = self.eat(b'\\');
        let name = self.atom()?;
        Ok(if system {
            Flag::from_wire(&format!("\\{name}"))
        } else {
            Flag::Keyword(name)
        })
    }

    /// `(flag *(SP flag))`, possibly empty.
    pub(crate) fn flag_list(&mut self) -> PResult<Vec<Flag>> {
        self.expect(b'(', "expected a flag list")?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    /// `(atom *(SP atom))` upper-cased, used by options lists.
    pub(crate) fn atom_list_upper(&mut self) -> PResult<Vec<String>> {
        self.expect(b'(', "expected a list")?;
        let mut out = Vec::new();
        if self.eat(b')') {
            return Ok(out);
        }
        loop {
            out.push(self.atom_upper()?);
            if self.eat(b')') {
                return Ok(out);
            }
            self.sp()?;
        }
    }

    /// A sequence set: `1`, `1:*`, `*:4`, `2,4:7,9`, `$`.
    pub(crate) fn sequence_set(&mut self) -> PResult<SequenceSet> {
        let mut items = Vec::new();
        loop {
            if items.len() >= self.limits.max_sequence_ranges {
                return bad("too many ranges in sequence set");
            }
            if self.eat(b'$') {
                items.push(Sequence::SavedResult);
            } else {
                let start = self.seq_bound()?;
                let end = if self.eat(b':') {
                    self.seq_bound()?
                } else {
                    start
                };
                items.push(Sequence::Range(start, end));
            }
            if !self.eat(b',') {
                return Ok(SequenceSet(items));
            }
        }
    }

    fn seq_bound(&mut self) -> PResult<SeqBound> {
        match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                Ok(SeqBound::Largest)
            }
            Some(b) if b.is_ascii_digit() => Ok(SeqBound::Value(self.nz_number()?)),
            None => Err(Error::Incomplete),
            Some(_) => bad("invalid sequence set"),
        }
    }

    /// date: `1-Feb-2024` or `"1-Feb-2024"`.
    pub(crate) fn date(&mut self) -> PResult<Date> {
        let quoted = self.eat(b'"');
        let day = self.take_while(|b| b.is_ascii_digit());
        let day = digits_value(day, 1, 2).ok_or_else(|| Error::Bad("invalid date".into()))?;
        let date = self.rest_of_date(day)?;
        if quoted {
            self.expect(b'"', "invalid date")?;
        }
        Ok(date)
    }

    /// `-Mon-yyyy` after the day.
    fn rest_of_date(&mut self, day: u32) -> PResult<Date> {
        self.expect(b'-', "invalid date")?;
        let month = self.take_while(|b| b.is_ascii_alphabetic());
        let month = month_from_name(month).ok_or_else(|| Error::Bad("invalid month".into()))?;
        self.expect(b'-', "invalid date")?;
        let year = self.take_while(|b| b.is_ascii_digit());
        let year = digits_value(year, 4, 4).ok_or_else(|| Error::Bad("invalid year".into()))?;
        let (Ok(year), Ok(day)) = (u16::try_from(year), u8::try_from(day)) else {
            return bad("invalid date");
        };
        Date::new(year, month, day).map_or_else(|| bad("invalid date"), Ok)
    }

    /// date-time: `"dd-Mon-yyyy hh:mm:ss +zzzz"` (day may be space-padded).
    pub(crate) fn date_time(&mut self) -> PResult<DateTime> {
        self.expect(b'"', "expected a date-time")?;
        self.eat(b' ');
        let day = self.take_while(|b| b.is_ascii_digit());
        let day = digits_value(day, 1, 2).ok_or_else(|| Error::Bad("invalid date-time".into()))?;
        let date = self.rest_of_date(day)?;
        self.sp()?;
        let hour = self.two_digits(23)?;
        self.expect(b':', "invalid time")?;
        let minute = self.two_digits(59)?;
        self.expect(b':', "invalid time")?;
        let second = self.two_digits(60)?;
        self.sp()?;
        let sign: i16 = match self.next_byte()? {
            b'+' => 1,
            b'-' => -1,
            _ => return bad("invalid zone"),
        };
        let zone = self.take_while(|b| b.is_ascii_digit());
        let zone = digits_value(zone, 4, 4).ok_or_else(|| Error::Bad("invalid zone".into()))?;
        let (hours, minutes) = (zone / 100, zone % 100);
        if hours > 23 || minutes > 59 {
            return bad("invalid zone");
        }
        self.expect(b'"', "invalid date-time")?;
        let zone_minutes = i16::try_from(hours * 60 + minutes).unwrap_or(0) * sign;
        Ok(DateTime {
            date,
            hour,
            minute,
            second,
            zone_minutes,
        })
    }

    fn two_digits(&mut self, max: u32) -> PResult<u8> {
        let raw = self.take_while(|b| b.is_ascii_digit());
        digits_value(raw, 2, 2)
            .filter(|v| *v <= max)
            .and_then(|v| u8::try_from(v).ok())
            .map_or_else(|| bad("invalid time"), Ok)
    }
}

/// The value of `min..=max` ASCII digits.
fn digits_value(digits: &[u8], min: usize, max: usize) -> Option<u32> {
    if digits.len() < min || digits.len() > max {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |n, &d| Some(n * 10 + u32::from(d.checked_sub(b'0')?)))
}

/// Bytes known to be ASCII (checked by the caller's character class) as a String.
fn ascii(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn sequence_sets() {
        assert_eq!(seq("1:*").0, vec![Sequence::Range(v(1), SeqBound::Largest)]);
        assert_eq!(seq("*:4").0, vec![Sequence::Range(SeqBound::Largest, v(4))]);
        assert_eq!(
            seq("2,4:7,9").0,
            vec![
                Sequence::Range(v(2), v(2)),
                Sequence::Range(v(4), v(7)),
                Sequence::Range(v(9), v(9))
            ]
        );
        assert_eq!(seq("$").0, vec![Sequence::SavedResult]);
        assert_eq!(seq("2,4:7,9").to_string(), "2,4:7,9");
        assert!(seq("*:4").contains(7, 7));
        for bad in ["0", "1:0", "1,", ":", "1:*:2", "4294967296", "a"] {
            let input = format!("a UID EXPUNGE {bad}\r\n");
            assert!(matches!(error(&input), ParseError::Bad { .. }), "{bad}");
        }
        let many = vec!["1"; 10_001].join(",");
        let (_, message) = bad_message(&format!("a UID EXPUNGE {many}\r\n"));
        assert!(message.contains("too many ranges"));
        assert_eq!(seq(&vec!["1"; 10_000].join(",")).0.len(), 10_000);
    }
}
