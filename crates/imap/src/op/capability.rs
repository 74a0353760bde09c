//! CAPABILITY: what this server does (only what works is advertised).

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Data, StatusResponse};

impl Session {
    pub(crate) fn op_capability(&mut self, tag: &str) -> Result<StatusResponse> {
        self.push(Data::Capability(self.capabilities()));
        Ok(StatusResponse::ok(tag, "CAPABILITY completed"))
    }
}
