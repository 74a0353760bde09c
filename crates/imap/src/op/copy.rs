//! COPY/UID COPY and MOVE/UID MOVE (RFC 6851), answered with COPYUID (UIDPLUS).

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Code, CopyCommand, SequenceSet, Status, StatusResponse};

impl Session {
    pub(crate) async fn op_copy(
        &mut self,
        tag: &str,
        cmd: CopyCommand,
        is_move: bool,
    ) -> Result<StatusResponse> {
        let user = self.user_id()?;
        let Some(selected) = self.selected.as_ref() else {
            return Ok(StatusResponse::bad(tag, "No mailbox selected"));
        };
        if is_move && selected.read_only {
            return Ok(StatusResponse::no(tag, "Mailbox is read-only"));
        }
        let source = selected.id.clone();
        let uids: Vec<i64> = selected
            .resolve(&cmd.sequence_set, cmd.uid)
            .into_iter()
            .filter_map(|i| selected.messages.get(i))
            .filter(|m| !m.expunged)
            .map(|m| i64::from(m.uid))
            .collect();
        let Some(dest) = self.find_mailbox(&cmd.mailbox).await? else {
            return Ok(StatusResponse::no(tag, "Mailbox does not exist").with_code(Code::TryCreate));
        };
        let done = if is_move {
            "MOVE completed"
        } else {
            "COPY completed"
        };
        if uids.is_empty() {
            return Ok(StatusResponse::ok(tag, done));
        }
        let pairs = if is_move {
            self.core
                .move_messages(&user, &source, &dest.id, &uids)
                .await?
        } else {
            self.core
                .copy_messages(&user, &source, &dest.id, &uids)
                .await?
        };
        let old: Vec<u32> = pairs
            .iter()
            .filter_map(|(o, _)| u32::try_from(*o).ok())
            .collect();
        let new: Vec<u32> = pairs
            .iter()
            .filter_map(|(_, n)| u32::try_from(*n).ok())
            .collect();
        let code = match (
            SequenceSet::from_ordered_ids(&old),
            SequenceSet::from_ordered_ids(&new),
        ) {
            (Some(source), Some(destination)) => Some(Code::CopyUid {
                uid_validity: u32::try_from(dest.uid_validity).unwrap_or(u32::MAX),
                source,
                destination,
            }),
            _ => None,
        };
        if is_move {
            // COPYUID goes in an untagged OK before the EXPUNGEs (RFC 6851 4.3).
            if let Some(code) = code {
                self.push(StatusResponse::untagged(Status::Ok, "Moved").with_code(code));
            }
            let moved: Vec<i64> = pairs.iter().map(|(o, _)| *o).collect();
            if let Some(selected) = self.selected.as_mut() {
                selected.mark_expunged(&moved);
            }
            return Ok(StatusResponse::ok(tag, done));
        }
        let response = StatusResponse::ok(tag, done);
        Ok(match code {
            Some(code) => response.with_code(code),
            None => response,
        })
    }
}
