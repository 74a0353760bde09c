//! API logins (admin and reseller, made with `sealpost jsonrpc-admin`), `auth` for every
//! level, and sessions: an Auth-ID of 32 random bytes (hex) stored only as its SHA-256,
//! valid [`SESSION_TTL_MS`] after its last use, in the database so that every node and a
//! restart keep it.

use super::{AUTH_ID_ERROR, AccountId, DomainId, Level, LoginId, Principal};
use crate::{AuthMeta, Core, Error, Result, Scope, password};
use sealpost_store::model::{Millis, ObjectId};
use sealpost_store::provisioning::LoginRow;

/// How long a session lives after its last use.
pub const SESSION_TTL_MS: i64 = 20 * 60 * 1000;
/// A session's expiry is written back at most this often (each use would be a write).
const TOUCH_EVERY_MS: i64 = 60 * 1000;
/// Length of an Auth-ID as issued.
const AUTH_ID_LEN: usize = 64;
/// Longest login name.
const MAX_NAME: usize = 128;

/// A successful `auth`.
#[derive(Clone)]
pub struct AuthOutcome {
    /// The Auth-ID, shown once.
    pub session: String,
    pub level: Level,
}

impl std::fmt::Debug for AuthOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthOutcome")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

fn auth_id_refused() -> Error {
    Error::Forbidden {
        message: "This Auth-ID is invalid".into(),
        code: AUTH_ID_ERROR,
    }
}

fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// A login, account or domain name: 1 to 128 of letters, digits and `. - _ @`, lower-cased.
pub(crate) fn login_name(name: &str, field: &'static str) -> Result<String> {
    let n = name.trim().to_lowercase();
    let ok = !n.is_empty()
        && n.len() <= MAX_NAME
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
        && n.chars().next().is_some_and(char::is_alphanumeric);
    if ok {
        Ok(n)
    } else {
        Err(Error::validation(
            format!(
                "{field} must be 1 to 128 letters, digits and . - _ @, starting with a letter or digit"
            ),
            field,
        ))
    }
}

pub(crate) fn check_new_password(p: &str, field: &'static str) -> Result<()> {
    if p.is_empty() || p.len() > password::MAX_PASSWORD_LEN {
        return Err(Error::validation(
            format!("{field} must be 1 to 1024 bytes"),
            field,
        ));
    }
    Ok(())
}

impl Core {
    /// Makes an admin or reseller login (`sealpost jsonrpc-admin add`).
    pub async fn rpc_add_login(&self, name: &str, level: Level, pass: &str) -> Result<LoginId> {
        if !matches!(level, Level::Admin | Level::Reseller) {
            return Err(Error::validation(
                "an API login is of level admin or reseller (accounts, domains and mail users log in as themselves)",
                "level",
            ));
        }
        let name = login_name(name, "name")?;
        check_new_password(pass, "password")?;
        if self.store.rpc_account_by_name(&name).await?.is_some() {
            return Err(Error::Conflict {
                message: format!("an account is named {name:?}"),
                code: "AlreadyExists",
            });
        }
        let row = LoginRow {
            id: LoginId::new(),
            name,
            level: level.as_str().to_string(),
            password_hash: password::hash(pass).await?,
            created: sealpost_store::now_ms(),
        };
        self.store.insert_rpc_login(&row).await?;
        Ok(row.id)
    }

    /// Every API login: (name, level, created).
    pub async fn rpc_list_logins(&self) -> Result<Vec<(String, Level, Millis)>> {
        Ok(self
            .store
            .list_rpc_logins()
            .await?
            .into_iter()
            .filter_map(|l| Some((l.name, Level::parse(&l.level)?, l.created)))
            .collect())
    }

    pub async fn rpc_delete_login(&self, name: &str) -> Result<()> {
        let name = login_name(name, "name")?;
        if self.store.delete_rpc_login(&name).await? {
            Ok(())
        } else {
            Err(Error::not_found(format!("no API login {name:?}")))
        }
    }

    pub async fn rpc_set_login_password(&self, name: &str, pass: &str) -> Result<()> {
        let name = login_name(name, "name")?;
        check_new_password(pass, "password")?;
        let hash = password::hash(pass).await?;
        if self.store.set_rpc_login_password(&name, &hash).await? {
            Ok(())
        } else {
            Err(Error::not_found(format!("no API login {name:?}")))
        }
    }

    /// `auth {user, pass}`: an API login, an account, a domain (its own password) or a mail
    /// user (address and password, through the same check as IMAP). Failures count in the
    /// `[auth]` throttle; a mail user's are also in its authentication log.
    pub async fn rpc_auth(&self, user: &str, pass: &str, meta: &AuthMeta) -> Result<AuthOutcome> {
        if user.trim().is_empty()
            || user.len() > 256
            || pass.is_empty()
            || pass.len() > password::MAX_PASSWORD_LEN
        {
            return Err(Error::AuthFailed);
        }
        let name = user.trim().to_lowercase();
        let principal = match self.rpc_login_principal(&name, pass, meta).await? {
            Some(p) => p,
            None => return Err(Error::AuthFailed),
        };
        let session = crate::random::hex(32);
        let now = sealpost_store::now_ms();
        self.store
            .insert_rpc_session(
                &token_hash(&session),
                principal.level().as_str(),
                principal.id_str(),
                now,
                now.saturating_add(SESSION_TTL_MS),
            )
            .await?;
        Ok(AuthOutcome {
            session,
            level: principal.level(),
        })
    }

