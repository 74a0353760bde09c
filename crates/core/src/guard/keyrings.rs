//! A user's Guard key rings: create (Curve25519, marked current), upload (public and/or
//! secret keys, re-protected by a new password), list, get, download, mark current, delete;
//! the key password (check, change, reset through the recovery copy); and decryption of
//! stored mail with a Guard `auth` token.
//!
//! A secret key is stored only protected: by the user's key password (`private_ring`) and,
//! with `[guard] recovery`, by a passphrase derived from the master key (`recovery`). Every
//! OpenPGP operation runs in `spawn_blocking`.

use super::GuardAuth;
use crate::outbound::Secret;
use crate::{Core, Error, Result};
use sealpost_pgp as pgp;
use sealpost_store::guard::KeyRingRow;
use sealpost_store::model::ObjectId;

/// Which parts of a ring a request wants (Guard's `keyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    Public,
    Private,
    #[default]
    PublicPrivate,
}

impl KeyType {
    pub fn parse(s: &str) -> Option<KeyType> {
        match s {
            "public" => Some(KeyType::Public),
            "private" => Some(KeyType::Private),
            "public_private" => Some(KeyType::PublicPrivate),
            _ => None,
        }
    }
    pub fn public(self) -> bool {
        self != KeyType::Private
    }
    pub fn private(self) -> bool {
        self != KeyType::Public
    }
}

/// A key ring as shown: the stored row, facts about its public certificate, and its armored
/// secret keys (still protected) when they were asked for with the right password.
#[derive(Debug, Clone)]
pub struct KeyRing {
    pub key_id: i64,
    pub current: bool,
    pub public_ring: Option<String>,
    pub private_ring: Option<String>,
    /// Whether the server holds secret keys of this ring.
    pub has_private: bool,
    pub info: pgp::KeyInfo,
}

fn pgp_error(e: pgp::Error) -> Error {
    let (code, message) = match &e {
        pgp::Error::Malformed(_) => ("MalformedKey", e.to_string()),
        pgp::Error::NoEncryptionSubkey => (
            "NoEncryptionSubkey",
            "The key has no usable encryption subkey".to_string(),
        ),
        pgp::Error::Expired => ("KeyExpired", "The key has expired".to_string()),
        pgp::Error::Revoked => ("KeyRevoked", "The key is revoked".to_string()),
        pgp::Error::WrongPassphrase => ("BadPassword", "Bad password".to_string()),
        pgp::Error::NoSecretKey => ("NoPrivateKey", "No usable private key".to_string()),
        pgp::Error::TooLarge { .. } => return Error::TooLarge(e.to_string()),
        pgp::Error::BadSignature(_) => ("BadSignature", e.to_string()),
        pgp::Error::Failed(detail) => return Error::Internal(format!("OpenPGP: {detail}")),
    };
    Error::Forbidden { message, code }
}

/// Runs OpenPGP work off the async runtime.
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> pgp::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| Error::Internal(format!("OpenPGP task failed: {e}")))?
        .map_err(pgp_error)
}

/// The 64-bit key ID of a certificate as Guard's signed `keyid`.
fn key_id_of(info: &pgp::KeyInfo) -> Result<i64> {
    u64::from_str_radix(&info.key_id, 16)
        .map(|n| n as i64)
        .map_err(|_| Error::Internal(format!("unexpected key id {:?}", info.key_id)))
}

fn no_ring() -> Error {
    Error::not_found("No such key ring")
}

fn no_private() -> Error {
    Error::Forbidden {
        message: "The key ring has no private key".into(),
        code: "NoPrivateKey",
    }
}

/// A random password of `len` characters (letters and digits without look-alikes).
pub(crate) fn random_password(len: usize) -> String {
    crate::random::chars(
        b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789",
        len,
    )
}

/// A secret key ring and its recovery copy, both protected.
struct Protected {
    private_ring: String,
    recovery: Option<String>,
}

fn protect(
    cert: &pgp::Cert,
    old: &str,
    new: &str,
    recovery: Option<&Secret>,
) -> pgp::Result<Protected> {
    let private_ring = cert.change_passphrase(old, new)?.armored_secret()?;
    let recovery = match recovery {
        Some(r) => Some(cert.change_passphrase(old, r.expose())?.armored_secret()?),
        None => None,
    };
    Ok(Protected {
        private_ring,
        recovery,
    })
}

impl Core {
    fn check_new_password(&self, password: &str, field: &'static str) -> Result<()> {
        let min = self.config.guard.min_password_length;
        if password.chars().count() < min {
            return Err(Error::validation(
                format!("The password must have at least {min} characters"),
                field,
            ));
        }
        if password.len() > pgp::MAX_PASSPHRASE {
            return Err(Error::validation("The password is too long", field));
        }
        Ok(())
    }

