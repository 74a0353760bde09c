//! DKIM keys as WildDuck's `/dkim` API manages them: one per domain (`*` for the local
//! domains without one), imported from PEM (RSA PKCS#1/PKCS#8, Ed25519 PKCS#8, or a raw
//! base64 Ed25519 seed) or generated (RSA 2048 by default, Ed25519 on request). The private
//! key is stored only sealed with the server's DKIM secret (`seal.rs`).

use super::seal;
use crate::{Core, Error, Page, PageRequest, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use sealpost_store::dkim::{DkimKeyId, DkimKeyRecord, DkimKeys};
use sealpost_store::model::ObjectId;
use sha2::Digest;

/// Longest PEM accepted (a 4096-bit RSA key is about 3.3 KB).
const MAX_PEM: usize = 16 * 1024;
/// RSA key sizes accepted on import (RFC 8301: at least 1024; we ask for 2048 and more).
const RSA_BITS: std::ops::RangeInclusive<usize> = 1024..=8192;

/// The key algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Rsa,
    Ed25519,
}

impl KeyAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa => "rsa",
            KeyAlgorithm::Ed25519 => "ed25519",
        }
    }

    /// `rsa` or `ed25519` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rsa" => Some(KeyAlgorithm::Rsa),
            "ed25519" => Some(KeyAlgorithm::Ed25519),
            _ => None,
        }
    }
}

/// `POST /dkim` input.
#[derive(Debug, Clone, Default)]
pub struct NewDkimKey {
    pub domain: String,
    pub selector: String,
    pub description: Option<String>,
    /// PEM (or a raw base64 Ed25519 seed); `None` generates a key.
    pub private_key: Option<String>,
    /// What to generate without `private_key` (RSA 2048 when `None`).
    pub algorithm: Option<KeyAlgorithm>,
}

/// A key as the API shows it (never with its private part).
#[derive(Debug, Clone)]
pub struct DkimKeyInfo {
    pub id: DkimKeyId,
    pub domain: String,
    pub selector: String,
    pub description: String,
    pub algorithm: KeyAlgorithm,
    pub fingerprint: String,
    /// SubjectPublicKeyInfo PEM.
    pub public_key: String,
    /// `<selector>._domainkey.<domain>`.
    pub dns_name: String,
    /// `v=DKIM1;...;p=...`.
    pub dns_value: String,
    pub created: i64,
}

impl DkimKeyInfo {
    fn from_record(r: DkimKeyRecord) -> DkimKeyInfo {
        let algorithm = KeyAlgorithm::parse(&r.algorithm).unwrap_or(KeyAlgorithm::Rsa);
        DkimKeyInfo {
            dns_name: format!("{}._domainkey.{}", r.selector, r.domain),
            dns_value: dns_value(algorithm, &r.dns_key),
            id: r.id,
            domain: r.domain,
            selector: r.selector,
            description: r.description,
            algorithm,
            fingerprint: r.fingerprint,
            public_key: r.public_key,
            created: r.created,
        }
    }
}

/// The TXT record value. RFC 8463 section 4: an Ed25519 key is published with `k=ed25519`
/// and `p=` the raw 32-byte key (WildDuck publishes the SPKI without `k=`, which verifiers
/// read as an RSA key; we follow the RFC).
fn dns_value(algorithm: KeyAlgorithm, p: &str) -> String {
    match algorithm {
        KeyAlgorithm::Rsa => format!("v=DKIM1;t=s;p={p}"),
        KeyAlgorithm::Ed25519 => format!("v=DKIM1;k=ed25519;t=s;p={p}"),
    }
}

/// A private key, parsed and checked.
pub(crate) struct ParsedKey {
    pub(crate) algorithm: KeyAlgorithm,
    /// PKCS#8 DER.
    pub(crate) pkcs8: Vec<u8>,
    /// SubjectPublicKeyInfo DER and PEM.
    spki_der: Vec<u8>,
    spki_pem: String,
    /// The `p=` value.
    dns_key: String,
}

fn bad_key(detail: impl std::fmt::Display) -> Error {
    Error::validation(
        format!("Invalid or incompatible private key. {detail}"),
        "privateKey",
    )
}

fn from_rsa(key: rsa::RsaPrivateKey) -> Result<ParsedKey> {
    use rsa::traits::PublicKeyParts;
    let bits = key.size() * 8;
    if !RSA_BITS.contains(&bits) {
        return Err(bad_key(format!(
            "RSA keys must have 1024 to 8192 bits, this one has {bits}"
        )));
    }
    key.validate().map_err(bad_key)?;
    let pkcs8 = key.to_pkcs8_der().map_err(bad_key)?.as_bytes().to_vec();
    let public = rsa::RsaPublicKey::from(&key);
    let spki = public.to_public_key_der().map_err(bad_key)?;
    let spki_pem = public.to_public_key_pem(LineEnding::LF).map_err(bad_key)?;
    Ok(ParsedKey {
        algorithm: KeyAlgorithm::Rsa,
        pkcs8,
        dns_key: B64.encode(spki.as_bytes()),
        spki_der: spki.as_bytes().to_vec(),
        spki_pem,
    })
}

