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

type Job = Box<dyn FnOnce() + Send>;

/// Hashing runs on a few long-lived threads of its own, one per core: more at once only
/// adds memory and finishes none sooner, and each Argon2 run takes 19 MiB. On threads of
/// the shared blocking pool those 19 MiB would be freed into (and kept by) a different
/// allocator arena each time, several hundred MiB in all once thousands of clients have
/// logged in; here each thread keeps reusing its own.
fn hashing_queue() -> Option<&'static std::sync::Mutex<std::sync::mpsc::Sender<Job>>> {
    static QUEUE: std::sync::OnceLock<Option<std::sync::Mutex<std::sync::mpsc::Sender<Job>>>> =
        std::sync::OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            let mut started = 0;
            for i in 0..cores.max(1) {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("password-{i}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    });
                if spawned.is_ok() {
                    started += 1;
                }
            }
            (started > 0).then(|| std::sync::Mutex::new(tx))
        })
        .as_ref()
}

/// Runs a hashing job on a hashing thread (on the blocking pool if none could be started).
async fn run_hashing<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let Some(queue) = hashing_queue() else {
        return tokio::task::spawn_blocking(job).await.ok();
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sent = queue.lock().ok()?.send(Box::new(move || {
        let _ = tx.send(job());
    }));
    sent.ok()?;
    rx.await.ok()
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
