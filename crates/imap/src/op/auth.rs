//! What LOGIN and AUTHENTICATE share: the plain-text rule (LOGINDISABLED), the failed-login
//! throttle, the per-user connection limit, and the switch to the authenticated state.

use crate::error::Result;
use crate::session::{Session, User};
use sealpost_core::{AuthResult, Error as CoreError};
use sealpost_imap_proto::{Code, Status, StatusResponse};
use std::time::Duration;

/// Failed logins on one connection after which it is closed.
const MAX_AUTH_FAILURES: u32 = 3;
/// The delay after a failed login grows by this per recent failure of the address or name…
const FAILURE_DELAY_STEP: Duration = Duration::from_millis(200);
/// …up to this.
const MAX_FAILURE_DELAY: Duration = Duration::from_secs(3);

impl Session {
    /// The refusal when logging in needs TLS first (RFC 3501 section 6.2.3 LOGINDISABLED;
    /// the response code is RFC 5530's), or `None` when it may go on.
    pub(crate) fn auth_refusal(&self, tag: &str) -> Option<StatusResponse> {
        if self.auth_allowed() {
            return None;
        }
        Some(
            StatusResponse::no(tag, "Plain-text login is disabled: use STARTTLS or IMAPS")
                .with_code(Code::PrivacyRequired),
        )
    }

    /// Checks `password` for `username` unless the throttle refuses the attempt, and
    /// answers: logged in, failed (with a delay), or refused.
    pub(crate) async fn check_login(
        &mut self,
        tag: &str,
        username: &str,
        password: &str,
        text: &str,
    ) -> Result<StatusResponse> {
        let ip = self.conn.peer.ip();
        if self.conn.limiter.login_blocked(ip, username) {
            tracing::info!(peer = %self.conn.peer, "imap: login refused after too many failures");
            self.count_auth_failure();
            return Ok(
                StatusResponse::no(tag, "Too many failed logins; try again later")
                    .with_code(Code::Unavailable),
            );
        }
        let meta =
            sealpost_core::AuthMeta::new("IMAP", Some(self.id.clone()), Some(ip.to_string()));
        let result = self
            .core
            .authenticate_from(username, password, sealpost_core::Scope::Imap, &meta)
            .await;
        self.login_result(tag, username, result, text).await
    }

    /// Finishes a login attempt with `core`'s verdict.
    pub(crate) async fn login_result(
        &mut self,
        tag: &str,
        username: &str,
        result: std::result::Result<AuthResult, CoreError>,
        text: &str,
    ) -> Result<StatusResponse> {
        match result {
            Ok(auth) => {
                let Some(slot) = self.conn.limiter.login(&auth.id) else {
                    return Ok(StatusResponse::no(
                        tag,
                        "Too many open connections for this user; close some first",
                    )
                    .with_code(Code::Limit));
                };
                self.conn
                    .limiter
                    .record_success(self.conn.peer.ip(), username);
                self.conn.user_slot = Some(slot);
                // Subscribed at login: changes between commands are not lost before IDLE.
                self.changes = Some(self.core.subscribe_changes(&auth.id));
                self.kill = Some(self.core.register_session(&auth.id));
                self.user = Some(User { id: auth.id });
                Ok(StatusResponse::ok(tag, text.to_string())
                    .with_code(Code::Capability(self.capabilities())))
            }
            Err(CoreError::AuthFailed) => Ok(self.auth_failure(tag, username).await),
            Err(e) => Err(e.into()),
        }
    }

    /// The answer to a failed login: recorded for the address and the name, a delay that
    /// grows with their recent failures, and the connection closed after
    /// `MAX_AUTH_FAILURES` attempts, so that guessing passwords is slow.
    pub(crate) async fn auth_failure(&mut self, tag: &str, username: &str) -> StatusResponse {
        let recent = self
            .conn
            .limiter
            .record_failure(self.conn.peer.ip(), username);
        tracing::info!(peer = %self.conn.peer, recent, "imap: failed login");
        self.count_auth_failure();
        let steps = recent.max(self.auth_failures);
        tokio::time::sleep(
            FAILURE_DELAY_STEP
                .saturating_mul(steps)
                .min(MAX_FAILURE_DELAY),
        )
        .await;
        StatusResponse::no(tag, "Authentication failed").with_code(Code::AuthenticationFailed)
    }

    fn count_auth_failure(&mut self) {
        self.auth_failures += 1;
        if self.auth_failures >= MAX_AUTH_FAILURES {
            self.push(StatusResponse::untagged(
                Status::Bye,
                "Too many failed logins",
            ));
            self.logout = true;
        }
    }
}
