//! The random values the server makes (tokens, keys, seeds, generated passwords, MIME
//! boundaries, Message-IDs), all from the operating system's generator.

use rand::{Rng, RngCore};

/// `N` random bytes.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// `n` random bytes as lower-case hex (`2 * n` characters).
pub(crate) fn hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    ::hex::encode(b)
}

/// A new secret token for a client to present (256 bits, hex), e.g. the API access token
/// `serve` makes at first start.
pub fn token() -> String {
    hex(32)
}

/// `len` characters drawn uniformly from `alphabet` (ASCII).
pub(crate) fn chars(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .filter_map(|_| alphabet.get(rng.gen_range(0..alphabet.len().max(1))))
        .map(|&c| c as char)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        assert_eq!(super::hex(12).len(), 24);
        assert!(super::hex(4).bytes().all(|c| c.is_ascii_hexdigit()));
        let p = super::chars(b"ab", 32);
        assert_eq!(p.len(), 32);
        assert!(p.bytes().all(|c| c == b'a' || c == b'b'));
        assert_eq!(super::chars(b"", 5), "");
        assert_ne!(super::bytes::<16>(), super::bytes::<16>());
    }
}
