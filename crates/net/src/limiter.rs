//! Limits shared by every session of one service (IMAP, POP3) in the process: the number of connections per client
//! address and per user, and the record of failed logins that first slows password guessing
//! down and then refuses it for a while.
//!
//! Every map here is bounded: connection counts hold only live connections (an entry goes
//! when its last [`Slot`] is dropped), and each failure log is a bounded
//! [`sealpost_core::throttle::FailureLog`]. Failed logins are also counted across protocols
//! by `core` itself (`sealpost_core::throttle`); these logs are the per-service limits.

use sealpost_core::ObjectId;
pub use sealpost_core::throttle::client_ip;
use sealpost_core::throttle::{FailureLog, name_key};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The limits, from the configuration. A limit of 0 means "no limit".
#[derive(Debug, Clone)]
pub struct LimiterConfig {
    pub max_connections_per_ip: u32,
    pub max_connections_per_user: u32,
    pub max_auth_failures_per_ip: u32,
    pub max_auth_failures_per_user: u32,
    pub auth_failure_window: Duration,
}

pub struct Limiter {
    config: LimiterConfig,
    per_ip: Mutex<HashMap<IpAddr, u32>>,
    per_user: Mutex<HashMap<ObjectId, u32>>,
    failures: Mutex<Failures>,
}

struct Failures {
    by_ip: FailureLog<IpAddr>,
    /// By login name and address: never by name alone, so that guessing at a name from one
    /// address does not lock its owner out everywhere.
    by_user: FailureLog<(String, IpAddr)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves counts that are still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One connection counted under a key; dropping it releases the count.
pub struct Slot {
    limiter: Arc<Limiter>,
    key: SlotKey,
}

enum SlotKey {
    Ip(IpAddr),
    User(ObjectId),
}

impl Drop for Slot {
    fn drop(&mut self) {
        match &self.key {
            SlotKey::Ip(ip) => release(&mut lock(&self.limiter.per_ip), ip),
            SlotKey::User(user) => release(&mut lock(&self.limiter.per_user), user),
        }
    }
}

fn acquire<K: Hash + Eq + Clone>(map: &mut HashMap<K, u32>, key: &K, max: u32) -> bool {
    let count = map.get(key).copied().unwrap_or(0);
    if max != 0 && count >= max {
        return false;
    }
    map.insert(key.clone(), count + 1);
    true
}

fn release<K: Hash + Eq>(map: &mut HashMap<K, u32>, key: &K) {
    if let Some(count) = map.get_mut(key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            map.remove(key);
        }
    }
}

impl Limiter {
    pub fn new(config: LimiterConfig) -> Arc<Limiter> {
        let window = config.auth_failure_window;
        Arc::new(Limiter {
            failures: Mutex::new(Failures {
                by_ip: FailureLog::new(config.max_auth_failures_per_ip, window),
                by_user: FailureLog::new(config.max_auth_failures_per_user, window),
            }),
            config,
            per_ip: Mutex::new(HashMap::new()),
            per_user: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a new connection from `ip`; `None` when the address has too many already.
    pub fn connect(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let ip = client_ip(ip);
        acquire(
            &mut lock(&self.per_ip),
            &ip,
            self.config.max_connections_per_ip,
        )
        .then(|| Slot {
            limiter: self.clone(),
            key: SlotKey::Ip(ip),
        })
    }

    /// Counts a logged-in session of `user`; `None` when the user has too many already.
    pub fn login(self: &Arc<Self>, user: &ObjectId) -> Option<Slot> {
        acquire(
            &mut lock(&self.per_user),
            user,
            self.config.max_connections_per_user,
        )
        .then(|| Slot {
            limiter: self.clone(),
            key: SlotKey::User(user.clone()),
        })
    }

    /// Whether logins from `ip` or as `username` are refused for now (too many recent
    /// failures). The password is then not even checked, so guessing goes nowhere.
    pub fn login_blocked(&self, ip: IpAddr, username: &str) -> bool {
        let now = Instant::now();
        let mut f = lock(&self.failures);
        let ip = client_ip(ip);
        f.by_ip.blocked(&ip, now) || f.by_user.blocked(&(name_key(username), ip), now)
    }

    /// Records a failed login; returns the larger of the recent failure counts of the
    /// address and the name (the caller's delay grows with it).
    pub fn record_failure(&self, ip: IpAddr, username: &str) -> u32 {
        let now = Instant::now();
        let mut f = lock(&self.failures);
        let ip = client_ip(ip);
        let by_ip = f.by_ip.record(ip, now);
        let by_user = f.by_user.record((name_key(username), ip), now);
        by_ip.max(by_user)
    }

    /// A successful login forgets the name's failures (not the address's: one valid account
    /// must not reset an address that guesses at others).
    pub fn record_success(&self, ip: IpAddr, username: &str) {
        lock(&self.failures)
            .by_user
            .forget(&(name_key(username), client_ip(ip)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_ip: u32, per_user: u32) -> Arc<Limiter> {
        Limiter::new(LimiterConfig {
            max_connections_per_ip: per_ip,
            max_connections_per_user: per_user,
            max_auth_failures_per_ip: 5,
            max_auth_failures_per_user: 3,
            auth_failure_window: Duration::from_secs(60),
        })
    }

    #[test]
    fn connection_slots_are_counted_and_released() {
        let l = limiter(2, 1);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let a = l.connect(ip).unwrap();
        let _b = l.connect(mapped).unwrap();
        assert!(
            l.connect(ip).is_none(),
            "mapped and plain IPv4 count together"
        );
        assert!(l.connect("192.0.2.2".parse().unwrap()).is_some());
        drop(a);
        assert!(l.connect(ip).is_some());

        let user = ObjectId::new();
        let s = l.login(&user).unwrap();
        assert!(l.login(&user).is_none());
        drop(s);
        assert!(l.login(&user).is_some());
        assert!(lock(&l.per_user).is_empty(), "released keys are removed");
    }

    #[test]
    fn no_limit_when_zero() {
        let l = limiter(0, 0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let slots: Vec<_> = (0..1000).map(|_| l.connect(ip).unwrap()).collect();
        assert_eq!(slots.len(), 1000);
    }

    #[test]
    fn failures_block_by_user_and_by_address() {
        let l = limiter(0, 0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(!l.login_blocked(ip, "Alice"));
            l.record_failure(ip, "alice");
        }
        assert!(l.login_blocked(ip, "ALICE"));
        // From elsewhere the name is not blocked: its owner is not locked out.
        assert!(!l.login_blocked("192.0.2.9".parse().unwrap(), "alice"));
        assert!(!l.login_blocked(ip, "bob"));
        l.record_failure(ip, "bob");
        l.record_failure(ip, "carol");
        assert!(
            l.login_blocked(ip, "dave"),
            "five failures block the address"
        );
        assert!(!l.login_blocked("192.0.2.9".parse().unwrap(), "dave"));
        l.record_success(ip, "alice");
        assert!(!l.login_blocked("192.0.2.9".parse().unwrap(), "alice"));
    }
}
