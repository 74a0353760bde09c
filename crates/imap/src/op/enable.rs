//! ENABLE (RFC 5161): none of the extensions that need enabling (CONDSTORE, QRESYNC,
//! UTF8=ACCEPT) is served yet, so nothing is ever enabled; the answer says so.

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Data, StatusResponse};

impl Session {
    pub(crate) fn op_enable(&mut self, tag: &str, _requested: &[String]) -> Result<StatusResponse> {
        self.push(Data::Enabled(Vec::new()));
        Ok(StatusResponse::ok(tag, "ENABLE completed"))
    }
}
