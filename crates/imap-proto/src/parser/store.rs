//! STORE (with .SILENT and UNCHANGEDSINCE), COPY and MOVE.

use super::{PResult, Parser, bad};
use crate::command::{CopyCommand, StoreAction, StoreCommand};

impl Parser<'_> {
    /// `STORE SP sequence-set [SP "(" "UNCHANGEDSINCE" SP n ")"] SP [+-]FLAGS[.SILENT] SP
    /// (flag-list / flag *(SP flag))`
    pub(super) fn store(&mut self, uid: bool) -> PResult<StoreCommand> {
        self.sp()?;
        let sequence_set = self.sequence_set()?;
        self.sp()?;
        let mut unchanged_since = None;
        if self.eat(b'(') {
            if self.atom_upper()? != "UNCHANGEDSINCE" {
                return bad("unknown STORE modifier");
            }
            self.sp()?;
            unchanged_since = Some(self.number64()?);
            self.expect(b')', "expected ) after UNCHANGEDSINCE")?;
            self.sp()?;
        }
        let action = if self.eat(b'+') {
            StoreAction::Add
        } else if self.eat(b'-') {
            StoreAction::Remove
        } else {
            StoreAction::Replace
        };
        let silent = match self.atom_upper()?.as_str() {
            "FLAGS" => false,
            "FLAGS.SILENT" => true,
            _ => return bad("expected FLAGS, +FLAGS or -FLAGS"),
        };
        self.sp()?;
        let flags = if self.peek() == Some(b'(') {
            self.flag_list()?
        } else {
            let mut flags = vec![self.flag()?];
            while self.eat(b' ') {
                flags.push(self.flag()?);
            }
            flags
        };
        Ok(StoreCommand {
            uid,
            sequence_set,
            unchanged_since,
            action,
            silent,
            flags,
        })
    }

    /// `COPY SP sequence-set SP mailbox` (and MOVE)
    pub(super) fn copy(&mut self, uid: bool) -> PResult<CopyCommand> {
        self.sp()?;
        let sequence_set = self.sequence_set()?;
        let mailbox = self.sp_mailbox()?;
        Ok(CopyCommand {
            uid,
            sequence_set,
            mailbox,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn store_copy_move() {
        let CommandBody::Store(store) =
            body("a UID STORE 1:3,5 (UNCHANGEDSINCE 320162338) -FLAGS.SILENT (\\Seen $Junk)\r\n")
        else {
            panic!()
        };
        assert!(store.uid && store.silent);
        assert_eq!(store.action, StoreAction::Remove);
        assert_eq!(store.unchanged_since, Some(320162338));
        assert_eq!(store.flags, vec![Flag::Seen, Flag::Keyword("$Junk".into())]);
        let CommandBody::Store(store) = body("a STORE 2 FLAGS ()\r\n") else {
            panic!()
        };
        assert_eq!(store.action, StoreAction::Replace);
        assert!(store.flags.is_empty());
        let CommandBody::Store(store) = body("a STORE 2 +FLAGS \\Flagged \\Answered\r\n") else {
            panic!()
        };
        assert_eq!(store.flags, vec![Flag::Flagged, Flag::Answered]);
        assert_eq!(
            body("A003 COPY 2:4 MEETING\r\n"),
            CommandBody::Copy(CopyCommand {
                uid: false,
                sequence_set: SequenceSet::range(2, 4),
                mailbox: mailbox("MEETING")
            })
        );
        assert_eq!(
            body("a UID MOVE 42 \"Archive/2024\"\r\n"),
            CommandBody::Move(CopyCommand {
                uid: true,
                sequence_set: SequenceSet::single(42),
                mailbox: mailbox("Archive/2024")
            })
        );
        assert_eq!(
            body("a UID EXPUNGE 3000:3002\r\n"),
            CommandBody::Expunge {
                uids: Some(SequenceSet::range(3000, 3002))
            }
        );
        assert!(matches!(
            error("a STORE 1 FLAG (\\Seen)\r\n"),
            ParseError::Bad { .. }
        ));
        let CommandBody::Store(store) = body("a STORE 1 (UNCHANGEDSINCE 0) FLAGS ()\r\n") else {
            panic!()
        };
        assert_eq!(store.unchanged_since, Some(0));
        for bad in [
            "a STORE 1 (UNCHANGEDSINCE) FLAGS ()\r\n",
            "a STORE 1 (UNCHANGEDSINCE x) FLAGS ()\r\n",
            "a STORE 1 (UNCHANGEDSINCE 1 FOO 2) FLAGS ()\r\n",
            "a STORE 1 (FOO 1) FLAGS ()\r\n",
            "a STORE 1 () FLAGS ()\r\n",
            "a STORE 1 (UNCHANGEDSINCE 9223372036854775808) FLAGS ()\r\n",
        ] {
            assert!(matches!(error(bad), ParseError::Bad { .. }), "{bad}");
        }
    }
}
