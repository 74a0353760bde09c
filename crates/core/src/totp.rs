//! TOTP (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1, 6 digits, 30 s steps): seeds in base32
//! (RFC 4648, no padding, as authenticator apps take them), `otpauth://` URIs, token checks
//! with one step of clock drift either way, and the per-user limit on checks.

use hmac::{Hmac, Mac};
use sealpost_store::model::ObjectId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Seconds per step.
pub const STEP: i64 = 30;
/// Bytes of a new seed (160 bits, as RFC 4226 recommends).
const SEED_BYTES: usize = 20;
/// Steps accepted either side of the current one (clock drift).
const DRIFT: i64 = 1;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn base32_encode(data: &[u8]) -> String {
    base32_encode_with(ALPHABET, data)
}

/// Base32 of `data` in `alphabet`, without padding (RFC 4648's, or z-base-32's for WKD).
pub(crate) fn base32_encode_with(alphabet: &[u8; 32], data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(alphabet[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(alphabet[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (case-insensitive, spaces and padding ignored); `None` on other bytes.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        if c == b'=' || c == b' ' {
            continue;
        }
        let v = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// A new random seed, base32.
pub fn new_seed() -> String {
    base32_encode(&crate::random::bytes::<SEED_BYTES>())
}

/// The 6-digit HOTP value of `key` at `counter`.
pub fn hotp(key: &[u8], counter: u64) -> u32 {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(key) else {
        // HMAC takes keys of any length; this cannot happen.
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[digest.len() - 1] & 0x0f) as usize;
    let bin = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    bin % 1_000_000
}

/// The step of a Unix time in seconds.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP)
}

/// The step (within the drift window around `now_step`) whose token is `token`, newest
/// first; `None` when the token matches none or is not six digits.
pub fn matching_step(seed: &str, token: &str, now_step: i64) -> Option<i64> {
    let token = token.trim();
    if token.len() != 6 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let want: u32 = token.parse().ok()?;
    let key = base32_decode(seed)?;
    (now_step - DRIFT..=now_step + DRIFT)
        .rev()
        .filter(|s| *s >= 0)
        .find(|s| constant_eq(hotp(&key, *s as u64), want))
}

fn constant_eq(a: u32, b: u32) -> bool {
    (a ^ b) == 0
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The key URI authenticator apps read from the QR code.
pub fn otpauth_uri(label: &str, issuer: &str, seed: &str) -> String {
    format!(
        "otpauth://totp/{}?secret={seed}&issuer={}",
        pct(label),
        pct(issuer)
    )
}

/// Token checks allowed per user and window; more are refused until the window ends, so
/// that six digits cannot be guessed.
const MAX_CHECKS: u32 = 6;
const CHECK_WINDOW: Duration = Duration::from_secs(180);
/// Users tracked before expired windows are swept.
const SWEEP_AT: usize = 10_000;

/// Counts token checks per user (see [`MAX_CHECKS`]).
#[derive(Default)]
pub(crate) struct CheckLimiter {
    windows: Mutex<HashMap<ObjectId, (Instant, u32)>>,
}

impl CheckLimiter {
    /// Counts one check; false when the user has used up the window.
    pub(crate) fn allow(&self, user: &ObjectId) -> bool {
        let now = Instant::now();
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() >= SWEEP_AT {
            w.retain(|_, (start, _)| now.duration_since(*start) < CHECK_WINDOW);
        }
        let entry = w.entry(user.clone()).or_insert((now, 0));
        if now.duration_since(entry.0) >= CHECK_WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= MAX_CHECKS
    }

    /// Forgets the user's count (after a successful check).
    pub(crate) fn reset(&self, user: &ObjectId) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_vectors() {
        let key = b"12345678901234567890";
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(hotp(key, i as u64), *w);
        }
    }

    #[test]
    fn rfc6238_vector() {
        // 59 s -> 94287082 with 8 digits; the 6-digit value is its last six digits.
        let key = b"12345678901234567890";
        assert_eq!(hotp(key, step_of(59) as u64), 287082);
        // 1111111109 s -> 07081804.
        assert_eq!(hotp(key, step_of(1111111109) as u64), 81804);
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert!(base32_decode("M1").is_none());
        let seed = new_seed();
        assert_eq!(seed.len(), 32);
        assert_eq!(base32_decode(&seed).unwrap().len(), 20);
    }

    #[test]
    fn tokens_match_within_drift_only() {
        let seed = base32_encode(b"12345678901234567890");
        let key = base32_decode(&seed).unwrap();
        let now = 1000;
        let token = |s: i64| format!("{:06}", hotp(&key, s as u64));
        assert_eq!(matching_step(&seed, &token(now), now), Some(now));
        assert_eq!(matching_step(&seed, &token(now - 1), now), Some(now - 1));
        assert_eq!(matching_step(&seed, &token(now + 1), now), Some(now + 1));
        assert_eq!(matching_step(&seed, &token(now - 3), now), None);
        assert_eq!(matching_step(&seed, "12345", now), None);
        assert_eq!(matching_step(&seed, "abcdef", now), None);
    }

    #[test]
    fn uri_is_encoded() {
        assert_eq!(
            otpauth_uri("Sealpost:a b@x", "Seal post", "ABC"),
            "otpauth://totp/Sealpost%3Aa%20b%40x?secret=ABC&issuer=Seal%20post"
        );
    }

    #[test]
    fn checks_are_limited() {
        let l = CheckLimiter::default();
        let u = ObjectId::new();
        for _ in 0..MAX_CHECKS {
            assert!(l.allow(&u));
        }
        assert!(!l.allow(&u));
        assert!(l.allow(&ObjectId::new()));
        l.reset(&u);
        assert!(l.allow(&u));
    }
}
