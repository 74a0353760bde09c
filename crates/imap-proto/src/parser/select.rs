//! SELECT and EXAMINE with CONDSTORE and QRESYNC parameters.

use super::{PResult, Parser, bad};
use crate::command::{QResync, SelectCommand};

impl Parser<'_> {
    /// `SELECT SP mailbox [SP "(" select-param *(SP select-param) ")"]`
    pub(super) fn select(&mut self) -> PResult<SelectCommand> {
        let mailbox = self.sp_mailbox()?;
        let mut command = SelectCommand {
            mailbox,
            condstore: false,
            qresync: None,
        };
        if !self.eat(b' ') {
            return Ok(command);
        }
        self.expect(b'(', "expected select parameters")?;
        if self.eat(b')') {
            return Ok(command);
        }
        loop {
            let name = self.atom_upper()?;
            match name.as_str() {
                "CONDSTORE" if !command.condstore => command.condstore = true,
                "QRESYNC" if command.qresync.is_none() => {
                    self.sp()?;
                    command.qresync = Some(self.qresync()?);
                }
                _ => {
                    return bad(format!(
                        "unknown SELECT parameter {}",
                        super::printable(&name)
                    ));
                }
            }
            if self.eat(b')') {
                return Ok(command);
            }
            self.sp()?;
        }
    }

    /// `"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`
    fn qresync(&mut self) -> PResult<QResync> {
        self.expect(b'(', "expected QRESYNC parameters")?;
        let uid_validity = self.nz_number()?;
        self.sp()?;
        let modseq = self.number64()?;
        let mut known_uids = None;
        let mut seq_match = None;
        if self.eat(b' ') {
            if self.peek() != Some(b'(') {
                known_uids = Some(self.sequence_set()?);
                if self.eat(b' ') {
                    seq_match = Some(self.seq_match()?);
                }
            } else {
                seq_match = Some(self.seq_match()?);
            }
        }
        self.expect(b')', "expected ) after QRESYNC parameters")?;
        Ok(QResync {
            uid_validity,
            modseq,
            known_uids,
            seq_match,
        })
    }

    fn seq_match(&mut self) -> PResult<(crate::SequenceSet, crate::SequenceSet)> {
        self.expect(b'(', "expected sequence match data")?;
        let seqs = self.sequence_set()?;
        self.sp()?;
        let uids = self.sequence_set()?;
        self.expect(b')', "expected ) after sequence match data")?;
        Ok((seqs, uids))
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn select_with_condstore_and_qresync() {
        let CommandBody::Examine(select) = body("a EXAMINE Archive (CONDSTORE)\r\n") else {
            panic!()
        };
        assert!(select.condstore);
        let CommandBody::Select(select) =
            body("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n")
        else {
            panic!()
        };
        let q = select.qresync.unwrap();
        assert_eq!((q.uid_validity, q.modseq), (67890007, 20050715194045000));
        assert_eq!(q.known_uids.unwrap().to_string(), "41,43:211,214:541");
        assert!(q.seq_match.is_none());
        let CommandBody::Select(select) = body(
            "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976:29979)))\r\n",
        ) else {
            panic!()
        };
        let (seqs, uids) = select.qresync.unwrap().seq_match.unwrap();
        assert_eq!(seqs.to_string(), "5000,7500,9000,9990:9999");
        assert_eq!(uids.0.len(), 6);
        let CommandBody::Select(select) =
            body("a SELECT INBOX (CONDSTORE QRESYNC (1 0 (1 2)))\r\n")
        else {
            panic!()
        };
        let q = select.qresync.unwrap();
        assert!(select.condstore && q.known_uids.is_none());
        assert_eq!(q.seq_match.unwrap().1.to_string(), "2");
        for bad in [
            "a SELECT INBOX (CONDSTORE CONDSTORE)\r\n",
            "a SELECT INBOX (FOO)\r\n",
            "a SELECT INBOX (QRESYNC)\r\n",
            "a SELECT INBOX (QRESYNC ())\r\n",
            "a SELECT INBOX (QRESYNC (0 5))\r\n",
            "a SELECT INBOX (QRESYNC (1))\r\n",
            "a SELECT INBOX (QRESYNC (1 5 1:* (1)))\r\n",
            "a SELECT INBOX (QRESYNC (1 5) QRESYNC (1 5))\r\n",
        ] {
            assert!(matches!(error(bad), ParseError::Bad { .. }), "{bad}");
        }
    }
}
