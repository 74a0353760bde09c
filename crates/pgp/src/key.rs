//! Certificates ("keys"): generation, parsing (armored or binary, public or secret, one or
//! many), inspection into [`KeyInfo`], armored export, passphrase checks and changes.

use crate::error::{Error, Result, failed, malformed};
use openpgp::cert::prelude::*;
use openpgp::crypto::Password;
use openpgp::packet::{Packet, UserID};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto;
use openpgp::types::{Features, KeyFlags, RevocationStatus};
use sequoia_openpgp as openpgp;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The largest key ring [`parse_certs`] reads (armored or binary).
pub const MAX_KEYRING_BYTES: usize = 1024 * 1024;
/// The most certificates [`parse_certs`] returns from one input.
pub const MAX_CERTS: usize = 100;
/// The longest passphrase accepted.
pub const MAX_PASSPHRASE: usize = 1024;

pub(crate) fn policy() -> StandardPolicy<'static> {
    StandardPolicy::new()
}

/// The public-key algorithm of a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    /// Ed25519 primary and signing key, X25519 encryption subkey.
    #[default]
    Cv25519,
    Rsa3072,
    Rsa4096,
}

/// What [`generate`] makes.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// The user id's display name (may be empty).
    pub name: String,
    /// The user id's address.
    pub email: String,
    pub algorithm: KeyAlgorithm,
    /// Protects every secret key of the result; must not be empty.
    pub passphrase: String,
    /// How long the key is valid; `None` never expires.
    pub validity: Option<Duration>,
}

/// An OpenPGP certificate: a primary key with its user ids and subkeys, possibly with
/// (passphrase-protected) secret key material.
#[derive(Debug, Clone, PartialEq)]
pub struct Cert(pub(crate) openpgp::Cert);

/// What [`Cert::info`] tells about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Primary key fingerprint, lowercase hex without spaces.
    pub fingerprint: String,
    /// Primary key id (the last 16 hex digits of a v4 fingerprint), lowercase.
    pub key_id: String,
    /// Every user id, as given.
    pub user_ids: Vec<String>,
    /// Name and address of the primary user id (the first valid one).
    pub name: Option<String>,
    pub address: Option<String>,
    /// Algorithm of the primary key, e.g. "EdDSA" or "RSA", and its size in bits if known.
    pub algorithm: String,
    pub bits: Option<usize>,
    /// Creation and expiry of the primary key, in seconds since the Unix epoch.
    pub created: u64,
    pub expires: Option<u64>,
    pub revoked: bool,
    pub expired: bool,
    /// A valid, live, unrevoked key with an encryption flag exists.
    pub can_encrypt: bool,
    /// Secret key material is present for at least one key.
    pub has_secret: bool,
    /// Every secret key present is passphrase-protected.
    pub secret_locked: bool,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn password(p: &str) -> Result<Password> {
    if p.len() > MAX_PASSPHRASE {
        return Err(Error::TooLarge {
            limit: MAX_PASSPHRASE,
        });
    }
    Ok(Password::from(p))
}

/// Makes a new certificate: a certification (and, for Cv25519, signing) primary key, a
/// signing subkey and an encryption subkey (transport and storage), all protected by the
/// passphrase.
pub fn generate(spec: &KeySpec) -> Result<Cert> {
    if spec.passphrase.is_empty() {
        return Err(Error::Failed("a new key needs a passphrase".into()));
    }
    let name = spec.name.trim();
    let uid = UserID::from_address((!name.is_empty()).then_some(name), None, spec.email.trim())
        .map_err(malformed)?;
    let suite = match spec.algorithm {
        KeyAlgorithm::Cv25519 => CipherSuite::Cv25519,
        KeyAlgorithm::Rsa3072 => CipherSuite::RSA3k,
        KeyAlgorithm::Rsa4096 => CipherSuite::RSA4k,
    };
    let (cert, _revocation) = CertBuilder::new()
        .set_cipher_suite(suite)
        .add_userid(uid)
        .set_validity_period(spec.validity)
        .add_signing_subkey()
        .add_subkey(
            KeyFlags::empty()
                .set_transport_encryption()
                .set_storage_encryption(),
            None,
            None,
        )
        // Only SEIPDv1 is advertised, so that senders (and we) encrypt to it in a form that
        // GnuPG 2.2 and OpenPGP.js read.
        .set_features(Features::empty().set_seipdv1())
        .map_err(failed)?
        .set_password(Some(password(&spec.passphrase)?))
        .generate()
        .map_err(failed)?;
    Ok(Cert(cert))
}

