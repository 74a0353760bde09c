//! DKIM: the keys of WildDuck's `/dkim` API (`keys.rs`), sealed with the server's DKIM
//! secret (`seal.rs`), and the signing of every message that leaves the outbound queue
//! ([`Core::dkim_sign`]: RFC 6376 relaxed/relaxed, RFC 8463 Ed25519, with `mail-auth`).
//!
//! The secret is `[dkim] secret`, else the file `[dkim] secretFile` (default
//! `<data-dir>/dkim.secret`, made at first start like the Guard master key). It never enters
//! the database; every node must have the same one.
//!
//! Which key signs: the key of the `From:` domain, else of its closest parent domain, else
//! the `*` key when the `From:` domain is one of ours (`d=` is then the `From:` domain);
//! when none applies (a forwarded message from elsewhere), the same lookup for the envelope
//! sender's domain (the SRS domain of a forward). Keys are cached for [`KEY_CACHE_TTL`]: a
//! change on another node is seen within that time.

mod keys;
mod seal;

pub use keys::{DkimKeyInfo, KeyAlgorithm, NewDkimKey};
pub use sealpost_store::dkim::DkimKeyId;

use crate::outbound::Secret;
use crate::{Core, Error, Result};
use mail_auth::common::crypto::{Algorithm, DkimKey, Ed25519Key, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner};
use sealpost_store::dkim::DkimKeys;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a domain's key (or its absence) is remembered.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(60);
/// Domains remembered at most; the cache starts over beyond.
const KEY_CACHE_SIZE: usize = 10_000;

/// Header fields signed when present (RFC 6376 section 5.4.1's recommendations).
const SIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "To",
    "Cc",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-ID",
    "Content-Description",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Autocrypt",
];

/// `[dkim]` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DkimConfig {
    /// The secret private keys are sealed with (at least 32 characters).
    pub secret: Option<Secret>,
    /// Where the secret is kept when `secret` is not set; `None` = `<data_dir>/dkim.secret`.
    pub secret_file: Option<PathBuf>,
}

struct CachedKey {
    /// The key's domain (`*` for the wildcard key).
    domain: String,
    selector: String,
    signer: DkimKey,
}

/// A cached key lent to one signature (mail-auth's signer takes its key by value).
struct SharedKey(Arc<CachedKey>);

impl SigningKey for SharedKey {
    type Hasher = Sha256;

    fn sign(&self, input: impl mail_auth::common::headers::Writable) -> mail_auth::Result<Vec<u8>> {
        self.0.signer.sign(input)
    }

    fn algorithm(&self) -> Algorithm {
        self.0.signer.algorithm()
    }
}

/// A domain's signing key (or that it has none), and when it was looked up.
type CacheEntry = (Instant, Option<Arc<CachedKey>>);

/// The secret (loaded on first use) and the key cache.
#[derive(Default)]
pub(crate) struct DkimState {
    secret: tokio::sync::OnceCell<seal::SealKey>,
    cache: Mutex<HashMap<String, CacheEntry>>,
    /// DKIM/SPF/DMARC checks of inbound mail (`delivery/auth_results.rs`), made on first use.
    pub(crate) authenticator: std::sync::OnceLock<Option<mail_auth::MessageAuthenticator>>,
}

impl DkimState {
    /// Drops the cached keys (after a change made here).
    pub(crate) fn forget(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }
}

/// `sub.example.com`, `example.com`: a domain and its parents down to two labels.
fn parents(domain: &str) -> Vec<String> {
    let labels: Vec<&str> = domain.split('.').collect();
    (0..labels.len().saturating_sub(1).max(1))
        .map(|i| labels[i..].join("."))
        .collect()
}

/// The domain of the first `From:` address, lower-case A-label.
fn from_domain(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::new().parse_headers(raw)?;
    let address = message.from()?.first()?.address()?;
    address_domain(address)
}

fn address_domain(address: &str) -> Option<String> {
    let (_, domain) = address.rsplit_once('@')?;
    keys::normalize_domain(domain).ok().filter(|d| d != "*")
}

impl Core {
    /// The sealing key, derived from the DKIM secret (loaded or created on first use).
    async fn dkim_secret(&self) -> Result<&seal::SealKey> {
        self.dkim
            .secret
            .get_or_try_init(|| async {
                let c = &self.config.dkim;
                if let Some(s) = &c.secret {
                    return Ok(seal::SealKey::derive(s.expose().as_bytes()));
                }
                let path = c
                    .secret_file
                    .clone()
                    .unwrap_or_else(|| self.config.data_dir.join("dkim.secret"));
                let key =
                    tokio::task::spawn_blocking(move || crate::outbound::load_or_create_key(&path))
                        .await
                        .map_err(|e| Error::Internal(e.to_string()))??;
                Ok(seal::SealKey::derive(&key))
            })
            .await
    }

