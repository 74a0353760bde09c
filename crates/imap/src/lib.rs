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
//! channel fires or once a second) the session reads the user's journal rows after the last
//! one it saw; when one concerns the selected mailbox it reloads the mailbox view and
//! `state::Selected::reconcile` turns the difference into FETCH/EXPUNGE/EXISTS. Reloading
//! the view (rather than applying journal rows one by one) is self-healing: a journal row
//! read out of commit order can delay an update but not lose it.
//!
//! CONDSTORE and QRESYNC (RFC 7162) use the per-message modseq of the store and the
//! journal's EXPUNGE rows (UID and modseq) for `VANISHED (EARLIER)`; `qresync.rs` computes
//! the vanished UIDs, each command file its part (MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE,
//! SEARCH MODSEQ, SELECT/EXAMINE parameters, ENABLE).
//!
//! SEARCH, SORT and THREAD share one evaluation of the search keys (`op/search.rs`); SORT and
//! THREAD read their keys from the stored index through `Core::sort_fields`, and
//! `subject.rs` holds the RFC 5256 base subject. ESEARCH, SEARCHRES (`$` kept by UID in
//! `state::Selected`), SORT, SORT=DISPLAY, THREAD=ORDEREDSUBJECT and THREAD=REFERENCES are
//! served; ESORT and CONTEXT=SEARCH/SORT are not.
//!
//! Mailbox-level extensions served: LIST-EXTENDED with LIST-STATUS and the SPECIAL-USE
//! selection, STATUS=SIZE, QUOTA (one root per user, STORAGE only; SETQUOTA refused),
//! APPENDLIMIT, MULTIAPPEND (all or nothing), CREATE-SPECIAL-USE, RENAME of INBOX, BINARY,
//! UTF8=ACCEPT and IMAP4rev2 after ENABLE (no `\Recent`, LIST in SELECT, UTF-8 names).
//!
//! Not served yet (and so not advertised): STARTTLS/IMAPS, COMPRESS, ESORT, CONTEXT, the
//! LIST `OLDNAME` item (names are never normalised, so it is never due), per-user/per-IP
//! connection limits.

mod convert;
mod error;
mod op;
mod qresync;
mod session;
mod state;
mod subject;

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
