//! SELECT and EXAMINE: open a mailbox read-write or read-only and send its state; with
//! `(CONDSTORE)` enable CONDSTORE, with `(QRESYNC (...))` also send what changed since the
//! client's last known modseq (RFC 7162 3.2.5).

use crate::error::Result;
use crate::qresync;
use crate::session::Session;
use crate::state::{Selected, flag_list};
use sealpost_core::ObjectId;
use sealpost_imap_proto::{
    Code, Data, FetchItem, Flag, QResync, SelectCommand, Status, StatusResponse,
};

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
        cmd: SelectCommand,
        read_only: bool,
    ) -> Result<StatusResponse> {
        if cmd.qresync.is_some() && !self.qresync {
            return Ok(StatusResponse::bad(
                tag,
                "QRESYNC parameter without ENABLE QRESYNC",
            ));
        }
        // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1). CLOSED marks where
        // the responses about the previous mailbox end (RFC 7162 3.2.11); clients that do
        // not know it ignore it.
        if self.selected.take().is_some() {
            self.push(
                StatusResponse::untagged(Status::Ok, "Previous mailbox closed")
                    .with_code(Code::Closed),
            );
        }
        if cmd.condstore || cmd.qresync.is_some() {
            self.enable_condstore();
        }
        let name = &cmd.mailbox;
        let user = self.user_id()?;
        let Some(mailbox) = self.find_mailbox(name).await? else {
            return Ok(
                StatusResponse::no(tag, "Mailbox does not exist").with_code(Code::NonExistent)
            );
        };
        let view = self.core.mailbox_view(&user, &mailbox.id).await?;
        let uid_validity = u32::try_from(mailbox.uid_validity).unwrap_or(u32::MAX);
        let mut selected = Selected::new(mailbox.id.clone(), read_only, view);
        selected.condstore = self.condstore;
        selected.qresync = self.qresync;
        selected.highest_modseq = mailbox.modseq;
        // The mailbox was read before the view: journal rows above its modseq are
        // reported later as untagged updates (those already in the view change nothing).
        selected.journal_modseq = mailbox.modseq;

        let mut flags = system_flags();
        flags.extend(selected.keywords.iter().cloned().map(Flag::Keyword));
        self.push(Data::Flags(flags.clone()));
        self.push(Data::Exists(selected.exists()));
        // IMAP4rev2 has no \Recent and no RECENT response (RFC 9051 7.4); rev2 instead
        // wants the mailbox's LIST response (6.3.2).
        if self.rev2 {
            self.list_one(&mailbox.path).await?;
        } else {
            self.push(Data::Recent(0));
        }
        // RFC 9051 dropped the UNSEEN response code from SELECT (appendix E).
        if let Some(unseen) = selected.first_unseen().filter(|_| !self.rev2) {
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
        // The keywords in use are permanent too (RFC 3501 7.2.6), and any new one.
        let permanent = if read_only { Vec::new() } else { flags };
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
        if let Some(q) = &cmd.qresync
            && i64::from(q.uid_validity) == mailbox.uid_validity
        {
            self.resync(&user, &selected, q, uid_next).await?;
        }
        self.selected = Some(selected);
        Ok(if read_only {
            StatusResponse::ok(tag, "EXAMINE completed").with_code(Code::ReadOnly)
        } else {
            StatusResponse::ok(tag, "SELECT completed").with_code(Code::ReadWrite)
        })
    }

    /// QRESYNC: the UIDs (of those the client knows) expunged since its modseq, then the
    /// messages changed since then, with their flags and modseq. `seq-match-data` only helps
    /// servers that forget expunged UIDs; the journal keeps them, so it is not needed.
    async fn resync(
        &mut self,
        user: &ObjectId,
        selected: &Selected,
        q: &QResync,
        uid_next: u32,
    ) -> Result<()> {
        let largest = uid_next.saturating_sub(1);
        let known = match &q.known_uids {
            Some(set) => qresync::merge(set, largest),
            None if largest > 0 => vec![(1, largest)],
            None => Vec::new(),
        };
        if let Some(uids) = qresync::vanished(&self.core, user, selected, q.modseq, &known).await? {
            self.push(Data::Vanished {
                earlier: true,
                uids,
            });
        }
        for (i, m) in selected.messages.iter().enumerate() {
            let modseq = u64::try_from(m.modseq).unwrap_or(0);
            if modseq > q.modseq && qresync::contains(&known, m.uid) {
                self.push(Data::Fetch {
                    seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    items: vec![
                        FetchItem::Uid(m.uid),
                        FetchItem::Flags(flag_list(&m.flags)),
                        FetchItem::ModSeq(modseq),
                    ],
                });
                self.flush_if_full().await?;
            }
        }
        Ok(())
    }
}
