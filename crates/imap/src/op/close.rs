//! CLOSE (expunge silently when read-write, then deselect) and UNSELECT (just deselect).

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::StatusResponse;

impl Session {
    pub(crate) async fn op_close(&mut self, tag: &str, expunge: bool) -> Result<StatusResponse> {
        let selected = self.selected.take();
        if expunge
            && let Some(selected) = selected
            && !selected.read_only
        {
            let user = self.user_id()?;
            self.core.expunge(&user, &selected.id, None).await?;
        }
        Ok(StatusResponse::ok(
            tag,
            if expunge {
                "CLOSE completed"
            } else {
                "UNSELECT completed"
            },
        ))
    }
}
