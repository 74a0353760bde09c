//! APPEND with MULTIAPPEND, BINARY literal8 and the UTF8 (RFC 6855) data extension.

use super::{PResult, Parser, bad};
use crate::command::{AppendMessage, CommandBody};

impl Parser<'_> {
    /// `APPEND SP mailbox 1*(SP [flag-list SP] [date-time SP] append-data)`
    pub(super) fn append(&mut self) -> PResult<CommandBody> {
        let mailbox = self.sp_mailbox()?;
        let mut messages = Vec::new();
        while self.eat(b' ') {
            messages.push(self.append_message()?);
        }
        if messages.is_empty() {
            return bad("APPEND needs a message");
        }
        Ok(CommandBody::Append { mailbox, messages })
    }

    fn append_message(&mut self) -> PResult<AppendMessage> {
        let mut flags = Vec::new();
        if self.peek() == Some(b'(') {
            flags = self.flag_list()?;
            self.sp()?;
        }
        let mut date = None;
        if self.peek() == Some(b'"') {
            date = Some(self.date_time()?);
            self.sp()?;
        }
        let (data, binary) = match self.peek() {
            Some(b'U') | Some(b'u') => {
                if self.atom_upper()? != "UTF8" {
                    return bad("expected a literal");
                }
                self.sp()?;
                self.expect(b'(', "expected ( after UTF8")?;
                let (data, _) = self.literal(true)?;
                self.expect(b')', "expected ) after UTF8 literal")?;
                (data, true)
            }
            _ => self.literal(true)?,
        };
        Ok(AppendMessage {
            flags,
            date,
            data: data.to_vec(),
            binary,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn append_and_multiappend() {
        let CommandBody::Append {
            mailbox: mbox,
            messages,
        } = body(
            "A003 APPEND saved-messages (\\Seen) \"07-Feb-1994 21:52:25 -0800\" {5+}\r\nhello (\\Draft $Work) {3+}\r\nabc ~{3+}\r\na\0b UTF8 (~{2+}\r\nä)\r\n",
        )
        else {
            panic!()
        };
        assert_eq!(mbox, mailbox("saved-messages"));
        assert_eq!(messages.len(), 4);
        let first = &messages[0];
        assert_eq!(first.flags, vec![Flag::Seen]);
        let date = first.date.unwrap();
        assert_eq!(
            (date.date.day, date.date.month, date.hour, date.zone_minutes),
            (7, 2, 21, -480)
        );
        assert_eq!(first.data, b"hello");
        assert_eq!(
            messages[1].flags,
            vec![Flag::Draft, Flag::Keyword("$Work".into())]
        );
        assert_eq!(messages[2].data, b"a\0b");
        assert!(messages[2].binary && !messages[1].binary);
        assert_eq!(messages[3].data, "\u{e4}".as_bytes());
        // A date-time with a space-padded day.
        let CommandBody::Append { messages, .. } =
            body("a APPEND INBOX \" 7-Feb-1994 01:02:03 +0100\" {1+}\r\nx\r\n")
        else {
            panic!()
        };
        assert_eq!(messages[0].date.unwrap().zone_minutes, 60);
    }
}
