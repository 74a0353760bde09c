//! USER/PASS (RFC 1939 section 7) and AUTH PLAIN (RFC 5034, initial response on the command
//! line or after an empty challenge), and what they share: the plain-text rule, the
//! failed-login throttle, the per-user connection limit ([IN-USE]) and the maildrop opened
//! at login.

use crate::error::Result;
use crate::maildrop::Maildrop;
use crate::session::{Session, State};
use base64::Engine;
use sealpost_core::{Error as CoreError, Scope};
use sealpost_net::plain_credentials;
use sealpost_pop3_proto::{Code, END, Reply, SaslResponse};
use std::time::Duration;

/// Failed logins on one connection after which it is closed.
const MAX_AUTH_FAILURES: u32 = 3;
/// The delay after a failed login grows by this per recent failure of the address or name…
const FAILURE_DELAY_STEP: Duration = Duration::from_millis(200);
/// …up to this.
const MAX_FAILURE_DELAY: Duration = Duration::from_secs(3);

fn plaintext_refused() -> Reply {
    Reply::err("Plain-text authentication is disabled: use STLS or POP3S").with_code(Code::Auth)
}

impl Session {
    pub(crate) fn op_user(&mut self, name: String) {
        if !self.auth_allowed() {
            self.push(plaintext_refused());
            return;
        }
        self.state = State::Authorization { user: Some(name) };
        self.push(Reply::ok("Send your password"));
    }

    pub(crate) async fn op_pass(&mut self, password: &str) -> Result<()> {
        let user = match &mut self.state {
            State::Authorization { user } => user.take(),
            State::Transaction(_) => None,
        };
        let Some(username) = user else {
            self.push(Reply::err("Send USER first"));
            return Ok(());
        };
        if !self.auth_allowed() {
            self.push(plaintext_refused());
            return Ok(());
        }
        self.login(&username, password).await
    }

    pub(crate) async fn op_auth(
        &mut self,
        mechanism: Option<&str>,
        initial_response: Option<&str>,
    ) -> Result<()> {
        let Some(mechanism) = mechanism else {
            // The list of mechanisms (as before RFC 5034, which clients still ask for).
            self.push(Reply::ok("Supported mechanisms follow"));
            if self.auth_allowed() {
                self.push_raw(b"PLAIN\r\n");
            }
            self.push_raw(END);
            return Ok(());
        };
        if !self.auth_allowed() {
            self.push(plaintext_refused());
            return Ok(());
        }
        if mechanism != "PLAIN" {
            self.push(Reply::err("Unsupported authentication mechanism"));
            return Ok(());
        }
        match initial_response {
            Some(data) => self.auth_plain(data).await,
            None => {
                self.push_raw(b"+ \r\n");
                self.sasl_pending = true;
                Ok(())
            }
        }
    }

    /// The client's line after the AUTH challenge.
    pub(crate) async fn op_auth_response(&mut self, response: SaslResponse) -> Result<()> {
        match response {
            SaslResponse::Cancel => {
                self.push(Reply::err("Authentication cancelled"));
                Ok(())
            }
            SaslResponse::Data(data) => self.auth_plain(&data).await,
        }
    }

    async fn auth_plain(&mut self, data: &str) -> Result<()> {
        let decoded = if data == "=" {
            Vec::new()
        } else {
            match base64::engine::general_purpose::STANDARD.decode(data.as_bytes()) {
                Ok(d) => d,
                Err(_) => {
                    self.push(Reply::err("Invalid base64"));
                    return Ok(());
                }
            }
        };
        match plain_credentials(&decoded) {
            Some((username, password)) => self.login(&username, &password).await,
            None => {
                self.auth_failure("").await;
                Ok(())
            }
        }
    }

    /// Checks the password unless the throttle refuses the attempt; on success opens the
    /// maildrop and enters the TRANSACTION state.
    async fn login(&mut self, username: &str, password: &str) -> Result<()> {
        let ip = self.conn.peer.ip();
        if self.conn.limiter.login_blocked(ip, username) {
            tracing::info!(peer = %self.conn.peer, "pop3: login refused after too many failures");
            self.push(
                Reply::err("Too many failed logins; try again later").with_code(Code::SysTemp),
            );
            self.count_auth_failure();
            return Ok(());
        }
        let meta =
            sealpost_core::AuthMeta::new("POP3", Some(self.id.clone()), Some(ip.to_string()));
        let auth = match self
            .core
            .authenticate_from(username, password, Scope::Pop3, &meta)
            .await
        {
            Ok(auth) => auth,
            Err(CoreError::AuthFailed) => {
                self.auth_failure(username).await;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let Some(slot) = self.conn.limiter.login(&auth.id) else {
            self.push(
                Reply::err("Too many open sessions for this user; close some first")
                    .with_code(Code::InUse),
            );
            return Ok(());
        };
        self.conn
            .limiter
            .record_success(self.conn.peer.ip(), username);
        let Some(inbox) = self.core.find_mailbox(&auth.id, "INBOX").await? else {
            self.push(Reply::err("The mailbox is not available").with_code(Code::SysTemp));
            return Ok(());
        };
        let rows = self
            .core
            .mailbox_view_newest(&auth.id, &inbox.id, self.config.max_messages)
            .await?;
        let maildrop = Maildrop::new(
            auth.id,
            inbox.id,
            inbox.uid_validity,
            &rows,
            self.config.max_messages,
        );
        let (count, size) = maildrop.stat();
        self.conn.user_slot = Some(slot);
        // A logout of the user (REST `PUT /users/{user}/logout`, disabling, deletion) ends
        // the session without applying its DELE marks.
        self.kill = Some(self.core.register_session(&maildrop.user));
        self.state = State::Transaction(maildrop);
        self.push(Reply::ok(format!(
            "Logged in, maildrop has {count} messages ({size} octets)"
        )));
        Ok(())
    }

    /// The answer to a failed login: recorded for the address and the name, a delay that
    /// grows with their recent failures, and the connection closed after
    /// `MAX_AUTH_FAILURES` attempts.
    async fn auth_failure(&mut self, username: &str) {
        let recent = self
            .conn
            .limiter
            .record_failure(self.conn.peer.ip(), username);
        tracing::info!(peer = %self.conn.peer, recent, "pop3: failed login");
        let steps = recent.max(self.auth_failures + 1);
        tokio::time::sleep(
            FAILURE_DELAY_STEP
                .saturating_mul(steps)
                .min(MAX_FAILURE_DELAY),
        )
        .await;
        self.push(Reply::err("Authentication failed").with_code(Code::Auth));
        self.count_auth_failure();
    }

    fn count_auth_failure(&mut self) {
        self.auth_failures += 1;
        if self.auth_failures >= MAX_AUTH_FAILURES {
            self.push(Reply::err("Too many failed logins"));
            self.quit = true;
        }
    }
}
