//! The server master key that protects recovery copies of private keys. It never enters the
//! database: it is `[guard] masterKey` (or `SEALPOST_GUARD_MASTER_KEY`), else the file
//! `[guard] masterKeyFile` (default `<data_dir>/guard-master.key`, 32 random bytes in hex,
//! created at first use with mode 0600). Every node must have the same key.

use crate::outbound::Secret;
use crate::{Core, Error, Result};
use hmac::{Hmac, Mac};
use sealpost_store::model::ObjectId;

pub(crate) struct MasterKey(Vec<u8>);

impl MasterKey {
    /// The passphrase that protects the recovery copy of one key ring of one user.
    pub(crate) fn recovery_passphrase(&self, user: &ObjectId, fingerprint: &str) -> Secret {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"sealpost guard recovery\0");
        mac.update(user.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(fingerprint.to_ascii_uppercase().as_bytes());
        Secret::new(super::hex_lower(&mac.finalize().into_bytes()))
    }
}

impl Core {
    /// The master key, loaded (or created) on first use.
    pub(crate) async fn guard_master_key(&self) -> Result<&MasterKey> {
        self.guard
            .master
            .get_or_try_init(|| async {
                let guard = &self.config.guard;
                if let Some(k) = &guard.master_key {
                    return Ok(MasterKey(k.expose().as_bytes().to_vec()));
                }
                let path = guard
                    .master_key_file
                    .clone()
                    .unwrap_or_else(|| self.config.data_dir.join("guard-master.key"));
                let key =
                    tokio::task::spawn_blocking(move || crate::outbound::load_or_create_key(&path))
                        .await
                        .map_err(|e| Error::Internal(e.to_string()))??;
                Ok(MasterKey(key))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrases_differ_per_user_and_key() {
        let k = MasterKey(b"0123456789abcdef0123456789abcdef".to_vec());
        let (u1, u2) = (ObjectId::new(), ObjectId::new());
        let a = k.recovery_passphrase(&u1, "AB");
        assert_eq!(a, k.recovery_passphrase(&u1, "ab"));
        assert_ne!(a, k.recovery_passphrase(&u2, "AB"));
        assert_ne!(a, k.recovery_passphrase(&u1, "AC"));
        assert_eq!(a.expose().len(), 64);
    }
}