    /// The recovery passphrase for a ring, when recovery is on.
    async fn recovery_secret(&self, user: &ObjectId, fingerprint: &str) -> Result<Option<Secret>> {
        if !self.config.guard.recovery {
            return Ok(None);
        }
        let master = self.guard_master_key().await?;
        Ok(Some(master.recovery_passphrase(user, fingerprint)))
    }

    async fn ring_row(&self, user: &ObjectId, key_id: Option<i64>) -> Result<KeyRingRow> {
        self.get_user(user).await?;
        self.store.keyring(user, key_id).await?.ok_or_else(no_ring)
    }

    /// Checks `password` against the secret keys of `row`.
    async fn unlock_row(&self, row: &KeyRingRow, password: &Secret) -> Result<()> {
        let private = row.private_ring.clone().ok_or_else(no_private)?;
        let password = password.clone();
        blocking(move || pgp::parse_cert(private.as_bytes())?.unlock_check(password.expose())).await
    }

    /// The key password a request stands for, checked against the ring's secret keys.
    async fn unlocked_password(
        &self,
        user: &ObjectId,
        row: &KeyRingRow,
        auth: &GuardAuth,
    ) -> Result<Secret> {
        let password = self.guard_password(user, auth).await?;
        self.unlock_row(row, &password).await?;
        Ok(password)
    }

    async fn view(
        &self,
        row: KeyRingRow,
        key_type: KeyType,
        with_private: bool,
    ) -> Result<KeyRing> {
        let public = row.public_ring.clone();
        let info = blocking(move || Ok(pgp::parse_cert(public.as_bytes())?.info())).await?;
        Ok(KeyRing {
            key_id: row.key_id,
            current: row.current,
            has_private: row.private_ring.is_some(),
            public_ring: key_type.public().then_some(row.public_ring),
            private_ring: if with_private && key_type.private() {
                row.private_ring
            } else {
                None
            },
            info,
        })
    }

    /// Makes a new Curve25519 key ring for the user's main address, protected by `password`,
    /// and marks it current.
    pub async fn guard_create_keyring(
        &self,
        user: &ObjectId,
        name: &str,
        password: &Secret,
    ) -> Result<KeyRing> {
        self.check_new_password(password.expose(), "password")?;
        let record = self.get_user(user).await?;
        let email = record
            .address
            .clone()
            .ok_or_else(|| Error::validation("The user has no address for the key", "name"))?;
        let name = name.trim();
        if name.chars().count() > 256 || name.chars().any(char::is_control) {
            return Err(Error::validation("Invalid name", "name"));
        }
        let spec = pgp::KeySpec {
            name: name.to_string(),
            email,
            algorithm: pgp::KeyAlgorithm::Cv25519,
            passphrase: password.expose().to_string(),
            validity: None,
        };
        let cert = blocking(move || pgp::generate(&spec)).await?;
        let fingerprint = cert.fingerprint();
        let recovery = self.recovery_secret(user, &fingerprint).await?;
        let pw = password.clone();
        let (cert, protected, info) = blocking(move || {
            // The new key is protected by `password` already; the recovery copy is a second
            // protection of the same secret keys.
            let p = protect(&cert, pw.expose(), pw.expose(), recovery.as_ref())?;
            let info = cert.info();
            Ok((cert, p, info))
        })
        .await?;
        let public_ring = blocking(move || cert.public().armored_public()).await?;
        let now = sealpost_store::now_ms();
        let row = KeyRingRow {
            id: ObjectId::new(),
            user: user.clone(),
            key_id: key_id_of(&info)?,
            fingerprint,
            public_ring,
            private_ring: Some(protected.private_ring),
            recovery: protected.recovery,
            current: true,
            created: now,
            updated: now,
        };
        self.store_rings(std::slice::from_ref(&row), true).await?;
        let row = self.ring_row(user, Some(row.key_id)).await?;
        self.view(row, KeyType::PublicPrivate, true).await
    }

    async fn store_rings(&self, rows: &[KeyRingRow], make_current: bool) -> Result<()> {
        let max = self.config.guard.max_key_rings;
        if !self.store.put_keyrings(rows, make_current, max).await? {
            return Err(Error::Forbidden {
                message: format!("A user has at most {max} key rings"),
                code: "TooManyKeys",
            });
        }
        Ok(())
    }

    /// The user's key rings (public parts), oldest first.
    pub async fn guard_keyrings(&self, user: &ObjectId) -> Result<Vec<KeyRing>> {
        self.get_user(user).await?;
        let mut out = Vec::new();
        for row in self.store.list_keyrings(user).await? {
            out.push(self.view(row, KeyType::Public, false).await?);
        }
        Ok(out)
    }

