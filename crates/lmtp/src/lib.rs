//! Mail front ends of Sealpost: an LMTP server (RFC 2033) for an MTA in front of us, an
//! inbound SMTP listener (RFC 5321) that accepts mail for local recipients only (final
//! delivery, never relaying), and the submission listeners (RFC 6409, on a STARTTLS port and
//! an implicit-TLS port, RFC 8314) where our users send mail after AUTH PLAIN or LOGIN
//! (`session/submission.rs`).
//!
//! All speak the same session (`session.rs`) over the same parser
//! (`sealpost-smtp-proto`): PIPELINING (replies are flushed only when the client's input is
//! used up), 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, SIZE, CHUNKING (BDAT), STARTTLS.
//! Recipients are resolved at RCPT time through `core` (unknown ones get 550 5.1.1 at once);
//! after DATA or BDAT LAST the message goes to [`sealpost_core::Core::deliver`], which
//! answers only once it is durably committed. LMTP then answers once per accepted recipient;
//! SMTP once for the transaction (the first failure if any recipient failed, so that the
//! sender retries rather than loses a copy).
//!
//! Bounds: command line length, recipients per transaction, message size (SIZE is checked
//! at MAIL, and the body is counted while it arrives), a timeout on every read and write,
//! a number of connections at once, and a number of consecutive bad commands.

mod error;
mod replies;
mod session;

pub use error::{Error, Result};
pub use sealpost_net::PlaintextAuth;
pub use tokio_rustls::rustls;

use sealpost_core::Core;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Which protocol a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Lmtp,
    Smtp,
    /// Message submission by authenticated users (RFC 6409).
    Submission,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Lmtp => "LMTP",
            Mode::Smtp => "ESMTP",
            Mode::Submission => "ESMTP MSA",
        }
    }

    /// The protocol label of the metrics: `lmtp`, `smtp`, `submission`.
    pub fn metric_name(self) -> &'static str {
        match self {
            Mode::Lmtp => "lmtp",
            Mode::Smtp => "smtp",
            Mode::Submission => "submission",
        }
    }
}

/// The reply to a recipient who is over quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuotaReply {
    /// `452 4.2.2`: the sender keeps trying (default, as WildDuck and Dovecot do).
    #[default]
    Temporary,
    /// `552 5.2.2`: the sender bounces at once.
    Permanent,
}

impl FromStr for QuotaReply {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "452" => Ok(QuotaReply::Temporary),
            "552" => Ok(QuotaReply::Permanent),
            _ => Err(format!("{s:?} is not 452 or 552")),
        }
    }
}

/// Settings of one delivery listener.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub mode: Mode,
    /// Our name in the greeting, the EHLO reply and `Received:` headers.
    pub hostname: String,
    /// Recipients accepted per transaction; more get 452 4.5.3.
    pub max_recipients: usize,
    /// Largest message, bytes (advertised as SIZE).
    pub max_message_size: u64,
    /// Limit on every read and write of a session (RFC 5321 suggests 5 minutes).
    pub timeout: Duration,
    /// Connections served at once; more get 421 4.3.2 and are closed.
    pub max_connections: usize,
    /// Consecutive refused commands after which the connection is closed.
    pub max_bad_commands: u32,
    pub quota_reply: QuotaReply,
    /// Submission: when AUTH may be used without TLS (as for IMAP).
    pub allow_plaintext_auth: PlaintextAuth,
}

impl DeliveryConfig {
    pub fn new(mode: Mode) -> DeliveryConfig {
        DeliveryConfig {
            mode,
            hostname: "localhost".into(),
            max_recipients: 100,
            max_message_size: 64 << 20,
            timeout: Duration::from_secs(300),
            max_connections: 1000,
            max_bad_commands: 20,
            quota_reply: QuotaReply::Temporary,
            allow_plaintext_auth: PlaintextAuth::Loopback,
        }
    }
}

/// One delivery listener's service: settings, TLS and the connection count.
#[derive(Clone)]
pub struct DeliveryServer {
    core: Core,
    config: Arc<DeliveryConfig>,
    tls: Option<TlsAcceptor>,
    slots: Arc<Semaphore>,
    shutdown: sealpost_net::Shutdown,
}

impl DeliveryServer {
    /// With `tls`, STARTTLS is offered.
    pub fn new(
        core: Core,
        config: DeliveryConfig,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> DeliveryServer {
        let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
        DeliveryServer {
            core,
            config: Arc::new(config),
            tls: tls.map(TlsAcceptor::from),
            slots,
            shutdown: sealpost_net::Shutdown::never(),
        }
    }

    /// Stops with `shutdown`: no new connections, and each session ends between commands
    /// with `421 4.3.2`; a message being received (DATA, BDAT) is received, stored and
    /// answered first (RFC 5321 3.8: a server shutting down answers 421).
    pub fn with_shutdown(mut self, shutdown: sealpost_net::Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Serves `listener` until the task is dropped.
    pub async fn serve(&self, listener: TcpListener) {
        self.serve_with(listener, false).await
    }

    /// Serves `listener` with implicit TLS (RFC 8314: the TLS handshake comes first) until
    /// the task is dropped.
    pub async fn serve_tls(&self, listener: TcpListener) {
        self.serve_with(listener, true).await
    }

    async fn serve_with(&self, listener: TcpListener, implicit_tls: bool) {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = self.shutdown.stopped() => return,
            };
            match accepted {
                Ok((mut stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                        tracing::info!(%peer, mode = self.config.mode.name(), "too many connections");
                        let timeout = self.config.timeout;
                        tokio::spawn(async move {
                            let _ = tokio::time::timeout(timeout, async {
                                stream
                                    .write_all(
                                        b"421 4.3.2 Too many connections, try again later\r\n",
                                    )
                                    .await?;
                                stream.shutdown().await
                            })
                            .await;
                        });
                        continue;
                    };
                    let server = self.clone();
                    let live = self.shutdown.track();
                    let protocol = self.config.mode.metric_name();
                    let open = sealpost_core::metrics::connection_opened(protocol);
                    let span = sealpost_net::session_span(protocol, peer);
                    tokio::spawn(tracing::Instrument::instrument(
                        async move {
                            let result = if implicit_tls {
                                server.run_tls(stream, peer).await
                            } else {
                                session::run(
                                    Box::new(stream),
                                    peer,
                                    server.core,
                                    server.config,
                                    server.tls,
                                    None,
                                    server.shutdown,
                                )
                                .await
                            };
                            if let Err(e) = result {
                                tracing::debug!(%peer, error = %e, "delivery session ended");
                            }
                            drop(slot);
                            drop(live);
                            drop(open);
                        },
                        span,
                    ));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// The TLS handshake of an implicit-TLS connection, then its session.
    async fn run_tls(
        self,
        stream: tokio::net::TcpStream,
        peer: std::net::SocketAddr,
    ) -> Result<()> {
        let Some(acceptor) = self.tls.clone() else {
            return Err(Error::Protocol("implicit TLS without a TLS setup"));
        };
        let tls = tokio::time::timeout(self.config.timeout, acceptor.accept(stream))
            .await
            .map_err(|_| Error::Timeout)??;
        let info = session::tls_description(tls.get_ref().1);
        // No STARTTLS on a connection that is already encrypted.
        session::run(
            Box::new(tls),
            peer,
            self.core,
            self.config,
            None,
            Some(info),
            self.shutdown,
        )
        .await
    }
}
