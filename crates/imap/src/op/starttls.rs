//! STARTTLS (RFC 3501 section 6.2.1): answer OK in plain text, then the session puts TLS
//! under the stream (`transport::Session::apply_upgrade`) and forgets what the client sent
//! before the handshake. The client must ask for CAPABILITY again; what it gets then has no
//! STARTTLS and, where plain-text login was disabled, the AUTH= mechanisms back.

use crate::error::Result;
use crate::session::Session;
use crate::transport::Upgrade;
use sealpost_imap_proto::StatusResponse;

impl Session {
    pub(crate) fn op_starttls(&mut self, tag: &str) -> Result<StatusResponse> {
        if self.conn.tls {
            return Ok(StatusResponse::bad(tag, "TLS is already active"));
        }
        if self.conn.acceptor.is_none() {
            return Ok(StatusResponse::bad(tag, "STARTTLS is not available"));
        }
        self.upgrade = Some(Upgrade::StartTls);
        Ok(StatusResponse::ok(tag, "Begin TLS negotiation now"))
    }
}
