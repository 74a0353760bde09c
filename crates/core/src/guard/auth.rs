//! Guard `auth` tokens: what the login gives back for a key password, so that a client can
//! unlock the private key for `[guard] authTtl` without sending the password again.
//!
//! A token is 16 random id bytes and a 32-byte random key, base64url. The database keeps the
//! SHA-256 of the id and the key password sealed (ChaCha20-Poly1305, the user id as associated
//! data) under the key, which is never stored: the database alone cannot give the password
//! back, and a token works for its own user only.

use super::{random_bytes, token_hash};
use crate::outbound::Secret;
use crate::{Core, Error, Result};
use base64::Engine as _;
use ring::aead;
use sealpost_store::model::ObjectId;

const ID_LEN: usize = 16;
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// How a request unlocks a private key: the key password itself or a Guard `auth` token.
#[derive(Debug, Clone)]
pub enum GuardAuth {
    Password(Secret),
    Token(Secret),
}

fn auth_refused() -> Error {
    Error::Forbidden {
        message: "Invalid or expired Guard authentication token".into(),
        code: "AuthExpired",
    }
}

fn split(token: &str) -> Option<([u8; ID_LEN], [u8; KEY_LEN])> {
    if token.len() > 128 {
        return None;
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    if raw.len() != ID_LEN + KEY_LEN {
        return None;
    }
    let id: [u8; ID_LEN] = raw[..ID_LEN].try_into().ok()?;
    let key: [u8; KEY_LEN] = raw[ID_LEN..].try_into().ok()?;
    Some((id, key))
}

fn seal(key: &[u8; KEY_LEN], user: &ObjectId, password: &str) -> Result<String> {
    let unbound = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, key)
        .map_err(|_| Error::Internal("cannot make a sealing key".into()))?;
    let key = aead::LessSafeKey::new(unbound);
    let nonce_bytes = random_bytes::<NONCE_LEN>();
    let mut data = password.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce_bytes),
        aead::Aad::from(user.as_str().as_bytes()),
        &mut data,
    )
    .map_err(|_| Error::Internal("sealing failed".into()))?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&data);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

fn open(key: &[u8; KEY_LEN], user: &ObjectId, sealed: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .ok()?;
    if raw.len() < NONCE_LEN {
        return None;
    }
    let (nonce, data) = raw.split_at(NONCE_LEN);
    let unbound = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, key).ok()?;
    let key = aead::LessSafeKey::new(unbound);
    let mut data = data.to_vec();
    let plain = key
        .open_in_place(
            aead::Nonce::try_assume_unique_for_key(nonce).ok()?,
            aead::Aad::from(user.as_str().as_bytes()),
            &mut data,
        )
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

impl Core {
    /// Issues an `auth` token that stands for `password` for `[guard] authTtl`.
    pub(crate) async fn issue_guard_auth(&self, user: &ObjectId, password: &str) -> Result<String> {
        let id = random_bytes::<ID_LEN>();
        let key = random_bytes::<KEY_LEN>();
        let sealed = seal(&key, user, password)?;
        let now = sealpost_store::now_ms();
        let ttl = i64::try_from(self.config.guard.auth_ttl.as_millis()).unwrap_or(i64::MAX);
        self.store
            .insert_guard_auth(
                &token_hash(&id),
                user,
                &sealed,
                now,
                now.saturating_add(ttl),
            )
            .await?;
        let mut raw = id.to_vec();
        raw.extend_from_slice(&key);
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
    }

    /// The key password a request stands for: given, or unsealed from an `auth` token.
    pub(crate) async fn guard_password(&self, user: &ObjectId, auth: &GuardAuth) -> Result<Secret> {
        match auth {
            GuardAuth::Password(p) => Ok(p.clone()),
            GuardAuth::Token(t) => {
                let (id, key) = split(t.expose()).ok_or_else(auth_refused)?;
                let now = sealpost_store::now_ms();
                let sealed = self
                    .store
                    .guard_auth(&token_hash(&id), user, now)
                    .await?
                    .ok_or_else(auth_refused)?;
                open(&key, user, &sealed)
                    .map(Secret::new)
                    .ok_or_else(auth_refused)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let user = ObjectId::new();
        let key = random_bytes::<KEY_LEN>();
        let sealed = seal(&key, &user, "secret pass").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(open(&key, &user, &sealed).as_deref(), Some("secret pass"));
        assert_eq!(
            open(&key, &ObjectId::new(), &sealed),
            None,
            "bound to its user"
        );
        let other = random_bytes::<KEY_LEN>();
        assert_eq!(open(&other, &user, &sealed), None);
        assert_eq!(open(&key, &user, "!!"), None);
    }

    #[test]
    fn token_split() {
        let raw = [7u8; ID_LEN + KEY_LEN];
        let t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        assert!(split(&t).is_some());
        assert!(split("abc").is_none());
        assert!(split(&"A".repeat(500)).is_none());
    }
}
