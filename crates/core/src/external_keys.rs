//! External recipients' public keys (OX Guard's "external keys"): the public keys of other
//! people that a user uploads, or that arrive in `Autocrypt:` headers (`delivery/autocrypt.rs`).
//!
//! Rules:
//! - A key is validated with `sealpost-pgp` before anything is stored: a public certificate
//!   (secret keys are refused, so no secret material lands here), not expired, not revoked,
//!   with a usable encryption subkey. An upload may hold several certificates; one bad
//!   certificate refuses the whole upload and nothing changes.
//! - One row per fingerprint per user; uploading the same fingerprint again refreshes it.
//!   At most [`MAX_EXTERNAL_KEYS`] keys per user, [`MAX_KEY_UPLOAD`] bytes per upload.
//! - Sharing (Guard's "share" flag) makes a key visible, read-only, to the other users of the
//!   owner's domain (the domain of the owner's main address when it was shared; Guard shares
//!   within its context, the tenant, and a domain is ours). Those users see it in their list
//!   with `shareLevel` 1 and in lookups by address after their own keys.
//! - Keys are named by the client by their primary key id (16 hex digits), their fingerprint,
//!   or our 24-hex row id.

use crate::{Core, Error, Result};
use sealpost_store::external_keys::{ExternalKeyRecord, NewExternalKey, UploadOutcome};
use sealpost_store::model::{ObjectId, UserRecord};

pub use sealpost_store::external_keys::KeySource;

/// Most external keys one user keeps (uploaded and learnt from Autocrypt together).
pub const MAX_EXTERNAL_KEYS: i64 = 1000;
/// Largest accepted upload of external keys, bytes of armored text.
pub const MAX_KEY_UPLOAD: usize = 256 * 1024;
/// Most certificates in one upload.
pub const MAX_CERTS_PER_UPLOAD: usize = 50;
/// Most keys other users shared that one listing or lookup shows.
const MAX_SHARED_SHOWN: i64 = 1000;

/// An external key as a user sees it.
#[derive(Debug, Clone)]
pub struct ExternalKey {
    pub record: ExternalKeyRecord,
    /// 0: the user's own key; 1: a key another user of the domain shared (read-only).
    pub share_level: u8,
    /// What the key says about itself now (expiry, revocation...); `None` only if the stored
    /// key no longer parses.
    pub info: Option<sealpost_pgp::KeyInfo>,
}

impl ExternalKey {
    pub fn shared(&self) -> bool {
        self.record.share_domain.is_some()
    }
}

/// A certificate that passed validation, ready to store.
pub(crate) fn new_key(cert: &sealpost_pgp::Cert) -> Result<NewExternalKey> {
    let info = cert.info();
    let mut addresses: Vec<String> = info
        .user_ids
        .iter()
        .filter_map(|u| email_of_user_id(u))
        .collect();
    addresses.sort();
    addresses.dedup();
    Ok(NewExternalKey {
        fingerprint: info.fingerprint.to_ascii_uppercase(),
        key_id: info.key_id.to_ascii_uppercase(),
        armored: cert.armored_public().map_err(key_error)?,
        user_ids: info.user_ids.clone(),
        addresses,
    })
}

/// The e-mail address of a user id, lower-cased: the part in angle brackets, or the whole
/// user id when it is a bare address.
pub(crate) fn email_of_user_id(uid: &str) -> Option<String> {
    let uid = uid.trim();
    let addr = match (uid.rfind('<'), uid.rfind('>')) {
        (Some(a), Some(b)) if a < b => uid.get(a + 1..b)?,
        _ => uid,
    };
    let addr = addr.trim();
    let (local, domain) = addr.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() || addr.chars().any(|c| c.is_whitespace()) {
        return None;
    }
    Some(addr.to_lowercase())
}

/// Checks one certificate as an external key: public only, usable for encryption.
pub(crate) fn check_public_cert(cert: &sealpost_pgp::Cert) -> Result<()> {
    if cert.info().has_secret {
        return Err(Error::validation(
            "Only public keys can be uploaded as keys of external recipients",
            "key",
        ));
    }
    cert.encryption_check().map_err(key_error)
}

