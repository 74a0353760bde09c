//! Encryption to certificates and decryption with a secret key.

use crate::error::{Error, Result, failed, malformed};
use crate::key::{Cert, MAX_PASSPHRASE, policy};
use openpgp::crypto::{Password, SessionKey};
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::Parse;
use openpgp::parse::stream::*;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message};
use openpgp::types::SymmetricAlgorithm;
use openpgp::{KeyHandle, armor};
use sequoia_openpgp as openpgp;
use std::io::{Read, Write};

/// Encrypts `plaintext` (as one literal data packet, binary mode) to every usable encryption
/// key of every certificate in `recipients`. Each certificate must pass
/// [`Cert::encryption_check`]. `armored` gives an ASCII-armored `PGP MESSAGE`.
pub fn encrypt(recipients: &[&Cert], plaintext: &[u8], armored: bool) -> Result<Vec<u8>> {
    if recipients.is_empty() {
        return Err(Error::Failed("no recipients".into()));
    }
    for c in recipients {
        c.encryption_check()?;
    }
    let p = policy();
    let keys: Vec<_> = recipients
        .iter()
        .flat_map(|c| {
            c.0.keys()
                .with_policy(&p, None)
                .supported()
                .alive()
                .revoked(false)
                .for_transport_encryption()
                .for_storage_encryption()
        })
        .collect();
    let mut sink = Vec::with_capacity(plaintext.len() / 2 * 3 + 1024);
    {
        let mut message = Message::new(&mut sink);
        if armored {
            message = Armorer::new(message)
                .kind(armor::Kind::Message)
                .build()
                .map_err(failed)?;
        }
        let message = Encryptor::for_recipients(message, keys)
            .build()
            .map_err(failed)?;
        let mut message = LiteralWriter::new(message).build().map_err(failed)?;
        message.write_all(plaintext).map_err(failed)?;
        message.finalize().map_err(failed)?;
    }
    Ok(sink)
}

/// Decrypts `ciphertext` (armored or binary) with the secret keys of `key`, unlocked by
/// `passphrase`. Signatures inside are not checked (see [`crate::verify_inline`]).
/// [`Error::WrongPassphrase`] when a matching key does not unlock, [`Error::NoSecretKey`]
/// when the message is not encrypted to any secret key of `key`. `limit` bounds the
/// plaintext.
pub fn decrypt(key: &Cert, passphrase: &str, ciphertext: &[u8], limit: usize) -> Result<Vec<u8>> {
    if passphrase.len() > MAX_PASSPHRASE {
        return Err(Error::TooLarge {
            limit: MAX_PASSPHRASE,
        });
    }
    if !key.has_secret() {
        return Err(Error::NoSecretKey);
    }
    let p = policy();
    let helper = Helper {
        key: &key.0,
        password: Password::from(passphrase),
        outcome: Outcome::NotForUs,
    };
    let mut decryptor = match DecryptorBuilder::from_bytes(ciphertext)
        .map_err(malformed)?
        .with_policy(&p, None, helper)
    {
        Ok(d) => d,
        Err(e) => return Err(decrypt_error(e, None)),
    };
    let mut out = Vec::new();
    let read = (&mut decryptor)
        .take(limit as u64 + 1)
        .read_to_end(&mut out);
    if let Err(e) = read {
        let outcome = decryptor.helper_ref().outcome;
        return Err(decrypt_error(e.into(), Some(outcome)));
    }
    if out.len() > limit {
        return Err(Error::TooLarge { limit });
    }
    Ok(out)
}

fn decrypt_error(e: anyhow::Error, outcome: Option<Outcome>) -> Error {
    if let Some(h) = e.downcast_ref::<HelperError>() {
        return match h.0 {
            Outcome::WrongPassphrase => Error::WrongPassphrase,
            Outcome::NotForUs => Error::NoSecretKey,
            Outcome::Done => Error::Failed("decryption failed".into()),
        };
    }
    match outcome {
        Some(Outcome::WrongPassphrase) => Error::WrongPassphrase,
        _ => malformed(e),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    NotForUs,
    WrongPassphrase,
    Done,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt: {0:?}")]
struct HelperError(Outcome);

struct Helper<'a> {
    key: &'a openpgp::Cert,
    password: Password,
    outcome: Outcome,
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<openpgp::Cert>> {
        Ok(Vec::new())
    }
    fn check(&mut self, _structure: MessageStructure) -> openpgp::Result<()> {
        Ok(())
    }
}

impl DecryptionHelper for Helper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        _skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<openpgp::Cert>> {
        for pkesk in pkesks {
            let recipient = pkesk.recipient();
            // Secret keys this packet may be for (all of them for a wildcard recipient).
            for ka in self.key.keys().secret() {
                if let Some(r) = &recipient
                    && !r.aliases(ka.key().key_handle())
                {
                    continue;
                }
                let mut key = ka.key().clone();
                if !key.has_unencrypted_secret() {
                    match key.decrypt_secret(&self.password) {
                        Ok(k) => key = k,
                        Err(_) => {
                            self.outcome = Outcome::WrongPassphrase;
                            continue;
                        }
                    }
                }
                let Ok(mut pair) = key.into_keypair() else {
                    continue;
                };
                if let Some((algo, sk)) = pkesk.decrypt(&mut pair, sym_algo)
                    && decrypt(algo, &sk)
                {
                    self.outcome = Outcome::Done;
                    return Ok(None);
                }
            }
        }
        Err(HelperError(self.outcome).into())
    }
}

