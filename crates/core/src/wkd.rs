//! Web Key Directory (draft-koch-openpgp-webkey-service), the lookup side: which public key
//! the server publishes for `<local>@<domain>`, found from the z-base-32 encoded SHA-1 of the
//! lower-cased local part (`/.well-known/openpgpkey/hu/<hash>`).
//!
//! Only domains the server hosts (the domains of its addresses, or the configured domain)
//! answer. The key published for a user is [`Core::published_public_key`] (the current Guard
//! key ring, else the WildDuck `pubKey`); it is served only
//! when it has a user id with the address asked for (the draft requires it) and can be
//! encrypted to, as binary (non-armored) OpenPGP without secret parts.

use crate::delivery::NormalAddress;
use crate::external_keys::email_of_user_id;
use crate::{Core, Error, Result};
use sealpost_store::model::UserRecord;
use sha1::{Digest, Sha1};

/// Most addresses of one domain a lookup without `?l=` reads and hashes to find the one asked
/// for. The lookup is public (no token), so this bounds what one anonymous request costs;
/// GnuPG always sends `l`, which is one indexed read. On a bigger domain a lookup without
/// `l` finds only addresses among the first `MAX_SCAN` (in address order).
const MAX_SCAN: i64 = 10_000;

/// The content of the policy file: empty (no options), which the draft allows.
pub const WKD_POLICY: &str = "";

const ZBASE32: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// z-base-32 (RFC 6189 section 5.1.6 alphabet, no padding) of `data`.
pub fn zbase32(data: &[u8]) -> String {
    crate::totp::base32_encode_with(ZBASE32, data)
}

/// The WKD hash of a local part: z-base-32 of the SHA-1 of the local part with ASCII upper
/// case letters made lower case (as the draft and GnuPG do; other characters stay).
pub fn wkd_hash(local: &str) -> String {
    zbase32(&Sha1::digest(local.to_ascii_lowercase().as_bytes()))
}

/// Whether `s` can be a WKD hash (32 z-base-32 characters).
fn is_hash(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| ZBASE32.contains(&b))
}

impl Core {
    /// The public key (armored) that the server publishes for `user`: the public ring of the
    /// user's current Guard key ring, else the WildDuck `pubKey`.
    pub async fn published_public_key(&self, user: &UserRecord) -> Result<Option<String>> {
        if let Some(ring) = self.current_guard_public_key(&user.id).await? {
            return Ok(Some(ring));
        }
        let key = user.pub_key.trim();
        Ok((!key.is_empty()).then(|| key.to_string()))
    }

    /// Whether WKD answers for `domain` (one of ours).
    pub async fn wkd_serves_domain(&self, domain: &str) -> Result<bool> {
        if domain.is_empty() || domain.len() > 253 || domain.contains(['@', '/', ' ']) {
            return Ok(false);
        }
        self.is_local_domain(&format!("wkd@{domain}")).await
    }

    /// The binary public key for the address whose local part hashes to `hash` in `domain`;
    /// `local` is the `l` parameter when the client sent it. `Ok(None)` when there is none.
    pub async fn wkd_lookup(
        &self,
        domain: &str,
        hash: &str,
        local: Option<&str>,
    ) -> Result<Option<Vec<u8>>> {
        let hash = hash.to_ascii_lowercase();
        if !is_hash(&hash) || !self.wkd_serves_domain(domain).await? {
            return Ok(None);
        }
        let Some(norm) = NormalAddress::parse(&format!("wkd@{domain}")) else {
            return Ok(None);
        };
        let found = match local.filter(|l| !l.is_empty() && l.len() <= 64) {
            Some(l) => {
                if wkd_hash(l) != hash {
                    return Ok(None);
                }
                let l = l.to_lowercase();
                let candidates: Vec<String> =
                    norm.domains.iter().map(|d| format!("{l}@{d}")).collect();
                self.store.find_recipient(&candidates).await?.map(|owner| {
                    let d = norm.domains.first().map_or(domain, String::as_str);
                    (format!("{l}@{d}"), owner.id)
                })
            }
            None => self
                .store
                .addresses_in_domains(&norm.domains, MAX_SCAN)
                .await?
                .into_iter()
                .find(|(address, _)| {
                    address
                        .rsplit_once('@')
                        .is_some_and(|(l, _)| wkd_hash(l) == hash)
                }),
        };
        let Some((address, owner)) = found else {
            return Ok(None);
        };
        let Some(user) = self.store.get_user(&owner).await? else {
            return Ok(None);
        };
        if user.disabled || user.suspended {
            return Ok(None);
        }
        let Some(armored) = self.published_public_key(&user).await? else {
            return Ok(None);
        };
        let local = address.rsplit_once('@').map_or("", |(l, _)| l);
        let wanted: Vec<String> = norm
            .domains
            .iter()
            .map(|d| format!("{local}@{d}"))
            .collect();
        tokio::task::spawn_blocking(move || {
            let Ok(cert) = sealpost_pgp::parse_cert(armored.as_bytes()) else {
                return None;
            };
            let names_address = cert
                .info()
                .user_ids
                .iter()
                .any(|u| email_of_user_id(u).is_some_and(|e| wanted.contains(&e)));
            if !names_address || cert.encryption_check().is_err() {
                return None;
            }
            cert.public().to_bytes().ok()
        })
        .await
        .map_err(|e| Error::Internal(format!("WKD key task: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_of_the_draft_example() {
        // draft-koch-openpgp-webkey-service: "Joe.Doe@Example.ORG".
        assert_eq!(wkd_hash("Joe.Doe"), "iy9q119eutrkn8s1mk4r39qejnbu3n5q");
        assert!(is_hash("iy9q119eutrkn8s1mk4r39qejnbu3n5q"));
        assert!(!is_hash("iy9q119eutrkn8s1mk4r39qejnbu3n5l"));
    }

    #[test]
    fn zbase32_bits() {
        assert_eq!(zbase32(&[]), "");
        assert_eq!(zbase32(&[0]), "yy");
        assert_eq!(zbase32(&[0xff]), "9h");
    }
}
