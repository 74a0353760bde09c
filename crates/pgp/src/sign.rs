//! Signatures: detached and inline ("signed message"), made with a secret key and checked
//! against a set of certificates.

use crate::error::{Error, Result, failed, malformed};
use crate::key::{Cert, MAX_PASSPHRASE, policy};
use openpgp::KeyHandle;
use openpgp::crypto::{KeyPair, Password};
use openpgp::parse::Parse;
use openpgp::parse::stream::*;
use openpgp::serialize::stream::{Armorer, LiteralWriter, Message, Signer};
use sequoia_openpgp as openpgp;
use std::io::{Read, Write};

/// Who made a signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Fingerprint of the certificate whose key made the signature, lowercase hex.
    pub signer: String,
}

pub(crate) fn signing_pair(key: &Cert, passphrase: &str) -> Result<KeyPair> {
    if passphrase.len() > MAX_PASSPHRASE {
        return Err(Error::TooLarge {
            limit: MAX_PASSPHRASE,
        });
    }
    let p = policy();
    let ka = key
        .0
        .keys()
        .with_policy(&p, None)
        .supported()
        .alive()
        .revoked(false)
        .for_signing()
        .secret()
        .next()
        .ok_or(Error::NoSecretKey)?;
    let mut k = ka.key().clone();
    if !k.has_unencrypted_secret() {
        k = k
            .decrypt_secret(&Password::from(passphrase))
            .map_err(|_| Error::WrongPassphrase)?;
    }
    k.into_keypair().map_err(failed)
}

fn armorer<'a>(m: Message<'a>, armored: bool, kind: openpgp::armor::Kind) -> Result<Message<'a>> {
    if armored {
        Armorer::new(m).kind(kind).build().map_err(failed)
    } else {
        Ok(m)
    }
}

/// A detached signature over `data` (binary document signature).
pub fn sign_detached(key: &Cert, passphrase: &str, data: &[u8], armored: bool) -> Result<Vec<u8>> {
    let pair = signing_pair(key, passphrase)?;
    let mut sink = Vec::new();
    {
        let m = armorer(
            Message::new(&mut sink),
            armored,
            openpgp::armor::Kind::Signature,
        )?;
        let mut m = Signer::new(m, pair)
            .map_err(failed)?
            .detached()
            .build()
            .map_err(failed)?;
        m.write_all(data).map_err(failed)?;
        m.finalize().map_err(failed)?;
    }
    Ok(sink)
}

/// A signed message holding `data` (one-pass signature, literal data, signature).
pub fn sign_inline(key: &Cert, passphrase: &str, data: &[u8], armored: bool) -> Result<Vec<u8>> {
    let pair = signing_pair(key, passphrase)?;
    let mut sink = Vec::new();
    {
        let m = armorer(
            Message::new(&mut sink),
            armored,
            openpgp::armor::Kind::Message,
        )?;
        let m = Signer::new(m, pair)
            .map_err(failed)?
            .build()
            .map_err(failed)?;
        let mut m = LiteralWriter::new(m).build().map_err(failed)?;
        m.write_all(data).map_err(failed)?;
        m.finalize().map_err(failed)?;
    }
    Ok(sink)
}

/// Checks a detached signature `sig` (armored or binary) over `data`: `Ok` when at least one
/// signature in it is good and made by one of `signers`.
pub fn verify_detached(signers: &[&Cert], data: &[u8], sig: &[u8]) -> Result<Verified> {
    let p = policy();
    let mut helper = VHelper::new(signers);
    let mut v = DetachedVerifierBuilder::from_bytes(sig)
        .map_err(malformed)?
        .with_policy(&p, None, &mut helper)
        .map_err(|e| Error::BadSignature(e.to_string()))?;
    v.verify_bytes(data)
        .map_err(|e| Error::BadSignature(e.to_string()))?;
    drop(v);
    helper.result()
}

/// Checks a signed message (armored or binary) and returns its content; `limit` bounds it.
pub fn verify_inline(
    signers: &[&Cert],
    message: &[u8],
    limit: usize,
) -> Result<(Vec<u8>, Verified)> {
    let p = policy();
    let mut helper = VHelper::new(signers);
    let mut v = VerifierBuilder::from_bytes(message)
        .map_err(malformed)?
        .with_policy(&p, None, &mut helper)
        .map_err(|e| Error::BadSignature(e.to_string()))?;
    let mut out = Vec::new();
    (&mut v)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::BadSignature(e.to_string()))?;
    if out.len() > limit {
        return Err(Error::TooLarge { limit });
    }
    drop(v);
    Ok((out, helper.result()?))
}

struct VHelper {
    certs: Vec<openpgp::Cert>,
    good: Option<String>,
}

impl VHelper {
    fn new(signers: &[&Cert]) -> Self {
        VHelper {
            certs: signers.iter().map(|c| c.0.clone()).collect(),
            good: None,
        }
    }
    fn result(self) -> Result<Verified> {
        self.good
            .map(|signer| Verified { signer })
            .ok_or_else(|| Error::BadSignature("no good signature by a known key".into()))
    }
}

impl VerificationHelper for &mut VHelper {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<openpgp::Cert>> {
        Ok(self.certs.clone())
    }
    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure {
            if let MessageLayer::SignatureGroup { results } = layer
                && let Some(r) = results.into_iter().flatten().next()
            {
                self.good = Some(r.ka.cert().fingerprint().to_hex().to_lowercase());
                return Ok(());
            }
        }
        Err(anyhow::anyhow!("no good signature by a known key"))
    }
}
