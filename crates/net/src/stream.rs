//! The byte stream under a session: plain TCP, or TLS around it (implicit on the IMAPS and
//! POP3S ports, or after STARTTLS/STLS). Sessions see only a boxed [`Stream`], so a layer can
//! be added in the middle of a connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsAcceptor;

/// What a session reads from and writes to.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Io for T {}

pub type Stream = Box<dyn Io>;

/// Puts `stream` under TLS, as server.
pub async fn accept_tls(acceptor: &TlsAcceptor, stream: Stream) -> io::Result<Stream> {
    let tls = acceptor.accept(stream).await?;
    Ok(Box::new(tls))
}

/// Stands in for the stream while a layer is being put around it: reads end, writes fail.
pub struct Detached;

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