fn from_ed25519(key: ed25519_dalek::SigningKey) -> Result<ParsedKey> {
    let pkcs8 = key.to_pkcs8_der().map_err(bad_key)?.as_bytes().to_vec();
    let public = key.verifying_key();
    let spki = public.to_public_key_der().map_err(bad_key)?;
    let spki_pem = public
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(bad_key)?;
    Ok(ParsedKey {
        algorithm: KeyAlgorithm::Ed25519,
        pkcs8,
        dns_key: B64.encode(public.as_bytes()),
        spki_der: spki.as_bytes().to_vec(),
        spki_pem,
    })
}

/// Parses an imported private key: RSA in PKCS#1 or PKCS#8 PEM, Ed25519 in PKCS#8 PEM, or
/// an Ed25519 seed as 44 characters of base64.
pub(crate) fn parse_private_key(text: &str) -> Result<ParsedKey> {
    let text = text.trim();
    if text.len() > MAX_PEM {
        return Err(bad_key("The key is too large"));
    }
    if !text.starts_with("-----BEGIN") {
        let seed = B64
            .decode(text)
            .map_err(|_| bad_key("Expected a PEM key or a base64 Ed25519 key"))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| bad_key("A raw Ed25519 key is 32 bytes"))?;
        return from_ed25519(ed25519_dalek::SigningKey::from_bytes(&seed));
    }
    if text.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        return from_rsa(rsa::RsaPrivateKey::from_pkcs1_pem(text).map_err(bad_key)?);
    }
    if text.starts_with("-----BEGIN PRIVATE KEY-----") {
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(text) {
            return from_rsa(k);
        }
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(text) {
            return from_ed25519(k);
        }
        return Err(bad_key("Only RSA and Ed25519 keys can sign DKIM"));
    }
    Err(bad_key(
        "Expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----",
    ))
}

/// Reads back a stored key's PKCS#8 (after unsealing).
pub(crate) fn parse_pkcs8(algorithm: KeyAlgorithm, der: &[u8]) -> Result<ParsedKey> {
    match algorithm {
        KeyAlgorithm::Rsa => from_rsa(
            rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| Error::Internal(e.to_string()))?,
        ),
        KeyAlgorithm::Ed25519 => from_ed25519(
            ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map_err(|e| Error::Internal(e.to_string()))?,
        ),
    }
}

fn generate(algorithm: KeyAlgorithm) -> Result<ParsedKey> {
    let failed = |e: mail_auth::Error| Error::Forbidden {
        message: format!("Failed to generate private or public key: {e}"),
        code: "KeyGenerateError",
    };
    match algorithm {
        KeyAlgorithm::Rsa => {
            let pair =
                mail_auth::dkim::generate::DkimKeyPair::generate_rsa(2048).map_err(failed)?;
            from_rsa(
                rsa::RsaPrivateKey::from_pkcs1_der(pair.private_key())
                    .map_err(|e| Error::Internal(e.to_string()))?,
            )
        }
        KeyAlgorithm::Ed25519 => {
            let der = mail_auth::common::crypto::Ed25519Key::generate_pkcs8().map_err(failed)?;
            parse_pkcs8(KeyAlgorithm::Ed25519, &der)
        }
    }
}

