//! One POP3 connection: the read loop (bounded lines, pipelined commands answered in one
//! write, timeouts), the AUTHORIZATION/TRANSACTION state checks and the dispatch to
//! `op/<command>.rs`.

use crate::Pop3Config;
use crate::error::{Error, Result};
use crate::maildrop::Maildrop;
use sealpost_core::Core;
use sealpost_net::{Limiter, Slot, Stream, TlsAcceptor};
use sealpost_pop3_proto::{
    Code, Command, MAX_LINE, ParseError, Reply, parse_command, parse_sasl_response,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a TLS handshake may take.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a client may take to accept a response.
const WRITE_TIMEOUT: Duration = Duration::from_secs(300);
/// Output is written out once this much is queued (RETR of a large message).
pub(crate) const FLUSH_AT: usize = 256 * 1024;
/// Buffer space reserved for each read; the output buffer kept between commands.
const READ_CHUNK: usize = 4 * 1024;
const IDLE_OUT: usize = 4 * 1024;
/// Commands accepted before login.
const MAX_PREAUTH_COMMANDS: u32 = 50;

/// What a session knows about its connection besides the stream.
pub(crate) struct Connection {
    pub peer: SocketAddr,
    /// TLS is active (POP3S, or after STLS).
    pub tls: bool,
    /// Present when STLS can be offered.
    pub acceptor: Option<TlsAcceptor>,
    pub limiter: Arc<Limiter>,
    /// The connection's place in the per-address count.
    pub _ip_slot: Slot,
    /// The session's place in the per-user count, once logged in.
    pub user_slot: Option<Slot>,
}

/// The session's state (RFC 1939 section 3); UPDATE is the QUIT command itself.
pub(crate) enum State {
    /// Not logged in; `user` is the name given by USER, waiting for PASS.
    Authorization {
        user: Option<String>,
    },
    Transaction(Maildrop),
}

pub(crate) struct Session {
    pub stream: Stream,
    pub conn: Connection,
    pub core: Core,
    pub config: Arc<Pop3Config>,
    /// Received bytes not consumed yet (at most one line beyond what was handled).
    pub buf: Vec<u8>,
    /// Responses not written yet.
    out: Vec<u8>,
    pub state: State,
    /// AUTH sent its challenge: the next line is the client's response.
    pub sasl_pending: bool,
    /// STLS was accepted: TLS starts once its answer is out.
    pub start_tls: bool,
    /// QUIT (or a fatal limit): the connection ends once the answer is out.
    pub quit: bool,
    /// Failed logins on this connection.
    pub auth_failures: u32,
    bad_commands: u32,
    preauth_commands: u32,
    /// The rest of an over-long line is being dropped.
    discard_line: bool,
    /// This session's id in the authentication log.
    pub id: String,
    /// Fires when the logged-in user is logged out everywhere.
    pub kill: Option<sealpost_core::SessionSignal>,
    /// The server's graceful stop.
    shutdown: sealpost_net::Shutdown,
}

/// Runs a session to its end.
pub(crate) async fn run(
    stream: Stream,
    conn: Connection,
    core: Core,
    config: Arc<Pop3Config>,
    shutdown: sealpost_net::Shutdown,
) -> Result<()> {
    let mut session = Session {
        stream,
        conn,
        core,
        config,
        buf: Vec::new(),
        out: Vec::new(),
        state: State::Authorization { user: None },
        sasl_pending: false,
        start_tls: false,
        quit: false,
        auth_failures: 0,
        bad_commands: 0,
        preauth_commands: 0,
        discard_line: false,
        id: sealpost_core::ObjectId::new().to_string(),
        kill: None,
        shutdown,
    };
    session.push(Reply::ok("Sealpost POP3 server ready"));
    let result = session.serve().await;
    if result.is_ok() {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, session.stream.shutdown()).await;
    }
    result
}

