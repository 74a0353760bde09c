//! LOGIN: username (or any address) and password, checked by `core` for the IMAP scope
//! (the rules shared with AUTHENTICATE are in `auth.rs`).

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::StatusResponse;

impl Session {
    pub(crate) async fn op_login(
        &mut self,
        tag: &str,
        username: &str,
        password: &str,
    ) -> Result<StatusResponse> {
        if let Some(refusal) = self.auth_refusal(tag) {
            return Ok(refusal);
        }
        self.check_login(tag, username, password, "Logged in").await
    }
}
