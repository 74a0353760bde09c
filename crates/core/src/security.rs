//! Account security: authentication (master password or application specific password,
//! scopes, the 2FA rule), application specific passwords, TOTP 2FA, password reset and
//! logging a user out of every session. Each step is written to the authentication log.

use crate::authlog::{AuthEventExtra, AuthMeta};
use crate::mobileconfig::{self, Profile};
use crate::service::{AuthResult, Scope};
use crate::{Core, Error, Result, password, qr_png, totp, validate};
use base64::Engine as _;
use sealpost_store::model::{ObjectId, UserRecord};
use sealpost_store::{AspRecord, NewAsp, UserPatch};
use sha2::Digest;

/// Application specific passwords one user may have.
pub const MAX_ASPS: i64 = 50;
/// Letters in a generated application specific password (as WildDuck: 16 lower-case).
const ASP_LEN: usize = 16;
/// Scopes an application specific password may have.
pub const ASP_SCOPES: [&str; 4] = ["imap", "pop3", "smtp", "*"];

/// Longest lifetime of a temporary application password (`ttl`, seconds): ten years.
const MAX_ASP_TTL: i64 = 10 * 366 * 24 * 3600;

/// A new application specific password, shown once.
#[derive(Debug, Clone)]
pub struct CreatedAsp {
    pub id: ObjectId,
    pub password: String,
    /// Base64 of the Apple configuration profile, when asked for.
    pub mobileconfig: Option<String>,
    /// The account's name and address the profile is made for (the user's name and main
    /// address unless another of its addresses was asked for).
    pub name: String,
    pub address: String,
}

/// `POST /users/{user}/asps`, as WildDuck takes it.
#[derive(Debug, Clone, Default)]
pub struct AspRequest {
    pub description: String,
    pub scopes: Vec<String>,
    /// A password chosen by the caller: 16 latin letters (any case, spaces ignored).
    pub password: Option<String>,
    /// Seconds a temporary password lives past its creation and each use; 0 or none
    /// for a lasting one.
    pub ttl: Option<i64>,
    /// One of the user's addresses, for the profile (default: the main address).
    pub address: Option<String>,
    pub mobileconfig: bool,
}

/// `POST /users/{user}/2fa/totp/setup` result.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// Base32 seed, for typing in by hand.
    pub seed: String,
    pub uri: String,
    /// `data:image/png;base64,...` QR code of `uri`.
    pub qrcode: String,
}

/// `POST /users/{user}/2fa/totp/setup` input.
#[derive(Debug, Clone, Default)]
pub struct TotpSetupRequest {
    pub label: Option<String>,
    pub issuer: Option<String>,
    /// A new seed even when one is pending.
    pub fresh: bool,
}

fn random_letters(n: usize) -> String {
    crate::random::chars(b"abcdefghijklmnopqrstuvwxyz", n)
}

/// An application specific password as typed: spaces dropped, lower-cased; `None` when
/// it cannot be one (so the master password is the only candidate).
fn asp_form(password: &str) -> Option<String> {
    let p: String = password
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    (p.len() == ASP_LEN && p.bytes().all(|b| b.is_ascii_lowercase())).then_some(p)
}

/// Two hex digits of the SHA-256 of the password: the lookup key of its row.
fn asp_lookup(p: &str) -> String {
    hex_byte(sha2::Sha256::digest(p.as_bytes())[0])
}

fn hex_byte(b: u8) -> String {
    format!("{b:02x}")
}

fn scope_allows(scopes: &[String], scope: Scope) -> bool {
    scope != Scope::Master && scopes.iter().any(|s| s == "*" || s == scope.as_str())
}