    /// Who `name` and `pass` are; `None` when they are wrong.
    async fn rpc_login_principal(
        &self,
        name: &str,
        pass: &str,
        meta: &AuthMeta,
    ) -> Result<Option<Principal>> {
        // A mail user: the same authentication as every protocol (throttle and auth log).
        if name.contains('@')
            && let Some(m) = self
                .store
                .rpc_mail_by_address(&crate::validate::normalize_address(name))
                .await?
        {
            let result = match self
                .authenticate_from(name, pass, Scope::Master, meta)
                .await
            {
                Ok(r) => r,
                Err(Error::AuthFailed) => return Ok(None),
                Err(e) => return Err(e),
            };
            // An account with 2FA on cannot open an API session with its password alone.
            if !result.require_2fa.is_empty() {
                return Ok(None);
            }
            return self.mail_principal(&m.user).await;
        }
        let origin = meta.ip.as_deref().and_then(|ip| ip.parse().ok());
        if self.auth_throttle.blocked(origin, name) {
            return Err(Error::Forbidden {
                message: "Too many failed authentications; try again later".into(),
                code: "RateLimitedError",
            });
        }
        let (hash, principal) = if let Some(l) = self.store.rpc_login_by_name(name).await? {
            let p = match Level::parse(&l.level) {
                Some(Level::Admin) => Some(Principal::Admin(l.id)),
                Some(Level::Reseller) => Some(Principal::Reseller(l.id)),
                _ => None,
            };
            (Some(l.password_hash), p)
        } else if let Some(a) = self.store.rpc_account_by_name(name).await? {
            (Some(a.password_hash), Some(Principal::Account(a.id)))
        } else if let Some(d) = self.store.rpc_domain_by_name(name).await? {
            (
                Some(d.password_hash),
                Some(Principal::Domain {
                    account: d.account,
                    domain: d.id,
                }),
            )
        } else {
            (None, None)
        };
        let ok = password::verify(pass, hash.as_deref()).await;
        match principal.filter(|_| ok) {
            Some(p) => {
                self.auth_throttle.record_success(origin, name);
                tracing::info!(
                    login = name,
                    level = p.level().as_str(),
                    "JSON-RPC session opened"
                );
                Ok(Some(p))
            }
            None => {
                self.auth_throttle.record_failure(origin, name);
                tracing::info!(login = name, ip = ?meta.ip, "JSON-RPC authentication failed");
                Ok(None)
            }
        }
    }

    /// The mail user as a principal, while it is active and in a domain of an account.
    async fn mail_principal(&self, user: &ObjectId) -> Result<Option<Principal>> {
        let Some(m) = self.store.rpc_mail(user).await? else {
            return Ok(None);
        };
        let Some(d) = self.store.rpc_domain(&m.domain).await? else {
            return Ok(None);
        };
        match self.store.get_user(user).await? {
            Some(u) if !u.disabled && !u.suspended => Ok(Some(Principal::Mail {
                account: d.account,
                domain: d.id,
                user: m.user,
            })),
            _ => Ok(None),
        }
    }

    /// The principal of a live Auth-ID (the `HPLS-AUTH` header); renews it.
    pub async fn rpc_session(&self, auth_id: &str) -> Result<Principal> {
        let token = auth_id.trim();
        if token.len() != AUTH_ID_LEN || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(auth_id_refused());
        }
        let hash = token_hash(&token.to_ascii_lowercase());
        let now = sealpost_store::now_ms();
        let row = self
            .store
            .rpc_session(&hash, now)
            .await?
            .ok_or_else(auth_id_refused)?;
        let id = ObjectId::from_stored(row.principal);
        let principal = match Level::parse(&row.level) {
            Some(level @ (Level::Admin | Level::Reseller)) => {
                let id = LoginId(id);
                match self.store.rpc_login(&id).await? {
                    Some(l) if l.level == level.as_str() => Some(if level == Level::Admin {
                        Principal::Admin(id)
                    } else {
                        Principal::Reseller(id)
                    }),
                    _ => None,
                }
            }
            Some(Level::Account) => {
                let id = AccountId(id);
                self.store
                    .rpc_account(&id)
                    .await?
                    .map(|_| Principal::Account(id))
            }
            Some(Level::Domain) => {
                self.store
                    .rpc_domain(&DomainId(id))
                    .await?
                    .map(|d| Principal::Domain {
                        account: d.account,
                        domain: d.id,
                    })
            }
            Some(Level::Mail) => self.mail_principal(&id).await?,
            None => None,
        };
        let principal = principal.ok_or_else(auth_id_refused)?;
        if row.expires.saturating_sub(now) < SESSION_TTL_MS - TOUCH_EVERY_MS {
            self.store
                .touch_rpc_session(&hash, now.saturating_add(SESSION_TTL_MS))
                .await?;
        }
        Ok(principal)
    }

    /// `deauth`: ends this Auth-ID only.
    pub async fn rpc_deauth(&self, auth_id: &str) -> Result<()> {
        let token = auth_id.trim().to_ascii_lowercase();
        self.store.delete_rpc_session(&token_hash(&token)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            login_name(" Reseller.One ", "name").unwrap(),
            "reseller.one"
        );
        assert!(login_name("", "name").is_err());
        assert!(login_name("-x", "name").is_err());
        assert!(login_name("a b", "name").is_err());
        assert!(login_name(&"a".repeat(129), "name").is_err());
        assert_ne!(token_hash("a"), token_hash("b"));
    }
}