/// Makes a new certificate like [`generate`] but with unprotected secret keys: for a server's
/// own key, kept in a file only the server may read (mode 0600).
pub fn generate_unprotected(name: &str, email: &str, algorithm: KeyAlgorithm) -> Result<Cert> {
    let name = name.trim();
    let uid = UserID::from_address((!name.is_empty()).then_some(name), None, email.trim())
        .map_err(malformed)?;
    let suite = match algorithm {
        KeyAlgorithm::Cv25519 => CipherSuite::Cv25519,
        KeyAlgorithm::Rsa3072 => CipherSuite::RSA3k,
        KeyAlgorithm::Rsa4096 => CipherSuite::RSA4k,
    };
    let (cert, _revocation) = CertBuilder::new()
        .set_cipher_suite(suite)
        .add_userid(uid)
        .add_signing_subkey()
        .add_subkey(
            KeyFlags::empty()
                .set_transport_encryption()
                .set_storage_encryption(),
            None,
            None,
        )
        .set_features(Features::empty().set_seipdv1())
        .map_err(failed)?
        .generate()
        .map_err(failed)?;
    Ok(Cert(cert))
}

/// Reads every certificate in `data` (ASCII armor or binary; public keys or secret keys).
/// At least one must be there; at most [`MAX_CERTS`].
pub fn parse_certs(data: &[u8]) -> Result<Vec<Cert>> {
    if data.len() > MAX_KEYRING_BYTES {
        return Err(Error::TooLarge {
            limit: MAX_KEYRING_BYTES,
        });
    }
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Malformed("no key data".into()));
    }
    let parser = CertParser::from_bytes(data).map_err(malformed)?;
    let mut out = Vec::new();
    for cert in parser {
        let cert = cert.map_err(malformed)?;
        if out.len() == MAX_CERTS {
            return Err(Error::TooLarge { limit: MAX_CERTS });
        }
        out.push(Cert(cert));
    }
    if out.is_empty() {
        return Err(Error::Malformed("no OpenPGP certificate found".into()));
    }
    Ok(out)
}

/// Reads exactly one certificate (see [`parse_certs`]).
pub fn parse_cert(data: &[u8]) -> Result<Cert> {
    let mut certs = parse_certs(data)?;
    if certs.len() != 1 {
        return Err(Error::Malformed(format!(
            "expected one certificate, found {}",
            certs.len()
        )));
    }
    Ok(certs.remove(0))
}

impl Cert {
    /// Fingerprint of the primary key, lowercase hex.
    pub fn fingerprint(&self) -> String {
        self.0.fingerprint().to_hex().to_lowercase()
    }

    /// Facts about the certificate, at the current time.
    pub fn info(&self) -> KeyInfo {
        let p = policy();
        let cert = &self.0;
        let primary = cert.primary_key().key();
        let valid = cert.with_policy(&p, None).ok();
        let (name, address) = valid
            .as_ref()
            .and_then(|v| v.primary_userid().ok())
            .map(|u| {
                let uid = u.userid();
                (
                    uid.name().ok().flatten().map(str::to_string),
                    uid.email().ok().flatten().map(str::to_string),
                )
            })
            .unwrap_or_else(|| {
                // No valid self-signed user id: report the first one as it is written.
                cert.userids()
                    .next()
                    .map(|u| {
                        let uid = u.userid();
                        (
                            uid.name().ok().flatten().map(str::to_string),
                            uid.email().ok().flatten().map(str::to_string),
                        )
                    })
                    .unwrap_or((None, None))
            });
        let expires = valid
            .as_ref()
            .and_then(|v| v.primary_key().key_expiration_time())
            .map(unix);
        let expired = valid.as_ref().is_some_and(|v| v.alive().is_err());
        let revoked = matches!(
            cert.revocation_status(&p, None),
            RevocationStatus::Revoked(_)
        );
        let secrets: Vec<bool> = cert
            .keys()
            .secret()
            .map(|k| k.key().has_unencrypted_secret())
            .collect();
        KeyInfo {
            fingerprint: self.fingerprint(),
            key_id: cert.keyid().to_hex().to_lowercase(),
            user_ids: cert
                .userids()
                .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
                .collect(),
            name,
            address,
            algorithm: primary.pk_algo().to_string(),
            bits: primary.mpis().bits(),
            created: unix(primary.creation_time()),
            expires,
            revoked,
            expired,
            can_encrypt: self.encryption_check().is_ok(),
            has_secret: !secrets.is_empty(),
            secret_locked: !secrets.is_empty() && secrets.iter().all(|unlocked| !unlocked),
        }
    }

