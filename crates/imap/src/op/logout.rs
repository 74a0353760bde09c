//! LOGOUT: BYE, then the tagged OK, then the connection closes.

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Status, StatusResponse};

impl Session {
    pub(crate) fn op_logout(&mut self, tag: &str) -> Result<StatusResponse> {
        self.push(StatusResponse::untagged(Status::Bye, "Logging out"));
        self.logout = true;
        Ok(StatusResponse::ok(tag, "LOGOUT completed"))
    }
}
