//! SELECT and EXAMINE: open a mailbox read-write or read-only and send its state.

use crate::error::Result;
use crate::session::Session;
use crate::state::Selected;
use sealpost_imap_proto::{Code, Data, Flag, MailboxName, Status, StatusResponse};

/// The flags every mailbox supports; keywords can be created (`\*`).
pub(crate) fn system_flags() -> Vec<Flag> {
    vec![
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ]
}

impl Session {
    pub(crate) async fn op_select(
        &mut self,
        tag: &str,
        name: &MailboxName,
        read_only: bool,
    ) -> Result<StatusResponse> {
        // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1).
        self.selected = None;
        let user = self.user_id()?;
        let Some(mailbox) = self.find_mailbox(name).await? else {
            return Ok(
                StatusResponse::no(tag, "Mailbox does not exist").with_code(Code::NonExistent)
            );
        };
        let view = self.core.mailbox_view(&user, &mailbox.id).await?;
        let uid_validity = u32::try_from(mailbox.uid_validity).unwrap_or(u32::MAX);
        let mut selected = Selected::new(mailbox.id.clone(), read_only, view);
        // The mailbox was read before the view: journal rows above its modseq are
        // reported later as untagged updates (those already in the view change nothing).
        selected.journal_modseq = mailbox.modseq;

        let mut flags = system_flags();
        let mut keywords: Vec<String> = selected
            .messages
            .iter()
            .flat_map(|m| m.flags.keywords.iter().cloned())
            .collect();
        keywords.sort();
        keywords.dedup();
        flags.extend(keywords.into_iter().map(Flag::Keyword));
        self.push(Data::Flags(flags.clone()));
        self.push(Data::Exists(selected.exists()));
        self.push(Data::Recent(0));
        if let Some(unseen) = selected.first_unseen() {
            self.push(
                StatusResponse::untagged(Status::Ok, "First unseen")
                    .with_code(Code::Unseen(unseen)),
            );
        }
        self.push(
            StatusResponse::untagged(Status::Ok, "UIDs valid")
                .with_code(Code::UidValidity(uid_validity)),
        );
        let uid_next = u32::try_from(mailbox.uid_next).unwrap_or(u32::MAX);
        self.push(
            StatusResponse::untagged(Status::Ok, "Predicted next UID")
                .with_code(Code::UidNext(uid_next)),
        );
        let permanent = if read_only {
            Vec::new()
        } else {
            system_flags()
        };
        self.push(
            StatusResponse::untagged(Status::Ok, "Flags permitted").with_code(
                Code::PermanentFlags {
                    flags: permanent,
                    allow_new: !read_only,
                },
            ),
        );
        self.push(
            StatusResponse::untagged(Status::Ok, "Highest").with_code(Code::HighestModSeq(
                u64::try_from(mailbox.modseq).unwrap_or(0),
            )),
        );
        self.selected = Some(selected);
        Ok(if read_only {
            StatusResponse::ok(tag, "EXAMINE completed").with_code(Code::ReadOnly)
        } else {
            StatusResponse::ok(tag, "SELECT completed").with_code(Code::ReadWrite)
        })
    }
}
