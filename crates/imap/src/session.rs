//! One IMAP connection: the read loop (bounded buffer, literals and continuations, BAD and
//! skipping, limits, timeouts), the state checks and the dispatch to `op/<command>.rs`, and
//! the untagged updates sent at command boundaries.

use crate::error::{Error, Result};
use crate::state::Selected;
use crate::transport::{Connection, Stream, Upgrade};
use crate::{ImapConfig, op};
use sealpost_core::{Core, ObjectId};
use sealpost_imap_proto::{
    Code, Command, CommandBody, Data, EncodeOptions, FetchItem, Flag, Limits, ParseError, Response,
    Status, StatusResponse, command_len, parse_command,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

/// Bytes read from the socket at once in the middle of a command.
const READ_CHUNK: usize = 16 * 1024;
/// Buffer space an idle connection keeps for its next command, and the output buffer it
/// keeps between commands.
const IDLE_BUF: usize = 1024;
const IDLE_OUT: usize = 4 * 1024;
/// Output is written out once this much is buffered (large FETCH responses).
pub(crate) const FLUSH_AT: usize = 256 * 1024;
/// How long a client may take to accept a response.
const WRITE_TIMEOUT: Duration = Duration::from_secs(300);
/// Journal rows of the selected mailbox read at once; more means "many changes": the whole
/// view is reloaded.
const JOURNAL_BATCH: i64 = 1000;
/// How long after a journal read a refresh may go without one, when no change notification
/// came in the meantime (see `Session::refresh`): the longest a change that no
/// notification announced waits to be seen.
const QUIET_FOR: Duration = Duration::from_secs(1);
/// Before login: the longest command line and literal (LOGIN/AUTHENTICATE need little).
const PREAUTH_LINE: usize = 40 * 1024;
const PREAUTH_LITERAL: u64 = 4 * 1024;
/// Commands accepted before login.
const MAX_PREAUTH_COMMANDS: u32 = 50;

/// What is advertised: only what works.
pub(crate) const CAPABILITIES: &[&str] = &[
    "IMAP4rev1",
    "LITERAL+",
    "SASL-IR",
    "AUTH=PLAIN",
    "ID",
    "ENABLE",
    "IDLE",
    "NAMESPACE",
    "UIDPLUS",
    "MOVE",
    "UNSELECT",
    "CHILDREN",
    "SPECIAL-USE",
    "CONDSTORE",
    "QRESYNC",
    "ESEARCH",
    "SEARCHRES",
    "SORT",
    "SORT=DISPLAY",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "IMAP4rev2",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "STATUS=SIZE",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "MULTIAPPEND",
    "CREATE-SPECIAL-USE",
    "BINARY",
    "UTF8=ACCEPT",
];

/// The advertised capabilities, with APPENDLIMIT (RFC 7889) set to the message size limit.
pub(crate) fn capabilities(config: &ImapConfig) -> Vec<String> {
    let mut caps: Vec<String> = CAPABILITIES.iter().map(|c| c.to_string()).collect();
    caps.push(format!("APPENDLIMIT={}", config.max_literal_size));
    caps
}

/// The logged-in user.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: ObjectId,
}

