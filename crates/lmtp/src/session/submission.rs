//! What the submission listeners (RFC 6409) add to the SMTP session: AUTH PLAIN and LOGIN
//! (RFC 4954, RFC 4616) through core's login with the `smtp` scope (application passwords,
//! the 2FA rule, `disabledScopes`, the `[auth]` throttle and the authentication log all
//! live there), AUTH only over TLS unless `allowPlaintextAuth` says otherwise, MAIL only
//! after AUTH, the sender rule at MAIL, local or remote recipients at RCPT (with the user's
//! 24 h `recipients` allowance), and [`sealpost_core::Core::submit`] after the data.

use super::{Accepted, Flow, Session, Transaction};
use crate::error::Result;
use crate::replies::{bad_sequence, delivery_error, ok};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sealpost_core::delivery::{Envelope, Protocol};
use sealpost_core::submission::{SENDER_NOT_ALLOWED, SENDING_LIMIT, Submission};
use sealpost_core::{Error as CoreError, ObjectId, Scope, UserRecord};
use sealpost_smtp_proto::Reply;
use std::time::Duration;

/// Failed AUTH attempts on one connection after which it is closed.
const MAX_AUTH_FAILURES: u32 = 3;
/// The delay after a failed AUTH grows by this per failure on the connection, up to 3 s.
const FAILURE_DELAY_STEP: Duration = Duration::from_millis(300);
const MAX_FAILURE_DELAY: Duration = Duration::from_secs(3);

/// The user a submission session logged in as.
pub(crate) struct Authenticated {
    pub(crate) user: UserRecord,
}

/// The reply to a submission the core refused.
fn submission_error(e: &CoreError, quota: crate::QuotaReply) -> Reply {
    match e {
        CoreError::Forbidden { message, code } if *code == SENDER_NOT_ALLOWED => {
            Reply::new(550, (5, 7, 1), message.clone())
        }
        CoreError::Forbidden { message, code } if *code == SENDING_LIMIT => {
            Reply::new(451, (4, 7, 1), message.clone())
        }
        CoreError::Forbidden { code, .. } if *code == "RelayNotConfigured" => Reply::new(
            550,
            (5, 7, 1),
            "Relaying denied: this server sends no mail to other domains",
        ),
        other => delivery_error(other, quota),
    }
}

impl Session {
    /// Whether a password may be sent on this connection now.
    pub(super) fn auth_allowed(&self) -> bool {
        self.config
            .allow_plaintext_auth
            .allows(self.tls.is_some(), self.peer)
    }

