//! GPGAuth 1.3.0 as passbolt speaks it, and vault sessions.
//!
//! - Stage 0 (the client checks the server): the client sends a token encrypted to the
//!   server key; the server answers it decrypted (`X-GPGAuth-Verify-Response`).
//! - Stage 1 (the server checks the user): for the fingerprint of a registered key, the
//!   server makes `gpgauthv1.3.0|36|<uuid>|gpgauthv1.3.0`, encrypts it to that key, signs it
//!   with the server key, and sends it armored and `%XX`-escaped
//!   (`X-GPGAuth-User-Auth-Token`). The token is stored hashed, valid 5 minutes, single use.
//! - Stage 2: the client sends the decrypted token back (`user_token_result`); a match opens
//!   a session (`passbolt_session`), with a CSRF token, and MFA still to pass when the mail
//!   user has TOTP on.
//!
//! Failures count in the `[auth]` throttle (by the key's user name, or the fingerprint when
//! it names nobody) and are written to the mail user's authentication log.

use super::{VaultError, VaultId, VaultResult, VaultUserRow, blocking, token_hash};
use crate::{AuthEventExtra, AuthMeta, Core};
use sealpost_pgp as pgp;

/// How long a stage 1 token is valid.
pub const LOGIN_TOKEN_TTL_MS: i64 = 5 * 60 * 1000;
const VERSION_TAG: &str = "gpgauthv1.3.0";
/// Largest encrypted stage 0 token read.
const MAX_VERIFY_TOKEN: usize = 16 * 1024;

/// What a GPGAuth request led to.
#[derive(Debug)]
pub enum GpgAuthStep {
    /// Stage 1: the encrypted token, escaped for `X-GPGAuth-User-Auth-Token`.
    Challenge { header: String },
    /// Stage 2: a new session.
    Authenticated {
        session: String,
        csrf: String,
        user: Box<VaultUserRow>,
        mfa_required: bool,
    },
}

/// The cookie with the proof of a passed MFA check (passbolt's name).
pub const MFA_COOKIE: &str = "passbolt_mfa";
/// How long a proof lasts when the user asked to be remembered (a month, as passbolt).
pub const MFA_REMEMBER_MS: i64 = 30 * 24 * 3600 * 1000;
/// The kind of the stored proofs.
const MFA_TOKEN_KIND: &str = "mfa";

/// An authenticated vault request's session.
#[derive(Debug, Clone)]
pub struct VaultSession {
    pub user: VaultUserRow,
    pub csrf: String,
    pub mfa_ok: bool,
    /// The stored hash of the session token (to end or upgrade it).
    pub hash: String,
}

/// Whether `s` has the shape of a GPGAuth token: `gpgauthv1.3.0|36|<uuid>|gpgauthv1.3.0`.
pub fn well_formed_token(s: &str) -> bool {
    let parts: Vec<&str> = s.split('|').collect();
    parts.len() == 4
        && parts[0] == VERSION_TAG
        && parts[3] == VERSION_TAG
        && parts[1] == "36"
        && VaultId::parse(parts[2]).is_some()
}

/// `%XX`-escapes everything but unreserved characters, so that both the python client's
/// (`unquote`, then `\+` to space) and go-passbolt's (`QueryUnescape`) decoding read it.
pub fn escape_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A fingerprint as clients send it (any case, spaces allowed): 40 upper-case hex digits.
pub fn normalise_fingerprint(s: &str) -> Option<String> {
    let f: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (f.len() == 40 && f.bytes().all(|b| b.is_ascii_hexdigit())).then(|| f.to_ascii_uppercase())
}

fn no_user() -> VaultError {
    VaultError::GpgAuth {
        message: "The user does not exist or has been deleted.".into(),
        debug: "There is no user associated with this key. User not found.".into(),
    }
}

impl Core {
    /// Stage 0: decrypts the client's `server_verify_token` with the server key.
    pub async fn vault_verify_server(
        &self,
        keyid: Option<&str>,
        token: &str,
    ) -> VaultResult<String> {
        if let Some(k) = keyid {
            let found = match normalise_fingerprint(k) {
                Some(f) => self.store.vault_gpgkey_by_fingerprint(&f).await?,
                None => None,
            };
            if found.is_none() {
                return Err(no_user());
            }
        }
        if token.len() > MAX_VERIFY_TOKEN {
            return Err(VaultError::GpgAuth {
                message: "The server verify token is too large.".into(),
                debug: "The server verify token is too large.".into(),
            });
        }
        let key = self.vault_server_key().await?.cert.clone();
        let data = token.as_bytes().to_vec();
        let plain = blocking(move || pgp::decrypt(&key, "", &data, 1024)).await?;
        let plain = plain.ok().and_then(|p| String::from_utf8(p).ok());
        match plain {
            Some(p) if well_formed_token(&p) => Ok(p),
            _ => Err(VaultError::GpgAuth {
                message: "The server key could not be verified.".into(),
                debug: "Decryption failed or the verify token has a wrong format.".into(),
            }),
        }
    }

