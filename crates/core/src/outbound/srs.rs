//! The Sender Rewriting Scheme: a forwarded copy leaves with an envelope sender in our own
//! domain (so SPF at the next hop checks our relay, not the original sender's), from which a
//! bounce can be routed back to the original sender.
//!
//! `SRS0=HHHHHH=TT=domain=local@srs-domain`: TT is the day (mod 1024, two base-32 digits), HHHHHH
//! a keyed hash (HMAC-SHA256, base-32, so it survives case-folding MTAs) of TT, domain and local
//! part. An address that is already SRS0 of another domain becomes SRS1 (`SRS1=HHHHHH=first-hop
//! ==HHHHHH=TT=domain=local@srs-domain`), as in the SRS specification, so that bounces go back
//! through the first forwarder only.

use sha2::{Digest, Sha256};

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HASH_LEN: usize = 6;
/// Bounces to SRS addresses older than this many days are refused.
const MAX_AGE_DAYS: u64 = 21;
const DAY_SECS: u64 = 86_400;

/// Rewrites and reverses SRS addresses with one key and one domain.
#[derive(Clone)]
pub struct Srs {
    key: Vec<u8>,
    domain: String,
}

impl std::fmt::Debug for Srs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Srs").field("domain", &self.domain).finish()
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

fn split_address(address: &str) -> Option<(&str, &str)> {
    let (local, domain) = address.rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then_some((local, domain))
}

