//! STLS (RFC 2595 section 4): answer `+OK` in plain text, then the session puts TLS under
//! the stream and forgets what the client sent before the handshake.

use crate::session::Session;
use sealpost_pop3_proto::Reply;

impl Session {
    pub(crate) fn op_stls(&mut self) {
        if self.conn.tls {
            self.push(Reply::err("TLS is already active"));
        } else if self.conn.acceptor.is_none() {
            self.push(Reply::err("STLS is not available"));
        } else {
            self.push(Reply::ok("Begin TLS negotiation"));
            self.start_tls = true;
        }
    }
}
