//! Password hashing: Argon2id (PHC strings) for every new hash. Verification runs on a
//! blocking thread: hashing is deliberately slow and must not stall the async runtime.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::{Error, Result};

/// Longest password accepted (bytes); longer input is refused before hashing.
pub const MAX_PASSWORD_LEN: usize = 1024;

fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
}

/// A PHC string we can verify (used to validate imported hashes).
pub fn is_supported_hash(hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| h.algorithm.as_str().starts_with("argon2"))
        .unwrap_or(false)
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Hashes computed at once: one per core. Each takes Argon2's 19 MiB and a core's worth of
/// time, so more at once only adds memory (10,000 clients logging in together would
/// otherwise hold one blocking thread and 19 MiB each) and finishes none sooner.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores.max(1))
    })
}

/// Runs a hashing job on a blocking thread once a slot is free.
async fn run_hashing<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _slot = hashing_slots().acquire().await.ok()?;
    tokio::task::spawn_blocking(job).await.ok()
}

pub async fn hash(password: &str) -> Result<String> {
    let p = password.to_string();
    run_hashing(move || hash_blocking(&p))
        .await
        .unwrap_or_else(|| Err(Error::Internal("hashing task failed".into())))
}

/// Verifies `password` against `hash`; with no hash, burns the same time and fails, so that
/// timing does not tell which usernames exist.
pub async fn verify(password: &str, hash: Option<&str>) -> bool {
    let p = password.to_string();
    let h = hash.map(str::to_string);
    run_hashing(move || match h {
        Some(h) => verify_blocking(&p, &h),
        None => {
            let _ = hash_blocking(&p);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("secret pass").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(is_supported_hash(&h));
        assert!(verify("secret pass", Some(&h)).await);
        assert!(!verify("secret pas", Some(&h)).await);
        assert!(!verify("secret pass", None).await);
        assert!(!verify("x", Some("not a hash")).await);
    }
}
