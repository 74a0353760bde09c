//! The byte stream under a session and the layers it can gain: plain TCP, TLS (implicit on
//! the IMAPS port, or after STARTTLS) and COMPRESS=DEFLATE on top of either. The session only
//! sees a [`Stream`]; [`Connection`] says which layers are active and who is at the other end.

use crate::PlaintextAuth;
use crate::compress::Deflate;
use crate::error::{Error, Result};
use crate::limiter::{Limiter, Slot, client_ip};
use crate::session::{Session, capabilities};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsAcceptor;

/// What a session reads from and writes to.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Io for T {}

pub(crate) type Stream = Box<dyn Io>;

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

/// Puts `stream` under TLS, as server.
pub(crate) async fn accept_tls(acceptor: &TlsAcceptor, stream: Stream) -> io::Result<Stream> {
    let tls = acceptor.accept(stream).await?;
    Ok(Box::new(tls))
}

/// Puts `stream` under COMPRESS=DEFLATE; `pending` is input that arrived after the COMPRESS
/// command, which is already compressed.
pub(crate) fn compress(stream: Stream, pending: Vec<u8>) -> Stream {
    Box::new(Deflate::new(stream, pending))
}

/// Stands in for the stream while a layer is being put around it: reads end, writes fail.
pub(crate) struct Detached;

impl AsyncRead for Detached {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Detached {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::ErrorKind::NotConnected.into()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
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
        self.conn.tls
            || match self.config.allow_plaintext_auth {
                PlaintextAuth::Always => true,
                PlaintextAuth::Never => false,
                PlaintextAuth::Loopback => client_ip(self.conn.peer.ip()).is_loopback(),
            }
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
