//! APPEND: store a message (flags, internal date) through core's upload path, so it is
//! durable and group-committed before the OK; answered with APPENDUID (UIDPLUS).

use crate::convert::flags_from_wire;
use crate::error::Result;
use crate::session::Session;
use sealpost_core::UploadOptions;
use sealpost_imap_proto::{AppendMessage, Code, MailboxName, SequenceSet, StatusResponse};

impl Session {
    pub(crate) async fn op_append(
        &mut self,
        tag: &str,
        name: &MailboxName,
        messages: Vec<AppendMessage>,
    ) -> Result<StatusResponse> {
        let user = self.user_id()?;
        let Some(mailbox) = self.find_mailbox(name).await? else {
            return Ok(StatusResponse::no(tag, "Mailbox does not exist").with_code(Code::TryCreate));
        };
        let mut uids = Vec::with_capacity(messages.len());
        for message in messages {
            let Some(flags) = flags_from_wire(&message.flags) else {
                return Ok(StatusResponse::bad(tag, "Unknown system flag"));
            };
            let options = UploadOptions {
                flags,
                date: message.date.map(|d| d.timestamp().saturating_mul(1000)),
            };
            let stored = self
                .core
                .upload_message(&user, &mailbox.id, message.data, options)
                .await?;
            uids.push(u32::try_from(stored.uid).unwrap_or(u32::MAX));
        }
        let response = StatusResponse::ok(tag, "APPEND completed");
        Ok(match SequenceSet::from_ids(uids) {
            Some(uids) => response.with_code(Code::AppendUid {
                uid_validity: u32::try_from(mailbox.uid_validity).unwrap_or(u32::MAX),
                uids,
            }),
            None => response,
        })
    }
}
