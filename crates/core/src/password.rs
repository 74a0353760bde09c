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
        // A PHC string with no output (`$argon2id$nope` parses, "nope" as the salt) has
        // nothing to compare against.
        parsed.hash?;
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

/// Highest bcrypt cost accepted (2^14 rounds, about a second); WildDuck hashes at 10-12.
pub const MAX_BCRYPT_COST: u32 = 14;
/// Most SHA-256/SHA-512 crypt rounds accepted (passlib's defaults are 535,000 and 656,000).
pub const MAX_SHA_CRYPT_ROUNDS: u32 = 1_000_000;
/// Most PBKDF2 iterations accepted (Django hashes with 870,000 today).
pub const MAX_PBKDF2_ROUNDS: u32 = 1_000_000;
/// Most Argon2 memory accepted, in KiB (64 MiB: node-argon2's default; ours is 19 MiB).
pub const MAX_ARGON2_M_COST: u32 = 64 * 1024;
/// Most Argon2 passes accepted.
pub const MAX_ARGON2_T_COST: u32 = 10;
/// Most Argon2 lanes accepted.
pub const MAX_ARGON2_P_COST: u32 = 16;

/// Whether the cost parameters `hash` carries (bcrypt cost, crypt rounds, PBKDF2 iterations,
/// Argon2 memory/passes/lanes) are within the limits above. An imported hash is chosen by
/// the client: one with a huge cost would make every login attempt against it burn a hashing
/// thread for minutes, so such hashes are refused at import and never verified.
pub fn cost_within_limits(hash: &str) -> bool {
    let h = hash.trim();
    match scheme(h) {
        Some(HashScheme::Argon2id | HashScheme::Argon2Other) => PasswordHash::new(h)
            .ok()
            .and_then(|p| argon2::Params::try_from(&p).ok())
            .is_some_and(|p| {
                p.m_cost() <= MAX_ARGON2_M_COST
                    && p.t_cost() <= MAX_ARGON2_T_COST
                    && p.p_cost() <= MAX_ARGON2_P_COST
            }),
        Some(HashScheme::Pbkdf2) => PasswordHash::new(h)
            .ok()
            .and_then(|p| pbkdf2::Params::try_from(&p).ok())
            .is_some_and(|p| p.rounds <= MAX_PBKDF2_ROUNDS),
        // `$2b$NN$...`: the cost is the two digits after the prefix.
        Some(HashScheme::Bcrypt) => h
            .get(4..6)
            .and_then(|c| c.parse::<u32>().ok())
            .is_some_and(|c| c <= MAX_BCRYPT_COST),
        // `$5$rounds=N$salt$hash` / `$6$...`; without `rounds=`, 5,000. MD5 and DES have
        // fixed costs.
        Some(HashScheme::Crypt) => match h
            .strip_prefix("$5$")
            .or_else(|| h.strip_prefix("$6$"))
            .and_then(|rest| rest.strip_prefix("rounds="))
        {
            Some(rest) => rest
                .split('$')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n <= MAX_SHA_CRYPT_ROUNDS),
            None => true,
        },
        None => false,
    }
}

/// A stored hash we can verify, its cost within limits (used to validate imported hashes).
pub fn is_supported_hash(hash: &str) -> bool {
    scheme(hash).is_some() && cost_within_limits(hash)
}

/// Whether a hash that just verified should be replaced by a fresh Argon2id one.
pub fn needs_rehash(hash: &str) -> bool {
    scheme(hash).is_some_and(|s| s != HashScheme::Argon2id)
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    let hash = hash.trim();
    // Refused at import; checked again for hashes stored before the limits existed.
    if !cost_within_limits(hash) {
        return false;
    }
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

    /// Hashes whose cost would tie up a hashing thread for minutes are refused, and never
    /// verified (each would otherwise be hashed in full before failing).
    #[tokio::test]
    async fn costly_hashes_refused() {
        let salt = "c2FsdHNhbHRzYWx0c2FsdA";
        let out = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let bcrypt31 = format!("$2b$31${}", "a".repeat(53));
        assert_eq!(scheme(&bcrypt31), Some(HashScheme::Bcrypt));
        for costly in [
            bcrypt31,
            "$6$rounds=999999999$saltsalt$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ./abcdefghijklmnopqrstu".to_string(),
            format!("$pbkdf2-sha256$i=4000000000,l=32${salt}${out}"),
            format!("$argon2id$v=19$m=4194304,t=2,p=1${salt}${out}"),
            format!("$argon2i$v=19$m=19456,t=1000,p=1${salt}${out}"),
        ] {
            assert!(scheme(&costly).is_some(), "{costly}");
            assert!(!is_supported_hash(&costly), "{costly}");
            assert!(!verify("password", Some(&costly)).await, "{costly}");
        }
        let ok = format!("$argon2id$v=19$m=65536,t=3,p=4${salt}${out}");
        assert!(is_supported_hash(&ok));
        assert!(is_supported_hash(
            &pwhash::bcrypt::hash("password").unwrap()
        ));
        let sha = pwhash::sha512_crypt::hash_with("$6$rounds=10000$saltsalt$", "password").unwrap();
        assert!(is_supported_hash(&sha), "{sha}");
    }
}