    /// Stages 1 and 2 of the login (`POST /auth/login.json`); `mfa_token` is the request's
    /// `passbolt_mfa` cookie, if any (a valid one skips the MFA check).
    pub async fn vault_login(
        &self,
        keyid: &str,
        user_token_result: Option<&str>,
        mfa_token: Option<&str>,
        meta: &AuthMeta,
    ) -> VaultResult<GpgAuthStep> {
        let origin = meta.ip.as_deref().and_then(|ip| ip.parse().ok());
        let fingerprint = normalise_fingerprint(keyid);
        let key = match &fingerprint {
            Some(f) => self.store.vault_gpgkey_by_fingerprint(f).await?,
            None => None,
        };
        let user = match &key {
            Some(k) => self.store.vault_user(&k.user).await?,
            None => None,
        };
        let throttle_name = user
            .as_ref()
            .map(|u| u.username.clone())
            .unwrap_or_else(|| keyid.chars().take(64).collect());
        if self.auth_throttle.blocked(origin, &throttle_name) {
            if let Some(u) = &user {
                self.record_auth_result(
                    &u.mail_user,
                    "vault login",
                    "throttled",
                    meta,
                    AuthEventExtra::default(),
                );
            }
            return Err(VaultError::Throttled);
        }
        let (Some(key), Some(user)) = (key, user.filter(|u| u.active)) else {
            self.auth_throttle.record_failure(origin, &throttle_name);
            return Err(no_user());
        };
        let now = sealpost_store::now_ms();
        let Some(result) = user_token_result else {
            // Stage 1.
            let token = format!("{VERSION_TAG}|36|{}|{VERSION_TAG}", VaultId::new());
            self.store
                .insert_vault_token(
                    &token_hash(&token),
                    &user.id,
                    "login",
                    now,
                    now + LOGIN_TOKEN_TTL_MS,
                )
                .await?;
            let server = self.vault_server_key().await?.cert.clone();
            let armored = key.armored_key.clone();
            let encrypted = blocking(move || {
                let cert = pgp::parse_cert(armored.as_bytes())?;
                pgp::encrypt_signed(&[&cert], &server, "", token.as_bytes())
            })
            .await?
            .map_err(|e| VaultError::GpgAuth {
                message: "The user token could not be encrypted.".into(),
                debug: e.to_string(),
            })?;
            let text = String::from_utf8_lossy(&encrypted);
            return Ok(GpgAuthStep::Challenge {
                header: escape_header(&text),
            });
        };
        // Stage 2.
        let fail = |debug: &str| {
            self.auth_throttle.record_failure(origin, &throttle_name);
            self.record_auth_event(
                &user.mail_user,
                "vault login",
                false,
                meta,
                AuthEventExtra::default(),
            );
            Err(VaultError::GpgAuth {
                message: "The authentication failed.".into(),
                debug: debug.to_string(),
            })
        };
        let result = result.trim();
        if !well_formed_token(result) {
            return fail("The user token result is not a valid token.");
        }
        match self
            .store
            .take_vault_token(&token_hash(result), "login", now)
            .await?
        {
            Some(owner) if owner == user.id => {}
            _ => {
                return fail(
                    "The user token result could not be found, has expired or was used already.",
                );
            }
        }
        let mfa_required = self.vault_mfa_pending(&user, mfa_token).await?;
        let (session, csrf) = self.vault_open_session(&user.id, !mfa_required).await?;
        self.store.touch_vault_login(&user.id, now).await?;
        self.auth_throttle.record_success(origin, &throttle_name);
        self.record_auth_event(
            &user.mail_user,
            "vault login",
            true,
            meta,
            AuthEventExtra::default(),
        );
        Ok(GpgAuthStep::Authenticated {
            session,
            csrf,
            user: Box::new(user),
            mfa_required,
        })
    }

    /// Opens a session for `user`: (session token, CSRF token), both shown once.
    pub(crate) async fn vault_open_session(
        &self,
        user: &VaultId,
        mfa_ok: bool,
    ) -> VaultResult<(String, String)> {
        let session = crate::random::hex(32);
        let csrf = crate::random::hex(32);
        let now = sealpost_store::now_ms();
        let ttl = i64::try_from(self.config.vault.session_ttl.as_millis()).unwrap_or(i64::MAX);
        self.store
            .insert_vault_session(
                &token_hash(&session),
                user,
                &csrf,
                mfa_ok,
                now,
                now.saturating_add(ttl),
            )
            .await?;
        Ok((session, csrf))
    }