/// Validates and normalises ASP scopes as WildDuck does: known names, no duplicates, sorted;
/// `*`, or all three, is stored as `*`.
pub fn parse_scopes(given: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in given {
        let s = s.trim().to_ascii_lowercase();
        if s.is_empty() {
            continue;
        }
        if !ASP_SCOPES.contains(&s.as_str()) {
            return Err(Error::validation(
                "\"scopes\" must contain only imap, pop3, smtp or *",
                "scopes",
            ));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() || out.iter().any(|s| s == "*") || out.len() == ASP_SCOPES.len() - 1 {
        return Ok(vec!["*".to_string()]);
    }
    out.sort();
    Ok(out)
}

fn invalid_token() -> Error {
    Error::Forbidden {
        message: "Failed to validate TOTP".into(),
        code: "InvalidToken",
    }
}

impl Core {
    /// Username or any address of the user; `Error::AuthFailed` on any mismatch.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
        scope: Scope,
    ) -> Result<AuthResult> {
        self.authenticate_from(username, password, scope, &AuthMeta::default())
            .await
    }

    /// [`Core::authenticate`] recorded in the user's authentication log with where it came
    /// from. The master password works for every scope unless 2FA is on (then only for
    /// `master`, and the result lists the 2FA methods still to pass); an application
    /// specific password works for its scopes, never for `master`.
    pub async fn authenticate_from(
        &self,
        username: &str,
        password: &str,
        scope: Scope,
        meta: &AuthMeta,
    ) -> Result<AuthResult> {
        let result = self.check_login(username, password, scope, meta).await;
        crate::metrics::login(scope, &result);
        if let Ok(r) = &result {
            tracing::info!(user = %r.username, scope = scope.as_str(), protocol = meta.protocol.as_deref(),
                ip = meta.ip.as_deref(), "login");
        }
        result
    }

    async fn check_login(
        &self,
        username: &str,
        password: &str,
        scope: Scope,
        meta: &AuthMeta,
    ) -> Result<AuthResult> {
        if username.is_empty()
            || username.len() > 256
            || password.is_empty()
            || password.len() > password::MAX_PASSWORD_LEN
        {
            return Err(Error::AuthFailed);
        }
        let found = self
            .store
            .find_login(
                &username.trim().to_lowercase(),
                &self.login_address(username).await?,
            )
            .await?;
        let (id, hash) = match found {
            Some((id, hash)) => (Some(id), hash),
            None => (None, None),
        };
        let extra = || AuthEventExtra {
            asp: None,
            scope: Some(scope.as_str()),
        };
        // Too many recent failures from this address, or for this name from it, on any
        // protocol: refused before the password is even looked at.
        let origin = meta.ip.as_deref().and_then(|ip| ip.parse().ok());
        if self.auth_throttle.blocked(origin, username) {
            if let Some(id) = &id {
                self.record_auth_result(id, "authentication", "throttled", meta, extra());
            }
            return Err(Error::Forbidden {
                message: "Too many failed authentications; try again later".into(),
                code: crate::metrics::RATE_LIMITED,
            });
        }
        let master_ok = password::verify(password, hash.as_deref()).await;
        let Some(id) = id else {
            self.auth_throttle.record_failure(origin, username);
            return Err(Error::AuthFailed);
        };
        let fail = |extra: AuthEventExtra| {
            self.auth_throttle.record_failure(origin, username);
            self.record_auth_event(&id, "authentication", false, meta, extra);
            Err(Error::AuthFailed)
        };
        let user = match self.store.get_user(&id).await? {
            Some(u) => u,
            None => return Err(Error::AuthFailed),
        };
        let methods = self.enabled_2fa(&user).await?;
        let two_factor = !methods.is_empty();
        // A service shut off by `disabledScopes` refuses even the right password (logged as a
        // failure, but not counted by the throttle: nothing was guessed).
        let scope_disabled = |extra: AuthEventExtra| {
            self.record_auth_event(&id, "authentication", false, meta, extra);
            Err(Error::AuthFailed)
        };
        if master_ok {
            if scope.disabled_for(&user.disabled_scopes) && !user.disabled && !user.suspended {
                return scope_disabled(extra());
            }
            if user.disabled || user.suspended || (two_factor && scope != Scope::Master) {
                return fail(extra());
            }
            self.auth_throttle.record_success(origin, username);
            self.record_auth_event(&id, "authentication", true, meta, extra());
            if hash.as_deref().is_some_and(password::needs_rehash) {
                self.rehash_password(&id, password, hash.as_deref()).await;
            }
            return Ok(AuthResult {
                id: user.id,
                username: user.username,
                scope,
                require_2fa: if scope == Scope::Master {
                    methods
                } else {
                    Vec::new()
                },
                require_password_change: user.require_password_change,
            });
        }
        let Some(asp) = asp_form(password).filter(|_| scope != Scope::Master) else {
            return fail(extra());
        };
        let now = sealpost_store::now_ms();
        for candidate in self
            .store
            .asp_candidates(&id, &asp_lookup(&asp), now)
            .await?
        {
            if !password::verify(&asp, Some(&candidate.hash)).await {
                continue;
            }
            let extra = AuthEventExtra {
                asp: Some(candidate.id.clone()),
                scope: Some(scope.as_str()),
            };
            if !scope_allows(&candidate.scopes, scope) || user.disabled || user.suspended {
                return fail(extra);
            }
            if scope.disabled_for(&user.disabled_scopes) {
                return scope_disabled(extra);
            }
            self.auth_throttle.record_success(origin, username);
            let event = self.record_auth_event(&id, "authentication", true, meta, extra);
            // A temporary password lives `ttl` seconds past each use, as WildDuck's.
            let expires = candidate.ttl.map(|t| now + t * 1000);
            if let Err(e) = self
                .store
                .touch_asp(&candidate.id, now, &event, expires)
                .await
            {
                tracing::warn!(error = %e, "cannot record the use of an application password");
            }
            return Ok(AuthResult {
                id: user.id,
                username: user.username,
                scope,
                require_2fa: Vec::new(),
                require_password_change: false,
            });
        }
        fail(extra())
    }

    // ---- application specific passwords ----

    /// The user's application passwords; temporary (`ttl`) ones only with `temporary`, as
    /// WildDuck lists them (`showAll`).
    pub async fn list_asps(&self, user: &ObjectId, temporary: bool) -> Result<Vec<AspRecord>> {
        self.get_user(user).await?;
        let mut list = self.store.list_asps(user, sealpost_store::now_ms()).await?;
        list.retain(|a| temporary || a.ttl.is_none());
        Ok(list)
    }

    /// Creates an application specific password; the password is returned only here.
    pub async fn create_asp(
        &self,
        user: &ObjectId,
        description: &str,
        scopes: &[String],
        mobileconfig: bool,
        meta: &AuthMeta,
    ) -> Result<CreatedAsp> {
        let request = AspRequest {
            description: description.to_string(),
            scopes: scopes.to_vec(),
            mobileconfig,
            ..AspRequest::default()
        };
        self.create_asp_with(user, &request, meta).await
    }

    /// [`Core::create_asp`] with WildDuck's other options: a chosen password, a lifetime,
    /// the profile's address.
    pub async fn create_asp_with(
        &self,
        user: &ObjectId,
        request: &AspRequest,
        meta: &AuthMeta,
    ) -> Result<CreatedAsp> {
        let description = request.description.trim();
        if description.is_empty() || description.chars().count() > 255 {
            return Err(Error::validation(
                "\"description\" must be 1 to 255 characters",
                "description",
            ));
        }
        validate::text(description, "description")?;
        let scopes = parse_scopes(&request.scopes)?;
        let has = |s: &str| scopes.iter().any(|x| x == s || x == "*");
        if request.mobileconfig && !((has("imap") || has("pop3")) && has("smtp")) {
            return Err(Error::Forbidden {
                message: "Profile file requires either imap or pop3 and smtp scopes".into(),
                code: "InvalidAuthScope",
            });
        }
        let password = match request.password.as_deref().map(str::trim) {
            None | Some("") => random_letters(ASP_LEN),
            Some(given) => asp_form(given).ok_or_else(|| {
                Error::validation("\"password\" must be 16 latin letters", "password")
            })?,
        };
        let ttl = match request.ttl {
            None | Some(0) => None,
            Some(t) if (1..=MAX_ASP_TTL).contains(&t) => Some(t),
            Some(_) => {
                return Err(Error::validation(
                    format!("\"ttl\" must be 1 to {MAX_ASP_TTL} seconds"),
                    "ttl",
                ));
            }
        };
        let record = self.get_user(user).await?;
        let address = match request.address.as_deref().map(str::trim) {
            None | Some("") => record
                .address
                .clone()
                .unwrap_or_else(|| record.username.clone()),
            Some(given) => self.own_address(user, given).await?,
        };
        let now = sealpost_store::now_ms();
        let id = ObjectId::new();
        let asp = NewAsp {
            id: id.clone(),
            user: user.clone(),
            description: description.to_string(),
            scopes: scopes.clone(),
            lookup: asp_lookup(&password),
            hash: password::hash(&password).await?,
            created: now,
            ttl,
            expires: ttl.map(|t| now + t * 1000),
        };
        if !self.store.insert_asp(&asp, MAX_ASPS).await? {
            return Err(Error::Forbidden {
                message: format!("A user may have at most {MAX_ASPS} application passwords"),
                code: "TooMany",
            });
        }
        self.record_auth_event(
            user,
            "create asp",
            true,
            meta,
            AuthEventExtra {
                asp: Some(id.clone()),
                scope: None,
            },
        );
        let name = record.name.clone().unwrap_or_default();
        let mobileconfig = request.mobileconfig.then(|| {
            let domain = address.rsplit('@').next().unwrap_or("localhost");
            let reversed: Vec<&str> = domain.split('.').rev().collect();
            let identifier = format!("{}.{}", reversed.join("."), record.username);
            let xml = mobileconfig::render(&Profile {
                display_name: description,
                address: &address,
                username: &record.username,
                password: &password,
                setup: &self.config.client_setup,
                identifier: &identifier,
                account_name: &name,
                // IMAP when it may, as WildDuck prefers.
                pop: !has("imap"),
            });
            base64::engine::general_purpose::STANDARD.encode(xml)
        });
        Ok(CreatedAsp {
            id,
            password,
            mobileconfig,
            name,
            address,
        })
    }

    /// One of the user's addresses as registered, given in any spelling (case, Unicode or
    /// punycode domain, alias domain); `AddressNotFound` when it is not the user's.
    async fn own_address(&self, user: &ObjectId, given: &str) -> Result<String> {
        let wanted = self.login_address(given).await?;
        let found = self
            .store
            .list_addresses(user)
            .await?
            .into_iter()
            .find(|a| validate::normalize_address(&a.address) == wanted);
        found
            .map(|a| a.address)
            .ok_or_else(|| Error::not_found("Invalid or unknown address"))
    }

    /// One application specific password of the user (never the password itself).
    pub async fn get_asp(&self, user: &ObjectId, asp: &ObjectId) -> Result<AspRecord> {
        self.get_user(user).await?;
        self.store
            .get_asp(user, asp, sealpost_store::now_ms())
            .await?
            .ok_or_else(|| Error::not_found("Invalid or unknown ASP key"))
    }

    pub async fn delete_asp(&self, user: &ObjectId, asp: &ObjectId, meta: &AuthMeta) -> Result<()> {
        self.get_user(user).await?;
        if !self.store.delete_asp(user, asp).await? {
            return Err(Error::not_found("Invalid or unknown ASP key"));
        }
        self.record_auth_event(
            user,
            "delete asp",
            true,
            meta,
            AuthEventExtra {
                asp: Some(asp.clone()),
                scope: None,
            },
        );
        Ok(())
    }

    // ---- TOTP 2FA ----

    /// The one rule of which second factors a user has on (`totp`, `custom`: WildDuck's
    /// `enabled2fa`): while any is, the account password logs in only to the `master`
    /// scope (and asks for them).
    pub async fn enabled_2fa(&self, user: &UserRecord) -> Result<Vec<String>> {
        let mut methods = Vec::new();
        if self
            .store
            .totp_state(&user.id)
            .await?
            .is_some_and(|t| t.enabled)
        {
            methods.push("totp".to_string());
        }
        if user.profile.custom_2fa {
            methods.push("custom".to_string());
        }
        Ok(methods)
    }

    /// Sets or clears the custom 2FA flag; false when it was already so.
    async fn set_custom_2fa(&self, user: &UserRecord, on: bool) -> Result<bool> {
        if user.profile.custom_2fa == on {
            return Ok(false);
        }
        let mut profile = user.profile.clone();
        profile.custom_2fa = on;
        let patch = UserPatch {
            profile: Some(profile),
            ..Default::default()
        };
        if !self.store.update_user(&user.id, &patch).await? {
            return Err(Error::not_found("This user does not exist"));
        }
        Ok(true)
    }

    /// `PUT /users/{user}/2fa/custom`: the application in front handles a second factor;
    /// the account password stops working for IMAP, POP3 and SMTP. When the user had no
    /// 2FA before, its open sessions are closed.
    pub async fn enable_custom_2fa(&self, user: &ObjectId, meta: &AuthMeta) -> Result<()> {
        let record = self.get_user(user).await?;
        let had_2fa = !self.enabled_2fa(&record).await?.is_empty();
        if !self.set_custom_2fa(&record, true).await? {
            return Err(Error::Forbidden {
                message: "Custom 2FA is already enabled for this user".into(),
                code: "CustomEnabled",
            });
        }
        if !had_2fa {
            self.changes.log_out(user, "Authentication required");
        }
        self.record_auth_event(user, "enable 2fa custom", true, meta, Default::default());
        Ok(())
    }

    /// `DELETE /users/{user}/2fa/custom`.
    pub async fn disable_custom_2fa(&self, user: &ObjectId, meta: &AuthMeta) -> Result<()> {
        let record = self.get_user(user).await?;
        if !self.set_custom_2fa(&record, false).await? {
            return Err(Error::Forbidden {
                message: "Could not update user, check if custom 2FA is not already disabled"
                    .into(),
                code: "CustomDisabled",
            });
        }
        self.record_auth_event(user, "disable 2fa custom", true, meta, Default::default());
        Ok(())
    }

    /// Prepares TOTP: a seed (the pending one unless `fresh`), its URI and QR code.
    pub async fn setup_totp(
        &self,
        user: &ObjectId,
        request: &TotpSetupRequest,
        meta: &AuthMeta,
    ) -> Result<TotpSetup> {
        let record = self.get_user(user).await?;
        let clean = |v: &Option<String>, field: &'static str| -> Result<Option<String>> {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) if s.chars().count() > 256 => {
                    Err(Error::validation(format!("\"{field}\" is too long"), field))
                }
                Some(s) => {
                    validate::text(s, field)?;
                    Ok(Some(s.to_string()))
                }
                None => Ok(None),
            }
        };
        let issuer = clean(&request.issuer, "issuer")?.unwrap_or_else(|| "Sealpost".into());
        let label = clean(&request.label, "label")?
            .unwrap_or_else(|| format!("{issuer}:{}", record.username));
        let pending = self.store.totp_state(user).await?;
        if pending.as_ref().is_some_and(|t| t.enabled) {
            return Err(Error::Forbidden {
                message: "TOTP 2FA is already enabled for this user".into(),
                code: "TotpEnabled",
            });
        }
        let seed = match pending {
            Some(t) if !request.fresh => t.seed,
            _ => {
                let seed = totp::new_seed();
                if !self.store.set_totp_seed(user, &seed).await? {
                    return Err(Error::Forbidden {
                        message: "TOTP 2FA is already enabled for this user".into(),
                        code: "TotpEnabled",
                    });
                }
                seed
            }
        };
        let uri = totp::otpauth_uri(&label, &issuer, &seed);
        let qrcode = qr_png::data_url(&uri)?;
        self.record_auth_event(user, "setup 2fa totp", true, meta, Default::default());
        Ok(TotpSetup { seed, uri, qrcode })
    }

    /// Checks a token against the user's seed: rate limited, each step usable once.
    async fn use_token(&self, user: &ObjectId, token: &str, enable: bool) -> Result<()> {
        self.get_user(user).await?;
        let Some(state) = self.store.totp_state(user).await? else {
            return Err(Error::Forbidden {
                message: "TOTP 2FA is not initialized for this user".into(),
                code: "TotpDisabled",
            });
        };
        if state.enabled == enable {
            return Err(if enable {
                Error::Forbidden {
                    message: "TOTP 2FA is already enabled for this user".into(),
                    code: "TotpEnabled",
                }
            } else {
                Error::Forbidden {
                    message: "TOTP 2FA is not enabled for this user".into(),
                    code: "TotpDisabled",
                }
            });
        }
        if !self.totp_checks.allow(user) {
            return Err(Error::Forbidden {
                message: "Too many attempts; try again later".into(),
                code: "RateLimitedError",
            });
        }
        let now = totp::step_of(chrono::Utc::now().timestamp());
        let Some(step) = totp::matching_step(&state.seed, token, now) else {
            return Err(invalid_token());
        };
        if step <= state.last_step || !self.store.use_totp_step(user, step, enable).await? {
            // The token's step was used already.
            return Err(invalid_token());
        }
        self.totp_checks.reset(user);
        Ok(())
    }

    /// Enables TOTP with a first valid token.
    pub async fn enable_totp(&self, user: &ObjectId, token: &str, meta: &AuthMeta) -> Result<()> {
        let r = self.use_token(user, token, true).await;
        self.record_auth_event(user, "enable 2fa totp", r.is_ok(), meta, Default::default());
        r
    }

    /// Checks a token (after an authentication that asked for 2FA).
    pub async fn check_totp(&self, user: &ObjectId, token: &str, meta: &AuthMeta) -> Result<()> {
        let r = self.use_token(user, token, false).await;
        if !matches!(&r, Err(Error::NotFound(_))) {
            self.record_auth_event(user, "check 2fa totp", r.is_ok(), meta, Default::default());
        }
        r
    }

    /// Turns TOTP off (`action` names the log entry: "disable 2fa totp" or "disable 2fa").
    pub async fn disable_totp(&self, user: &ObjectId, action: &str, meta: &AuthMeta) -> Result<()> {
        self.get_user(user).await?;
        self.store.delete_totp(user).await?;
        self.record_auth_event(user, action, true, meta, Default::default());
        Ok(())
    }

    /// `DELETE /users/{user}/2fa`: every second factor off (TOTP and custom), as WildDuck.
    pub async fn disable_2fa(&self, user: &ObjectId, meta: &AuthMeta) -> Result<()> {
        let record = self.get_user(user).await?;
        self.store.delete_totp(user).await?;
        self.set_custom_2fa(&record, false).await?;
        let action = "disable 2fa";
        self.record_auth_event(user, action, true, meta, Default::default());
        Ok(())
    }

    /// Replaces an imported hash (bcrypt, crypt, PBKDF2, Argon2i/d) that just verified with an
    /// Argon2id one, unless the password changed meanwhile. A failure is only logged: the
    /// login already succeeded.
    async fn rehash_password(&self, id: &ObjectId, password: &str, old: Option<&str>) {
        let new = match password::hash(password).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(user = %id, error = %e, "cannot rehash the password");
                return;
            }
        };
        match self.store.replace_password_hash(id, old, &new).await {
            Ok(true) => tracing::info!(user = %id, "imported password hash replaced by Argon2id"),
            Ok(false) => {}
            Err(e) => tracing::warn!(user = %id, error = %e, "cannot store the rehashed password"),
        }
    }

    /// WildDuck's `POST /preauth`: whether `username` (or an address) exists and may log in
    /// to `scope` now (not disabled or suspended, scope not disabled), without a password.
    pub async fn preauth(&self, username: &str, scope: Scope) -> Result<(UserRecord, Vec<String>)> {
        let id = self
            .resolve_user(username)
            .await?
            .ok_or_else(|| Error::not_found("This user does not exist"))?;
        let user = self.get_user(&id).await?;
        if user.disabled || user.suspended || scope.disabled_for(&user.disabled_scopes) {
            return Err(Error::AuthFailed);
        }
        let require_2fa = if scope == Scope::Master {
            self.enabled_2fa(&user).await?
        } else {
            Vec::new()
        };
        Ok((user, require_2fa))
    }

    // ---- password reset and logout ----

    /// Sets a new random password that must be changed at the next opportunity
    /// (`requirePasswordChange`), turns 2FA off, and returns the password.
    pub async fn reset_password(&self, user: &ObjectId, meta: &AuthMeta) -> Result<String> {
        self.get_user(user).await?;
        let password = random_letters(ASP_LEN);
        let patch = UserPatch {
            password_hash: Some(password::hash(&password).await?),
            require_password_change: Some(true),
            ..Default::default()
        };
        if !self.store.update_user(user, &patch).await? {
            return Err(Error::not_found("This user does not exist"));
        }
        self.store.delete_totp(user).await?;
        self.record_auth_event(user, "password reset", true, meta, Default::default());
        Ok(password)
    }

    /// Closes every open session (IMAP, POP3) of the user, telling them `reason`.
    pub async fn log_out_user(&self, user: &ObjectId, reason: &str) -> Result<usize> {
        self.get_user(user).await?;
        Ok(self.changes.log_out(user, reason))
    }

    /// A kill switch for a session that `user` just opened (see `notify.rs`).
    pub fn register_session(&self, user: &ObjectId) -> crate::notify::SessionSignal {
        self.changes.register_session(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asp_forms() {
        assert_eq!(
            asp_form("slrf waav yzma tgxf").as_deref(),
            Some("slrfwaavyzmatgxf")
        );
        assert_eq!(
            asp_form("SLRFWAAVYZMATGXF").as_deref(),
            Some("slrfwaavyzmatgxf")
        );
        assert!(asp_form("short").is_none());
        assert!(asp_form("slrfwaavyzmatgx1").is_none());
        let p = random_letters(ASP_LEN);
        assert_eq!(asp_form(&p).as_deref(), Some(p.as_str()));
        assert_eq!(asp_lookup(&p).len(), 2);
    }

    #[test]
    fn scopes() {
        let s = |v: &[&str]| parse_scopes(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&[]).unwrap(), vec!["*"]);
        assert_eq!(s(&["imap", "IMAP", "smtp"]).unwrap(), vec!["imap", "smtp"]);
        assert_eq!(s(&["imap", "*"]).unwrap(), vec!["*"]);
        assert_eq!(s(&["smtp", "pop3"]).unwrap(), vec!["pop3", "smtp"]);
        assert_eq!(s(&["smtp", "pop3", "imap"]).unwrap(), vec!["*"]);
        assert!(s(&["master"]).is_err());
        assert!(scope_allows(&["*".into()], Scope::Pop3));
        assert!(!scope_allows(&["*".into()], Scope::Master));
        assert!(!scope_allows(&["imap".into()], Scope::Pop3));
    }
}