    /// One key ring (`None`: the current one). Secret parts only when `auth` unlocks them.
    pub async fn guard_keyring(
        &self,
        user: &ObjectId,
        key_id: Option<i64>,
        key_type: KeyType,
        auth: Option<&GuardAuth>,
    ) -> Result<KeyRing> {
        let row = self.ring_row(user, key_id).await?;
        if key_type.private() {
            if row.private_ring.is_none() {
                if key_type == KeyType::Private {
                    return Err(no_private());
                }
            } else {
                let auth = auth.ok_or_else(|| {
                    Error::validation("The password is needed for the private key", "password")
                })?;
                self.unlocked_password(user, &row, auth).await?;
            }
        }
        self.view(row, key_type, true).await
    }

    /// Marks one ring current.
    pub async fn guard_set_current(&self, user: &ObjectId, key_id: i64) -> Result<()> {
        self.get_user(user).await?;
        if !self.store.set_current_keyring(user, key_id).await? {
            return Err(no_ring());
        }
        Ok(())
    }

    /// Deletes one ring; one with secret keys only with their password.
    pub async fn guard_delete_keyring(
        &self,
        user: &ObjectId,
        key_id: i64,
        auth: &GuardAuth,
    ) -> Result<()> {
        let row = self.ring_row(user, Some(key_id)).await?;
        if row.private_ring.is_some() {
            self.unlocked_password(user, &row, auth).await?;
        }
        if !self.store.delete_keyring(user, key_id).await? {
            return Err(no_ring());
        }
        Ok(())
    }

    /// Imports an armored key ring (one or more certificates, public and/or secret). Every
    /// certificate must be usable for encryption (not expired or revoked, with an encryption
    /// subkey); secret keys must unlock with `key_password` and are stored protected by
    /// `new_password` (else `key_password`). Nothing is stored unless all of it is good.
    pub async fn guard_upload_keyring(
        &self,
        user: &ObjectId,
        armored: &str,
        key_password: Option<&Secret>,
        new_password: Option<&Secret>,
    ) -> Result<Vec<i64>> {
        let max = self.config.guard.max_key_size;
        if armored.len() > max {
            return Err(Error::TooLarge(format!(
                "The key ring is larger than {max} bytes"
            )));
        }
        self.get_user(user).await?;
        if let Some(p) = new_password {
            self.check_new_password(p.expose(), "newPassword")?;
        }
        let data = armored.as_bytes().to_vec();
        let certs = blocking(move || {
            let certs = pgp::parse_certs(&data)?;
            for c in &certs {
                c.encryption_check()?;
            }
            Ok(certs)
        })
        .await?;
        let mut rows = Vec::new();
        let now = sealpost_store::now_ms();
        for cert in certs {
            let fingerprint = cert.fingerprint();
            let secret = if cert.has_secret() {
                // An unprotected secret key needs only the new password.
                let (old, new) = match (key_password, new_password) {
                    (None, None) => {
                        return Err(Error::validation(
                            "\"keyPassword\" is required for private keys",
                            "keyPassword",
                        ));
                    }
                    (Some(k), None) => {
                        self.check_new_password(k.expose(), "keyPassword")?;
                        (k.clone(), k.clone())
                    }
                    (k, Some(n)) => (k.cloned().unwrap_or_else(|| Secret::new("")), n.clone()),
                };
                let recovery = self.recovery_secret(user, &fingerprint).await?;
                let c = cert.clone();
                Some(
                    blocking(move || {
                        c.unlock_check(old.expose())?;
                        protect(&c, old.expose(), new.expose(), recovery.as_ref())
                    })
                    .await?,
                )
            } else {
                None
            };
            let c = cert.clone();
            let (public_ring, info) =
                blocking(move || Ok((c.public().armored_public()?, c.info()))).await?;
            rows.push(KeyRingRow {
                id: ObjectId::new(),
                user: user.clone(),
                key_id: key_id_of(&info)?,
                fingerprint,
                public_ring,
                private_ring: secret.as_ref().map(|s| s.private_ring.clone()),
                recovery: secret.and_then(|s| s.recovery),
                current: false,
                created: now,
                updated: now,
            });
        }
        self.store_rings(&rows, false).await?;
        Ok(rows.iter().map(|r| r.key_id).collect())
    }

    /// Checks the key password of the current ring and issues an `auth` token for it.
    pub async fn guard_login_auth(&self, user: &ObjectId, password: &Secret) -> Result<String> {
        let row = self.ring_row(user, None).await?;
        self.unlock_row(&row, password).await?;
        self.issue_guard_auth(user, password.expose()).await
    }

