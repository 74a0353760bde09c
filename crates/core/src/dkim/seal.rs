//! Sealing of DKIM private keys with the server's DKIM secret: AES-256-GCM under a key
//! derived from the secret (HMAC-SHA256, its own label), a random nonce per seal, and the
//! key's domain as associated data (a sealed key moved to another row does not open).
//! Layout: `v1` | nonce (12) | ciphertext and tag.

use crate::{Error, Result};
use hmac::{Hmac, Mac};
use ring::aead;

const VERSION: &[u8] = b"v1";

/// The AES key derived from the server secret.
pub(crate) struct SealKey(aead::LessSafeKey);

impl SealKey {
    pub(crate) fn derive(secret: &[u8]) -> SealKey {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"sealpost dkim private keys\0");
        let bytes = mac.finalize().into_bytes();
        let key = aead::UnboundKey::new(&aead::AES_256_GCM, &bytes)
            .unwrap_or_else(|_| unreachable!("32 bytes is an AES-256 key"));
        SealKey(aead::LessSafeKey::new(key))
    }
}

pub(crate) fn seal(key: &SealKey, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let nonce_bytes: [u8; 12] = crate::random::bytes();
    let mut data = plain.to_vec();
    key.0
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce_bytes),
            aead::Aad::from(aad),
            &mut data,
        )
        .map_err(|_| Error::Internal("sealing a DKIM key failed".into()))?;
    let mut out = Vec::with_capacity(VERSION.len() + 12 + data.len());
    out.extend_from_slice(VERSION);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&data);
    Ok(out)
}

/// Opens what [`seal`] made; an error when the secret or the domain differ, or the data was
/// changed.
pub(crate) fn open(key: &SealKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    let bad = || {
        Error::Internal(
            "a stored DKIM key does not open with this server's DKIM secret ([dkim] secret)".into(),
        )
    };
    let rest = sealed.strip_prefix(VERSION).ok_or_else(bad)?;
    if rest.len() < 12 + aead::AES_256_GCM.tag_len() {
        return Err(bad());
    }
    let (nonce, data) = rest.split_at(12);
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
    let mut data = data.to_vec();
    let plain = key
        .0
        .open_in_place(nonce, aead::Aad::from(aad), &mut data)
        .map_err(|_| bad())?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_with_the_same_secret_and_domain() {
        let k = SealKey::derive(b"secret one");
        let sealed = seal(&k, b"example.com", b"private key").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"private key"));
        assert_eq!(open(&k, b"example.com", &sealed).unwrap(), b"private key");
        assert!(open(&k, b"example.org", &sealed).is_err());
        assert!(open(&SealKey::derive(b"secret two"), b"example.com", &sealed).is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(open(&k, b"example.com", &tampered).is_err());
        assert!(open(&k, b"example.com", b"v1short").is_err());
        // A fresh nonce each time.
        assert_ne!(sealed, seal(&k, b"example.com", b"private key").unwrap());
    }
}