pub(crate) struct Session {
    pub stream: Stream,
    /// The peer, the active layers (TLS, COMPRESS) and the shared limits.
    pub conn: Connection,
    /// A layer to add once the current command's answer is sent (STARTTLS, COMPRESS).
    pub upgrade: Option<Upgrade>,
    pub core: Core,
    pub config: Arc<ImapConfig>,
    /// Received bytes not consumed yet (at most one command plus its literals).
    pub buf: Vec<u8>,
    /// Responses not written yet.
    out: Vec<u8>,
    pub user: Option<User>,
    pub selected: Option<Selected>,
    /// Wake-ups for the logged-in user's changes (subscribed at login; see `op/idle.rs`).
    pub changes: Option<broadcast::Receiver<()>>,
    /// Fires when the user is logged out everywhere (REST logout, user deleted or
    /// disabled); registered at login.
    pub kill: Option<sealpost_core::SessionSignal>,
    /// Identifies the session in the authentication log.
    pub id: String,
    pub logout: bool,
    /// `ENABLE IMAP4rev2` was accepted: rev2 rules (no `\Recent`, LIST after SELECT, SEARCH
    /// answered with ESEARCH (RFC 9051 6.4.4), ...).
    pub rev2: bool,
    /// `ENABLE UTF8=ACCEPT` (or IMAP4rev2): mailbox names are UTF-8 both ways.
    pub utf8_accept: bool,
    /// Failed LOGIN/AUTHENTICATE attempts on this connection.
    pub auth_failures: u32,
    bad_commands: u32,
    /// Commands run before login (bounded, so that an unauthenticated client cannot stay
    /// forever by sending NOOPs).
    preauth_commands: u32,
    /// Drop input up to the next LF (rest of an overlong line).
    discard_line: bool,
    /// CONDSTORE was enabled (by ENABLE or implicitly, RFC 7162 3.1), for the connection.
    pub condstore: bool,
    /// QRESYNC was enabled (ENABLE QRESYNC), for the connection.
    pub qresync: bool,
    /// The server's graceful stop.
    pub(crate) shutdown: sealpost_net::Shutdown,
}

/// Runs one connection to its end.
pub(crate) async fn run(
    stream: Stream,
    conn: Connection,
    core: Core,
    config: Arc<ImapConfig>,
    shutdown: sealpost_net::Shutdown,
) -> Result<()> {
    let mut session = Session {
        stream,
        conn,
        upgrade: None,
        core,
        config,
        buf: Vec::new(),
        out: Vec::new(),
        user: None,
        selected: None,
        changes: None,
        kill: None,
        id: sealpost_core::ObjectId::new().to_string(),
        logout: false,
        rev2: false,
        utf8_accept: false,
        auth_failures: 0,
        bad_commands: 0,
        preauth_commands: 0,
        discard_line: false,
        condstore: false,
        qresync: false,
        shutdown,
    };
    let greeting = StatusResponse::untagged(Status::Ok, "Sealpost IMAP ready").with_code(
        sealpost_imap_proto::Code::Capability(session.capabilities()),
    );
    session.push(greeting);
    session.flush().await?;
    let result = session.serve().await;
    if let Err(Error::Timeout) = &result {
        session.push(StatusResponse::untagged(
            Status::Bye,
            "Autologout; idle for too long",
        ));
        let _ = session.flush().await;
    }
    let _ = session.stream.shutdown().await;
    result
}

/// The reason once the logged-in user's sessions are ended (never before login).
pub(crate) async fn killed(kill: &mut Option<sealpost_core::SessionSignal>) -> String {
    match kill {
        Some(k) => k.ended().await,
        None => std::future::pending().await,
    }
}

impl Session {
    /// Ends the session because the server stops: untagged BYE (RFC 9051 7.1.5).
    pub(crate) async fn shutting_down<T>(&mut self) -> Result<T> {
        self.push(StatusResponse::untagged(
            Status::Bye,
            "Server shutting down, reconnect later",
        ));
        self.flush().await?;
        Err(Error::Closed)
    }

    /// Ends the session after a logout of the user: untagged BYE with the reason.
    pub(crate) async fn killed<T>(&mut self, reason: String) -> Result<T> {
        tracing::info!(peer = %self.conn.peer, "imap: session closed by a logout of the user");
        self.push(StatusResponse::untagged(Status::Bye, reason));
        self.flush().await?;
        Err(Error::Closed)
    }