    /// The session a `passbolt_session` cookie names (401 when none).
    pub async fn vault_session(&self, token: &str) -> VaultResult<VaultSession> {
        let token = token.trim();
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VaultError::Unauthenticated);
        }
        let hash = token_hash(token);
        let now = sealpost_store::now_ms();
        let row = self
            .store
            .vault_session(&hash, now)
            .await?
            .ok_or(VaultError::Unauthenticated)?;
        let user = self
            .store
            .vault_user(&row.user)
            .await?
            .filter(|u| u.active)
            .ok_or(VaultError::Unauthenticated)?;
        Ok(VaultSession {
            user,
            csrf: row.csrf,
            mfa_ok: row.mfa_ok,
            hash,
        })
    }

    /// Ends a session (logout).
    pub async fn vault_logout(&self, session: &VaultSession) -> VaultResult<()> {
        self.store.delete_vault_session(&session.hash).await?;
        Ok(())
    }

    /// Whether `user` still has to pass MFA: their mail account has TOTP on and `mfa_token`
    /// (the `passbolt_mfa` cookie) is no unexpired proof of a check they passed.
    pub(crate) async fn vault_mfa_pending(
        &self,
        user: &VaultUserRow,
        mfa_token: Option<&str>,
    ) -> VaultResult<bool> {
        if !self
            .store
            .totp_state(&user.mail_user)
            .await?
            .is_some_and(|t| t.enabled)
        {
            return Ok(false);
        }
        let Some(token) = mfa_token
            .map(str::trim)
            .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        else {
            return Ok(true);
        };
        let owner = self
            .store
            .vault_token(&token_hash(token), MFA_TOKEN_KIND, sealpost_store::now_ms())
            .await?;
        Ok(owner.as_ref() != Some(&user.id))
    }

    /// `POST /mfa/verify/totp.json`: the mail user's TOTP code passes MFA for the session
    /// (a GPGAuth session, or a JWT access token's). Answers the proof for the `passbolt_mfa`
    /// cookie, as passbolt: the requests of a JWT client carry it, and a later login that
    /// carries it skips the check. It lasts as long as a session, or [`MFA_REMEMBER_MS`]
    /// with `remember`.
    pub async fn vault_verify_totp(
        &self,
        session: &VaultSession,
        code: &str,
        remember: bool,
        meta: &AuthMeta,
    ) -> VaultResult<String> {
        match self.check_totp(&session.user.mail_user, code, meta).await {
            Ok(()) => {
                if !session.hash.is_empty() {
                    self.store.set_vault_session_mfa(&session.hash).await?;
                }
                let token = crate::random::hex(32);
                let now = sealpost_store::now_ms();
                let ttl = if remember {
                    MFA_REMEMBER_MS
                } else {
                    i64::try_from(self.config.vault.session_ttl.as_millis()).unwrap_or(i64::MAX)
                };
                self.store
                    .insert_vault_token(
                        &token_hash(&token),
                        &session.user.id,
                        MFA_TOKEN_KIND,
                        now,
                        now.saturating_add(ttl),
                    )
                    .await?;
                Ok(token)
            }
            Err(crate::Error::Internal(m)) => Err(VaultError::Internal(m)),
            Err(_) => Err(VaultError::field(
                "totp",
                "isValidOtp",
                "This OTP is not valid.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        let t = format!("gpgauthv1.3.0|36|{}|gpgauthv1.3.0", VaultId::new());
        assert!(well_formed_token(&t));
        assert!(!well_formed_token("gpgauthv1.3.0|36|x|gpgauthv1.3.0"));
        assert!(!well_formed_token(&t.replace("|36|", "|35|")));
        assert!(!well_formed_token(&t.replace("v1.3.0|36", "v1.2.0|36")));
        assert!(!well_formed_token(""));
    }

    #[test]
    fn header_escaping() {
        assert_eq!(escape_header("a b+c/=\n"), "a%20b%2Bc%2F%3D%0A");
        assert_eq!(escape_header("-----BEGIN"), "-----BEGIN");
    }

    #[test]
    fn fingerprints() {
        assert_eq!(
            normalise_fingerprint("abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd").as_deref(),
            Some("ABCDABCDABCDABCDABCDABCDABCDABCDABCDABCD")
        );
        assert_eq!(normalise_fingerprint("abcd"), None);
    }
}
