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
//! - `convert.rs`: the stored message index (envelope, MIME tree) as IMAP structures;
//! - `transport.rs`, `compress.rs`: the stream under a session (plain TCP, TLS after
//!   STARTTLS or on the IMAPS port, COMPRESS=DEFLATE over either);
//! - the connection limits, the failed-login throttle and the plain-text login policy are
//!   `sealpost-net`'s, shared with POP3.
//!
//! Before TLS, LOGIN and AUTHENTICATE are refused (LOGINDISABLED, RFC 3501 section 6.2.3)
//! unless [`PlaintextAuth`] allows them for the client's address: by default only on
//! loopback, where nothing crosses a network.
//!
//! How changes reach a session: after each command (and during IDLE, when core's change
//! channel for the logged-in user fires, or every 30 s for changes no notification
//! announces) the session reads
//! the selected mailbox's journal rows above the modseq it has taken into account. Those
//! rows name the messages that changed; only their current rows are read again and
//! `state::Selected::apply_changes` turns them into FETCH/EXPUNGE/EXISTS, so a small
//! change costs the same on a mailbox of 100,000 messages as on one of ten. Reading by
//! modseq rather than journal id keeps the property the whole-view reload had: every
//! journal row of a mailbox takes its modseq under the mailbox row's lock, so rows become
//! visible in modseq order on both engines and none is skipped (journal ids can commit out
//! of order on PostgreSQL). More rows than one read, or the mailbox's deletion, reload the
//! whole view (`state::Selected::reconcile`); applying a row twice is harmless. SELECT and
//! reloads take the view from core's shared view cache, which core brings up to date
//! through the same journal reads before handing it out (`core/src/view_cache.rs`).
//! On SQLite, where this process makes and announces every change, a command after which
//! no notification came since the last journal read skips the read (at most for a second).
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
//! Not served (and so not advertised): ESORT, CONTEXT=SEARCH/SORT, the LIST `OLDNAME` item
//! (names are never normalised, so it is never due).

mod compress;
mod convert;
mod error;
mod op;
mod qresync;
mod session;
mod state;
mod subject;
mod transport;

pub use error::Error;
pub use sealpost_net::{PlaintextAuth, rustls};

use sealpost_core::Core;
use sealpost_net::{Limiter, LimiterConfig, TlsAcceptor};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use transport::{Connection, Stream};

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
    /// When LOGIN/AUTHENTICATE work without TLS.
    pub allow_plaintext_auth: PlaintextAuth,
    /// Connections from one address at once (0: no limit).
    pub max_connections_per_ip: u32,
    /// Logged-in sessions of one user at once (0: no limit).
    pub max_connections_per_user: u32,
    /// Failed logins from one address within `auth_failure_window` after which its logins
    /// are refused until the window has slid past them (0: never refused).
    pub max_auth_failures_per_ip: u32,
    /// The same per login name.
    pub max_auth_failures_per_user: u32,
    pub auth_failure_window: Duration,
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            max_line_length: 64 * 1024,
            max_literal_size: 64 * 1024 * 1024,
            idle_timeout: Duration::from_secs(30 * 60),
            login_timeout: Duration::from_secs(60),
            max_bad_commands: 20,
            allow_plaintext_auth: PlaintextAuth::Loopback,
            max_connections_per_ip: 100,
            max_connections_per_user: 50,
            max_auth_failures_per_ip: 30,
            max_auth_failures_per_user: 10,
            auth_failure_window: Duration::from_secs(5 * 60),
        }
    }
}

/// The IMAP service: the settings, the TLS setup and the limits shared by its listeners.
#[derive(Clone)]
pub struct ImapServer {
    core: Core,
    config: Arc<ImapConfig>,
    tls: Option<TlsAcceptor>,
    limiter: Arc<Limiter>,
    shutdown: sealpost_net::Shutdown,
}

impl ImapServer {
    /// With `tls`, STARTTLS is offered on plain connections and [`ImapServer::serve`] can
    /// serve implicit TLS.
    pub fn new(core: Core, config: ImapConfig, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let limiter = Limiter::new(LimiterConfig {
            max_connections_per_ip: config.max_connections_per_ip,
            max_connections_per_user: config.max_connections_per_user,
            max_auth_failures_per_ip: config.max_auth_failures_per_ip,
            max_auth_failures_per_user: config.max_auth_failures_per_user,
            auth_failure_window: config.auth_failure_window,
        });
        ImapServer {
            core,
            config: Arc::new(config),
            tls: tls.map(TlsAcceptor::from),
            limiter,
            shutdown: sealpost_net::Shutdown::never(),
        }
    }

    /// Stops with `shutdown`: no new connections, and each session ends with `* BYE` at its
    /// next command boundary or in IDLE; a command in progress (an APPEND) finishes first.
    pub fn with_shutdown(mut self, shutdown: sealpost_net::Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Serves IMAP on `listener` until the task is dropped (the caller aborts it on
    /// shutdown). With `implicit_tls` (IMAPS, RFC 8314) every connection starts with a TLS
    /// handshake; that needs the TLS setup given to [`ImapServer::new`].
    pub async fn serve(&self, listener: TcpListener, implicit_tls: bool) {
        sealpost_net::accept_loop(listener, "imap", &self.shutdown, |stream, peer| {
            let server = self.clone();
            async move { server.connection(stream, peer, implicit_tls).await }
        })
        .await
    }

    async fn connection(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        implicit_tls: bool,
    ) -> Result<(), Error> {
        let _ = tcp.set_nodelay(true);
        let mut stream: Stream = Box::new(tcp);
        // Counted from the start, so that connections stalled in the handshake count too.
        let ip_slot = self.limiter.connect(peer.ip());
        if implicit_tls {
            let Some(acceptor) = &self.tls else {
                return Err(Error::Protocol("implicit TLS without a TLS setup"));
            };
            stream = tokio::time::timeout(
                self.config.login_timeout,
                sealpost_net::accept_tls(acceptor, stream),
            )
            .await
            .map_err(|_| Error::Timeout)??;
        }
        let Some(ip_slot) = ip_slot else {
            tracing::info!(%peer, "imap: too many connections from this address");
            let bye = b"* BYE Too many connections from your address\r\n";
            let _ = tokio::time::timeout(self.config.login_timeout, async {
                stream.write_all(bye).await?;
                stream.flush().await?;
                stream.shutdown().await
            })
            .await;
            return Ok(());
        };
        let connection = Connection {
            peer,
            tls: implicit_tls,
            compressed: false,
            acceptor: self.tls.clone(),
            limiter: self.limiter.clone(),
            _ip_slot: ip_slot,
            user_slot: None,
        };
        session::run(
            stream,
            connection,
            self.core.clone(),
            self.config.clone(),
            self.shutdown.clone(),
        )
        .await
    }
}

/// Serves IMAP in plain text (no STARTTLS) on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, core: Core, config: ImapConfig) {
    ImapServer::new(core, config, None)
        .serve(listener, false)
        .await
}