/// Encrypts `plaintext` to `recipients` and signs it with `signer`'s signing key (unlocked by
/// `passphrase`): the signed-and-encrypted message GPGAuth sends, ASCII-armored.
pub fn encrypt_signed(
    recipients: &[&Cert],
    signer: &Cert,
    passphrase: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    if recipients.is_empty() {
        return Err(Error::Failed("no recipients".into()));
    }
    for c in recipients {
        c.encryption_check()?;
    }
    let pair = crate::sign::signing_pair(signer, passphrase)?;
    let p = policy();
    let keys: Vec<_> = recipients
        .iter()
        .flat_map(|c| {
            c.0.keys()
                .with_policy(&p, None)
                .supported()
                .alive()
                .revoked(false)
                .for_transport_encryption()
                .for_storage_encryption()
        })
        .collect();
    let mut sink = Vec::with_capacity(plaintext.len() * 2 + 2048);
    {
        let message = Armorer::new(Message::new(&mut sink))
            .kind(armor::Kind::Message)
            .build()
            .map_err(failed)?;
        let message = Encryptor::for_recipients(message, keys)
            .build()
            .map_err(failed)?;
        let message = openpgp::serialize::stream::Signer::new(message, pair)
            .map_err(failed)?
            .build()
            .map_err(failed)?;
        let mut message = LiteralWriter::new(message).build().map_err(failed)?;
        message.write_all(plaintext).map_err(failed)?;
        message.finalize().map_err(failed)?;
    }
    Ok(sink)
}

/// Most public-key encrypted session key packets [`encrypted_to`] reads before giving up.
const MAX_PKESKS: usize = 1000;

/// Whether `message` is an ASCII-armored OpenPGP message (`-----BEGIN PGP MESSAGE-----`):
/// session keys followed by encrypted data, with a session key encrypted to one of `cert`'s
/// keys. [`Error::Malformed`] when it is not an encrypted OpenPGP message at all. Nothing is
/// decrypted: this is what a server that holds no secret key can check.
pub fn encrypted_to(cert: &Cert, message: &[u8]) -> Result<bool> {
    use openpgp::Packet;
    use openpgp::parse::{PacketParser, PacketParserResult};
    let text = std::str::from_utf8(message).map_err(malformed)?;
    if !text.trim_start().starts_with("-----BEGIN PGP MESSAGE-----") {
        return Err(Error::Malformed(
            "not an ASCII-armored OpenPGP message".into(),
        ));
    }
    let mut recipients = Vec::new();
    let mut ppr = PacketParser::from_bytes(message).map_err(malformed)?;
    let mut has_data = false;
    while let PacketParserResult::Some(pp) = ppr {
        match &pp.packet {
            Packet::PKESK(p) => {
                if recipients.len() == MAX_PKESKS {
                    return Err(Error::TooLarge { limit: MAX_PKESKS });
                }
                recipients.push(p.recipient());
            }
            Packet::SKESK(_) => {}
            Packet::SEIP(_) => {
                has_data = true;
                break;
            }
            _ => return Err(Error::Malformed("not an encrypted OpenPGP message".into())),
        }
        ppr = pp.next().map_err(malformed)?.1;
    }
    if !has_data || recipients.is_empty() {
        return Err(Error::Malformed("not an encrypted OpenPGP message".into()));
    }
    Ok(recipients
        .iter()
        .flatten()
        .any(|r| cert.0.keys().any(|k| r.aliases(k.key().key_handle()))))
}

/// Decrypts `ciphertext` with `key` (as [`decrypt`]) and requires a good signature inside it
/// by one of `signers`: the signed-and-encrypted messages clients send (JWT challenges).
/// [`Error::BadSignature`] when there is none.
pub fn decrypt_verified(
    key: &Cert,
    passphrase: &str,
    ciphertext: &[u8],
    signers: &[&Cert],
    limit: usize,
) -> Result<Vec<u8>> {
    if !key.has_secret() {
        return Err(Error::NoSecretKey);
    }
    let p = policy();
    let helper = SignedHelper {
        inner: Helper {
            key: &key.0,
            password: Password::from(passphrase),
            outcome: Outcome::NotForUs,
        },
        certs: signers.iter().map(|c| c.0.clone()).collect(),
        good: false,
    };
    let mut decryptor = match DecryptorBuilder::from_bytes(ciphertext)
        .map_err(malformed)?
        .with_policy(&p, None, helper)
    {
        Ok(d) => d,
        Err(e) => {
            if e.to_string().contains("no good signature") {
                return Err(Error::BadSignature(e.to_string()));
            }
            return Err(decrypt_error(e, None));
        }
    };
    let mut out = Vec::new();
    let read = (&mut decryptor)
        .take(limit as u64 + 1)
        .read_to_end(&mut out);
    if let Err(e) = read {
        return Err(Error::BadSignature(e.to_string()));
    }
    if out.len() > limit {
        return Err(Error::TooLarge { limit });
    }
    if !decryptor.helper_ref().good {
        return Err(Error::BadSignature(
            "no good signature by a known key".into(),
        ));
    }
    Ok(out)
}

struct SignedHelper<'a> {
    inner: Helper<'a>,
    certs: Vec<openpgp::Cert>,
    good: bool,
}

impl VerificationHelper for SignedHelper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<openpgp::Cert>> {
        Ok(self.certs.clone())
    }
    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure {
            if let MessageLayer::SignatureGroup { results } = layer
                && results.into_iter().flatten().next().is_some()
            {
                self.good = true;
                return Ok(());
            }
        }
        Err(anyhow::anyhow!("no good signature by a known key"))
    }
}

impl DecryptionHelper for SignedHelper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<openpgp::Cert>> {
        self.inner.decrypt(pkesks, skesks, sym_algo, decrypt)
    }
}
