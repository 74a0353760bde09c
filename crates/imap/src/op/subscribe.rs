//! SUBSCRIBE and UNSUBSCRIBE: the subscription flag of an existing mailbox.

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Code, MailboxName, StatusResponse};

impl Session {
    pub(crate) async fn op_subscribe(
        &mut self,
        tag: &str,
        name: &MailboxName,
        subscribe: bool,
    ) -> Result<StatusResponse> {
        let user = self.user_id()?;
        let Some(mailbox) = self.find_mailbox(name).await? else {
            return Ok(
                StatusResponse::no(tag, "Mailbox does not exist").with_code(Code::NonExistent)
            );
        };
        self.core
            .update_mailbox(&user, &mailbox.id, None, None, Some(subscribe))
            .await?;
        Ok(StatusResponse::ok(
            tag,
            if subscribe {
                "SUBSCRIBE completed"
            } else {
                "UNSUBSCRIBE completed"
            },
        ))
    }
}
