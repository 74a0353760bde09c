//! Password hashing: Argon2id (PHC strings) for every new hash. Imported hashes (WildDuck's
//! `hashedPassword`) are verified in their own scheme: Argon2 (`$argon2d$`, `$argon2i$`,
//! `$argon2id$`), PBKDF2 PHC strings (`$pbkdf2$`, `$pbkdf2-sha256$`, `$pbkdf2-sha512$`),
//! bcrypt (`$2a$`, `$2b$`, `$2y$`) and crypt(3) MD5 (`$1$`), SHA-256 (`$5$`), SHA-512 (`$6$`)
//! and DES (13 characters); [`needs_rehash`] tells the login to replace any of them but
//! Argon2id with a fresh Argon2id hash. Verification runs on hashing threads of its own:
//! hashing is deliberately slow and must not stall the async runtime.

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

/// The schemes of stored hashes we verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashScheme {
    Argon2id,
    /// `$argon2d$` / `$argon2i$`.
    Argon2Other,
    Pbkdf2,
    Bcrypt,
    /// crypt(3): MD5 `$1$`, SHA-256 `$5$`, SHA-512 `$6$`, traditional DES.
    Crypt,
}

const DES_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Which scheme `hash` is in, if one we verify (only its shape is looked at).
pub fn scheme(hash: &str) -> Option<HashScheme> {
    let h = hash.trim();
    if h.len() > 512 {
        return None;
    }
    if h.starts_with("$argon2") || h.starts_with("$pbkdf2") {
        let parsed = PasswordHash::new(h).ok()?;
        return match parsed.algorithm.as_str() {
            "argon2id" => Some(HashScheme::Argon2id),
            "argon2i" | "argon2d" => Some(HashScheme::Argon2Other),
            "pbkdf2" | "pbkdf2-sha256" | "pbkdf2-sha512" => Some(HashScheme::Pbkdf2),
            _ => None,
        };
    }
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| h.starts_with(p)) && h.len() == 60 {
        return Some(HashScheme::Bcrypt);
    }
    if ["$1$", "$5$", "$6$"].iter().any(|p| h.starts_with(p)) {
        return Some(HashScheme::Crypt);
    }
    if h.len() == 13 && h.bytes().all(|b| DES_CHARS.contains(&b)) {
        return Some(HashScheme::Crypt);
    }
    None
}

/// A stored hash we can verify (used to validate imported hashes).
pub fn is_supported_hash(hash: &str) -> bool {
    scheme(hash).is_some()
}

/// Whether a hash that just verified should be replaced by a fresh Argon2id one.
pub fn needs_rehash(hash: &str) -> bool {
    scheme(hash).is_some_and(|s| s != HashScheme::Argon2id)
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    let hash = hash.trim();
    match scheme(hash) {
        Some(HashScheme::Argon2id | HashScheme::Argon2Other) => match PasswordHash::new(hash) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        },
        Some(HashScheme::Pbkdf2) => match PasswordHash::new(hash) {
            Ok(parsed) => pbkdf2::Pbkdf2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        },
        // pwhash's `unix::verify` picks the crypt(3) scheme (bcrypt included) from the hash.
        Some(HashScheme::Bcrypt | HashScheme::Crypt) => pwhash::unix::verify(password, hash),
        None => false,
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
        assert!(!needs_rehash(&h));
    }

    #[tokio::test]
    #[allow(deprecated)] // pwhash marks the old crypt(3) schemes as unfit for new hashes
    async fn imported_hashes() {
        for (h, want) in [
            (
                pwhash::bcrypt::hash("password").unwrap(),
                HashScheme::Bcrypt,
            ),
            (
                pwhash::md5_crypt::hash("password").unwrap(),
                HashScheme::Crypt,
            ),
            (
                pwhash::sha256_crypt::hash("password").unwrap(),
                HashScheme::Crypt,
            ),
            (
                pwhash::sha512_crypt::hash("password").unwrap(),
                HashScheme::Crypt,
            ),
            (
                pwhash::unix_crypt::hash("password").unwrap(),
                HashScheme::Crypt,
            ),
        ] {
            assert_eq!(scheme(&h), Some(want), "{h}");
            assert!(verify("password", Some(&h)).await, "{h}");
            assert!(!verify("passwore", Some(&h)).await, "{h}");
            assert!(needs_rehash(&h));
        }
        let salt = SaltString::generate(&mut OsRng);
        let p = pbkdf2::Pbkdf2
            .hash_password_customized(
                b"password",
                Some(pbkdf2::Algorithm::Pbkdf2Sha512.ident()),
                None,
                pbkdf2::Params {
                    rounds: 1000,
                    output_length: 64,
                },
                &salt,
            )
            .unwrap()
            .to_string();
        assert_eq!(scheme(&p), Some(HashScheme::Pbkdf2));
        assert!(verify("password", Some(&p)).await);
        assert!(!verify("passwore", Some(&p)).await);
        let a2i = Argon2::new(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x13,
            argon2::Params::default(),
        )
        .hash_password(b"password", &salt)
        .unwrap()
        .to_string();
        assert_eq!(scheme(&a2i), Some(HashScheme::Argon2Other));
        assert!(verify("password", Some(&a2i)).await);
        assert!(needs_rehash(&a2i));
        for bad in ["$2b$04$short", "$7$x", "plain text", "$argon2id$nope", ""] {
            assert_eq!(scheme(bad), None, "{bad}");
        }
    }
}
