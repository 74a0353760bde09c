//! The accept loop of a protocol listener: every connection in a task of its own; a failed
//! accept (out of file descriptors and the like) waits a little rather than spinning.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

use crate::Shutdown;
use tracing::Instrument;

/// The span every log line of one connection is written in: its protocol, client address and
/// a connection id (shown by the JSON log format on each line).
pub fn session_span(protocol: &'static str, peer: SocketAddr) -> tracing::Span {
    tracing::info_span!(
        "session",
        protocol,
        %peer,
        conn = %sealpost_core::ObjectId::new()
    )
}

/// Pause after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections on `listener` until `shutdown` stops (or the task is dropped),
/// spawning `session(stream, peer)` for each, counted as live in `shutdown` (and as an open
/// `name` connection in the metrics) until it ends; a session that ends with an error is
/// logged at debug level under `name`.
pub async fn accept_loop<F, Fut, E>(
    listener: TcpListener,
    name: &'static str,
    shutdown: &Shutdown,
    session: F,
) where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.stopped() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let run = session(stream, peer);
                let live = shutdown.track();
                let open = sealpost_core::metrics::connection_opened(name);
                let span = session_span(name, peer);
                tokio::spawn(
                    async move {
                        if let Err(e) = run.await {
                            tracing::debug!(error = %e, "{name} session ended");
                        }
                        drop(live);
                        drop(open);
                    }
                    .instrument(span),
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "{name} accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}
