//! STATUS: counters of a mailbox without selecting it (with STATUS=SIZE, RFC 8438, the
//! IMAP4rev2 DELETED item and QUOTA's DELETED-STORAGE, RFC 9208). LIST-STATUS (RFC 5819) uses the same values.

use crate::error::Result;
use crate::session::Session;
use sealpost_core::{MailboxInfo, ObjectId};
use sealpost_imap_proto::{Code, Data, MailboxName, StatusItem, StatusResponse, StatusValue};

impl Session {
    pub(crate) async fn op_status(
        &mut self,
        tag: &str,
        name: &MailboxName,
        items: &[StatusItem],
    ) -> Result<StatusResponse> {
        let user = self.user_id()?;
        if items.contains(&StatusItem::HighestModSeq) {
            self.enable_condstore();
        }
        let Some(mailbox) = self.find_mailbox(name).await? else {
            return Ok(
                StatusResponse::no(tag, "Mailbox does not exist").with_code(Code::NonExistent)
            );
        };
        let info = self.core.mailbox_status(&user, mailbox).await?;
        let values = self.status_values(&user, &info, items).await?;
        self.push(Data::Status {
            mailbox: name.clone(),
            items: values,
        });
        Ok(StatusResponse::ok(tag, "STATUS completed"))
    }

    /// The values of `items` for a mailbox whose counters were read with it.
    pub(crate) async fn status_values(
        &self,
        user: &ObjectId,
        info: &MailboxInfo,
        items: &[StatusItem],
    ) -> Result<Vec<StatusValue>> {
        // \Deleted is not among the kept counters: counted from the view when asked for.
        let (deleted, deleted_size) = if items
            .iter()
            .any(|i| matches!(i, StatusItem::Deleted | StatusItem::DeletedStorage))
        {
            let view = self.core.mailbox_view(user, &info.mailbox.id).await?;
            view.iter()
                .filter(|m| m.flags.deleted)
                .fold((0u64, 0u64), |(n, size), m| {
                    (n + 1, size + u64::try_from(m.size).unwrap_or(0))
                })
        } else {
            (0, 0)
        };
        let n = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
        Ok(items
            .iter()
            .map(|&item| StatusValue {
                item,
                value: match item {
                    StatusItem::Messages => n(info.total),
                    // No session ever sees a message as \Recent.
                    StatusItem::Recent => 0,
                    StatusItem::UidNext => n(Some(info.mailbox.uid_next)),
                    StatusItem::UidValidity => n(Some(info.mailbox.uid_validity)),
                    StatusItem::Unseen => n(info.unseen),
                    StatusItem::Deleted => deleted,
                    StatusItem::Size => n(info.size),
                    StatusItem::HighestModSeq => n(Some(info.mailbox.modseq)),
                    StatusItem::AppendLimit => self.config.max_literal_size,
                    // In units of 1024 octets, like the STORAGE quota resource (rounded up
                    // the same way).
                    StatusItem::DeletedStorage => deleted_size.div_ceil(1024),
                },
            })
            .collect())
    }
}
