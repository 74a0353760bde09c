//! SETQUOTA (RFC 9208 4.1.3). GETQUOTA and GETQUOTAROOT are in `misc.rs` and `mod.rs`.

use super::{PResult, Parser};
use crate::command::CommandBody;

/// Most resources in one SETQUOTA list (RFC 9208 defines five).
const MAX_RESOURCES: usize = 16;

impl Parser<'_> {
    /// `SETQUOTA SP quota-root SP "(" [resource-name SP number *(SP ...)] ")"`
    pub(super) fn set_quota(&mut self) -> PResult<CommandBody> {
        self.sp()?;
        let root = self.astring_utf8()?;
        self.sp()?;
        self.expect(b'(', "expected ( before quota resources")?;
        let mut resources = Vec::new();
        if !self.eat(b')') {
            loop {
                if resources.len() >= MAX_RESOURCES {
                    return super::bad("too many quota resources");
                }
                let name = self.atom_upper()?;
                self.sp()?;
                let limit = self.number64()?;
                resources.push((name, limit));
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        }
        Ok(CommandBody::SetQuota { root, resources })
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::test_support::*;
    use crate::*;

    #[test]
    fn set_quota() {
        assert_eq!(
            body("a SETQUOTA \"\" (STORAGE 512 message 10)\r\n"),
            CommandBody::SetQuota {
                root: String::new(),
                resources: vec![("STORAGE".into(), 512), ("MESSAGE".into(), 10)]
            }
        );
        assert_eq!(
            body("a SETQUOTA x ()\r\n"),
            CommandBody::SetQuota {
                root: "x".into(),
                resources: vec![]
            }
        );
    }
}