    /// Parser limits for the current state: tiny before login.
    pub fn limits(&self) -> Limits {
        let mut limits = Limits {
            utf8_accept: self.utf8_accept,
            ..Limits::default()
        };
        if self.user.is_some() {
            limits.max_line_length = self.config.max_line_length;
            limits.max_literal_size = self.config.max_literal_size;
            limits.max_non_sync_literal_size = self.config.max_literal_size;
            limits.max_command_literal_bytes = self.config.max_literal_size.saturating_mul(4);
        } else {
            limits.max_line_length = PREAUTH_LINE;
            limits.max_literal_size = PREAUTH_LITERAL;
            limits.max_non_sync_literal_size = PREAUTH_LITERAL;
            limits.max_command_literal_bytes = PREAUTH_LITERAL * 2;
        }
        limits
    }

    fn idle_timeout(&self) -> Duration {
        if self.user.is_some() {
            self.config.idle_timeout
        } else {
            self.config.login_timeout
        }
    }

    /// Queues a response. A FETCH showing a keyword the client was not told about is
    /// preceded by `* FLAGS` and `PERMANENTFLAGS` naming it (RFC 3501 7.2.6).
    pub fn push(&mut self, response: impl Into<Response>) {
        let options = EncodeOptions {
            utf8_accept: self.utf8_accept,
        };
        let response = response.into();
        if let Response::Data(Data::Fetch { items, .. }) = &response {
            self.announce_keywords(items, options);
        }
        response.encode_into(&mut self.out, options);
    }

    fn announce_keywords(&mut self, items: &[FetchItem], options: EncodeOptions) {
        let Some(selected) = self.selected.as_mut() else {
            return;
        };
        let mut new = false;
        for item in items {
            if let FetchItem::Flags(flags) = item {
                for flag in flags {
                    if let Flag::Keyword(k) = flag
                        && !selected.keywords.contains(k)
                    {
                        selected.keywords.insert(k.clone());
                        new = true;
                    }
                }
            }
        }
        if !new {
            return;
        }
        let mut flags = crate::op::system_flags();
        flags.extend(selected.keywords.iter().cloned().map(Flag::Keyword));
        let permanent = if selected.read_only {
            Vec::new()
        } else {
            flags.clone()
        };
        let read_only = selected.read_only;
        Response::Data(Data::Flags(flags)).encode_into(&mut self.out, options);
        Response::Status(
            StatusResponse::untagged(Status::Ok, "Flags permitted").with_code(
                Code::PermanentFlags {
                    flags: permanent,
                    allow_new: !read_only,
                },
            ),
        )
        .encode_into(&mut self.out, options);
    }

