//! ID, GETQUOTA and COMPRESS: small commands of their own extensions.

use super::{PResult, Parser, bad};
use crate::command::CommandBody;

impl Parser<'_> {
    /// `ID SP ("(" string SP nstring *(SP string SP nstring) ")" / NIL)`
    pub(super) fn id(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        if self.nil() {
            return Ok(CommandBody::Id(None));
        }
        self.expect(b'(', "expected ( or NIL")?;
        let mut fields = Vec::new();
        if self.eat(b')') {
            return Ok(CommandBody::Id(Some(fields)));
        }
        loop {
            if fields.len() >= 30 {
                return bad("too many ID fields");
            }
            let name = self.string_utf8()?;
            self.sp()?;
            let value = self.nstring_utf8()?;
            fields.push((name, value));
            if self.eat(b')') {
                return Ok(CommandBody::Id(Some(fields)));
            }
            self.sp()?;
        }
    }

    /// `GETQUOTA SP quota-root`
    pub(super) fn get_quota(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        Ok(CommandBody::GetQuota(self.astring_utf8()?))
    }

    /// `COMPRESS SP algorithm`
    pub(super) fn compress(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        Ok(CommandBody::Compress(self.atom_upper()?))
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn id_command() {
        assert_eq!(body("a ID NIL\r\n"), CommandBody::Id(None));
        assert_eq!(
            body("a ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL)\r\n"),
            CommandBody::Id(Some(vec![
                ("name".into(), Some("sodr".into())),
                ("version".into(), Some("19.34".into())),
                ("vendor".into(), None)
            ]))
        );
    }
}
