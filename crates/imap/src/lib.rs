//! The IMAP server of Sealpost: accepts connections and runs one session per connection.
//!
//! The protocol syntax (commands in, responses out) is `sealpost-imap-proto`; every change and
//! every read goes through [`sealpost_core::Core`]. Layout, as in Stalwart's IMAP crate:
//!
//! - `session.rs`: the connection loop (bounded reading, literals and continuations, BAD
//!   handling, timeouts, state checks) and the dispatch of commands;
//! - `state.rs`: the selected mailbox as the session knows it (UIDs in sequence order,
//!   flags, modseq) and how changes from elsewhere become untagged responses;
//! - `op/<command>.rs`: what each command does;
//! - `convert.rs`: the stored message index (envelope, MIME tree) as IMAP structures.
//!
//! Plain TCP only for now: STARTTLS and implicit TLS are not served (and not advertised).
//!
//! How changes reach a session: after each command (and during IDLE, when core's change
//! channel fires, or every 30 s for changes no notification announces) the session reads
//! the selected mailbox's journal rows above the modseq it has taken into account. Those
//! rows name the messages that changed; only their current rows are read again and
//! `state::Selected::apply_changes` turns them into FETCH/EXPUNGE/EXISTS, so a small
//! change costs the same on a mailbox of 100,000 messages as on one of ten. Reading by
//! modseq rather than journal id keeps the property the whole-view reload had: every
//! journal row of a mailbox takes its modseq under the mailbox row's lock, so rows become
//! visible in modseq order on both engines and none is skipped (journal ids can commit out
//! of order on PostgreSQL). More rows than one read, or the mailbox's deletion, reload the
//! whole view (`state::Selected::reconcile`); applying a row twice is harmless.
//!
//! Not served yet (and so not advertised): STARTTLS/IMAPS, CONDSTORE/QRESYNC, ESEARCH,
//! SEARCHRES, SORT/THREAD, BINARY, MULTIAPPEND (accepted by the parser and stored, but not
//! advertised), LIST-EXTENDED/LIST-STATUS, QUOTA, COMPRESS, UTF8=ACCEPT, IMAP4rev2,
//! CREATE-SPECIAL-USE, RENAME of INBOX, per-user/per-IP connection limits.

mod convert;
mod error;
mod op;
mod session;
mod state;

pub use error::Error;

use sealpost_core::Core;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Settings of the IMAP service.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// Longest command text (literals excluded) after login.
    pub max_line_length: usize,
    /// Largest literal after login (APPEND): the message size limit.
    pub max_literal_size: u64,
    /// Idle time after which an authenticated session is logged out (RFC 3501: ≥ 30 min).
    pub idle_timeout: Duration,
    /// Idle time after which a session that has not logged in is closed.
    pub login_timeout: Duration,
    /// Consecutive commands answered BAD after which the connection is closed.
    pub max_bad_commands: u32,
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            max_line_length: 64 * 1024,
            max_literal_size: 64 * 1024 * 1024,
            idle_timeout: Duration::from_secs(30 * 60),
            login_timeout: Duration::from_secs(60),
            max_bad_commands: 20,
        }
    }
}

/// Serves IMAP on `listener` until the task is dropped (the caller aborts it on shutdown).
pub async fn serve(listener: TcpListener, core: Core, config: ImapConfig) {
    let config = Arc::new(config);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let (core, config) = (core.clone(), config.clone());
                tokio::spawn(async move {
                    if let Err(e) = session::run(stream, core, config).await {
                        tracing::debug!(%peer, error = %e, "imap session ended");
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "imap accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
