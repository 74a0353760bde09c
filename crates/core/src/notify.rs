//! Per-user change notification: one small broadcast channel per user with listeners, so
//! that a change wakes only that user's sessions (one global channel woke every idling
//! session of every user on every change, 10,000 wake-ups for one delivery).
//!
//! A channel exists while it has receivers: `notify` drops one found without receivers,
//! and `subscribe` sweeps such channels whenever the map has doubled since the last sweep,
//! so the map stays bounded by the users with live receivers (times two).
//! Notifications are only wake-ups: a receiver that lags is told so and re-reads the
//! journal, and readers poll as well, so nothing depends on a message arriving.
//!
//! The same map keeps each user's session kill switch: every logged-in IMAP or POP3 session
//! holds a [`SessionSignal`], and `log_out` (`PUT /users/{user}/logout`, deleting or
//! disabling the user) fires it with the reason, which the session sends before closing.

use sealpost_store::model::ObjectId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};

/// Wake-ups buffered per user; a receiver further behind gets `Lagged` (and refreshes).
const CAPACITY: usize = 16;
/// No sweep below this many channels.
const MIN_SWEEP: usize = 64;

#[derive(Default)]
struct Channels {
    by_user: HashMap<ObjectId, broadcast::Sender<()>>,
    /// Size of the map after the last sweep.
    swept: usize,
    /// Kill switches of users with open sessions; swept like `by_user`.
    sessions: HashMap<ObjectId, watch::Sender<Option<Arc<str>>>>,
    sessions_swept: usize,
}

/// Held by an open session: [`SessionSignal::ended`] completes, with the reason, when
/// the user's sessions are to be closed.
pub struct SessionSignal(watch::Receiver<Option<Arc<str>>>);

impl SessionSignal {
    /// Waits until the user's sessions are logged out; returns the reason.
    pub async fn ended(&mut self) -> String {
        loop {
            if self.0.changed().await.is_err() {
                // The switch is gone (cannot happen while a receiver exists): never fires.
                return std::future::pending().await;
            }
            if let Some(reason) = self.0.borrow_and_update().clone() {
                return reason.to_string();
            }
        }
    }
}

/// See the module documentation. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Notifier {
    inner: Arc<Mutex<Channels>>,
}

impl Notifier {
    fn lock(&self) -> std::sync::MutexGuard<'_, Channels> {
        // The map holds only senders; a panic elsewhere cannot leave it half-updated.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn subscribe(&self, user: &ObjectId) -> broadcast::Receiver<()> {
        let mut c = self.lock();
        if c.by_user.len() >= MIN_SWEEP.max(c.swept.saturating_mul(2)) {
            c.by_user.retain(|_, tx| tx.receiver_count() > 0);
            c.swept = c.by_user.len();
        }
        if let Some(tx) = c.by_user.get(user) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(CAPACITY);
        c.by_user.insert(user.clone(), tx);
        rx
    }

    pub(crate) fn notify(&self, user: &ObjectId) {
        let mut c = self.lock();
        if let Some(tx) = c.by_user.get(user)
            && tx.send(()).is_err()
        {
            // Nobody listens any more.
            c.by_user.remove(user);
        }
    }

    /// A kill switch for one new session of `user`.
    pub(crate) fn register_session(&self, user: &ObjectId) -> SessionSignal {
        let mut c = self.lock();
        if c.sessions.len() >= MIN_SWEEP.max(c.sessions_swept.saturating_mul(2)) {
            c.sessions.retain(|_, tx| tx.receiver_count() > 0);
            c.sessions_swept = c.sessions.len();
        }
        if let Some(tx) = c.sessions.get(user) {
            return SessionSignal(tx.subscribe());
        }
        let (tx, rx) = watch::channel(None);
        c.sessions.insert(user.clone(), tx);
        SessionSignal(rx)
    }

    /// Fires the kill switch of every open session of `user`; returns how many there were.
    pub(crate) fn log_out(&self, user: &ObjectId, reason: &str) -> usize {
        let mut c = self.lock();
        let Some(tx) = c.sessions.remove(user) else {
            return 0;
        };
        let n = tx.receiver_count();
        tx.send_replace(Some(Arc::from(reason)));
        n
    }

    #[cfg(test)]
    fn channels(&self) -> usize {
        self.lock().by_user.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_only_the_users_receivers() {
        let n = Notifier::default();
        let (a, b) = (ObjectId::new(), ObjectId::new());
        let mut ra = n.subscribe(&a);
        let mut ra2 = n.subscribe(&a);
        let mut rb = n.subscribe(&b);
        n.notify(&a);
        assert!(ra.try_recv().is_ok());
        assert!(ra2.try_recv().is_ok());
        assert!(rb.try_recv().is_err());
        n.notify(&b);
        assert!(rb.try_recv().is_ok());
        assert!(ra.try_recv().is_err());
    }

    #[tokio::test]
    async fn log_out_fires_the_users_sessions_only() {
        let n = Notifier::default();
        let (a, b) = (ObjectId::new(), ObjectId::new());
        let mut s1 = n.register_session(&a);
        let mut s2 = n.register_session(&a);
        let mut other = n.register_session(&b);
        assert_eq!(n.log_out(&a, "bye now"), 2);
        assert_eq!(s1.ended().await, "bye now");
        assert_eq!(s2.ended().await, "bye now");
        let quiet = tokio::time::timeout(std::time::Duration::from_millis(20), other.ended()).await;
        assert!(quiet.is_err());
        // A session registered after the logout is not ended by it.
        let mut s3 = n.register_session(&a);
        let quiet = tokio::time::timeout(std::time::Duration::from_millis(20), s3.ended()).await;
        assert!(quiet.is_err());
        assert_eq!(n.log_out(&ObjectId::new(), "x"), 0);
    }

    #[test]
    fn channels_without_receivers_are_dropped() {
        let n = Notifier::default();
        let a = ObjectId::new();
        drop(n.subscribe(&a));
        n.notify(&a);
        assert_eq!(n.channels(), 0);
        // Many users that came and went: the map is swept as it grows.
        for _ in 0..1000 {
            drop(n.subscribe(&ObjectId::new()));
        }
        assert!(n.channels() <= 2 * MIN_SWEEP, "{}", n.channels());
        let _keep = n.subscribe(&a);
        n.notify(&a);
        assert!(n.channels() >= 1);
    }
}
