//! The one error type of the crate.

/// What went wrong with an OpenPGP operation. The variants a caller must tell apart (bad
/// input, unusable key, wrong passphrase, size) are separate; everything the library reports
/// otherwise is [`Error::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is not OpenPGP data of the kind expected (bad armor, bad packets, no key).
    #[error("malformed OpenPGP data: {0}")]
    Malformed(String),
    /// The certificate has no valid, unexpired, unrevoked key that may encrypt.
    #[error("the key has no usable encryption subkey")]
    NoEncryptionSubkey,
    /// The certificate (its primary key) has expired.
    #[error("the key has expired")]
    Expired,
    /// The certificate (its primary key) is revoked.
    #[error("the key is revoked")]
    Revoked,
    /// The passphrase does not unlock the secret key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The operation needs a secret key and the certificate has none (or none that fits).
    #[error("no usable secret key")]
    NoSecretKey,
    /// The input is larger than the limit given.
    #[error("input is too large (limit {limit} bytes)")]
    TooLarge { limit: usize },
    /// A signature did not verify (bad, or by none of the certificates given).
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// Anything else the OpenPGP library reported.
    #[error("OpenPGP operation failed: {0}")]
    Failed(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A short stable code for wire errors.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Malformed(_) => "Malformed",
            Error::NoEncryptionSubkey => "NoEncryptionSubkey",
            Error::Expired => "KeyExpired",
            Error::Revoked => "KeyRevoked",
            Error::WrongPassphrase => "WrongPassphrase",
            Error::NoSecretKey => "NoSecretKey",
            Error::TooLarge { .. } => "TooLarge",
            Error::BadSignature(_) => "BadSignature",
            Error::Failed(_) => "Failed",
        }
    }
}

pub(crate) fn failed(e: impl std::fmt::Display) -> Error {
    Error::Failed(e.to_string())
}

pub(crate) fn malformed(e: impl std::fmt::Display) -> Error {
    Error::Malformed(e.to_string())
}
