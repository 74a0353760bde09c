//! EXPUNGE and UID EXPUNGE (UIDPLUS): delete the messages flagged `\Deleted`; the EXPUNGE
//! responses are sent by the session's refresh after the command.

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{SequenceSet, StatusResponse};

impl Session {
    pub(crate) async fn op_expunge(
        &mut self,
        tag: &str,
        uids: Option<SequenceSet>,
    ) -> Result<StatusResponse> {
        let user = self.user_id()?;
        let Some(selected) = self.selected.as_ref() else {
            return Ok(StatusResponse::bad(tag, "No mailbox selected"));
        };
        if selected.read_only {
            return Ok(StatusResponse::no(tag, "Mailbox is read-only"));
        }
        let mailbox = selected.id.clone();
        let only: Option<Vec<i64>> = uids.as_ref().map(|set| {
            selected
                .resolve(set, true)
                .into_iter()
                .filter_map(|i| selected.messages.get(i).map(|m| i64::from(m.uid)))
                .collect()
        });
        if only.as_ref().is_some_and(Vec::is_empty) {
            return Ok(StatusResponse::ok(tag, "EXPUNGE completed"));
        }
        let deleted = self.core.expunge(&user, &mailbox, only.as_deref()).await?;
        if let Some(selected) = self.selected.as_mut() {
            selected.mark_expunged(&deleted);
        }
        Ok(StatusResponse::ok(tag, "EXPUNGE completed"))
    }
}
