//! The failed-authentication throttle that spans every protocol: REST `/authenticate`,
//! IMAP, POP3 and whatever else calls [`crate::Core::authenticate_from`] count into the same
//! logs, so guessing a password over POP3 after IMAP refused does not start again from zero.
//!
//! Two sliding-window logs: failures per client address, and failures per (login name,
//! client address). There is deliberately no log per name alone: an attacker who fails a
//! thousand times as `alice` from one address must not lock the real Alice out when she logs
//! in from elsewhere. A refused attempt is answered before the password is checked, so a
//! blocked guesser costs no Argon2 work, and it is written to the user's authentication log
//! with the result `throttled`.
//!
//! [`FailureLog`] is also what the protocol front ends (`sealpost-net`) use for their own,
//! per-service limits. Every log is bounded: at most [`MAX_TRACKED`] keys with at most
//! `limit` timestamps each.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Keys each failure log remembers at most.
pub const MAX_TRACKED: usize = 10_000;
/// Longest login name kept as a key; longer ones are cut (they name no user).
const MAX_KEY: usize = 320;

/// `[auth]` settings. A limit of 0 means "never blocked".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures from one address (any name, any protocol) within `window` after which the
    /// address is refused.
    pub max_failures_per_ip: u32,
    /// Failures for one login name from one address within `window` after which that name
    /// is refused from that address.
    pub max_failures_per_user: u32,
    pub window: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_failures_per_ip: 100,
            max_failures_per_user: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// The failure-log key of a login name: case-insensitive, bounded.
pub fn name_key(username: &str) -> String {
    let name = username.trim().to_lowercase();
    match name.char_indices().nth(MAX_KEY) {
        Some((cut, _)) => name[..cut].to_string(),
        None => name,
    }
}

/// The address a client is counted under: IPv4-mapped IPv6 addresses as IPv4.
pub fn client_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves counts that are still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where an attempt comes from: an address, or none known (a REST call without `ip`).
type Origin = Option<IpAddr>;

struct Logs {
    by_ip: FailureLog<IpAddr>,
    by_name: FailureLog<(String, Origin)>,
}

/// Failed authentications across protocols (see the module documentation).
pub struct AuthThrottle {
    logs: Mutex<Logs>,
}

impl AuthThrottle {
    pub fn new(config: &ThrottleConfig) -> AuthThrottle {
        AuthThrottle {
            logs: Mutex::new(Logs {
                by_ip: FailureLog::new(config.max_failures_per_ip, config.window),
                by_name: FailureLog::new(config.max_failures_per_user, config.window),
            }),
        }
    }

    /// Whether an attempt as `username` from `ip` is refused for now.
    pub fn blocked(&self, ip: Origin, username: &str) -> bool {
        let now = Instant::now();
        let ip = ip.map(client_ip);
        let mut logs = lock(&self.logs);
        ip.is_some_and(|ip| logs.by_ip.blocked(&ip, now))
            || logs.by_name.blocked(&(name_key(username), ip), now)
    }

    /// Counts a failed attempt.
    pub fn record_failure(&self, ip: Origin, username: &str) {
        let now = Instant::now();
        let ip = ip.map(client_ip);
        let mut logs = lock(&self.logs);
        if let Some(ip) = ip {
            logs.by_ip.record(ip, now);
        }
        logs.by_name.record((name_key(username), ip), now);
    }

    /// A successful login forgets the name's failures from that address (not the
    /// address's own: one valid account must not reset an address that guesses at others).
    pub fn record_success(&self, ip: Origin, username: &str) {
        let ip = ip.map(client_ip);
        lock(&self.logs).by_name.forget(&(name_key(username), ip));
    }
}

/// Recent failures per key, in a sliding window.
pub struct FailureLog<K> {
    entries: HashMap<K, VecDeque<Instant>>,
    /// Failures within the window at which the key is blocked; 0 = never blocked, not tracked.
    limit: u32,
    window: Duration,
}

impl<K: Hash + Eq + Clone> FailureLog<K> {
    pub fn new(limit: u32, window: Duration) -> Self {
        FailureLog {
            entries: HashMap::new(),
            limit,
            window,
        }
    }