/// Maps an OpenPGP error on client data to a validation error (field `key`).
pub(crate) fn key_error(e: sealpost_pgp::Error) -> Error {
    match e {
        sealpost_pgp::Error::TooLarge { .. } => Error::TooLarge(e.to_string()),
        sealpost_pgp::Error::Failed(m) => {
            tracing::warn!(error = %m, "OpenPGP operation failed");
            Error::validation(format!("Invalid key: {m}"), "key")
        }
        other => Error::validation(other.to_string(), "key"),
    }
}

/// Parses and validates an upload off the runtime.
async fn validate_upload(armored: String) -> Result<Vec<NewExternalKey>> {
    tokio::task::spawn_blocking(move || {
        let certs = sealpost_pgp::parse_certs(armored.as_bytes()).map_err(key_error)?;
        if certs.is_empty() {
            return Err(Error::validation("No public key found", "key"));
        }
        if certs.len() > MAX_CERTS_PER_UPLOAD {
            return Err(Error::validation(
                format!("At most {MAX_CERTS_PER_UPLOAD} keys can be uploaded at once"),
                "key",
            ));
        }
        certs
            .iter()
            .map(|c| {
                check_public_cert(c)?;
                new_key(c)
            })
            .collect()
    })
    .await
    .map_err(|e| Error::Internal(format!("key validation task: {e}")))?
}

/// The domain a user's keys are shared with: that of the main address.
fn share_domain(user: &UserRecord) -> Option<String> {
    let address = user.address.as_deref()?;
    let (_, domain) = address.rsplit_once('@')?;
    (!domain.is_empty()).then(|| domain.to_lowercase())
}