impl Session {
    /// Queues a status line.
    pub fn push(&mut self, reply: Reply) {
        reply.encode_into(&mut self.out);
    }

    /// Queues bytes as they are (lines of a multi-line response).
    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// The output buffer, for encoders that write into it.
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Writes the queued responses.
    pub async fn flush(&mut self) -> Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let write = async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Ok(r) => r?,
            Err(_) => return Err(Error::Timeout),
        }
        self.out.clear();
        if self.out.capacity() > 4 * FLUSH_AT {
            self.out.shrink_to(FLUSH_AT);
        }
        Ok(())
    }

    /// Writes out when much output is queued (during long responses).
    pub async fn flush_if_full(&mut self) -> Result<()> {
        if self.out.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Reads once from the socket into the buffer.
    async fn read_more(&mut self) -> Result<()> {
        let between_commands = self.buf.is_empty();
        self.buf.reserve(READ_CHUNK);
        let read = tokio::time::timeout(
            self.config.idle_timeout,
            self.stream.read_buf(&mut self.buf),
        );
        let kill = async {
            match &mut self.kill {
                Some(k) => k.ended().await,
                None => std::future::pending().await,
            }
        };
        let shutdown = self.shutdown.clone();
        let stopping = shutdown.stopped_between_commands(between_commands);
        let read = tokio::select! {
            read = read => read,
            _ = stopping => {
                self.push(Reply::err("Server shutting down, try again later").with_code(Code::SysTemp));
                let _ = self.flush().await;
                return Err(Error::Closed);
            }
            reason = kill => {
                tracing::info!("pop3: session closed by a logout of the user");
                self.push(Reply::err(format!("Session closed: {reason}")).with_code(Code::Auth));
                let _ = self.flush().await;
                return Err(Error::Closed);
            }
        };
        let n = match read {
            Ok(r) => r?,
            Err(_) => {
                self.push(Reply::err("Autologout: idle for too long"));
                let _ = self.flush().await;
                return Err(Error::Timeout);
            }
        };
        if n == 0 {
            return Err(Error::Closed);
        }
        Ok(())
    }

    async fn serve(&mut self) -> Result<()> {
        loop {
            self.process().await?;
            // Everything that arrived is answered: one write for pipelined commands.
            self.flush().await?;
            if self.quit {
                return Ok(());
            }
            if self.buf.is_empty() && self.buf.capacity() > READ_CHUNK {
                self.buf = Vec::new();
            }
            if self.out.capacity() > IDLE_OUT {
                self.out = Vec::new();
            }
            self.read_more().await?;
        }
    }

    /// Handles every complete line in the buffer.
    async fn process(&mut self) -> Result<()> {
        loop {
            if self.discard_line {
                match self.buf.iter().position(|&b| b == b'\n') {
                    Some(lf) => {
                        self.buf.drain(..=lf);
                        self.discard_line = false;
                    }
                    None => {
                        self.buf.clear();
                        return Ok(());
                    }
                }
            }
            if self.buf.is_empty() {
                return Ok(());
            }
            if self.sasl_pending {
                match parse_sasl_response(&self.buf) {
                    Ok((response, used)) => {
                        self.buf.drain(..used);
                        self.sasl_pending = false;
                        let result = Box::pin(self.op_auth_response(response)).await;
                        self.settle(result)?;
                    }
                    Err(ParseError::Incomplete) => return Ok(()),
                    Err(ParseError::LineTooLong) => {
                        self.sasl_pending = false;
                        self.discard_line = true;
                        self.push(Reply::err("Line too long"));
                        self.count_bad();
                    }
                    Err(ParseError::Bad { message, used }) => {
                        self.buf.drain(..used.min(self.buf.len()));
                        self.sasl_pending = false;
                        self.push(Reply::err(message));
                        self.count_bad();
                    }
                }
            } else {
                match parse_command(&self.buf, MAX_LINE) {
                    Ok((command, used)) => {
                        self.buf.drain(..used);
                        self.execute(command).await?;
                    }
                    Err(ParseError::Incomplete) => return Ok(()),
                    Err(ParseError::LineTooLong) => {
                        self.discard_line = true;
                        self.push(Reply::err("Line too long"));
                        self.count_bad();
                    }
                    Err(ParseError::Bad { message, used }) => {
                        self.buf.drain(..used.min(self.buf.len()));
                        self.push(Reply::err(message));
                        self.count_bad();
                    }
                }
            }
            if self.quit {
                return Ok(());
            }
            if self.start_tls {
                self.start_tls = false;
                self.flush().await?;
                self.upgrade_tls().await?;
            }
            self.flush_if_full().await?;
        }
    }

    /// Puts TLS under the stream after STLS was answered.
    async fn upgrade_tls(&mut self) -> Result<()> {
        // Anything the client sent after STLS travelled before TLS, where anyone on the path
        // could have added it (RFC 2595 section 3.1 / CVE-2011-0411): dropped, never run.
        self.buf.clear();
        let Some(acceptor) = self.conn.acceptor.clone() else {
            return Err(Error::Protocol("STLS without a TLS setup"));
        };
        let stream = std::mem::replace(&mut self.stream, Box::new(sealpost_net::Detached));
        self.stream = tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            sealpost_net::accept_tls(&acceptor, stream),
        )
        .await
        .map_err(|_| Error::Timeout)??;
        self.conn.tls = true;
        // Nothing learnt before TLS is kept (RFC 2595 section 4): a USER name is forgotten.
        self.state = State::Authorization { user: None };
        Ok(())
    }

    /// Counts a command refused for its syntax or state; too many in a row end the session.
    pub fn count_bad(&mut self) {
        self.bad_commands += 1;
        if self.bad_commands >= self.config.max_bad_commands {
            self.push(Reply::err("Too many bad commands"));
            self.quit = true;
        }
    }

    /// Runs one command: the state check, then the operation.
    async fn execute(&mut self, command: Command) -> Result<()> {
        let logged_in = matches!(self.state, State::Transaction(_));
        let allowed = match &command {
            Command::Capa | Command::Quit => true,
            Command::User(_) | Command::Pass(_) | Command::Auth { .. } | Command::Stls => {
                !logged_in
            }
            _ => logged_in,
        };
        if !allowed {
            let text = if logged_in {
                "Already logged in"
            } else {
                "Log in first"
            };
            self.push(Reply::err(format!(
                "{text}: {} not allowed now",
                command.name()
            )));
            self.count_bad();
            return Ok(());
        }
        self.bad_commands = 0;
        if !logged_in {
            self.preauth_commands += 1;
            if self.preauth_commands > MAX_PREAUTH_COMMANDS {
                self.push(Reply::err("Too many commands without logging in"));
                self.quit = true;
                return Ok(());
            }
        }
        // Boxed: the operations' futures are large, and only a running command needs one.
        let result = Box::pin(self.dispatch(command)).await;
        self.settle(result)
    }

    /// The end of an operation: a `core` failure becomes `-ERR [SYS/TEMP]` and the session
    /// goes on; other errors end it.
    fn settle(&mut self, result: Result<()>) -> Result<()> {
        match result {
            Ok(()) => Ok(()),
            Err(Error::Core(e)) => {
                tracing::warn!(peer = %self.conn.peer, error = %e, "pop3: command failed");
                self.push(core_error(&e));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// The `-ERR` line for a failed `core` operation.
pub(crate) fn core_error(e: &sealpost_core::Error) -> Reply {
    use sealpost_core::Error as E;
    match e {
        E::NotFound(m) => Reply::err(m.clone()),
        E::AuthFailed => Reply::err("Authentication failed").with_code(Code::Auth),
        E::Internal(_) => {
            Reply::err("Temporary server error; try again later").with_code(Code::SysTemp)
        }
        other => Reply::err(other.to_string()).with_code(Code::SysTemp),
    }
}
