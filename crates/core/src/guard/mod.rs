//! The Guard key-management domain: user session tokens (`POST /authenticate` with
//! `token: true`), Guard `auth` tokens that unlock a user's private key for a limited time
//! without resending the key password, OpenPGP key rings (one current per user, private keys
//! stored only protected by the user's key password), the recovery copy protected by the
//! server master key (kept outside the database), secondary addresses and password resets.

mod account;
mod auth;
mod keyrings;
mod master;
mod messages;
mod session;

pub use account::{GuardAccount, LANGUAGES, normalise_language};
pub use auth::GuardAuth;
pub use keyrings::{KeyRing, KeyType};
pub use session::SessionToken;

use crate::outbound::Secret;
use crate::random::bytes as random_bytes;
use std::path::PathBuf;
use std::time::Duration;

/// `[guard]` settings.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Keep a recovery copy of private keys (protected by the master key) so that a forgotten
    /// key password can be reset; `false` is Guard's `noRecovery`.
    pub recovery: bool,
    /// The master key itself (at least 32 characters); `None` = read from `master_key_file`.
    pub master_key: Option<Secret>,
    /// File of the master key; `None` = `<data_dir>/guard-master.key`, created at first
    /// start with mode 0600.
    pub master_key_file: Option<PathBuf>,
    /// Lifetime of a session token from `POST /authenticate`.
    pub session_ttl: Duration,
    /// Lifetime of a Guard `auth` token.
    pub auth_ttl: Duration,
    /// Shortest accepted key password.
    pub min_password_length: usize,
    /// Most key rings per user.
    pub max_key_rings: i64,
    /// Largest armored key ring accepted for upload, bytes.
    pub max_key_size: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            recovery: true,
            master_key: None,
            master_key_file: None,
            session_ttl: Duration::from_secs(3600),
            auth_ttl: Duration::from_secs(3600),
            min_password_length: 6,
            max_key_rings: 20,
            max_key_size: 256 * 1024,
        }
    }
}

/// State shared by the Guard operations: the master key, loaded on first use.
#[derive(Default)]
pub(crate) struct GuardState {
    master: tokio::sync::OnceCell<master::MasterKey>,
}

/// SHA-256, hex: how tokens are stored.
fn token_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex_lower(&sha2::Sha256::digest(bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Length of the passwords the server generates (resets).
pub const GENERATED_PASSWORD_LENGTH: usize = 16;

/// The message that carries a reset key password to `to`.
fn reset_mail(domain: &str, to: &str, password: &str) -> Vec<u8> {
    let text = format!(
        "The password of your OpenPGP key on {domain} was reset.\n\n\
         Your new key password: {password}\n\n\
         Please log in and change it now.\n"
    );
    let from = format!("postmaster@{domain}");
    crate::outbound::compose::compose(&crate::outbound::compose::Composed {
        from_name: "Guard",
        from_address: &from,
        to_address: to,
        subject: "Your new key password",
        extra_headers: vec![("Auto-Submitted", "auto-generated".into())],
        text: &text,
        domain,
        ..Default::default()
    })
}
