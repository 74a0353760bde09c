//! Encryption at rest on the way in: the stored form of a delivered message, of an uploaded
//! or appended one, and of a forwarded copy, for users whose mail is encrypted
//! ([`Core::encryption_key_for`]).
//!
//! A delivered message is analysed and filtered as plaintext (its blob is not written), then
//! encrypted (RFC 3156 PGP/MIME, `sealpost_pgp::mime`) and analysed again: what is stored
//! and indexed is the encrypted message, so search finds it by its readable header fields
//! only. Mail that is already encrypted (PGP/MIME, inline PGP, S/MIME) is stored as it is.
//! When encryption fails (the stored key no longer usable), the message is stored as it
//! came and a warning is logged: mail is never refused for it (WildDuck does the same).

use crate::encryption::{EncryptionKey, KeyUse};
use crate::messages::Analysed;
use crate::{Core, Result};
use sealpost_store::model::{Flags, UserRecord};
use std::sync::Arc;

impl Core {
    /// `raw` encrypted to `key` when it is not encrypted yet; as it is otherwise (or when
    /// encryption fails, logged).
    async fn encrypted_or_plain(
        &self,
        user: &UserRecord,
        key: &EncryptionKey,
        raw: Arc<Vec<u8>>,
    ) -> Vec<u8> {
        match self.encrypt_message(key, raw.clone()).await {
            Ok(Some(encrypted)) => encrypted,
            Ok(None) => Arc::unwrap_or_clone(raw),
            Err(e) => {
                tracing::warn!(user = %user.id, error = %e, "message kept unencrypted: encryption failed");
                Arc::unwrap_or_clone(raw)
            }
        }
    }

    /// The analysed stored form of a delivered message whose plaintext `plain` was analysed
    /// without writing its blob.
    pub(crate) async fn encrypted_delivery(
        &self,
        user: &UserRecord,
        key: &EncryptionKey,
        plain: &Analysed,
    ) -> Result<Analysed> {
        let raw = self.encrypted_or_plain(user, key, plain.raw.clone()).await;
        self.analyse(raw).await
    }

    /// The stored form of a message uploaded (REST) or appended (IMAP) by the user: encrypted
    /// like delivered mail, except drafts, which the user's client must be able to read back.
    pub(crate) async fn encrypted_upload(
        &self,
        owner: &UserRecord,
        raw: Vec<u8>,
        flags: &Flags,
    ) -> Vec<u8> {
        if flags.draft {
            return raw;
        }
        match self.encryption_key_for(owner, KeyUse::Storage).await {
            Some(key) => self.encrypted_or_plain(owner, &key, Arc::new(raw)).await,
            None => raw,
        }
    }

    /// The copy of a message that the user's forwarding sends on (`encryptForwarded`).
    pub(crate) async fn forwarded_form(&self, user: &UserRecord, raw: &[u8]) -> Vec<u8> {
        match self.encryption_key_for(user, KeyUse::Forward).await {
            Some(key) => {
                self.encrypted_or_plain(user, &key, Arc::new(raw.to_vec()))
                    .await
            }
            None => raw.to_vec(),
        }
    }
}
