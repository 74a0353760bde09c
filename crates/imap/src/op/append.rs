//! APPEND: store messages (flags, internal date) through core, durable before the OK;
//! answered with APPENDUID (UIDPLUS). One message goes through the group-commit upload
//! path; several (MULTIAPPEND, RFC 3502) are stored all or nothing in one transaction.
//! Messages over the size limit (APPENDLIMIT, RFC 7889) get `NO [TOOBIG]`, over the
//! user's quota `NO [OVERQUOTA]`.

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
        let mut batch = Vec::with_capacity(messages.len());
        for message in messages {
            let Some(flags) = flags_from_wire(&message.flags) else {
                return Ok(StatusResponse::bad(tag, "Unknown system flag"));
            };
            let options = UploadOptions {
                flags,
                date: message.date.map(|d| d.timestamp().saturating_mul(1000)),
            };
            batch.push((message.data, options));
        }
        let stored = if batch.len() == 1 {
            let (data, options) = batch.remove(0);
            vec![
                self.core
                    .upload_message(&user, &mailbox.id, data, options)
                    .await?,
            ]
        } else {
            self.core.append_messages(&user, &mailbox.id, batch).await?
        };
        let uids = stored
            .iter()
            .map(|s| u32::try_from(s.uid).unwrap_or(u32::MAX));
        let response = StatusResponse::ok(tag, "APPEND completed");
        // One transaction gives the messages consecutive, ascending UIDs.
        Ok(match SequenceSet::from_ids(uids) {
            Some(uids) => response.with_code(Code::AppendUid {
                uid_validity: u32::try_from(mailbox.uid_validity).unwrap_or(u32::MAX),
                uids,
            }),
            None => response,
        })
    }
}