    /// `Ok` when the certificate can be encrypted to now; else why not ([`Error::Revoked`],
    /// [`Error::Expired`], [`Error::NoEncryptionSubkey`], or [`Error::Malformed`] when it has
    /// no valid self-signature).
    pub fn encryption_check(&self) -> Result<()> {
        let p = policy();
        let valid = self
            .0
            .with_policy(&p, None)
            .map_err(|e| Error::Malformed(format!("no valid self-signature: {e}")))?;
        if let RevocationStatus::Revoked(_) = valid.revocation_status() {
            return Err(Error::Revoked);
        }
        if valid.alive().is_err() {
            return Err(Error::Expired);
        }
        let usable = valid
            .keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .for_storage_encryption()
            .next()
            .is_some();
        if !usable {
            return Err(Error::NoEncryptionSubkey);
        }
        Ok(())
    }

    /// Whether any secret key material is present.
    pub fn has_secret(&self) -> bool {
        self.0.is_tsk()
    }

    /// The certificate without its secret key material.
    pub fn public(&self) -> Cert {
        Cert(self.0.clone().strip_secret_key_material())
    }

    /// ASCII-armored public certificate.
    pub fn armored_public(&self) -> Result<String> {
        let bytes = self.0.armored().to_vec().map_err(failed)?;
        String::from_utf8(bytes).map_err(failed)
    }

    /// ASCII-armored secret key ("transferable secret key") as stored: protected keys stay
    /// protected. [`Error::NoSecretKey`] when there is none.
    pub fn armored_secret(&self) -> Result<String> {
        if !self.has_secret() {
            return Err(Error::NoSecretKey);
        }
        let bytes = self.0.as_tsk().armored().to_vec().map_err(failed)?;
        String::from_utf8(bytes).map_err(failed)
    }

    /// Binary serialisation (secret parts included when present).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if self.has_secret() {
            self.0.as_tsk().to_vec().map_err(failed)
        } else {
            self.0.to_vec().map_err(failed)
        }
    }

    /// `Ok` when `passphrase` unlocks every protected secret key ([`Error::WrongPassphrase`]
    /// otherwise, [`Error::NoSecretKey`] without secret keys).
    pub fn unlock_check(&self, passphrase: &str) -> Result<()> {
        let pw = password(passphrase)?;
        let mut any = false;
        for ka in self.0.keys().secret() {
            any = true;
            let key = ka.key();
            if key.has_unencrypted_secret() {
                continue;
            }
            key.clone()
                .decrypt_secret(&pw)
                .map_err(|_| Error::WrongPassphrase)?;
        }
        if any { Ok(()) } else { Err(Error::NoSecretKey) }
    }

    /// The same certificate with every secret key unlocked by `old` and protected by `new`
    /// (an unprotected secret key is protected by `new`).
    pub fn change_passphrase(&self, old: &str, new: &str) -> Result<Cert> {
        if new.is_empty() {
            return Err(Error::Failed("the new passphrase is empty".into()));
        }
        let (old, new) = (password(old)?, password(new)?);
        let mut packets: Vec<Packet> = Vec::new();
        let mut any = false;
        for ka in self.0.keys().secret() {
            any = true;
            let mut key = ka.key().clone();
            if !key.has_unencrypted_secret() {
                key = key
                    .decrypt_secret(&old)
                    .map_err(|_| Error::WrongPassphrase)?;
            }
            let key = key.encrypt_secret(&new).map_err(failed)?;
            packets.push(if ka.primary() {
                key.role_into_primary().into()
            } else {
                key.role_into_subordinate().into()
            });
        }
        if !any {
            return Err(Error::NoSecretKey);
        }
        let (cert, _) = self.0.clone().insert_packets(packets).map_err(failed)?;
        Ok(Cert(cert))
    }

    /// A copy of the certificate with its primary key revoked (for tests and key rings
    /// being retired). Needs the secret primary key.
    pub fn revoke(&self, passphrase: &str) -> Result<Cert> {
        let pw = password(passphrase)?;
        let primary = self
            .0
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .map_err(|_| Error::NoSecretKey)?;
        let primary = if primary.has_unencrypted_secret() {
            primary
        } else {
            primary
                .decrypt_secret(&pw)
                .map_err(|_| Error::WrongPassphrase)?
        };
        let mut signer = primary.into_keypair().map_err(failed)?;
        let sig = CertRevocationBuilder::new()
            .set_reason_for_revocation(openpgp::types::ReasonForRevocation::KeyRetired, b"")
            .map_err(failed)?
            .build(&mut signer, &self.0, None)
            .map_err(failed)?;
        let (cert, _) = self.0.clone().insert_packets([sig]).map_err(failed)?;
        Ok(Cert(cert))
    }
}
