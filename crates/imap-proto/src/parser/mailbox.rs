//! CREATE (with CREATE-SPECIAL-USE) and RENAME; DELETE, SUBSCRIBE and UNSUBSCRIBE are a
//! bare mailbox name and are read in `parser/mod.rs`.

use super::{PResult, Parser, bad};
use crate::command::CommandBody;

impl Parser<'_> {
    /// `CREATE SP mailbox [SP "(" "USE" SP "(" [use-attr *(SP use-attr)] ")" ")"]`
    pub(super) fn create(&mut self) -> PResult<CommandBody> {
        let mailbox = self.sp_mailbox()?;
        let mut special_use = Vec::new();
        if self.eat(b' ') {
            self.expect(b'(', "expected create parameters")?;
            loop {
                let name = self.atom_upper()?;
                if name != "USE" {
                    return bad(format!(
                        "unknown CREATE parameter {}",
                        super::printable(&name)
                    ));
                }
                self.sp()?;
                self.expect(b'(', "expected ( after USE")?;
                // RFC 6154 6: the list may be empty.
                while !self.eat(b')') {
                    self.expect(b'\\', "expected a special-use attribute")?;
                    special_use.push(format!("\\{}", self.atom()?));
                    if self.peek() != Some(b')') {
                        self.sp()?;
                    }
                }
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        }
        Ok(CommandBody::Create {
            mailbox,
            special_use,
        })
    }

    /// `RENAME SP mailbox SP mailbox`
    pub(super) fn rename(&mut self) -> PResult<CommandBody> {
        let from = self.sp_mailbox()?;
        let to = self.sp_mailbox()?;
        Ok(CommandBody::Rename { from, to })
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn mailbox_commands() {
        assert_eq!(
            body("a CREATE Sent (USE (\\Sent))\r\n"),
            CommandBody::Create {
                mailbox: mailbox("Sent"),
                special_use: vec!["\\Sent".into()]
            }
        );
        assert_eq!(
            body("a CREATE foo/bar\r\n"),
            CommandBody::Create {
                mailbox: mailbox("foo/bar"),
                special_use: vec![]
            }
        );
        assert_eq!(
            body("a RENAME \"Entw&APw-rfe\" Drafts\r\n"),
            CommandBody::Rename {
                from: mailbox("Entwürfe"),
                to: mailbox("Drafts")
            }
        );
        assert_eq!(
            body("a CREATE &ZeVnLIqe-\r\n"),
            CommandBody::Create {
                mailbox: mailbox("日本語"),
                special_use: vec![]
            }
        );
        assert_eq!(
            body(
                "a STATUS blurdybloop (UIDNEXT MESSAGES unseen DELETED SIZE RECENT HIGHESTMODSEQ UIDVALIDITY)\r\n"
            ),
            CommandBody::Status {
                mailbox: mailbox("blurdybloop"),
                items: vec![
                    StatusItem::UidNext,
                    StatusItem::Messages,
                    StatusItem::Unseen,
                    StatusItem::Deleted,
                    StatusItem::Size,
                    StatusItem::Recent,
                    StatusItem::HighestModSeq,
                    StatusItem::UidValidity
                ]
            }
        );
        assert_eq!(
            body("a LSUB \"#news.\" \"comp.mail.*\"\r\n"),
            CommandBody::Lsub {
                reference: mailbox("#news."),
                pattern: mailbox("comp.mail.*")
            }
        );
    }

    #[test]
    fn utf8_mailbox_names() {
        // Raw UTF-8 is accepted as such; with UTF8=ACCEPT `&` is no longer an escape.
        assert_eq!(
            body("a DELETE \"Entwürfe\"\r\n"),
            CommandBody::Delete(mailbox("Entwürfe"))
        );
        let utf8 = Limits {
            utf8_accept: true,
            ..Limits::default()
        };
        let (command, _) = parse_command(b"a DELETE \"A&B\"\r\n", &utf8).unwrap();
        assert_eq!(command.body, CommandBody::Delete(mailbox("A&B")));
        // Without it, "A&B" is invalid modified UTF-7: a well-formed command that is refused
        // (NO, RFC 3501 5.1.3), not a syntax error.
        let refused = |input: &str| match error(input) {
            ParseError::Refused { tag, .. } => tag == Some("a".into()),
            _ => false,
        };
        assert!(refused("a DELETE \"A&B\"\r\n"));
        assert!(refused("a CREATE !#$&'+,-.0123456789:;<=>?@^_`|[}\r\n"));
        // Control characters are refused, also when hidden in modified UTF-7.
        assert!(refused("a DELETE &AAA-\r\n"));
        assert!(refused("a DELETE \"a\tb\"\r\n"));
        // Every atom is a mailbox name.
        assert_eq!(
            body("a CREATE !#$'+,-.0123456789:;<=>?@^_`|[}~\r\n"),
            CommandBody::Create {
                mailbox: mailbox("!#$'+,-.0123456789:;<=>?@^_`|[}~"),
                special_use: vec![]
            }
        );
    }
}
