//! NOOP and CHECK: nothing to do; the untagged updates are sent by the session afterwards.

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::StatusResponse;

impl Session {
    pub(crate) async fn op_noop(&mut self, tag: &str) -> Result<StatusResponse> {
        Ok(StatusResponse::ok(tag, "NOOP completed"))
    }
}
