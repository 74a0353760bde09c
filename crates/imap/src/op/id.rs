//! ID (RFC 2971): the server's name and version; the client's values are not kept.

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Data, StatusResponse};

impl Session {
    pub(crate) fn op_id(&mut self, tag: &str) -> Result<StatusResponse> {
        self.push(Data::Id(Some(vec![
            ("name".into(), Some("Sealpost".into())),
            ("version".into(), Some(env!("CARGO_PKG_VERSION").into())),
        ])));
        Ok(StatusResponse::ok(tag, "ID completed"))
    }
}