    fn expired(&self, at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(at) >= self.window
    }

    /// Whether `key` has `limit` failures within the window (dropping older ones).
    pub fn blocked(&mut self, key: &K, now: Instant) -> bool {
        if self.limit == 0 {
            return false;
        }
        let window = self.window;
        let Some(times) = self.entries.get_mut(key) else {
            return false;
        };
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            times.pop_front();
        }
        if times.is_empty() {
            self.entries.remove(key);
            return false;
        }
        times.len() >= self.limit as usize
    }

    /// Records a failure of `key`; returns its failures within the window.
    pub fn record(&mut self, key: K, now: Instant) -> u32 {
        if self.limit == 0 {
            return 0;
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_TRACKED {
            self.evict(now);
        }
        let window = self.window;
        let limit = self.limit as usize;
        let times = self.entries.entry(key).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            times.pop_front();
        }
        times.push_back(now);
        while times.len() > limit {
            times.pop_front();
        }
        times.len() as u32
    }

    pub fn forget(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Makes room for one key: drops expired entries, else the one least recently failed.
    fn evict(&mut self, now: Instant) {
        let before = self.entries.len();
        let entries = std::mem::take(&mut self.entries);
        self.entries = entries
            .into_iter()
            .filter(|(_, times)| times.back().is_some_and(|t| !self.expired(*t, now)))
            .collect();
        if self.entries.len() < before && self.entries.len() < MAX_TRACKED {
            return;
        }
        let stalest = self
            .entries
            .iter()
            .min_by_key(|(_, times)| times.back().copied())
            .map(|(k, _)| k.clone());
        if let Some(key) = stalest {
            self.entries.remove(&key);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Origin {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_name_is_blocked_only_from_the_guessing_address() {
        let t = AuthThrottle::new(&ThrottleConfig {
            max_failures_per_ip: 100,
            max_failures_per_user: 3,
            window: Duration::from_secs(60),
        });
        for _ in 0..3 {
            assert!(!t.blocked(ip("192.0.2.1"), "Alice"));
            t.record_failure(ip("192.0.2.1"), "alice");
        }
        assert!(t.blocked(ip("192.0.2.1"), "ALICE"));
        assert!(
            t.blocked(ip("::ffff:192.0.2.1"), "alice"),
            "mapped IPv4 counts as IPv4"
        );
        assert!(
            !t.blocked(ip("192.0.2.9"), "alice"),
            "the real user elsewhere is not locked out"
        );
        assert!(!t.blocked(ip("192.0.2.1"), "bob"));
        t.record_success(ip("192.0.2.1"), "alice");
        assert!(!t.blocked(ip("192.0.2.1"), "alice"));
        // No address known: the name alone, in its own bucket.
        for _ in 0..3 {
            t.record_failure(None, "carol");
        }
        assert!(t.blocked(None, "carol"));
        assert!(!t.blocked(ip("192.0.2.1"), "carol"));
    }

    #[test]
    fn an_address_is_blocked_whatever_the_name() {
        let t = AuthThrottle::new(&ThrottleConfig {
            max_failures_per_ip: 5,
            max_failures_per_user: 0,
            window: Duration::from_secs(60),
        });
        for i in 0..5 {
            t.record_failure(ip("192.0.2.1"), &format!("user{i}"));
        }
        assert!(t.blocked(ip("192.0.2.1"), "someone-else"));
        assert!(!t.blocked(ip("192.0.2.2"), "someone-else"));
        assert!(!t.blocked(None, "user1"), "0 = no per-name limit");
    }

    #[test]
    fn failure_log_is_bounded_and_slides() {
        let mut log = FailureLog::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED + 50) {
            log.record(i, t0);
        }
        assert!(log.len() <= MAX_TRACKED);
        for _ in 0..10 {
            log.record(usize::MAX, t0);
        }
        assert_eq!(log.entries.get(&usize::MAX).map(|t| t.len()), Some(3));
        assert!(log.blocked(&usize::MAX, t0));
        assert!(!log.blocked(&usize::MAX, t0 + Duration::from_secs(11)));
        assert!(!log.entries.contains_key(&usize::MAX));
    }
}
