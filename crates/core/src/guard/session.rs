//! User session tokens: issued by `POST /authenticate` with `token: true` (WildDuck's option)
//! and by the Guard login, presented as Guard's `session` parameter. A token is 32 random
//! bytes (hex); only its SHA-256 is stored, with an expiry.

use super::{hex_lower, random_bytes, token_hash};
use crate::{Core, Error, Result, Scope};
use sealpost_store::model::{Millis, ObjectId};

/// A new session token, shown once.
#[derive(Clone)]
pub struct SessionToken {
    pub token: String,
    pub expires: Millis,
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionToken")
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Length of a token as issued (hex of 32 bytes).
const TOKEN_LEN: usize = 64;

fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn session_refused() -> Error {
    Error::Forbidden {
        message: "Invalid or expired session".into(),
        code: "SessionExpired",
    }
}

impl Core {
    /// Issues a session token for `user` valid for `[guard] sessionTtl`.
    pub async fn create_session(&self, user: &ObjectId, scope: Scope) -> Result<SessionToken> {
        let token = hex_lower(&random_bytes::<32>());
        let now = sealpost_store::now_ms();
        let ttl = i64::try_from(self.config.guard.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let expires = now.saturating_add(ttl);
        self.store
            .insert_user_token(
                &token_hash(token.as_bytes()),
                user,
                scope.as_str(),
                now,
                expires,
            )
            .await?;
        Ok(SessionToken { token, expires })
    }

    /// The user of an unexpired session token (`SessionExpired` otherwise).
    pub async fn session_user(&self, token: &str) -> Result<ObjectId> {
        let token = token.trim().to_ascii_lowercase();
        if !well_formed(&token) {
            return Err(session_refused());
        }
        let now = sealpost_store::now_ms();
        match self
            .store
            .user_token(&token_hash(token.as_bytes()), now)
            .await?
        {
            Some((user, scope)) if scope == Scope::Master.as_str() => Ok(user),
            _ => Err(session_refused()),
        }
    }

    /// Ends a session (a logout); unknown tokens are ignored.
    pub async fn end_session(&self, token: &str) -> Result<()> {
        let token = token.trim().to_ascii_lowercase();
        if well_formed(&token) {
            self.store
                .delete_user_token(&token_hash(token.as_bytes()))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        assert!(well_formed(&"a".repeat(64)));
        assert!(!well_formed(&"a".repeat(63)));
        assert!(!well_formed(&"g".repeat(64)));
        assert!(!well_formed(""));
    }
}
