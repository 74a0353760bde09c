//! The POP3 server of Sealpost (RFC 1939; CAPA and response codes of RFC 2449, STLS of
//! RFC 2595, RFC 3206 codes, AUTH PLAIN of RFC 5034) over each user's INBOX.
//!
//! The command syntax is `sealpost-pop3-proto`; every read and change goes through
//! [`sealpost_core::Core`]; the stream, the TLS handshake, the connection limits, the
//! failed-login throttle and the plain-text login policy are `sealpost-net`'s, shared with
//! IMAP. Layout:
//!
//! - `session.rs`: the connection loop (bounded lines, pipelined commands, timeouts, BAD
//!   counting), the state checks and the dispatch to `op/<command>.rs`;
//! - `maildrop.rs`: the messages of the session, fixed at login (the newest
//!   [`Pop3Config::max_messages`] of INBOX), with their deletion marks;
//! - `op/`: what each command does. Deletions marked with DELE are applied at QUIT, in one
//!   transaction, through the same store path as IMAP EXPUNGE and the REST delete, so they
//!   are journaled and IMAP sessions see them at once; a connection that ends without QUIT
//!   deletes nothing. Messages sent whole by RETR are flagged `\Seen` at QUIT.
//!
//! Before TLS, USER/PASS and AUTH are refused (`-ERR [AUTH]`) unless [`PlaintextAuth`]
//! allows them for the client's address, and CAPA then does not offer them. APOP is not
//! offered (it needs the clear-text password on the server).

mod error;
mod maildrop;
mod op;
mod session;

pub use error::Error;
pub use sealpost_net::{PlaintextAuth, rustls};

use sealpost_core::Core;
use sealpost_net::{Limiter, LimiterConfig, Stream, TlsAcceptor};
use session::Connection;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Settings of the POP3 service.
#[derive(Debug, Clone)]
pub struct Pop3Config {
    /// How many of the newest INBOX messages a session lists (WildDuck's `maxMessages`).
    pub max_messages: usize,
    /// Idle time after which a session is closed (RFC 1939 section 3: at least 10 min).
    pub idle_timeout: Duration,
    /// Consecutive commands answered `-ERR` for their syntax or state after which the
    /// connection is closed.
    pub max_bad_commands: u32,
    /// When USER/PASS and AUTH work without TLS.
    pub allow_plaintext_auth: PlaintextAuth,
    /// Connections from one address at once (0: no limit).
    pub max_connections_per_ip: u32,
    /// Logged-in sessions of one user at once (0: no limit).
    pub max_connections_per_user: u32,
    /// Failed logins from one address (or for one name) within `auth_failure_window` after
    /// which logins are refused until the window has slid past them (0: never).
    pub max_auth_failures_per_ip: u32,
    pub max_auth_failures_per_user: u32,
    pub auth_failure_window: Duration,
}

impl Default for Pop3Config {
    fn default() -> Self {
        Pop3Config {
            max_messages: 250,
            idle_timeout: Duration::from_secs(10 * 60),
            max_bad_commands: 20,
            allow_plaintext_auth: PlaintextAuth::Loopback,
            max_connections_per_ip: 100,
            max_connections_per_user: 10,
            max_auth_failures_per_ip: 30,
            max_auth_failures_per_user: 10,
            auth_failure_window: Duration::from_secs(5 * 60),
        }
    }
}

/// The POP3 service: the settings, the TLS setup and the limits shared by its listeners.
#[derive(Clone)]
pub struct Pop3Server {
    core: Core,
    config: Arc<Pop3Config>,
    tls: Option<TlsAcceptor>,
    limiter: Arc<Limiter>,
    shutdown: sealpost_net::Shutdown,
}

impl Pop3Server {
    /// With `tls`, STLS is offered on plain connections and [`Pop3Server::serve`] can serve
    /// implicit TLS (POP3S).
    pub fn new(core: Core, config: Pop3Config, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let limiter = Limiter::new(LimiterConfig {
            max_connections_per_ip: config.max_connections_per_ip,
            max_connections_per_user: config.max_connections_per_user,
            max_auth_failures_per_ip: config.max_auth_failures_per_ip,
            max_auth_failures_per_user: config.max_auth_failures_per_user,
            auth_failure_window: config.auth_failure_window,
        });
        Pop3Server {
            core,
            config: Arc::new(config),
            tls: tls.map(TlsAcceptor::from),
            limiter,
            shutdown: sealpost_net::Shutdown::never(),
        }
    }

    /// Stops with `shutdown`: no new connections, and each session ends between commands
    /// with `-ERR [SYS/TEMP]` and without the UPDATE state (nothing marked is deleted, as
    /// when a connection drops: RFC 1939 6); a command in progress finishes first.
    pub fn with_shutdown(mut self, shutdown: sealpost_net::Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Serves POP3 on `listener` until the task is dropped. With `implicit_tls` (POP3S,
    /// RFC 8314) every connection starts with a TLS handshake.
    pub async fn serve(&self, listener: TcpListener, implicit_tls: bool) {
        sealpost_net::accept_loop(listener, "pop3", &self.shutdown, |stream, peer| {
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
                session::HANDSHAKE_TIMEOUT,
                sealpost_net::accept_tls(acceptor, stream),
            )
            .await
            .map_err(|_| Error::Timeout)??;
        }
        let Some(ip_slot) = ip_slot else {
            tracing::info!(%peer, "pop3: too many connections from this address");
            let refusal = b"-ERR [SYS/TEMP] Too many connections from your address\r\n";
            let _ = tokio::time::timeout(session::HANDSHAKE_TIMEOUT, async {
                stream.write_all(refusal).await?;
                stream.flush().await?;
                stream.shutdown().await
            })
            .await;
            return Ok(());
        };
        let connection = Connection {
            peer,
            tls: implicit_tls,
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