    /// One line of a SASL exchange after a 334 challenge; `None` when the client cancelled
    /// (`*`) or the connection ended.
    async fn sasl_line(&mut self, challenge: &str) -> Result<Option<String>> {
        self.reply(Reply::plain(334, vec![challenge.to_string()]));
        let Some(line) = self.next_line().await? else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&line).trim().to_string();
        Ok((line != "*").then_some(line))
    }

    /// AUTH `mechanism` [`initial`].
    pub(super) async fn auth(&mut self, mechanism: &str, initial: Option<String>) -> Result<Flow> {
        if self.auth.is_some() {
            self.refuse(bad_sequence("Already authenticated"));
            return Ok(Flow::Continue);
        }
        if self.helo.is_none() || !self.extended {
            self.refuse(bad_sequence("Send EHLO first"));
            return Ok(Flow::Continue);
        }
        if self.tx.is_some() {
            self.refuse(bad_sequence("AUTH not allowed during a mail transaction"));
            return Ok(Flow::Continue);
        }
        if !self.auth_allowed() {
            self.refuse(Reply::new(
                538,
                (5, 7, 11),
                "Encryption required for requested authentication mechanism: use STARTTLS",
            ));
            return Ok(Flow::Continue);
        }
        let decode = |s: &str| -> Option<Vec<u8>> {
            if s == "=" {
                Some(Vec::new())
            } else {
                B64.decode(s.trim()).ok()
            }
        };
        let cancelled = || Reply::new(501, (5, 7, 0), "Authentication cancelled");
        let malformed = || Reply::new(501, (5, 5, 2), "Cannot decode the response");
        let credentials = match mechanism {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => r,
                    None => match self.sasl_line("").await? {
                        Some(r) => r,
                        None => {
                            self.refuse(cancelled());
                            return Ok(Flow::Continue);
                        }
                    },
                };
                match decode(&response) {
                    Some(bytes) => sealpost_net::plain_credentials(&bytes),
                    None => {
                        self.refuse(malformed());
                        return Ok(Flow::Continue);
                    }
                }
            }
            "LOGIN" => {
                let user = match initial {
                    Some(r) => Some(r),
                    None => self.sasl_line("VXNlcm5hbWU6").await?,
                };
                let Some(user) = user else {
                    self.refuse(cancelled());
                    return Ok(Flow::Continue);
                };
                let Some(password) = self.sasl_line("UGFzc3dvcmQ6").await? else {
                    self.refuse(cancelled());
                    return Ok(Flow::Continue);
                };
                match (decode(&user), decode(&password)) {
                    (Some(u), Some(p)) => match (String::from_utf8(u), String::from_utf8(p)) {
                        (Ok(u), Ok(p)) => Some((u, p)),
                        _ => None,
                    },
                    _ => {
                        self.refuse(malformed());
                        return Ok(Flow::Continue);
                    }
                }
            }
            _ => {
                self.refuse(Reply::new(
                    504,
                    (5, 5, 4),
                    "Unrecognized authentication type: use PLAIN or LOGIN",
                ));
                return Ok(Flow::Continue);
            }
        };
        let Some((username, password)) = credentials else {
            return self.auth_failed("").await;
        };
        let meta = sealpost_core::AuthMeta::new(
            "SMTP",
            Some(self.id.clone()),
            Some(self.peer.ip().to_canonical().to_string()),
        );
        let result = self
            .core
            .authenticate_from(&username, &password, Scope::Smtp, &meta)
            .await;
        match result {
            Ok(auth) => match self.core.get_user(&auth.id).await {
                Ok(user) => {
                    tracing::info!(peer = %self.peer, user = %user.id, "submission: authenticated");
                    self.auth = Some(Authenticated { user });
                    self.answer(Reply::new(235, (2, 7, 0), "Authentication successful"));
                    Ok(Flow::Continue)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "submission: user lookup after login failed");
                    self.refuse(Reply::new(
                        454,
                        (4, 7, 0),
                        "Temporary authentication failure",
                    ));
                    Ok(Flow::Continue)
                }
            },
            Err(CoreError::AuthFailed) => self.auth_failed(&username).await,
            Err(CoreError::Forbidden {
                code: "RateLimitedError",
                ..
            }) => {
                tracing::info!(peer = %self.peer, "submission: login refused after too many failures");
                self.refuse(Reply::new(
                    454,
                    (4, 7, 0),
                    "Too many failed authentications; try again later",
                ));
                Ok(Flow::Continue)
            }
            Err(e) => {
                tracing::warn!(error = %e, "submission: authentication failed with an error");
                self.refuse(Reply::new(
                    454,
                    (4, 7, 0),
                    "Temporary authentication failure",
                ));
                Ok(Flow::Continue)
            }
        }
    }

    /// 535 after a delay that grows with the failures on this connection; the connection is
    /// closed after [`MAX_AUTH_FAILURES`].
    async fn auth_failed(&mut self, username: &str) -> Result<Flow> {
        self.auth_failures += 1;
        tracing::info!(peer = %self.peer, username, failures = self.auth_failures, "submission: failed login");
        tokio::time::sleep(
            FAILURE_DELAY_STEP
                .saturating_mul(self.auth_failures)
                .min(MAX_FAILURE_DELAY),
        )
        .await;
        self.refuse(Reply::new(
            535,
            (5, 7, 8),
            "Authentication credentials invalid",
        ));
        if self.auth_failures >= MAX_AUTH_FAILURES {
            self.reply(Reply::new(
                421,
                (4, 7, 0),
                "Too many failed logins, closing connection",
            ));
            return Ok(Flow::Close);
        }
        Ok(Flow::Continue)
    }

    /// The refusal of MAIL FROM:<`from`> in a submission session, if any.
    pub(super) async fn submission_sender(&mut self, from: &str) -> std::result::Result<(), Reply> {
        let Some(auth) = &self.auth else {
            return Err(Reply::new(530, (5, 7, 0), "Authentication required"));
        };
        self.core
            .check_envelope_sender(&auth.user, from)
            .await
            .map_err(|e| submission_error(&e, self.config.quota_reply))
    }

    /// RCPT TO in a submission session: a user here, or anyone elsewhere when mail can
    /// leave; each counted against the user's 24 h allowance.
    pub(super) async fn submission_rcpt(&mut self, to: String) -> Reply {
        let quota = self.config.quota_reply;
        let max = self.config.max_recipients;
        let (Some(auth), Some(tx)) = (&self.auth, self.tx.as_mut()) else {
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
        let user = auth.user.clone();
        let pending = tx.accepted.len();
        if let Err(e) = self
            .core
            .check_recipient_allowance(&user, pending + 1)
            .await
        {
            return submission_error(&e, quota);
        }
        let address = if to.eq_ignore_ascii_case("postmaster") {
            format!("postmaster@{}", self.core.config().domain)
        } else {
            to
        };
        match self.core.resolve_recipient(&address).await {
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
            Ok(None) => match self.core.is_local_domain(&address).await {
                Ok(true) => Reply::new(550, (5, 1, 1), "No such user here"),
                Ok(false) => {
                    if let Err(e) = self.core.require_relay() {
                        return submission_error(&e, quota);
                    }
                    if let Some(tx) = self.tx.as_mut() {
                        if !tx.remote.iter().any(|r| r.eq_ignore_ascii_case(&address)) {
                            tx.remote.push(address);
                        }
                        tx.accepted.push(Accepted::Remote);
                    }
                    ok((2, 1, 5), "Recipient OK")
                }
                Err(e) => delivery_error(&e, quota),
            },
            Err(e) => delivery_error(&e, quota),
        }
    }

    /// The end of a submitted message: stored, queued, then answered.
    pub(super) async fn finish_submission(&mut self, tx: Transaction, body: Vec<u8>) {
        let Some(auth) = &self.auth else {
            self.refuse(Reply::new(530, (5, 7, 0), "Authentication required"));
            return;
        };
        let user = auth.user.clone();
        let envelope = Envelope {
            mail_from: tx.from,
            helo: self.helo.clone().unwrap_or_default(),
            peer: self.peer.ip().to_canonical(),
            protocol: if self.tls.is_some() {
                Protocol::Esmtpsa
            } else {
                Protocol::Esmtpa
            },
            id: ObjectId::new().to_string(),
            hostname: self.config.hostname.clone(),
            tls: self.tls.clone(),
            authenticated: Some(user.username.clone()),
        };
        let result = self
            .core
            .submit(Submission {
                user: &user,
                envelope: &envelope,
                local: &tx.recipients,
                remote: &tx.remote,
                data: &body,
            })
            .await;
        let reply = match &result {
            Ok(done) => ok(
                (2, 0, 0),
                &format!(
                    "Ok: queued as {}",
                    done.queued
                        .as_ref()
                        .map(|q| q.to_string())
                        .unwrap_or_else(|| envelope.id.clone())
                ),
            ),
            Err(e) => submission_error(e, self.config.quota_reply),
        };
        tracing::info!(
            id = %envelope.id,
            user = %user.id,
            from = %envelope.mail_from,
            local = tx.recipients.len(),
            remote = tx.remote.len(),
            size = body.len(),
            code = reply.code,
            "submission"
        );
        self.answer(reply);
    }
}
