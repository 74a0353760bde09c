//! One LMTP or SMTP session: reading command lines and message bodies under bounds and
//! timeouts, the transaction state (greeting, sender, recipients, BDAT chunks), and the
//! replies. Replies are collected and written when the session needs more input, which is
//! all PIPELINING (RFC 2920) asks of a server.

use crate::error::{Error, Result};
use crate::replies::{bad_sequence, delivery_error, ok};
use crate::{DeliveryConfig, Mode};
use sealpost_core::delivery::{Envelope, Protocol, Recipient};
use sealpost_core::forwarded::ForwardedInfo;
use sealpost_core::provisioning::FanOut;
use sealpost_core::{Core, ObjectId};
use sealpost_smtp_proto::{Command, DotDecoder, MAX_LINE, MailParams, Reply, parse_command};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

mod submission;

/// What a session reads from and writes to.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
pub(crate) type Stream = Box<dyn Io>;

/// Bytes read from the socket at once.
const READ_CHUNK: usize = 64 * 1024;

/// A mail transaction in progress.
struct Transaction {
    from: String,
    params: MailParams,
    /// Accepted recipients, one per user: a user named twice (the same address again, or two
    /// of its addresses) gets one copy, as with Dovecot and Postfix's duplicate filter.
    recipients: Vec<Recipient>,
    /// Each accepted RCPT in order (LMTP answers every one after the body, RFC 2033 section
    /// 4.2).
    accepted: Vec<Accepted>,
    /// Where mail to our SRS addresses goes back to (bounces of forwarded copies).
    returns: Vec<String>,
    /// Forwarded addresses (no mailbox) named, with the address as given; one entry each.
    forwarded: Vec<(ForwardedInfo, String)>,
    /// Mailing lists and groups (JSON-RPC provisioning) named; one entry each.
    fan_outs: Vec<FanOut>,
    /// Submission: recipients that are not users here, for the outbound queue.
    remote: Vec<String>,
    /// RCPT commands seen (accepted or not), for the per-transaction limit.
    rcpt_count: usize,
    /// BDAT chunks received so far.
    body: Vec<u8>,
    /// A BDAT sequence has started (DATA is then out of order).
    chunking: bool,
    /// The BDAT sequence went over the size limit.
    too_big: bool,
}

/// An accepted RCPT.
#[derive(Debug, Clone, Copy)]
enum Accepted {
    /// Delivered to `recipients[i]`.
    User(usize),
    /// Sent back to the original sender of a forwarded copy (SRS).
    Return,
    /// Forwarded on by the forwarded address `forwarded[i]`.
    Forwarded(usize),
    /// Fanned out to the members of the mailing list or group `fan_outs[i]`.
    FanOut(usize),
    /// Submission: sent on to another domain.
    Remote,
}

/// What to do after a command.
enum Flow {
    Continue,
    Close,
    StartTls,
}

struct Session {
    stream: Stream,
    /// Input read but not used yet.
    buf: Vec<u8>,
    /// Replies not written yet.
    out: Vec<u8>,
    peer: SocketAddr,
    core: Core,
    config: Arc<DeliveryConfig>,
    acceptor: Option<TlsAcceptor>,
    /// TLS version and cipher once TLS is on.
    tls: Option<String>,
    helo: Option<String>,
    /// EHLO/LHLO (rather than HELO) was used.
    extended: bool,
    tx: Option<Transaction>,
    bad: u32,
    /// Submission: the user logged in with AUTH.
    auth: Option<submission::Authenticated>,
    /// Submission: failed AUTH attempts on this connection.
    auth_failures: u32,
    /// This session's id, for the authentication log.
    id: String,
    /// The server's graceful stop.
    shutdown: sealpost_net::Shutdown,
}

/// `tls`: the TLS version and cipher when the connection came in over implicit TLS.
pub(crate) async fn run(
    stream: Stream,
    peer: SocketAddr,
    core: Core,
    config: Arc<DeliveryConfig>,
    acceptor: Option<TlsAcceptor>,
    tls: Option<String>,
    shutdown: sealpost_net::Shutdown,
) -> Result<()> {
    let mut s = Session {
        stream,
        buf: Vec::new(),
        out: Vec::new(),
        peer,
        core,
        config,
        acceptor,
        tls,
        helo: None,
        extended: false,
        tx: None,
        bad: 0,
        auth: None,
        auth_failures: 0,
        id: ObjectId::new().to_string(),
        shutdown,
    };
    let greeting = format!(
        "{} Sealpost {} ready",
        s.config.hostname,
        s.config.mode.name()
    );
    s.reply(Reply::plain(220, vec![greeting]));
    let result = s.serve().await;
    if let Err(Error::Timeout) = &result {
        s.reply(Reply::new(421, (4, 4, 2), "Timeout, closing connection"));
    }
    let _ = s.flush().await;
    let _ = tokio::time::timeout(s.config.timeout, s.stream.shutdown()).await;
    result
}

