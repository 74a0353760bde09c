//! RENAME: a mailbox and its children move to a new name. Renaming INBOX moves its
//! messages to a new mailbox and leaves INBOX empty (RFC 3501 6.3.5).

use super::mailbox_path;
use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Code, MailboxName, StatusResponse};

impl Session {
    pub(crate) async fn op_rename(
        &mut self,
        tag: &str,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<StatusResponse> {
        let user = self.user_id()?;
        let Some(mailbox) = self.find_mailbox(from).await? else {
            return Ok(
                StatusResponse::no(tag, "Mailbox does not exist").with_code(Code::NonExistent)
            );
        };
        if self.find_mailbox(to).await?.is_some() {
            return Ok(
                StatusResponse::no(tag, "Mailbox already exists").with_code(Code::AlreadyExists)
            );
        }
        if mailbox.path == "INBOX" {
            self.core.rename_inbox(&user, &mailbox_path(to)).await?;
            return Ok(StatusResponse::ok(tag, "RENAME completed"));
        }
        self.core
            .update_mailbox(&user, &mailbox.id, Some(&mailbox_path(to)), None, None)
            .await?;
        Ok(StatusResponse::ok(tag, "RENAME completed"))
    }
}
