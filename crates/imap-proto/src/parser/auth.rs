//! AUTHENTICATE (with SASL-IR), LOGIN and ENABLE.

use super::{PResult, Parser, bad};
use crate::command::CommandBody;

impl Parser<'_> {
    /// `AUTHENTICATE SP mechanism [SP (base64 / "=")]`
    pub(super) fn authenticate(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        let mechanism = self.atom_upper()?;
        let initial_response = if self.eat(b' ') {
            let start = self.pos;
            while self
                .peek()
                .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            {
                self.pos += 1;
            }
            let raw = self.buf.get(start..self.pos).unwrap_or_default();
            if raw.is_empty() {
                return bad("invalid initial response");
            }
            Some(String::from_utf8_lossy(raw).into_owned())
        } else {
            None
        };
        Ok(CommandBody::Authenticate {
            mechanism,
            initial_response,
        })
    }

    /// `LOGIN SP userid SP password`
    pub(super) fn login(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        let username = self.astring_utf8()?;
        self.sp()?;
        let password = self.astring_utf8()?;
        Ok(CommandBody::Login { username, password })
    }

    /// `ENABLE 1*(SP capability)`
    pub(super) fn enable(&mut self) -> PResult<CommandBody> {
        let mut capabilities = Vec::new();
        while self.eat(b' ') {
            capabilities.push(self.atom_upper()?);
        }
        if capabilities.is_empty() {
            return bad("ENABLE needs at least one capability");
        }
        Ok(CommandBody::Enable(capabilities))
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn login_and_authenticate() {
        assert_eq!(
            body("a LOGIN {5+}\r\nalice \"p\\\"w d\"\r\n"),
            CommandBody::Login {
                username: "alice".into(),
                password: "p\"w d".into()
            }
        );
        assert_eq!(
            body("a AUTHENTICATE PLAIN\r\n"),
            CommandBody::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: None
            }
        );
        assert_eq!(
            body("a AUTHENTICATE plain AGFsaWNlAHNlY3JldA==\r\n"),
            CommandBody::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: Some("AGFsaWNlAHNlY3JldA==".into())
            }
        );
        assert_eq!(
            body("a AUTHENTICATE PLAIN =\r\n"),
            CommandBody::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: Some("=".into())
            }
        );
    }
}