/// `aa:bb:...`: the SHA-256 of the SubjectPublicKeyInfo.
fn fingerprint(spki_der: &[u8]) -> String {
    let digest = sha2::Sha256::digest(spki_der);
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A key's domain as stored: `*`, or the ASCII (A-label) lower-case domain.
pub(crate) fn normalize_domain(domain: &str) -> Result<String> {
    let d = domain.trim().trim_end_matches('.');
    if d == "*" {
        return Ok("*".into());
    }
    let ascii = idna::domain_to_ascii(d)
        .ok()
        .filter(|a| valid_dns_name(a, 253))
        .ok_or_else(|| Error::validation("\"domain\" must be a valid domain name", "domain"))?;
    Ok(ascii)
}

fn valid_dns_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl Core {
    /// Creates the key of a domain, or replaces it (keeping its id), as WildDuck's
    /// `POST /dkim`.
    pub async fn set_dkim_key(&self, new: NewDkimKey) -> Result<DkimKeyInfo> {
        let domain = normalize_domain(&new.domain)?;
        let selector = new.selector.trim().to_ascii_lowercase();
        if !valid_dns_name(&selector, 63 * 2) {
            return Err(Error::validation(
                "\"selector\" must be a DNS label (letters, digits, hyphens)",
                "selector",
            ));
        }
        let description = new.description.unwrap_or_default().trim().to_string();
        if description.chars().count() > 255 {
            return Err(Error::validation(
                "\"description\" must be at most 255 characters",
                "description",
            ));
        }
        crate::validate::text(&description, "description")?;
        let private = new.private_key.filter(|k| !k.trim().is_empty());
        let algorithm = new.algorithm.unwrap_or(KeyAlgorithm::Rsa);
        // Parsing and generating RSA keys is slow work: off the runtime.
        let parsed = tokio::task::spawn_blocking(move || match private {
            Some(text) => parse_private_key(&text),
            None => generate(algorithm),
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let secret = self.dkim_secret().await?;
        let record = DkimKeyRecord {
            id: DkimKeyId(ObjectId::new()),
            sealed_private_key: seal::seal(secret, domain.as_bytes(), &parsed.pkcs8)?,
            domain,
            selector,
            description,
            algorithm: parsed.algorithm.as_str().into(),
            public_key: parsed.spki_pem.clone(),
            dns_key: parsed.dns_key.clone(),
            fingerprint: fingerprint(&parsed.spki_der),
            created: sealpost_store::now_ms(),
        };
        let id = self.store.put_dkim_key(&record).await?;
        self.dkim.forget();
        Ok(DkimKeyInfo::from_record(DkimKeyRecord { id, ..record }))
    }

    pub async fn dkim_key(&self, id: &DkimKeyId) -> Result<DkimKeyInfo> {
        self.store
            .dkim_key(id)
            .await?
            .map(DkimKeyInfo::from_record)
            .ok_or_else(dkim_not_found)
    }

    /// The id of the key of `domain` (`GET /dkim/resolve/{domain}`).
    pub async fn resolve_dkim(&self, domain: &str) -> Result<DkimKeyId> {
        let domain = normalize_domain(domain).map_err(|_| dkim_domain_not_found())?;
        self.store
            .dkim_key_for_domain(&domain)
            .await?
            .map(|k| k.id)
            .ok_or_else(dkim_domain_not_found)
    }

    pub async fn delete_dkim_key(&self, id: &DkimKeyId) -> Result<()> {
        if !self.store.delete_dkim_key(id).await? {
            return Err(dkim_not_found());
        }
        self.dkim.forget();
        Ok(())
    }

    /// Keys whose domain contains `query`, by domain.
    pub async fn list_dkim_keys(
        &self,
        query: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<DkimKeyInfo>> {
        let query = query
            .map(|q| q.trim().to_lowercase())
            .filter(|q| !q.is_empty());
        if let Some(q) = &query {
            crate::validate::text(q, "query")?;
            if q.len() > 255 {
                return Err(Error::validation("query is too long", "query"));
            }
        }
        let (total, rows) = self
            .store
            .list_dkim_keys(
                query.as_deref(),
                &page.seek::<String>()?,
                page.fetch_limit(),
            )
            .await?;
        let rows: Vec<DkimKeyInfo> = rows.into_iter().map(DkimKeyInfo::from_record).collect();
        Ok(page.finish(total, rows, |k| k.domain.clone()))
    }
}

/// WildDuck's answer for an unknown key id.
fn dkim_not_found() -> Error {
    Error::NotFound("Invalid or unknown DKIM key".into())
}

/// WildDuck's answer of `/dkim/resolve/{domain}` for a domain without a key.
fn dkim_domain_not_found() -> Error {
    Error::NotFound("This domain does not exist".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_ed25519_raw_seed_and_pem() {
        // RFC 8463 appendix A.2: the private key and the p= value published for it.
        let k = parse_private_key("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").unwrap();
        assert_eq!(k.algorithm, KeyAlgorithm::Ed25519);
        assert_eq!(k.dns_key, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
        assert_eq!(
            dns_value(k.algorithm, &k.dns_key),
            "v=DKIM1;k=ed25519;t=s;p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        );
        assert!(k.spki_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let pem = ed25519_dalek::SigningKey::from_pkcs8_der(&k.pkcs8)
            .unwrap()
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        let again = parse_private_key(&pem).unwrap();
        assert_eq!((again.dns_key, again.pkcs8), (k.dns_key, k.pkcs8));
    }

    #[test]
    fn generated_rsa_round_trips_through_pkcs8() {
        let k = generate(KeyAlgorithm::Rsa).unwrap();
        let again = parse_pkcs8(KeyAlgorithm::Rsa, &k.pkcs8).unwrap();
        assert_eq!(again.dns_key, k.dns_key);
        assert_eq!(fingerprint(&k.spki_der).len(), 32 * 3 - 1);
        let pem = rsa::RsaPrivateKey::from_pkcs8_der(&k.pkcs8)
            .unwrap()
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap();
        assert_eq!(parse_private_key(&pem).unwrap().dns_key, k.dns_key);
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "not a key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
            "AAAA",
        ] {
            assert!(parse_private_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn domains_are_normalised() {
        assert_eq!(normalize_domain(" Example.COM. ").unwrap(), "example.com");
        assert_eq!(
            normalize_domain("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(normalize_domain("*").unwrap(), "*");
        assert!(normalize_domain("a b").is_err());
        assert!(normalize_domain("").is_err());
    }
}
