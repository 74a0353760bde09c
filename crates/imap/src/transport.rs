//! The layers a session's stream can gain: TLS (implicit on the IMAPS port, or after
//! STARTTLS; the stream and the handshake are `sealpost-net`'s) and COMPRESS=DEFLATE on top
//! of either. [`Connection`] says which layers are active and who is at the other end.

use crate::compress::Deflate;
use crate::error::{Error, Result};
use crate::session::{Session, capabilities};
pub(crate) use sealpost_net::Stream;
use sealpost_net::{Detached, Limiter, Slot, TlsAcceptor, accept_tls};
use std::net::SocketAddr;
use std::sync::Arc;

/// What a session knows about its connection besides the stream.
pub(crate) struct Connection {
    pub peer: SocketAddr,
    /// TLS is active (implicit or after STARTTLS).
    pub tls: bool,
    /// COMPRESS=DEFLATE is active.
    pub compressed: bool,
    /// Present when STARTTLS can be offered.
    pub acceptor: Option<TlsAcceptor>,
    pub limiter: Arc<Limiter>,
    /// The connection's place in the per-address count.
    pub _ip_slot: Slot,
    /// The session's place in the per-user count, once logged in.
    pub user_slot: Option<Slot>,
}

/// A layer to add once the tagged OK of the command that asked for it has been sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upgrade {
    StartTls,
    Compress,
}

/// Puts `stream` under COMPRESS=DEFLATE; `pending` is input that arrived after the COMPRESS
/// command, which is already compressed.
pub(crate) fn compress(stream: Stream, pending: Vec<u8>) -> Stream {
    Box::new(Deflate::new(stream, pending))
}

impl Session {
    /// What is advertised now: [`CAPABILITIES`](crate::session::CAPABILITIES) adjusted for
    /// the connection. Before login: STARTTLS while TLS can still be started, and
    /// LOGINDISABLED instead of the AUTH= mechanisms where logging in needs TLS first.
    /// After login: COMPRESS=DEFLATE, which is valid only then.
    pub(crate) fn capabilities(&self) -> Vec<String> {
        let mut caps = capabilities(&self.config);
        if self.user.is_none() {
            if !self.conn.tls && self.conn.acceptor.is_some() {
                caps.push("STARTTLS".into());
            }
            if !self.auth_allowed() {
                caps.retain(|c| !c.starts_with("AUTH="));
                caps.push("LOGINDISABLED".into());
            }
        } else {
            caps.push("COMPRESS=DEFLATE".into());
        }
        caps
    }

    /// Whether LOGIN and AUTHENTICATE may be used on this connection.
    pub(crate) fn auth_allowed(&self) -> bool {
        self.config
            .allow_plaintext_auth
            .allows(self.conn.tls, self.conn.peer)
    }

    /// Adds the layer a command asked for, after its tagged OK went out unchanged.
    pub(crate) async fn apply_upgrade(&mut self, upgrade: Upgrade) -> Result<()> {
        let stream = std::mem::replace(&mut self.stream, Box::new(Detached));
        match upgrade {
            Upgrade::StartTls => {
                // Anything the client sent after STARTTLS travelled before TLS, where anyone
                // on the path could have added it (the STARTTLS command injection of
                // RFC 2595 section 3.1 / CVE-2011-0411): it is dropped, never run.
                self.buf.clear();
                let Some(acceptor) = self.conn.acceptor.clone() else {
                    return Err(Error::Protocol("STARTTLS without a TLS setup"));
                };
                let handshake = accept_tls(&acceptor, stream);
                self.stream = tokio::time::timeout(self.config.login_timeout, handshake)
                    .await
                    .map_err(|_| Error::Timeout)??;
                self.conn.tls = true;
            }
            Upgrade::Compress => {
                // Bytes after the COMPRESS command are the start of the compressed stream.
                let pending = std::mem::take(&mut self.buf);
                self.stream = compress(stream, pending);
                self.conn.compressed = true;
            }
        }
        Ok(())
    }
}