impl Session {
    fn reply(&mut self, r: Reply) {
        r.write_to(&mut self.out);
    }

    async fn flush(&mut self) -> Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.out);
        tokio::time::timeout(self.config.timeout, async {
            self.stream.write_all(&out).await?;
            self.stream.flush().await
        })
        .await
        .map_err(|_| Error::Timeout)??;
        Ok(())
    }

    /// Writes pending replies, then reads more input. False at end of input.
    async fn read_more(&mut self) -> Result<bool> {
        self.flush().await?;
        let start = self.buf.len();
        self.buf.resize(start + READ_CHUNK, 0);
        let read = tokio::time::timeout(
            self.config.timeout,
            self.stream.read(&mut self.buf[start..]),
        )
        .await;
        let n = match read {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                self.buf.truncate(start);
                return Err(e.into());
            }
            Err(_) => {
                self.buf.truncate(start);
                return Err(Error::Timeout);
            }
        };
        self.buf.truncate(start + n);
        Ok(n > 0)
    }

    /// The next command line without its line end; `None` at end of input.
    async fn next_line(&mut self) -> Result<Option<Vec<u8>>> {
        let mut searched = 0;
        loop {
            if let Some(i) = self.buf[searched..].iter().position(|&b| b == b'\n') {
                let end = searched + i;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(line));
            }
            searched = self.buf.len();
            if self.buf.len() > MAX_LINE + 2 {
                self.reply(Reply::new(500, (5, 5, 6), "Line too long"));
                self.reply(Reply::new(421, (4, 7, 0), "Closing connection"));
                return Err(Error::Protocol("command line too long"));
            }
            // Between commands the stop may end the session: replies owed go out first
            // (the answer to a DATA just stored), then 421.
            let between_commands = self.buf.is_empty();
            self.flush().await?;
            let shutdown = self.shutdown.clone();
            let more = tokio::select! {
                more = self.read_more() => more?,
                _ = shutdown.stopped_between_commands(between_commands) => {
                    self.reply(Reply::new(421, (4, 3, 2), "Service shutting down, try again later"));
                    return Ok(None);
                }
            };
            if !more {
                return Ok(None);
            }
        }
    }

    async fn serve(&mut self) -> Result<()> {
        loop {
            let Some(line) = self.next_line().await? else {
                return Ok(());
            };
            let flow = match parse_command(&line) {
                Ok(cmd) => self.command(cmd).await?,
                Err(e) => {
                    self.refuse(e.reply());
                    Flow::Continue
                }
            };
            if self.bad >= self.config.max_bad_commands {
                self.reply(Reply::new(
                    421,
                    (4, 7, 0),
                    "Too many errors, closing connection",
                ));
                return Ok(());
            }
            match flow {
                Flow::Continue => {}
                Flow::Close => return Ok(()),
                Flow::StartTls => self.start_tls().await?,
            }
        }
    }

    /// Sends a negative reply and counts it against the client.
    fn refuse(&mut self, r: Reply) {
        self.bad += 1;
        self.reply(r);
    }

    /// Sends a reply; a positive one clears the count of consecutive refusals.
    fn answer(&mut self, r: Reply) {
        if r.is_positive() {
            self.bad = 0;
            self.reply(r);
        } else {
            self.refuse(r);
        }
    }

    async fn command(&mut self, cmd: Command) -> Result<Flow> {
        let lmtp = self.config.mode == Mode::Lmtp;
        match cmd {
            Command::Lhlo(name) if lmtp => self.hello(name, true),
            Command::Ehlo(name) if !lmtp => self.hello(name, true),
            Command::Helo(name) if !lmtp => self.hello(name, false),
            Command::Lhlo(_) => self.refuse(Reply::new(500, (5, 5, 1), "Use EHLO or HELO")),
            Command::Ehlo(_) | Command::Helo(_) => {
                self.refuse(Reply::new(500, (5, 5, 1), "This is LMTP: use LHLO"))
            }
            Command::Mail { from, params } => self.mail(from, params).await,
            Command::Rcpt { to } => {
                let r = if self.config.mode == Mode::Submission {
                    self.submission_rcpt(to).await
                } else {
                    self.rcpt(to).await
                };
                self.answer(r);
            }
            Command::Data => self.data().await?,
            Command::Bdat { size, last } => self.bdat(size, last).await?,
            Command::Rset => {
                self.tx = None;
                self.answer(ok((2, 0, 0), "OK"));
            }
            Command::Noop => self.answer(ok((2, 0, 0), "OK")),
            Command::Quit => {
                self.reply(Reply::new(221, (2, 0, 0), "Bye"));
                return Ok(Flow::Close);
            }
            Command::Vrfy(_) => self.answer(Reply::new(
                252,
                (2, 5, 0),
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn(_) => self.refuse(Reply::new(502, (5, 5, 1), "EXPN not available")),
            Command::Help(_) => self.answer(Reply::new(
                214,
                (2, 0, 0),
                "Commands: LHLO EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS",
            )),
            Command::Auth { mechanism, initial } if self.config.mode == Mode::Submission => {
                return self.auth(&mechanism, initial).await;
            }
            Command::Auth { .. } => self.refuse(Reply::new(
                502,
                (5, 5, 1),
                "AUTH not available: this service accepts mail for local recipients only",
            )),
            Command::StartTls => {
                if self.tls.is_some() {
                    self.refuse(bad_sequence("TLS already active"));
                } else if self.acceptor.is_none() {
                    self.refuse(Reply::new(502, (5, 5, 1), "STARTTLS not available"));
                } else if self.tx.is_some() {
                    self.refuse(bad_sequence(
                        "STARTTLS not allowed inside a mail transaction",
                    ));
                } else {
                    self.reply(Reply::new(220, (2, 0, 0), "Ready to start TLS"));
                    return Ok(Flow::StartTls);
                }
            }
        }
        Ok(Flow::Continue)
    }

    fn hello(&mut self, name: String, extended: bool) {
        self.helo = Some(name.clone());
        self.extended = extended;
        self.tx = None;
        let c = &self.config;
        if !extended {
            self.answer(Reply::plain(
                250,
                vec![format!("{} greets {name}", c.hostname)],
            ));
            return;
        }
        let mut lines = vec![
            format!("{} greets {name}", c.hostname),
            "PIPELINING".into(),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "ENHANCEDSTATUSCODES".into(),
            format!("SIZE {}", c.max_message_size),
            "CHUNKING".into(),
        ];
        if self.tls.is_none() && self.acceptor.is_some() {
            lines.push("STARTTLS".into());
        }
        if self.config.mode == Mode::Submission && self.auth_allowed() {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        lines.push("HELP".into());
        self.answer(Reply::plain(250, lines));
    }

    async fn mail(&mut self, from: String, params: MailParams) {
        if self.helo.is_none() {
            let first = if self.config.mode == Mode::Lmtp {
                "LHLO"
            } else {
                "EHLO/HELO"
            };
            return self.refuse(bad_sequence(&format!("Send {first} first")));
        }
        if self.tx.is_some() {
            return self.refuse(bad_sequence("Sender already given"));
        }
        if !from.is_ascii() && !params.smtputf8 {
            return self.refuse(Reply::new(
                553,
                (5, 6, 7),
                "Non-ASCII address needs the SMTPUTF8 parameter",
            ));
        }
        if params
            .size
            .is_some_and(|s| s > self.config.max_message_size)
        {
            return self.refuse(Reply::new(
                552,
                (5, 3, 4),
                format!(
                    "Message too big: the limit is {} bytes",
                    self.config.max_message_size
                ),
            ));
        }
        if self.config.mode == Mode::Submission
            && let Err(r) = self.submission_sender(&from).await
        {
            return self.refuse(r);
        }
        self.tx = Some(Transaction {
            from,
            params,
            recipients: Vec::new(),
            accepted: Vec::new(),
            returns: Vec::new(),
            forwarded: Vec::new(),
            fan_outs: Vec::new(),
            remote: Vec::new(),
            rcpt_count: 0,
            body: Vec::new(),
            chunking: false,
            too_big: false,
        });
        self.answer(ok((2, 1, 0), "Sender OK"));
    }

    async fn rcpt(&mut self, to: String) -> Reply {
        let max = self.config.max_recipients;
        let Some(tx) = self.tx.as_mut() else {
            return bad_sequence("Need MAIL first");
        };
        if tx.chunking {
            return bad_sequence("RCPT not allowed during BDAT");
        }
        if !to.is_ascii() && !tx.params.smtputf8 {
            return Reply::new(553, (5, 6, 7), "Non-ASCII address needs SMTPUTF8");
        }
        if tx.rcpt_count >= max {
            return Reply::new(452, (4, 5, 3), "Too many recipients");
        }
        tx.rcpt_count += 1;
        let address = if to.eq_ignore_ascii_case("postmaster") {
            format!("postmaster@{}", self.core.config().domain)
        } else {
            to
        };
        let resolved = self.core.resolve_recipient(&address).await;
        match resolved {
            Ok(Some(r)) => {
                if let Some(tx) = self.tx.as_mut() {
                    let index = match tx.recipients.iter().position(|x| x.user.id == r.user.id) {
                        Some(i) => i,
                        None => {
                            tx.recipients.push(r);
                            tx.recipients.len() - 1
                        }
                    };
                    tx.accepted.push(Accepted::User(index));
                }
                ok((2, 1, 5), "Recipient OK")
            }
            Ok(None) => {
                match self.core.forwarded_recipient(&address).await {
                    Ok(Some(fwd)) => {
                        if let Some(tx) = self.tx.as_mut() {
                            let index = match tx.forwarded.iter().position(|(f, _)| f.id == fwd.id)
                            {
                                Some(i) => i,
                                None => {
                                    tx.forwarded.push((fwd, address.clone()));
                                    tx.forwarded.len() - 1
                                }
                            };
                            tx.accepted.push(Accepted::Forwarded(index));
                        }
                        return ok((2, 1, 5), "Recipient OK");
                    }
                    Ok(None) => {}
                    Err(e) => return delivery_error(&e, self.config.quota_reply),
                }
                match self.core.fan_out_recipient(&address).await {
                    Ok(Some(list)) => {
                        if let Some(tx) = self.tx.as_mut() {
                            let index = match tx.fan_outs.iter().position(|f| f.id == list.id) {
                                Some(i) => i,
                                None => {
                                    tx.fan_outs.push(list);
                                    tx.fan_outs.len() - 1
                                }
                            };
                            tx.accepted.push(Accepted::FanOut(index));
                        }
                        return ok((2, 1, 5), "Recipient OK");
                    }
                    Ok(None) => {}
                    Err(e) => return delivery_error(&e, self.config.quota_reply),
                }
                match self.core.srs_return_address(&address).await {
                    Ok(Some(original)) => {
                        if let Some(tx) = self.tx.as_mut() {
                            if !tx.returns.contains(&original) {
                                tx.returns.push(original);
                            }
                            tx.accepted.push(Accepted::Return);
                        }
                        return ok((2, 1, 5), "Recipient OK (returned to the original sender)");
                    }
                    Ok(None) => {}
                    Err(e) => return delivery_error(&e, self.config.quota_reply),
                }
                if self.config.mode == Mode::Smtp {
                    match self.core.is_local_domain(&address).await {
                        Ok(true) => {}
                        Ok(false) => return Reply::new(550, (5, 7, 1), "Relaying denied"),
                        Err(e) => return delivery_error(&e, self.config.quota_reply),
                    }
                }
                sealpost_core::metrics::unknown_recipient();
                Reply::new(550, (5, 1, 1), "No such user here")
            }
            Err(e) => delivery_error(&e, self.config.quota_reply),
        }
    }

    /// The reason a DATA or BDAT cannot start now, if any.
    fn body_refusal(&self) -> Option<Reply> {
        match &self.tx {
            None => Some(bad_sequence("Need MAIL first")),
            Some(tx) if tx.accepted.is_empty() => Some(bad_sequence("No valid recipients")),
            Some(_) => None,
        }
    }

    async fn data(&mut self) -> Result<()> {
        if let Some(r) = self.body_refusal() {
            self.refuse(r);
            return Ok(());
        }
        if self.tx.as_ref().is_some_and(|t| t.chunking) {
            self.refuse(bad_sequence("DATA not allowed after BDAT"));
            return Ok(());
        }
        self.reply(Reply::new(
            354,
            (2, 0, 0),
            "End data with <CR><LF>.<CR><LF>",
        ));
        let limit = usize::try_from(self.config.max_message_size).unwrap_or(usize::MAX);
        let mut decoder = DotDecoder::new(limit);
        let mut body = Vec::new();
        loop {
            if let Some(n) = decoder.feed(&self.buf, &mut body) {
                self.buf.drain(..n);
                break;
            }
            self.buf.clear();
            if !self.read_more().await? {
                return Err(Error::Protocol("connection closed during DATA"));
            }
        }
        if decoder.overflowed() {
            self.refuse_message(Reply::new(552, (5, 3, 4), "Message too big"));
            return Ok(());
        }
        self.finish(body).await;
        Ok(())
    }

    async fn bdat(&mut self, size: u64, last: bool) -> Result<()> {
        let refusal = self.body_refusal();
        let limit = self.config.max_message_size;
        // The chunk is read whatever the answer, to stay in step with the client.
        let keep = refusal.is_none()
            && self
                .tx
                .as_ref()
                .is_some_and(|t| !t.too_big && (t.body.len() as u64).saturating_add(size) <= limit);
        if refusal.is_none()
            && !keep
            && let Some(tx) = self.tx.as_mut()
        {
            tx.too_big = true;
            tx.body = Vec::new();
        }
        let mut chunk = Vec::new();
        let mut left = size;
        loop {
            let take = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            if keep {
                chunk.extend_from_slice(&self.buf[..take]);
            }
            self.buf.drain(..take);
            left -= take as u64;
            if left == 0 {
                break;
            }
            if !self.read_more().await? {
                return Err(Error::Protocol("connection closed during BDAT"));
            }
        }
        if let Some(r) = refusal {
            self.refuse(r);
            return Ok(());
        }
        let Some(tx) = self.tx.as_mut() else {
            return Ok(());
        };
        tx.chunking = true;
        if tx.too_big {
            let too_big = Reply::new(552, (5, 3, 4), "Message too big");
            if last {
                self.refuse_message(too_big);
            } else {
                self.refuse(too_big);
            }
            return Ok(());
        }
        tx.body.extend_from_slice(&chunk);
        if last {
            let body = std::mem::take(&mut tx.body);
            self.finish(body).await;
        } else {
            let text = format!("{size} octets received");
            self.answer(ok((2, 0, 0), &text));
        }
        Ok(())
    }

    /// Ends the transaction with a refusal of its message: once per accepted recipient in
    /// LMTP (RFC 2033 section 4.2), once in SMTP.
    fn refuse_message(&mut self, r: Reply) {
        let n = match (self.config.mode, self.tx.take()) {
            (Mode::Lmtp, Some(tx)) => tx.accepted.len().max(1),
            _ => 1,
        };
        for _ in 0..n {
            self.refuse(r.clone());
        }
    }

    /// Delivers the transaction's message and answers: per recipient in LMTP, once in SMTP.
    async fn finish(&mut self, body: Vec<u8>) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        if self.config.mode == Mode::Submission {
            return self.finish_submission(tx, body).await;
        }
        let lmtp = self.config.mode == Mode::Lmtp;
        let protocol = match (lmtp, self.tls.is_some(), self.extended) {
            (true, false, _) => Protocol::Lmtp,
            (true, true, _) => Protocol::Lmtps,
            (false, true, _) => Protocol::Esmtps,
            (false, false, true) => Protocol::Esmtp,
            (false, false, false) => Protocol::Smtp,
        };
        let envelope = Envelope {
            mail_from: tx.from,
            helo: self.helo.clone().unwrap_or_default(),
            peer: self.peer.ip().to_canonical(),
            protocol,
            id: ObjectId::new().to_string(),
            hostname: self.config.hostname.clone(),
            tls: self.tls.clone(),
            authenticated: None,
        };
        // Inbound SMTP comes from anywhere: what DKIM, SPF and DMARC say goes in front.
        let body = if lmtp || tx.recipients.is_empty() {
            body
        } else {
            self.core.authenticate_inbound(&envelope, &body).await
        };
        let results = if tx.recipients.is_empty() {
            Vec::new()
        } else {
            self.core.deliver(&envelope, &tx.recipients, &body).await
        };
        let returned = if tx.returns.is_empty() {
            None
        } else {
            let r = self
                .core
                .return_to_sender(&envelope.mail_from, tx.returns.clone(), &body)
                .await;
            tracing::info!(id = %envelope.id, from = %envelope.mail_from, to = ?tx.returns,
                queued = r.is_ok(), "returned to the original sender (SRS)");
            Some(match r {
                Ok(_) => ok((2, 0, 0), &format!("Ok: queued as {}", envelope.id)),
                Err(e) => delivery_error(&e, self.config.quota_reply),
            })
        };
        let mut forwarded = Vec::with_capacity(tx.forwarded.len());
        for (fwd, address) in &tx.forwarded {
            let r = self
                .core
                .deliver_forwarded(&envelope, fwd, address, &body)
                .await;
            tracing::info!(id = %envelope.id, from = %envelope.mail_from, to = %address,
                queued = r.is_ok(), "forwarded address");
            forwarded.push(match r {
                Ok(_) => ok((2, 0, 0), &format!("Ok: queued as {}", envelope.id)),
                Err(e) => delivery_error(&e, self.config.quota_reply),
            });
        }
        let mut fanned = Vec::with_capacity(tx.fan_outs.len());
        for list in &tx.fan_outs {
            let r = self.core.deliver_fan_out(&envelope, list, &body).await;
            tracing::info!(id = %envelope.id, from = %envelope.mail_from, to = %list.address,
                ok = r.is_ok(), "mailing list or group");
            fanned.push(match r {
                Ok(()) => ok((2, 0, 0), &format!("Ok: delivered as {}", envelope.id)),
                Err(e) => delivery_error(&e, self.config.quota_reply),
            });
        }
        let replies: Vec<Reply> = results
            .iter()
            .map(|r| match r {
                Ok(_) => ok((2, 0, 0), &format!("Ok: delivered as {}", envelope.id)),
                Err(e) => delivery_error(e, self.config.quota_reply),
            })
            .collect();
        for (rcpt, r) in tx.recipients.iter().zip(&replies) {
            tracing::info!(
                id = %envelope.id,
                from = %envelope.mail_from,
                to = %rcpt.address,
                size = body.len(),
                code = r.code,
                "{}", if lmtp { "lmtp delivery" } else { "smtp delivery" }
            );
        }
        if lmtp {
            for a in &tx.accepted {
                let r = match a {
                    Accepted::User(i) => replies.get(*i).cloned(),
                    Accepted::Return => returned.clone(),
                    Accepted::Forwarded(i) => forwarded.get(*i).cloned(),
                    Accepted::FanOut(i) => fanned.get(*i).cloned(),
                    Accepted::Remote => None,
                };
                self.answer(r.unwrap_or_else(|| {
                    Reply::new(451, (4, 3, 0), "Delivery result missing; try again")
                }));
            }
        } else {
            let first_failure = replies
                .iter()
                .chain(returned.iter())
                .chain(forwarded.iter())
                .chain(fanned.iter())
                .find(|r| !r.is_positive())
                .cloned();
            let r = first_failure
                .unwrap_or_else(|| ok((2, 0, 0), &format!("Ok: delivered as {}", envelope.id)));
            self.answer(r);
        }
    }

    async fn start_tls(&mut self) -> Result<()> {
        self.flush().await?;
        // Input sent after STARTTLS travelled in the clear, where anyone on the path could
        // have added it (CVE-2011-0411): it is dropped, never run.
        self.buf.clear();
        let Some(acceptor) = self.acceptor.clone() else {
            return Err(Error::Protocol("STARTTLS without a TLS setup"));
        };
        let plain = std::mem::replace(
            &mut self.stream,
            Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink())),
        );
        let tls = tokio::time::timeout(self.config.timeout, acceptor.accept(plain))
            .await
            .map_err(|_| Error::Timeout)??;
        self.tls = Some(tls_description(tls.get_ref().1));
        self.stream = Box::new(tls);
        // RFC 3207: the client starts over with EHLO, and nothing learnt before counts.
        self.helo = None;
        self.extended = false;
        self.tx = None;
        self.auth = None;
        Ok(())
    }
}

/// "TLSv1_3 with cipher TLS13_AES_256_GCM_SHA384", for `Received:` and logs.
pub(crate) fn tls_description(conn: &tokio_rustls::rustls::ServerConnection) -> String {
    let version = conn
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS");
    let cipher = conn
        .negotiated_cipher_suite()
        .and_then(|c| c.suite().as_str())
        .unwrap_or("unknown");
    format!("{version} with cipher {cipher}")
}
