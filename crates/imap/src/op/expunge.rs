//! EXPUNGE and UID EXPUNGE (UIDPLUS): delete the messages flagged `\Deleted`; the EXPUNGE
//! responses (VANISHED with QRESYNC) are sent by the session's refresh after the command.

use crate::error::{Error, Result};
use crate::session::Session;
use sealpost_imap_proto::{Code, SequenceSet, StatusResponse};

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
        if self.condstore {
            // The expunge moved the mailbox modseq: with CONDSTORE the tagged OK says where
            // it is now (RFC 7162 3.1.10), once the EXPUNGE/VANISHED responses are out.
            match self.refresh(true).await {
                Ok(()) => {}
                Err(Error::Core(e)) => {
                    tracing::warn!(error = %e, "imap: refresh after expunge failed")
                }
                Err(e) => return Err(e),
            }
            if let Some(selected) = self.selected.as_ref() {
                let highest = u64::try_from(selected.highest_modseq).unwrap_or(0);
                return Ok(StatusResponse::ok(tag, "EXPUNGE completed")
                    .with_code(Code::HighestModSeq(highest)));
            }
        }
        Ok(StatusResponse::ok(tag, "EXPUNGE completed"))
    }
}