    /// Changes the password of the current ring; earlier `auth` tokens end, a new one is
    /// returned.
    pub async fn guard_change_password(
        &self,
        user: &ObjectId,
        old: &Secret,
        new: &Secret,
    ) -> Result<String> {
        self.check_new_password(new.expose(), "newpass")?;
        let row = self.ring_row(user, None).await?;
        let private = row.private_ring.clone().ok_or_else(no_private)?;
        self.reprotect(user, &row, private, old, new).await?;
        self.issue_guard_auth(user, new.expose()).await
    }

    /// Stores `row`'s secret keys (`armored`, unlocked by `old`) protected by `new`, keeping
    /// the recovery copy; every `auth` token of the user ends.
    async fn reprotect(
        &self,
        user: &ObjectId,
        row: &KeyRingRow,
        armored: String,
        old: &Secret,
        new: &Secret,
    ) -> Result<()> {
        let (o, n) = (old.clone(), new.clone());
        let private_ring = blocking(move || {
            pgp::parse_cert(armored.as_bytes())?
                .change_passphrase(o.expose(), n.expose())?
                .armored_secret()
        })
        .await?;
        let now = sealpost_store::now_ms();
        self.store
            .update_keyring_secret(
                user,
                row.key_id,
                &private_ring,
                row.recovery.as_deref(),
                now,
            )
            .await?;
        self.store.delete_guard_auth(user).await?;
        Ok(())
    }

    /// Verifies the key password of the current ring.
    pub async fn guard_check_password(&self, user: &ObjectId, auth: &GuardAuth) -> Result<()> {
        let row = self.ring_row(user, None).await?;
        self.unlocked_password(user, &row, auth).await.map(|_| ())
    }

    /// Decrypts an OpenPGP message (armored or binary) with the user's rings, unlocked by
    /// `auth`; `limit` bounds the plaintext.
    pub async fn guard_decrypt(
        &self,
        user: &ObjectId,
        auth: &GuardAuth,
        ciphertext: Vec<u8>,
        limit: usize,
    ) -> Result<Vec<u8>> {
        let password = self.guard_password(user, auth).await?;
        let privates: Vec<String> = self
            .store
            .list_keyrings(user)
            .await?
            .into_iter()
            .filter_map(|r| r.private_ring)
            .collect();
        if privates.is_empty() {
            return Err(no_private());
        }
        blocking(move || {
            let mut last = pgp::Error::NoSecretKey;
            for p in &privates {
                let cert = pgp::parse_cert(p.as_bytes())?;
                match pgp::decrypt(&cert, password.expose(), &ciphertext, limit) {
                    Ok(plain) => return Ok(plain),
                    Err(pgp::Error::NoSecretKey) => {}
                    Err(e) => last = e,
                }
            }
            Err(last)
        })
        .await
    }

    /// Resets the current ring's password to a new random one from its recovery copy, and
    /// mails it to the secondary address (answer "ok") or else the main one ("primary").
    pub async fn guard_reset_password(&self, user: &ObjectId) -> Result<&'static str> {
        let no_recovery = || Error::Forbidden {
            message: "Password recovery is not available".into(),
            code: "NoRecovery",
        };
        if !self.config.guard.recovery {
            return Err(no_recovery());
        }
        self.require_relay()?;
        let record = self.get_user(user).await?;
        let row = self.ring_row(user, None).await?;
        let recovery = row.recovery.clone().ok_or_else(no_recovery)?;
        let secondary = self.store.guard_user(user).await?.secondary_email;
        let (to, answer) = match (secondary, record.address.clone()) {
            (Some(s), _) => (s, "ok"),
            (None, Some(p)) => (p, "primary"),
            (None, None) => {
                return Err(Error::validation(
                    "The user has no address to send the password to",
                    "email",
                ));
            }
        };
        let pass = self
            .recovery_secret(user, &row.fingerprint)
            .await?
            .ok_or_else(no_recovery)?;
        let new = Secret::new(random_password(super::GENERATED_PASSWORD_LENGTH));
        let raw = super::reset_mail(&self.config.domain, &to, new.expose());
        self.reprotect(user, &row, recovery, &pass, &new).await?;
        self.enqueue_outbound(crate::outbound::OutboundMail {
            mail_from: String::new(),
            recipients: vec![to],
            raw,
            user: Some(user.clone()),
            kind: crate::outbound::OutboundKind::PasswordReset,
        })
        .await?;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let p = random_password(16);
        assert_eq!(p.len(), 16);
        assert_ne!(p, random_password(16));
        assert!(p.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn key_types() {
        assert_eq!(KeyType::parse("public"), Some(KeyType::Public));
        assert_eq!(KeyType::parse("x"), None);
        assert!(KeyType::PublicPrivate.public() && KeyType::PublicPrivate.private());
        assert!(!KeyType::Public.private());
    }
}