    /// The key that signs for `domain`: its own, a parent's, or `*` for a local domain.
    async fn signing_key(&self, domain: &str) -> Result<Option<Arc<CachedKey>>> {
        if let Ok(cache) = self.dkim.cache.lock()
            && let Some((at, key)) = cache.get(domain)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Ok(key.clone());
        }
        let mut candidates = parents(domain);
        if self.is_local_domain(&format!("x@{domain}")).await? {
            candidates.push("*".into());
        }
        let key = match self.store.dkim_key_for_any(&candidates).await? {
            None => None,
            Some(record) => {
                let secret = self.dkim_secret().await?;
                let algorithm = KeyAlgorithm::parse(&record.algorithm).unwrap_or(KeyAlgorithm::Rsa);
                let der = seal::open(secret, record.domain.as_bytes(), &record.sealed_private_key)?;
                let signer = tokio::task::spawn_blocking(move || -> Result<DkimKey> {
                    let bad = |e: mail_auth::Error| Error::Internal(format!("DKIM key: {e}"));
                    Ok(match algorithm {
                        KeyAlgorithm::Rsa => DkimKey::Rsa(
                            RsaKey::<Sha256>::from_key_der(
                                tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(der.into()),
                            )
                            .map_err(bad)?,
                        ),
                        KeyAlgorithm::Ed25519 => {
                            DkimKey::Ed25519(Ed25519Key::from_pkcs8_der(&der).map_err(bad)?)
                        }
                    })
                })
                .await
                .map_err(|e| Error::Internal(e.to_string()))??;
                Some(Arc::new(CachedKey {
                    domain: record.domain,
                    selector: record.selector,
                    signer,
                }))
            }
        };
        if let Ok(mut cache) = self.dkim.cache.lock() {
            if cache.len() >= KEY_CACHE_SIZE {
                cache.clear();
            }
            cache.insert(domain.to_string(), (Instant::now(), key.clone()));
        }
        Ok(key)
    }

    /// `raw` with a `DKIM-Signature:` in front, for the domain of its `From:` (or, failing
    /// that, of `mail_from`); `raw` unchanged when no key applies. A key that cannot be used
    /// is logged and the message goes unsigned: a signature is never a reason to hold mail.
    pub async fn dkim_sign(&self, raw: &[u8], mail_from: &str) -> Vec<u8> {
        let mut found = None;
        for domain in [from_domain(raw), address_domain(mail_from)]
            .into_iter()
            .flatten()
        {
            match self.signing_key(&domain).await {
                Ok(Some(key)) => {
                    found = Some((domain, key));
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(domain, error = %e, "DKIM: cannot load the signing key");
                }
            }
        }
        let Some((domain, key)) = found else {
            return raw.to_vec();
        };
        let d = if key.domain == "*" {
            domain
        } else {
            key.domain.clone()
        };
        let message = raw.to_vec();
        let signed = tokio::task::spawn_blocking(move || {
            let header = sign_with(&key, &d, &message)?;
            let mut out = Vec::with_capacity(header.len() + message.len());
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(&message);
            Ok::<_, mail_auth::Error>(out)
        })
        .await;
        match signed {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "DKIM: signing failed; sent unsigned");
                raw.to_vec()
            }
            Err(e) => {
                tracing::warn!(error = %e, "DKIM: signing task failed; sent unsigned");
                raw.to_vec()
            }
        }
    }
}

/// The `DKIM-Signature:` header field (with its CRLF) for `message` under `key` as `d`.
fn sign_with(key: &Arc<CachedKey>, d: &str, message: &[u8]) -> mail_auth::Result<String> {
    let signature = DkimSigner::from_key(SharedKey(key.clone()))
        .domain(d)
        .selector(&key.selector)
        .headers(SIGNED_HEADERS.iter().copied())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
        .sign(message)?;
    Ok(signature.to_header())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_domains_stop_above_the_tld() {
        assert_eq!(
            parents("a.b.example.com"),
            vec!["a.b.example.com", "b.example.com", "example.com"]
        );
        assert_eq!(parents("example.com"), vec!["example.com"]);
        assert_eq!(parents("localhost"), vec!["localhost"]);
    }

    #[test]
    fn from_domain_is_read_from_the_header() {
        let raw = b"Subject: x\r\nFrom: \"A, B\" <a@Sub.Example.COM>\r\n\r\nbody\r\n";
        assert_eq!(from_domain(raw).as_deref(), Some("sub.example.com"));
        assert_eq!(from_domain(b"Subject: x\r\n\r\n"), None);
        assert_eq!(
            address_domain("x@B\u{fc}cher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(address_domain(""), None);
    }
}
