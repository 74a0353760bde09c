//! CREATE: a new mailbox (and any missing parents), with a special use when asked
//! (CREATE-SPECIAL-USE, RFC 6154 3: `CREATE name (USE (\Sent))`).

use super::mailbox_path;
use crate::error::{Error, Result};
use crate::session::Session;
use sealpost_core::{Error as CoreError, SPECIAL_USES};
use sealpost_imap_proto::{Code, MailboxName, StatusResponse};

impl Session {
    pub(crate) async fn op_create(
        &mut self,
        tag: &str,
        name: &MailboxName,
        special_use: &[String],
    ) -> Result<StatusResponse> {
        let user = self.user_id()?;
        let path = mailbox_path(name);
        if path == "INBOX" {
            return Ok(
                StatusResponse::no(tag, "INBOX always exists").with_code(Code::AlreadyExists)
            );
        }
        // A mailbox has at most one special use here; attribute names are case-insensitive.
        let wanted = match special_use {
            [] => None,
            [one] => match SPECIAL_USES.iter().find(|u| u.eq_ignore_ascii_case(one)) {
                Some(known) => Some(*known),
                None => {
                    return Ok(StatusResponse::no(
                        tag,
                        format!("Special use {one} is not supported"),
                    )
                    .with_code(Code::UseAttr));
                }
            },
            _ => {
                return Ok(
                    StatusResponse::no(tag, "A mailbox can have only one special use")
                        .with_code(Code::UseAttr),
                );
            }
        };
        match self
            .core
            .create_mailbox_with_use(&user, &path, None, wanted)
            .await
        {
            Ok(_) => Ok(StatusResponse::ok(tag, "CREATE completed")),
            // RFC 6154 3: a refused use is told apart with USEATTR.
            Err(CoreError::Validation {
                message,
                field: Some("specialUse"),
            }) => Ok(StatusResponse::no(tag, message).with_code(Code::UseAttr)),
            Err(e) => Err(Error::Core(e)),
        }
    }
}