/// Normalises a key name given by a client: hex without `0x`, spaces, upper case.
fn key_name(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

impl Core {
    /// Uploads the armored public key(s) of external recipients for `user`; returns the ids of
    /// the rows stored or refreshed. Nothing changes when any certificate is refused.
    pub async fn upload_external_keys(
        &self,
        user: &ObjectId,
        armored: &str,
    ) -> Result<Vec<ObjectId>> {
        self.get_user(user).await?;
        if armored.len() > MAX_KEY_UPLOAD {
            return Err(Error::TooLarge(format!(
                "The key is larger than {MAX_KEY_UPLOAD} bytes"
            )));
        }
        if armored.trim().is_empty() {
            return Err(Error::validation("No key given", "key"));
        }
        let keys = validate_upload(armored.to_string()).await?;
        // Refuse before writing anything when the keys cannot all fit.
        let existing = self.store.list_external_keys(user).await?;
        let new = keys
            .iter()
            .filter(|k| !existing.iter().any(|e| e.fingerprint == k.fingerprint))
            .count() as i64;
        if existing.len() as i64 + new > MAX_EXTERNAL_KEYS {
            return Err(too_many());
        }
        let mut ids = Vec::with_capacity(keys.len());
        for k in &keys {
            match self
                .store
                .upload_external_key(user, k, MAX_EXTERNAL_KEYS)
                .await?
            {
                UploadOutcome::Inserted(id) | UploadOutcome::Updated(id) => ids.push(id),
                UploadOutcome::Full => return Err(too_many()),
            }
        }
        Ok(ids)
    }

    /// The user's own external keys, then those other users of the domain shared.
    pub async fn external_keys(&self, user: &ObjectId) -> Result<Vec<ExternalKey>> {
        let u = self.get_user(user).await?;
        let mut rows: Vec<(ExternalKeyRecord, u8)> = self
            .store
            .list_external_keys(user)
            .await?
            .into_iter()
            .map(|record| (record, 0))
            .collect();
        if let Some(domain) = share_domain(&u) {
            let shared = self
                .store
                .list_shared_external_keys(&domain, user, MAX_SHARED_SHOWN)
                .await?;
            rows.extend(shared.into_iter().map(|record| (record, 1)));
        }
        with_info(rows).await
    }

    /// Public keys `user` can use for `address`: own keys first (uploaded before Autocrypt),
    /// then keys shared within the domain.
    pub async fn external_keys_for_address(
        &self,
        user: &ObjectId,
        address: &str,
    ) -> Result<Vec<ExternalKey>> {
        let u = self.get_user(user).await?;
        let address = address.trim().to_lowercase();
        let domain = share_domain(&u);
        let rows = self
            .store
            .find_external_keys_by_address(user, &address, domain.as_deref(), 100)
            .await?
            .into_iter()
            .map(|r| {
                let level = u8::from(r.user != *user);
                (r, level)
            })
            .collect();
        with_info(rows).await
    }

    /// The rows of `user`'s own keys named by `names` (key ids, fingerprints or row ids);
    /// `NotFound` when a name matches none of them.
    async fn own_keys_named(&self, user: &ObjectId, names: &[String]) -> Result<Vec<ObjectId>> {
        if names.is_empty() {
            return Err(Error::validation("No key ids given", "ids"));
        }
        if names.len() > MAX_EXTERNAL_KEYS as usize {
            return Err(Error::validation("Too many key ids", "ids"));
        }
        let own = self.store.list_external_keys(user).await?;
        let mut ids = Vec::new();
        for name in names {
            let n = key_name(name);
            let found = own.iter().find(|k| {
                k.key_id == n || k.fingerprint == n || k.id.as_str().eq_ignore_ascii_case(&n)
            });
            match found {
                Some(k) if !ids.contains(&k.id) => ids.push(k.id.clone()),
                Some(_) => {}
                None => {
                    return Err(Error::not_found(format!(
                        "No external key {} of this user",
                        name.trim()
                    )));
                }
            }
        }
        Ok(ids)
    }

    /// Deletes the user's own external keys named by `names`; returns how many.
    pub async fn delete_external_keys(&self, user: &ObjectId, names: &[String]) -> Result<u64> {
        self.get_user(user).await?;
        let ids = self.own_keys_named(user, names).await?;
        Ok(self.store.delete_external_keys(user, &ids).await?)
    }

    /// Shares (or stops sharing) the user's own keys named by `names` with the other users of
    /// the domain of the user's main address.
    pub async fn share_external_keys(
        &self,
        user: &ObjectId,
        names: &[String],
        share: bool,
    ) -> Result<u64> {
        let u = self.get_user(user).await?;
        let ids = self.own_keys_named(user, names).await?;
        let domain = if share {
            Some(share_domain(&u).ok_or_else(|| Error::Forbidden {
                message: "A user without an address cannot share keys".into(),
                code: "NoAddress",
            })?)
        } else {
            None
        };
        Ok(self
            .store
            .share_external_keys(user, &ids, domain.as_deref())
            .await?)
    }

    /// Sets Guard's "inline" preference (PGP/Inline instead of PGP/MIME) of the user's own
    /// keys named by `names`.
    pub async fn set_external_keys_inline(
        &self,
        user: &ObjectId,
        names: &[String],
        inline: bool,
    ) -> Result<u64> {
        self.get_user(user).await?;
        let ids = self.own_keys_named(user, names).await?;
        Ok(self
            .store
            .set_external_keys_inline(user, &ids, inline)
            .await?)
    }
}

/// Adds what each stored key says about itself (parsed off the runtime).
async fn with_info(rows: Vec<(ExternalKeyRecord, u8)>) -> Result<Vec<ExternalKey>> {
    tokio::task::spawn_blocking(move || {
        rows.into_iter()
            .map(|(record, share_level)| {
                let info = sealpost_pgp::parse_cert(record.armored.as_bytes())
                    .map(|c| c.info())
                    .ok();
                ExternalKey {
                    record,
                    share_level,
                    info,
                }
            })
            .collect()
    })
    .await
    .map_err(|e| Error::Internal(format!("key listing task: {e}")))
}

fn too_many() -> Error {
    Error::Forbidden {
        message: format!("A user can keep at most {MAX_EXTERNAL_KEYS} external keys"),
        code: "TooManyKeys",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_of_user_ids() {
        assert_eq!(
            email_of_user_id("Bob Example <Bob@Example.org>").as_deref(),
            Some("bob@example.org")
        );
        assert_eq!(
            email_of_user_id("bob@example.org").as_deref(),
            Some("bob@example.org")
        );
        assert_eq!(email_of_user_id("Bob Example"), None);
        assert_eq!(email_of_user_id("<>"), None);
        assert_eq!(email_of_user_id("Bob <not an address>"), None);
    }

    #[test]
    fn key_names() {
        assert_eq!(key_name(" 0xabcd EF01 "), "ABCDEF01");
        assert_eq!(key_name("ABCD"), "ABCD");
    }
}