    /// Writes the queued responses.
    pub async fn flush(&mut self) -> Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.out);
        // The flush pushes out what a layer (TLS, COMPRESS) holds back.
        let write = async {
            self.stream.write_all(&out).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Ok(r) => r?,
            Err(_) => return Err(Error::Timeout),
        }
        self.out = out;
        self.out.clear();
        if self.out.capacity() > 4 * FLUSH_AT {
            self.out.shrink_to(FLUSH_AT);
        }
        Ok(())
    }

    /// Flushes when much output is queued (during long responses).
    pub async fn flush_if_full(&mut self) -> Result<()> {
        if self.out.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Reads once from the socket into the buffer; returns whether a LF arrived.
    ///
    /// Reads straight into `buf`: a chunk array here would live in every connection's task
    /// while it waits. A connection waiting for its next command reserves only
    /// [`IDLE_BUF`] bytes; one in the middle of a command (a literal) reads in big chunks.
    pub async fn read_more(&mut self) -> Result<bool> {
        let start = self.buf.len();
        self.buf
            .reserve(if start == 0 { IDLE_BUF } else { READ_CHUNK });
        let shutdown = self.shutdown.clone();
        let n = tokio::select! {
            _ = shutdown.stopped_between_commands(start == 0) => return self.shutting_down().await,
            read = tokio::time::timeout(self.idle_timeout(), self.stream.read_buf(&mut self.buf)) => match read {
                Ok(r) => r?,
                Err(_) => return Err(Error::Timeout),
            },
            reason = killed(&mut self.kill) => return self.killed(reason).await,
        };
        if n == 0 {
            return Err(Error::Closed);
        }
        Ok(self.buf.get(start..).unwrap_or_default().contains(&b'\n'))
    }

    /// Gives back the buffers' memory while the connection waits for its next command
    /// (thousands of idle connections would otherwise each keep their largest command's).
    fn shrink_buffers(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > IDLE_BUF {
            self.buf = Vec::new();
        }
        if self.out.is_empty() && self.out.capacity() > IDLE_OUT {
            self.out = Vec::new();
        }
    }

    async fn serve(&mut self) -> Result<()> {
        // Parse when a LF arrived, or when a line's worth arrived without one (so that an
        // endless line is refused rather than buffered).
        let mut parse_at = 0usize;
        let mut ready = false;
        loop {
            if ready || self.buf.len() >= parse_at {
                self.process().await?;
                if self.logout {
                    return Ok(());
                }
                parse_at = self.buf.len() + self.limits().max_line_length;
            }
            self.shrink_buffers();
            ready = self.read_more().await?;
        }
    }

    /// Handles every complete command in the buffer.
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
            let limits = self.limits();
            match parse_command(&self.buf, &limits) {
                Ok((command, used)) => {
                    self.buf.drain(..used);
                    self.execute(command).await?;
                    self.flush().await?;
                    if self.logout {
                        return Ok(());
                    }
                    if let Some(upgrade) = self.upgrade.take() {
                        self.apply_upgrade(upgrade).await?;
                    }
                }
                Err(ParseError::Incomplete) => return Ok(()),
                Err(ParseError::NeedsContinuation { .. }) => {
                    self.push(Response::Continuation("Ready for literal data".into()));
                    self.flush().await?;
                    return Ok(());
                }
                Err(e) => {
                    if let Some(response) = e.response() {
                        self.push(response);
                    }
                    if op::line_saves_result(&self.buf)
                        && let Some(selected) = self.selected.as_mut()
                    {
                        selected.saved.clear();
                    }
                    match &e {
                        ParseError::LiteralTooLarge { sync, .. } => {
                            // A synchronising literal is not sent by the client after a NO;
                            // a non-synchronising one is already on its way: close.
                            if !*sync {
                                self.push(StatusResponse::untagged(
                                    Status::Bye,
                                    "Literal too large",
                                ));
                                self.flush().await?;
                                return Err(Error::Protocol("non-synchronising literal too large"));
                            }
                            self.buf.clear();
                        }
                        ParseError::LineTooLong { .. } => {
                            self.buf.clear();
                            self.discard_line = true;
                        }
                        _ => {
                            let skip = command_len(&self.buf, &limits)
                                .or_else(|| {
                                    self.buf.iter().position(|&b| b == b'\n').map(|p| p + 1)
                                })
                                .unwrap_or(self.buf.len());
                            self.buf.drain(..skip.min(self.buf.len()));
                        }
                    }
                    if !matches!(e, ParseError::Refused { .. }) {
                        self.count_bad();
                    }
                    self.flush().await?;
                    if self.logout {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Drops buffered input up to and including the next LF (all of it when there is none):
    /// the rest of a line that was answered BAD.
    pub fn skip_line(&mut self) {
        let skip = self
            .buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.buf.len(), |p| p + 1);
        self.buf.drain(..skip);
    }

    /// Counts a command answered BAD; too many in a row end the session.
    fn count_bad(&mut self) {
        self.bad_commands += 1;
        if self.bad_commands >= self.config.max_bad_commands {
            self.push(StatusResponse::untagged(
                Status::Bye,
                "Too many bad commands",
            ));
            self.logout = true;
        }
    }

    /// Runs one command: state check, the operation, untagged updates, the tagged answer.
    async fn execute(&mut self, command: Command) -> Result<()> {
        let Command { tag, body } = command;
        let needs = Needs::of(&body);
        let allowed = match needs {
            Needs::Any => true,
            Needs::NotAuthenticated => self.user.is_none(),
            Needs::Authenticated => self.user.is_some(),
            Needs::Selected => self.selected.is_some(),
        };
        if !allowed {
            let text = match needs {
                Needs::NotAuthenticated => "Already authenticated",
                Needs::Authenticated => "Log in first",
                _ => "No mailbox selected",
            };
            self.push(StatusResponse::bad(tag, text));
            // Commands refused for the state count as bad ones: a client cannot stay
            // connected by repeating them.
            self.count_bad();
            return Ok(());
        }
        self.bad_commands = 0;
        if self.user.is_none() {
            self.preauth_commands += 1;
            if self.preauth_commands > MAX_PREAUTH_COMMANDS {
                self.push(StatusResponse::untagged(
                    Status::Bye,
                    "Too many commands without logging in",
                ));
                self.push(StatusResponse::no(tag, "Log in first"));
                self.logout = true;
                return Ok(());
            }
        }
        // No EXPUNGE while answering FETCH, STORE or SEARCH by sequence number.
        let allow_expunge = !matches!(
            &body,
            CommandBody::Fetch(c) if !c.uid
        ) && !matches!(&body, CommandBody::Store(c) if !c.uid)
            && !matches!(&body, CommandBody::Search(c) if !c.uid)
            && !matches!(&body, CommandBody::Sort(c) if !c.uid)
            && !matches!(&body, CommandBody::Thread(c) if !c.uid);

        // Boxed: the operations' futures are large, and only a running command needs one
        // (an idle connection's task stays small).
        let result = Box::pin(op::dispatch(self, &tag, body)).await;
        let response = match result {
            Ok(response) => response,
            Err(Error::Core(e)) => op::core_error(&tag, &e),
            Err(e) => return Err(e),
        };
        if !self.logout
            && let Err(e) = self.refresh(allow_expunge).await
        {
            match e {
                Error::Core(e) => tracing::warn!(error = %e, "imap: mailbox refresh failed"),
                other => return Err(other),
            }
        }
        self.push(response);
        Ok(())
    }

    /// Takes every change notification waiting; whether there was none (`false` without a
    /// subscription, or when the channel is gone: the journal must be read).
    fn no_news(&mut self) -> bool {
        let Some(rx) = self.changes.as_mut() else {
            return false;
        };
        let mut quiet = true;
        loop {
            match rx.try_recv() {
                Ok(()) | Err(broadcast::error::TryRecvError::Lagged(_)) => quiet = false,
                Err(broadcast::error::TryRecvError::Empty) => return quiet,
                Err(broadcast::error::TryRecvError::Closed) => return false,
            }
        }
    }

    /// Sends what changed in the selected mailbox since the last look at its journal.
    ///
    /// The journal rows above the modseq already taken into account name the messages that
    /// changed; only those are read again (a few rows, whatever the mailbox size). Many rows
    /// (or the mailbox's deletion) reload the whole view instead. Either way the current
    /// stored state of a message is what is applied, so applying a row twice is harmless.
    pub async fn refresh(&mut self, allow_expunge: bool) -> Result<()> {
        let (Some(user), Some(selected)) = (&self.user, &self.selected) else {
            return Ok(());
        };
        let (user, mailbox, since, last_read) = (
            user.id.clone(),
            selected.id.clone(),
            selected.journal_modseq,
            selected.journal_read,
        );
        // Without a change notification since the last journal read there is nothing to
        // read when every change is announced (SQLite: notifications are sent after each
        // commit, and drained here before the read, so a commit the read did not see has
        // a notification waiting for the next refresh). Still read at least every
        // QUIET_FOR, so that a change made without one is not missed for long.
        let quiet = self.no_news()
            && self.core.changes_all_local()
            && last_read.is_some_and(|t| t.elapsed() < QUIET_FOR);
        let rows = if quiet {
            Vec::new()
        } else {
            let started = std::time::Instant::now();
            let rows = self
                .core
                .mailbox_journal_since(&user, &mailbox, since, JOURNAL_BATCH)
                .await?;
            if let Some(selected) = self.selected.as_mut() {
                selected.journal_read = Some(started);
            }
            rows
        };
        let reload = rows.len() as i64 >= JOURNAL_BATCH || rows.iter().any(|r| r.modseq.is_none());
        let updates = if rows.is_empty() {
            match self.selected.as_mut() {
                Some(selected) if allow_expunge => selected.take_expunges(),
                _ => Vec::new(),
            }
        } else if reload {
            // Read the modseq before the view: changes after it are read (again) next time.
            let modseq = match self.core.mailbox_record(&user, &mailbox).await {
                Ok(record) => record.modseq,
                Err(_) => since,
            };
            let view = self.core.mailbox_view(&user, &mailbox).await?;
            match self.selected.as_mut() {
                Some(selected) => {
                    selected.journal_modseq = modseq.max(since);
                    selected.reconcile(view, allow_expunge)
                }
                None => Vec::new(),
            }
        } else {
            let Some(selected) = self.selected.as_ref() else {
                return Ok(());
            };
            let max_known = i64::from(selected.max_uid());
            // A message whose snapshot is at or above the row's modseq already shows that
            // change (typically this session's own STORE): no need to read it again.
            let known = |uid: i64, modseq: Option<i64>| {
                let (Ok(uid), Some(modseq)) = (u32::try_from(uid), modseq) else {
                    return false;
                };
                selected
                    .index_of(uid)
                    .and_then(|i| selected.messages.get(i))
                    .is_some_and(|m| !m.expunged && m.modseq >= modseq)
            };
            let mut expunged = Vec::new();
            let mut changed = Vec::new();
            let mut added = false;
            for row in &rows {
                match (row.command.as_str(), row.uid) {
                    ("EXPUNGE", Some(uid)) => expunged.push(uid),
                    ("FETCH", Some(uid)) if uid <= max_known && !known(uid, row.modseq) => {
                        changed.push(uid)
                    }
                    ("EXISTS", Some(uid)) if uid > max_known => added = true,
                    _ => {}
                }
            }
            changed.sort_unstable();
            changed.dedup();
            changed.retain(|u| !expunged.contains(u));
            // What the shared caches hold of them is of no use any more.
            if !expunged.is_empty() {
                self.core.forget_messages(&user, &mailbox, &expunged);
            }
            let mut current = if changed.is_empty() {
                Vec::new()
            } else {
                self.core.view_rows(&user, &mailbox, &changed).await?
            };
            if added {
                current.extend(
                    self.core
                        .mailbox_view_after(&user, &mailbox, max_known)
                        .await?,
                );
            }
            let last = rows.iter().filter_map(|r| r.modseq).max().unwrap_or(since);
            match self.selected.as_mut() {
                Some(selected) => {
                    selected.journal_modseq = last.max(since);
                    selected.apply_changes(&expunged, current, allow_expunge)
                }
                None => Vec::new(),
            }
        };
        // The client now knows the mailbox up to the modseq just taken into account: what
        // HIGHESTMODSEQ may report (RFC 7162 3.1.2.1).
        if let Some(selected) = self.selected.as_mut() {
            selected.highest_modseq = selected.highest_modseq.max(selected.journal_modseq);
        }
        for data in updates {
            self.push(data);
        }
        Ok(())
    }
}

/// The state a command requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Any,
    NotAuthenticated,
    Authenticated,
    Selected,
}

impl Needs {
    fn of(body: &CommandBody) -> Needs {
        use CommandBody as C;
        match body {
            C::Capability | C::Noop | C::Logout | C::Id(_) => Needs::Any,
            C::Login { .. } | C::Authenticate { .. } | C::StartTls => Needs::NotAuthenticated,
            C::Check
            | C::Close
            | C::Unselect
            | C::Expunge { .. }
            | C::Search(_)
            | C::Fetch(_)
            | C::Store(_)
            | C::Copy(_)
            | C::Move(_)
            | C::Sort(_)
            | C::Thread(_) => Needs::Selected,
            _ => Needs::Authenticated,
        }
    }
}
