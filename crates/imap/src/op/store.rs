//! STORE and UID STORE: replace, add or remove flags; untagged FETCH with the new flags
//! unless `.SILENT`. With `(UNCHANGEDSINCE n)` (CONDSTORE, RFC 7162 3.1.3) messages whose
//! modseq is above `n` are left alone and listed in `[MODIFIED set]`.

use crate::convert::flags_from_wire;
use crate::error::Result;
use crate::session::Session;
use crate::state::flag_list;
use sealpost_core::FlagOp;
use sealpost_imap_proto::{
    Code, Data, FetchItem, SequenceSet, StatusResponse, StoreAction, StoreCommand,
};
use std::collections::HashSet;

impl Session {
    pub(crate) async fn op_store(
        &mut self,
        tag: &str,
        cmd: StoreCommand,
    ) -> Result<StatusResponse> {
        let Some(flags) = flags_from_wire(&cmd.flags) else {
            return Ok(StatusResponse::bad(tag, "Unknown system flag"));
        };
        let unchanged_since = match cmd.unchanged_since.map(i64::try_from).transpose() {
            Ok(v) => v,
            Err(_) => return Ok(StatusResponse::bad(tag, "UNCHANGEDSINCE out of range")),
        };
        let user = self.user_id()?;
        let Some(selected) = self.selected.as_ref() else {
            return Ok(StatusResponse::bad(tag, "No mailbox selected"));
        };
        if selected.read_only {
            return Ok(StatusResponse::no(tag, "Mailbox is read-only"));
        }
        if unchanged_since.is_some() {
            self.enable_condstore();
        }
        let Some(selected) = self.selected.as_ref() else {
            return Ok(StatusResponse::bad(tag, "No mailbox selected"));
        };
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
        let outcome = self
            .core
            .store_flags_unchanged_since(&user, &mailbox, &uids, op, &flags, unchanged_since)
            .await?;
        let condstore = self.condstore;
        let Some(selected) = self.selected.as_mut() else {
            return Ok(StatusResponse::ok(tag, "STORE completed"));
        };
        let mut changed = HashSet::with_capacity(outcome.changed.len());
        for c in outcome.changed {
            if let Ok(uid) = u32::try_from(c.uid)
                && let Some(i) = selected.index_of(uid)
                && let Some(m) = selected.messages.get_mut(i)
            {
                m.flags = c.flags;
                m.modseq = c.modseq;
                changed.insert(uid);
            }
        }
        let modified: HashSet<u32> = outcome
            .modified
            .iter()
            .filter_map(|u| u32::try_from(*u).ok())
            .collect();
        let mut updates = Vec::new();
        let mut failed = Vec::with_capacity(modified.len());
        for i in indexes {
            let Some(m) = selected.messages.get(i) else {
                continue;
            };
            let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if modified.contains(&m.uid) {
                failed.push(if cmd.uid { m.uid } else { seq });
                continue;
            }
            // Once CONDSTORE is on, the client needs each new modseq, so a changed message
            // gets a FETCH with UID and MODSEQ even with .SILENT (RFC 7162 3.1.3).
            if cmd.silent && !(condstore && changed.contains(&m.uid)) {
                continue;
            }
            let mut items = Vec::with_capacity(3);
            if !cmd.silent {
                items.push(FetchItem::Flags(flag_list(&m.flags)));
            }
            if cmd.uid || condstore {
                items.push(FetchItem::Uid(m.uid));
            }
            if condstore {
                items.push(FetchItem::ModSeq(u64::try_from(m.modseq).unwrap_or(0)));
            }
            updates.push(Data::Fetch { seq, items });
        }
        for u in updates {
            self.push(u);
        }
        Ok(match SequenceSet::from_ids(failed) {
            Some(set) => StatusResponse::ok(tag, "Conditional STORE failed for some messages")
                .with_code(Code::Modified(set)),
            None => StatusResponse::ok(tag, "STORE completed"),
        })
    }
}
