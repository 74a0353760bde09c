//! Encryption at rest with a user's OpenPGP public key (WildDuck's `pubKey`,
//! `encryptMessages`, `encryptForwarded`): checking a key before it is stored, the
//! `keyInfo` shown for it, the one decision which key encrypts a user's mail
//! ([`Core::encryption_key_for`]) and the PGP/MIME encryption itself (off the runtime).

use crate::{Core, Error, Result};
use sealpost_pgp as pgp;
use sealpost_store::model::UserRecord;
use std::sync::Arc;

/// Which of a user's messages a key is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// Messages stored in the user's mailboxes (`encryptMessages`).
    Storage,
    /// Copies forwarded by the user's filters or forwarding targets (`encryptForwarded`).
    Forward,
}

/// A public key that mail is encrypted to: the certificate as stored (armored).
#[derive(Debug, Clone)]
pub struct EncryptionKey {
    pub armored: Arc<str>,
}

/// What `keyInfo` shows of a public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubKeyInfo {
    pub name: Option<String>,
    pub address: Option<String>,
    pub fingerprint: String,
}

fn pub_key_error(e: pgp::Error) -> Error {
    let reason = match e {
        pgp::Error::Malformed(_) => "The key could not be parsed".to_string(),
        pgp::Error::NoEncryptionSubkey => "The key has no usable encryption subkey".into(),
        pgp::Error::Expired => "The key has expired".into(),
        pgp::Error::Revoked => "The key is revoked".into(),
        pgp::Error::TooLarge { .. } => "The key is too large".into(),
        other => other.to_string(),
    };
    Error::validation(format!("PubKey validation failed. {reason}"), "pubKey")
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

impl Core {
    /// Checks a `pubKey` given for a user: exactly one certificate, public only, valid now,
    /// not revoked, with a usable encryption subkey, and a test encryption to it succeeds.
    /// Errors are validation errors of the `pubKey` field.
    pub async fn check_pub_key(&self, armored: &str) -> Result<PubKeyInfo> {
        let armored = armored.to_string();
        blocking(move || {
            let cert = pgp::parse_cert(armored.as_bytes()).map_err(pub_key_error)?;
            if cert.has_secret() {
                return Err(Error::validation(
                    "PubKey validation failed. This is a private key; give the public key",
                    "pubKey",
                ));
            }
            cert.encryption_check().map_err(pub_key_error)?;
            pgp::encrypt(&[&cert], b"test", false).map_err(pub_key_error)?;
            Ok(info_of(&cert))
        })
        .await
    }

    /// `keyInfo` of a stored `pubKey`; `None` when there is none or it no longer parses.
    pub async fn pub_key_info(&self, armored: &str) -> Option<PubKeyInfo> {
        if armored.trim().is_empty() {
            return None;
        }
        let armored = armored.to_string();
        blocking(move || {
            pgp::parse_cert(armored.as_bytes())
                .map(|c| info_of(&c))
                .map_err(|e| Error::Internal(e.to_string()))
        })
        .await
        .ok()
    }

    /// The public key that encrypts `user`'s mail for `usage`, or `None` when that mail is
    /// stored (or forwarded) as it is. This is the one place that decides it: when
    /// `encryptMessages` (storage) or `encryptForwarded` (forwards) is set, the user's current
    /// Guard key ring ([`Core::current_guard_public_key`]) if there is one, else `pubKey`.
    pub async fn encryption_key_for(
        &self,
        user: &UserRecord,
        usage: KeyUse,
    ) -> Option<EncryptionKey> {
        let wanted = match usage {
            KeyUse::Storage => user.encrypt_messages,
            KeyUse::Forward => user.encrypt_forwarded,
        };
        if !wanted {
            return None;
        }
        match self.current_guard_public_key(&user.id).await {
            Ok(Some(guard)) => {
                return Some(EncryptionKey {
                    armored: Arc::from(guard.as_str()),
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the current Guard key"),
        }
        if user.pub_key.trim().is_empty() {
            return None;
        }
        Some(EncryptionKey {
            armored: Arc::from(user.pub_key.as_str()),
        })
    }

    /// `raw` as a PGP/MIME message encrypted to `key`, or `None` when it is already
    /// encrypted (PGP/MIME, inline PGP, S/MIME) and is kept as it is. Runs off the runtime.
    pub async fn encrypt_message(
        &self,
        key: &EncryptionKey,
        raw: Arc<Vec<u8>>,
    ) -> Result<Option<Vec<u8>>> {
        let armored = key.armored.clone();
        blocking(move || {
            if pgp::mime::is_encrypted(&raw) {
                return Ok(None);
            }
            let cert = pgp::parse_cert(armored.as_bytes())
                .map_err(|e| Error::Internal(format!("stored pubKey: {e}")))?;
            pgp::mime::encrypt_message(&raw, &[&cert])
                .map(Some)
                .map_err(|e| Error::Internal(format!("encryption failed: {e}")))
        })
        .await
    }
}

fn info_of(cert: &pgp::Cert) -> PubKeyInfo {
    let info = cert.info();
    PubKeyInfo {
        name: info.name,
        address: info.address,
        fingerprint: info.fingerprint,
    }
}
