//! Reading encrypted stored mail with a Guard `auth` token: the source of a PGP/MIME message
//! (RFC 3156, as encryption at rest stores it) decrypted with the user's key rings. Without
//! a valid token nothing is decrypted.

use super::GuardAuth;
use crate::outbound::Secret;
use crate::{Core, Error, Result};
use sealpost_store::model::ObjectId;

const BEGIN: &[u8] = b"-----BEGIN PGP MESSAGE-----";
const END: &[u8] = b"-----END PGP MESSAGE-----";

/// The first ASCII-armored OpenPGP message in `raw`.
fn armored_block(raw: &[u8]) -> Option<&[u8]> {
    let start = raw.windows(BEGIN.len()).position(|w| w == BEGIN)?;
    let rest = &raw[start..];
    let end = rest.windows(END.len()).position(|w| w == END)?;
    Some(&rest[..end + END.len()])
}

impl Core {
    /// The decrypted source of a stored message (the original message as it was delivered),
    /// unlocked by a Guard `auth` token; a message that is not OpenPGP-encrypted comes back
    /// as stored.
    pub async fn guard_message_source(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
        auth_token: &str,
    ) -> Result<Vec<u8>> {
        let auth = GuardAuth::Token(Secret::new(auth_token));
        // The token is checked first, whatever the message: a bad one never reads anything.
        self.guard_password(user, &auth).await?;
        let raw = self.get_message_source(user, mailbox, uid).await?;
        if !sealpost_pgp::mime::is_encrypted(&raw) {
            return Ok(raw);
        }
        let block = armored_block(&raw)
            .ok_or_else(|| Error::Forbidden {
                message: "The message is not OpenPGP-encrypted (S/MIME?)".into(),
                code: "NotOpenPgp",
            })?
            .to_vec();
        let limit = usize::try_from(self.config.max_message_size).unwrap_or(usize::MAX);
        self.guard_decrypt(user, &auth, block, limit.saturating_mul(2))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block() {
        let raw = b"Subject: x\r\n\r\n--b\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nabc\r\n-----END PGP MESSAGE-----\r\n--b--\r\n";
        let b = armored_block(raw).unwrap();
        assert!(b.starts_with(BEGIN) && b.ends_with(END));
        assert!(armored_block(b"nothing").is_none());
        assert!(armored_block(b"-----BEGIN PGP MESSAGE-----\r\nno end").is_none());
    }
}
