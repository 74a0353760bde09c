//! STORE and UID STORE: replace, add or remove flags; untagged FETCH with the new flags
//! unless `.SILENT`.

use crate::convert::flags_from_wire;
use crate::error::Result;
use crate::session::Session;
use crate::state::flag_list;
use sealpost_core::FlagOp;
use sealpost_imap_proto::{Data, FetchItem, StatusResponse, StoreAction, StoreCommand};

impl Session {
    pub(crate) async fn op_store(
        &mut self,
        tag: &str,
        cmd: StoreCommand,
    ) -> Result<StatusResponse> {
        if cmd.unchanged_since.is_some() {
            return Ok(StatusResponse::bad(tag, "Not supported"));
        }
        let Some(flags) = flags_from_wire(&cmd.flags) else {
            return Ok(StatusResponse::bad(tag, "Unknown system flag"));
        };
        let user = self.user_id()?;
        let Some(selected) = self.selected.as_ref() else {
            return Ok(StatusResponse::bad(tag, "No mailbox selected"));
        };
        if selected.read_only {
            return Ok(StatusResponse::no(tag, "Mailbox is read-only"));
        }
        let mailbox = selected.id.clone();
        let indexes: Vec<usize> = selected
            .resolve(&cmd.sequence_set, cmd.uid)
            .into_iter()
            .filter(|&i| selected.messages.get(i).is_some_and(|m| !m.expunged))
            .collect();
        let uids: Vec<i64> = indexes
            .iter()
            .filter_map(|&i| selected.messages.get(i).map(|m| i64::from(m.uid)))
            .collect();
        let op = match cmd.action {
            StoreAction::Replace => FlagOp::Replace,
            StoreAction::Add => FlagOp::Add,
            StoreAction::Remove => FlagOp::Remove,
        };
        let changed = self
            .core
            .store_flags(&user, &mailbox, &uids, op, &flags)
            .await?;
        let Some(selected) = self.selected.as_mut() else {
            return Ok(StatusResponse::ok(tag, "STORE completed"));
        };
        for c in changed {
            if let Ok(uid) = u32::try_from(c.uid)
                && let Some(i) = selected.index_of(uid)
                && let Some(m) = selected.messages.get_mut(i)
            {
                m.flags = c.flags;
                m.modseq = c.modseq;
            }
        }
        if !cmd.silent {
            let mut updates = Vec::with_capacity(indexes.len());
            for i in indexes {
                let Some(m) = selected.messages.get(i) else {
                    continue;
                };
                let mut items = vec![FetchItem::Flags(flag_list(&m.flags))];
                if cmd.uid {
                    items.push(FetchItem::Uid(m.uid));
                }
                updates.push(Data::Fetch {
                    seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    items,
                });
            }
            for u in updates {
                self.push(u);
            }
        }
        Ok(StatusResponse::ok(tag, "STORE completed"))
    }
}
