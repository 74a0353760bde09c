//! DELETE: a mailbox and its messages (not INBOX nor special-use mailboxes).

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Code, MailboxName, StatusResponse};

impl Session {
    pub(crate) async fn op_delete(
        &mut self,
        tag: &str,
        name: &MailboxName,
    ) -> Result<StatusResponse> {
        let user = self.user_id()?;
        let Some(mailbox) = self.find_mailbox(name).await? else {
            return Ok(
                StatusResponse::no(tag, "Mailbox does not exist").with_code(Code::NonExistent)
            );
        };
        self.core.delete_mailbox(&user, &mailbox.id).await?;
        if self.selected.as_ref().is_some_and(|s| s.id == mailbox.id) {
            self.selected = None;
        }
        Ok(StatusResponse::ok(tag, "DELETE completed"))
    }
}
