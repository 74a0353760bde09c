//! CREATE: a new mailbox (and any missing parents).

use super::mailbox_path;
use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Code, MailboxName, StatusResponse};

impl Session {
    pub(crate) async fn op_create(
        &mut self,
        tag: &str,
        name: &MailboxName,
    ) -> Result<StatusResponse> {
        let user = self.user_id()?;
        let path = mailbox_path(name);
        if path == "INBOX" {
            return Ok(
                StatusResponse::no(tag, "INBOX always exists").with_code(Code::AlreadyExists)
            );
        }
        self.core.create_mailbox(&user, &path, None).await?;
        Ok(StatusResponse::ok(tag, "CREATE completed"))
    }
}
