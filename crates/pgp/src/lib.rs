//! OpenPGP for Sealpost behind one small interface: keys ([`generate`], [`parse_certs`],
//! [`Cert::info`], armored export, [`Cert::unlock_check`], [`Cert::change_passphrase`]),
//! [`encrypt`] / [`decrypt`], [`sign_detached`] / [`sign_inline`] / [`verify_detached`] /
//! [`verify_inline`], and PGP/MIME for stored mail ([`mime`]). Every error is an [`Error`];
//! the variants callers must tell apart (malformed input, no encryption subkey, expired,
//! revoked, wrong passphrase, too large) are separate.
//!
//! Every function here is CPU-bound and synchronous: async callers run it in
//! `tokio::task::spawn_blocking`.
//!
//! # Which library, and why
//!
//! Built on Sequoia (`sequoia-openpgp` 2.4, pure-Rust `crypto-rust` backend, v4 keys by
//! default so that GnuPG 2.2 reads them). Both candidates were built clean, alone, in a
//! scratch crate with this workspace's dev profile (dependencies at `opt-level = 2`), on the
//! shared 2-core machine (`time cargo build` in an empty target dir):
//!
//! | library | crates compiled | clean build | target dir |
//! | --- | --- | --- | --- |
//! | `sequoia-openpgp` 2.4.2 (`crypto-rust`) | 207 | 366 s (load 2-4) | 407 MB |
//! | `pgp` (rPGP) 0.21.0 | 141 | 463 s (load 8-11, other builds running) | 275 MB |
//!
//! rPGP pulls fewer crates; the wall times are dominated by the shared machine's load and
//! do not separate the two. Sequoia was chosen for what it gives this server beyond the
//! primitives: a policy layer (`StandardPolicy`) that decides validity, expiry and revocation
//! of certificates and subkeys the way GnuPG does (SHA-1 self-signatures, expired or revoked
//! subkeys, key flags), streaming decryption and verification with helper callbacks (which
//! lets us tell "wrong passphrase" from "not encrypted to this key"), and a long record of
//! interoperability with GnuPG. The round trips with `gpg` in `tests/gpg.rs` (a gpg key
//! imported, our encryption decrypted by gpg and back, signatures both ways, passphrase
//! change) are the contract.

mod crypt;
mod error;
mod key;
pub mod mime;
mod sign;

pub use crypt::{decrypt, decrypt_verified, encrypt, encrypt_signed, encrypted_to};
pub use error::{Error, Result};
pub use key::{
    Cert, KeyAlgorithm, KeyInfo, KeySpec, MAX_CERTS, MAX_KEYRING_BYTES, MAX_PASSPHRASE, generate,
    generate_unprotected, parse_cert, parse_certs,
};
pub use sign::{Verified, sign_detached, sign_inline, verify_detached, verify_inline};
