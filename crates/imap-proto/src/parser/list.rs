//! LIST (with LIST-EXTENDED selection and RETURN options, LIST-STATUS) and LSUB.

use super::{PResult, Parser, bad};
use crate::command::{CommandBody, ListCommand, ListReturn, ListSelection};

impl Parser<'_> {
    /// `LIST [SP "(" select-opts ")"] SP mailbox SP (list-mailbox / patterns)
    /// [SP "RETURN" SP "(" return-opts ")"]`
    pub(super) fn list(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        let mut selection = Vec::new();
        if self.peek() == Some(b'(') {
            for name in self.atom_list_upper()? {
                selection.push(match name.as_str() {
                    "SUBSCRIBED" => ListSelection::Subscribed,
                    "REMOTE" => ListSelection::Remote,
                    "RECURSIVEMATCH" => ListSelection::RecursiveMatch,
                    "SPECIAL-USE" => ListSelection::SpecialUse,
                    _ => ListSelection::Other(name),
                });
            }
            self.sp()?;
        }
        let reference = self.mailbox()?;
        self.sp()?;
        let mut patterns = Vec::new();
        if self.eat(b'(') {
            loop {
                patterns.push(self.list_mailbox()?);
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        } else {
            patterns.push(self.list_mailbox()?);
        }
        let mut returns = Vec::new();
        if self.eat(b' ') {
            if self.atom_upper()? != "RETURN" {
                return bad("expected RETURN");
            }
            self.sp()?;
            self.expect(b'(', "expected return options")?;
            if !self.eat(b')') {
                loop {
                    let name = self.atom_upper()?;
                    returns.push(match name.as_str() {
                        "SUBSCRIBED" => ListReturn::Subscribed,
                        "CHILDREN" => ListReturn::Children,
                        "SPECIAL-USE" => ListReturn::SpecialUse,
                        "STATUS" => {
                            self.sp()?;
                            ListReturn::Status(self.status_items()?)
                        }
                        _ => ListReturn::Other(name),
                    });
                    if self.eat(b')') {
                        break;
                    }
                    self.sp()?;
                }
            }
        }
        Ok(CommandBody::List(ListCommand {
            selection,
            reference,
            patterns,
            returns,
        }))
    }

    /// `LSUB SP mailbox SP list-mailbox`
    pub(super) fn lsub(&mut self) -> PResult<CommandBody> {
        let reference = self.sp_mailbox()?;
        self.sp()?;
        let pattern = self.list_mailbox()?;
        Ok(CommandBody::Lsub { reference, pattern })
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn list_extended() {
        assert_eq!(
            body("a LIST \"\" %\r\n"),
            CommandBody::List(ListCommand {
                selection: vec![],
                reference: mailbox(""),
                patterns: vec![mailbox("%")],
                returns: vec![]
            })
        );
        assert_eq!(
            body(
                "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX* \"Other Users/*\") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN) SUBSCRIBED)\r\n"
            ),
            CommandBody::List(ListCommand {
                selection: vec![ListSelection::Subscribed, ListSelection::RecursiveMatch],
                reference: mailbox(""),
                patterns: vec![mailbox("INBOX*"), mailbox("Other Users/*")],
                returns: vec![
                    ListReturn::Children,
                    ListReturn::SpecialUse,
                    ListReturn::Status(vec![StatusItem::Messages, StatusItem::Unseen]),
                    ListReturn::Subscribed
                ]
            })
        );
        let CommandBody::List(list) = body("a list (special-use) \"\" \"*\" return ()\r\n") else {
            panic!()
        };
        assert_eq!(list.selection, vec![ListSelection::SpecialUse]);
    }
}