impl Srs {
    pub fn new(key: impl Into<Vec<u8>>, domain: impl Into<String>) -> Srs {
        Srs {
            key: key.into(),
            domain: domain.into().to_lowercase(),
        }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    fn hash(&self, parts: &[&str]) -> String {
        // Parts joined with NUL (which no address contains), case-folded.
        let message = parts
            .iter()
            .map(|p| p.to_lowercase())
            .collect::<Vec<_>>()
            .join("\0");
        let mac = hmac_sha256(&self.key, message.as_bytes());
        // 6 base-32 digits from the first 30 bits.
        let bits = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]) >> 2;
        (0..HASH_LEN)
            .map(|i| BASE32[((bits >> (5 * (HASH_LEN - 1 - i))) & 31) as usize] as char)
            .collect()
    }

    fn timestamp(now_secs: u64) -> String {
        let day = (now_secs / DAY_SECS) % 1024;
        let hi = BASE32[(day >> 5) as usize] as char;
        let lo = BASE32[(day & 31) as usize] as char;
        format!("{hi}{lo}")
    }

    /// The envelope sender for a forwarded copy of mail from `sender` ("" stays "": a
    /// bounce is forwarded with the null sender). Addresses in the SRS domain are kept.
    pub fn forward(&self, sender: &str, now_secs: u64) -> String {
        let Some((local, domain)) = split_address(sender) else {
            return sender.to_string();
        };
        if domain.eq_ignore_ascii_case(&self.domain) {
            return sender.to_string();
        }
        let upper = local.get(..5).map(str::to_ascii_uppercase);
        match upper.as_deref() {
            Some("SRS0=") | Some("SRS0-") | Some("SRS0+") => {
                // SRS1=HHH=first-hop==<rest of the SRS0 address after its tag>
                let rest = &local[5..];
                let hash = self.hash(&[domain, rest]);
                format!("SRS1={hash}={domain}=={rest}@{}", self.domain)
            }
            Some("SRS1=") | Some("SRS1-") | Some("SRS1+") => {
                // Keep the first hop: SRS1=oldhash=first-hop==rest → new hash, same hop.
                let body = &local[5..];
                match body.split_once('=').and_then(|(_, r)| r.split_once("==")) {
                    Some((hop, rest)) => {
                        let hash = self.hash(&[hop, rest]);
                        format!("SRS1={hash}={hop}=={rest}@{}", self.domain)
                    }
                    None => self.srs0(local, domain, now_secs),
                }
            }
            _ => self.srs0(local, domain, now_secs),
        }
    }

    fn srs0(&self, local: &str, domain: &str, now_secs: u64) -> String {
        let tt = Self::timestamp(now_secs);
        let hash = self.hash(&[&tt, domain, local]);
        format!("SRS0={hash}={tt}={domain}={local}@{}", self.domain)
    }

    /// The address a bounce to `address` (one of ours) goes back to, or `None` when it is not a
    /// valid, unexpired SRS address of ours.
    pub fn reverse(&self, address: &str, now_secs: u64) -> Option<String> {
        let (local, domain) = split_address(address)?;
        if !domain.eq_ignore_ascii_case(&self.domain) || local.len() < 5 {
            return None;
        }
        let (tag, body) = local.split_at(5);
        match tag.to_ascii_uppercase().as_str() {
            "SRS0=" => {
                let mut it = body.splitn(4, '=');
                let (hash, tt, odomain, olocal) = (it.next()?, it.next()?, it.next()?, it.next()?);
                if !hash.eq_ignore_ascii_case(&self.hash(&[tt, odomain, olocal])) {
                    return None;
                }
                let day = Self::day_of(tt)?;
                let today = (now_secs / DAY_SECS) % 1024;
                let age = (today + 1024 - day) % 1024;
                (age <= MAX_AGE_DAYS && !olocal.is_empty() && !odomain.is_empty())
                    .then(|| format!("{olocal}@{odomain}"))
            }
            "SRS1=" => {
                let (hash, rest) = body.split_once('=')?;
                let (hop, inner) = rest.split_once("==")?;
                if !hash.eq_ignore_ascii_case(&self.hash(&[hop, inner])) || hop.is_empty() {
                    return None;
                }
                Some(format!("SRS0={inner}@{hop}"))
            }
            _ => None,
        }
    }

    fn day_of(tt: &str) -> Option<u64> {
        let digit = |c: u8| {
            BASE32
                .iter()
                .position(|&b| b == c.to_ascii_uppercase())
                .map(|p| p as u64)
        };
        match tt.as_bytes() {
            [a, b] => Some(digit(*a)? * 32 + digit(*b)?),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn srs() -> Srs {
        Srs::new(b"secret".to_vec(), "fwd.example")
    }

    #[test]
    fn srs0_round_trip() {
        let s = srs();
        let a = s.forward("alice@origin.test", NOW);
        assert!(a.starts_with("SRS0="), "{a}");
        assert!(a.ends_with("=origin.test=alice@fwd.example"), "{a}");
        assert_eq!(s.reverse(&a, NOW).as_deref(), Some("alice@origin.test"));
        // MTAs may change the case of the local part.
        assert_eq!(
            s.reverse(&a.to_lowercase(), NOW).as_deref(),
            Some("alice@origin.test")
        );
    }

    #[test]
    fn tampered_or_expired_or_foreign_is_refused() {
        let s = srs();
        let a = s.forward("alice@origin.test", NOW);
        let tampered = a.replace("alice", "mallory");
        assert_eq!(s.reverse(&tampered, NOW), None);
        assert_eq!(s.reverse(&a, NOW + 30 * DAY_SECS), None);
        assert!(s.reverse(&a, NOW + 20 * DAY_SECS).is_some());
        let other = Srs::new(b"other".to_vec(), "fwd.example");
        assert_eq!(other.reverse(&a, NOW), None);
        assert_eq!(s.reverse("plain@fwd.example", NOW), None);
    }

    #[test]
    fn null_sender_and_own_domain_are_kept() {
        let s = srs();
        assert_eq!(s.forward("", NOW), "");
        assert_eq!(s.forward("bob@FWD.example", NOW), "bob@FWD.example");
    }

    #[test]
    fn srs0_of_another_forwarder_becomes_srs1() {
        let first = Srs::new(b"k1".to_vec(), "first.example");
        let a = first.forward("alice@origin.test", NOW);
        let s = srs();
        let b = s.forward(&a, NOW);
        assert!(b.starts_with("SRS1="), "{b}");
        assert!(b.contains("=first.example=="), "{b}");
        // Our SRS1 reverses to the first hop's SRS0, which reverses to the origin there.
        let back = s.reverse(&b, NOW).unwrap();
        assert_eq!(back, a);
        assert_eq!(
            first.reverse(&back, NOW).as_deref(),
            Some("alice@origin.test")
        );
        // Forwarding an SRS1 again keeps the first hop.
        let third = Srs::new(b"k3".to_vec(), "third.example");
        let c = third.forward(&b, NOW);
        assert!(
            c.starts_with("SRS1=") && c.contains("=first.example=="),
            "{c}"
        );
        assert_eq!(third.reverse(&c, NOW).unwrap(), a);
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
