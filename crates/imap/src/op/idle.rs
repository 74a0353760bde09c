//! IDLE (RFC 2177): wait for DONE, sending the selected mailbox's changes as they happen.
//! A change notification from core for the logged-in user wakes the session at once (other
//! users' changes do not). Notifications are not lost: the session's receiver exists from
//! login, and a receiver that fell
//! behind is told so (`Lagged`) and refreshes. A slow poll covers changes that no
//! notification announces (other nodes sharing the database). Both only lead to a journal
//! read; a poll every second would cost 10,000 idling sessions 10,000 reads a second.

use crate::error::{Error, Result};
use crate::session::Session;
use sealpost_imap_proto::{ParseError, Response, StatusResponse, parse_idle_done};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

const POLL: Duration = Duration::from_secs(30);
/// Longest line accepted while idling (DONE is four bytes).
const MAX_IDLE_LINE: usize = 1024;

/// The next wake-up of the user's channel (never, without one: the poll still runs).
async fn changed(rx: &mut Option<Receiver<()>>) -> std::result::Result<(), RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Session {
    /// Reads the journal (whatever woke IDLE: the notification it took is not there for
    /// `refresh` to see) and sends what changed.
    async fn idle_refresh(&mut self) -> Result<()> {
        if let Some(selected) = self.selected.as_mut() {
            selected.journal_read = None;
        }
        match self.refresh(true).await {
            Ok(()) => {}
            Err(Error::Core(e)) => tracing::warn!(error = %e, "imap: refresh during IDLE failed"),
            Err(e) => return Err(e),
        }
        self.flush().await
    }

    pub(crate) async fn op_idle(&mut self, tag: &str) -> Result<StatusResponse> {
        self.push(Response::Continuation("idling".into()));
        self.flush().await?;
        self.user_id()?;
        let deadline = tokio::time::Instant::now() + self.config.idle_timeout;
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut chunk = [0u8; 512];
        let shutdown = self.shutdown.clone();
        loop {
            if self.buf.contains(&b'\n') || self.buf.len() > MAX_IDLE_LINE {
                match parse_idle_done(&self.buf) {
                    Ok(used) => {
                        self.buf.drain(..used);
                        return Ok(StatusResponse::ok(tag, "IDLE terminated"));
                    }
                    Err(ParseError::Incomplete) => {}
                    Err(_) => {
                        self.skip_line();
                        return Ok(StatusResponse::bad(tag, "Expected DONE"));
                    }
                }
            }
            tokio::select! {
                read = self.stream.read(&mut chunk) => {
                    let n = read?;
                    if n == 0 {
                        return Err(Error::Closed);
                    }
                    self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                }
                change = changed(&mut self.changes) => match change {
                    Ok(()) | Err(RecvError::Lagged(_)) => self.idle_refresh().await?,
                    Err(RecvError::Closed) => tokio::time::sleep(Duration::from_secs(1)).await,
                },
                _ = poll.tick() => self.idle_refresh().await?,
                reason = crate::session::killed(&mut self.kill) => return self.killed(reason).await,
                _ = shutdown.stopped() => return self.shutting_down().await,
                _ = tokio::time::sleep_until(deadline) => return Err(Error::Timeout),
            }
        }
    }
}
