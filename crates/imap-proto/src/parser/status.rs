//! STATUS and its data items (also used by LIST RETURN (STATUS ...)).

use super::{PResult, Parser, bad};
use crate::command::{CommandBody, StatusItem};

impl Parser<'_> {
    /// `STATUS SP mailbox SP "(" status-att *(SP status-att) ")"`
    pub(super) fn status(&mut self) -> PResult<CommandBody> {
        let mailbox = self.sp_mailbox()?;
        self.sp()?;
        let items = self.status_items()?;
        Ok(CommandBody::Status { mailbox, items })
    }

    pub(super) fn status_items(&mut self) -> PResult<Vec<StatusItem>> {
        let names = self.atom_list_upper()?;
        if names.is_empty() {
            return bad("STATUS needs at least one item");
        }
        names
            .iter()
            .map(|name| {
                Ok(match name.as_str() {
                    "MESSAGES" => StatusItem::Messages,
                    "RECENT" => StatusItem::Recent,
                    "UIDNEXT" => StatusItem::UidNext,
                    "UIDVALIDITY" => StatusItem::UidValidity,
                    "UNSEEN" => StatusItem::Unseen,
                    "DELETED" => StatusItem::Deleted,
                    "SIZE" => StatusItem::Size,
                    "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
                    "APPENDLIMIT" => StatusItem::AppendLimit,
                    "DELETED-STORAGE" => StatusItem::DeletedStorage,
                    _ => return bad(format!("unknown STATUS item {}", super::printable(name))),
                })
            })
            .collect()
    }
}
