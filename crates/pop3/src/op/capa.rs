//! CAPA (RFC 2449): what is offered now. Before login, USER and SASL PLAIN only where a
//! password may be sent (TLS, or what `allowPlaintextAuth` allows), and STLS while TLS can
//! still be started.

use crate::session::{Session, State};
use sealpost_pop3_proto::{END, Reply};

impl Session {
    /// Whether USER/PASS and AUTH may be used on this connection.
    pub(crate) fn auth_allowed(&self) -> bool {
        self.config
            .allow_plaintext_auth
            .allows(self.conn.tls, self.conn.peer)
    }

    pub(crate) fn capabilities(&self) -> Vec<&'static str> {
        let mut caps = vec!["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"];
        if matches!(self.state, State::Authorization { .. }) {
            if self.auth_allowed() {
                caps.push("USER");
                caps.push("SASL PLAIN");
            }
            if !self.conn.tls && self.conn.acceptor.is_some() {
                caps.push("STLS");
            }
        }
        caps.push("IMPLEMENTATION Sealpost");
        caps
    }

    pub(crate) fn op_capa(&mut self) {
        self.push(Reply::ok("Capability list follows"));
        for cap in self.capabilities() {
            self.push_raw(cap.as_bytes());
            self.push_raw(b"\r\n");
        }
        self.push_raw(END);
    }
}
