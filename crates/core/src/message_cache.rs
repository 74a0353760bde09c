//! Shared, bounded caches of what IMAP reads of each message beyond the session's view,
//! by mailbox and UID: for SEARCH its Date header and decoded subject and header fields
//! ([`SearchFields`]), for FETCH of header fields its header block.
//!
//! Nothing here can go stale: a UID names one message of a mailbox for good (UIDs are never
//! given again, and mailbox ids are never reused), and a stored message's bytes, and so its
//! headers and Date, never change; only its flags do, and those come from the session's
//! view. Which messages exist is not the caches' business either: the caller asks for UIDs
//! of its view, and sessions drop the entries of the expunges they see.
//!
//! Why: under a mixed load every commit by another session makes SQLite's readers drop
//! their page cache, so the pages of these reads were read again for nearly every command.
//! A header SEARCH read the header index of every message of the mailbox (a join by blob
//! hash per message: a third of the server's CPU under `bench/imap_compare.sh`, perf
//! 2026-11-24) and a FETCH of headers the first bytes of each blob. Dovecot keeps both in
//! its index cache file.
//!
//! Each cache is bounded by an estimate of the bytes it holds across mailboxes
//! (`[imap] cacheSize`; least recently used mailboxes are dropped first; a mailbox bigger
//! than the whole bound is not kept). SEARCH on a mailbox with more than
//! [`MAX_SEARCH_CACHED`] live messages, or on one that did not fit (until it has fewer
//! messages than then), reads the database straight, a bounded number of rows at a time.

use crate::imap_fetch::{HeaderIndex, IndexText};
use sealpost_store::model::ObjectId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bigger mailboxes are searched from the database each time.
pub(crate) const MAX_SEARCH_CACHED: usize = 50_000;

/// A cached value and the bytes it holds, roughly.
pub(crate) trait Weigh: Clone {
    fn weight(&self) -> usize;
}

/// What SEARCH reads of one message.
#[derive(Debug, Clone)]
pub struct SearchFields {
    /// The Date header as Unix milliseconds (the internal date when it has none).
    pub hdate: i64,
    pub index: Arc<HeaderIndex<'static>>,
}

impl Weigh for SearchFields {
    /// The strings and the bookkeeping around them.
    fn weight(&self) -> usize {
        let strings: usize = self
            .index
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2 * std::mem::size_of::<IndexText<'_>>())
            .sum();
        96 + self.index.subject.len() + strings
    }
}

/// A message's header block (`BODY[HEADER]`).
impl Weigh for Arc<[u8]> {
    fn weight(&self) -> usize {
        48 + self.len()
    }
}

struct Slot<V> {
    rows: HashMap<i64, V>,
    bytes: usize,
    used: u64,
}

struct Inner<V> {
    slots: HashMap<(ObjectId, ObjectId), Slot<V>>,
    bytes: usize,
    tick: u64,
    /// Mailboxes that did not fit in the whole bound, with their message count then (see
    /// [`MessageCache::too_big`]); forgotten all at once past [`MAX_TOO_BIG`] entries.
    too_big: HashMap<(ObjectId, ObjectId), usize>,
}

/// Mailboxes remembered as too big for a cache.
const MAX_TOO_BIG: usize = 1024;

/// See the module documentation. Cheap to clone.
pub(crate) struct MessageCache<V> {
    inner: Arc<Mutex<Inner<V>>>,
    max_bytes: usize,
}

impl<V> Clone for MessageCache<V> {
    fn clone(&self) -> Self {
        MessageCache {
            inner: self.inner.clone(),
            max_bytes: self.max_bytes,
        }
    }
}

impl<V: Weigh> MessageCache<V> {
    pub(crate) fn new(max_bytes: usize) -> Self {
        MessageCache {
            inner: Arc::new(Mutex::new(Inner {
                slots: HashMap::new(),
                bytes: 0,
                tick: 0,
                too_big: HashMap::new(),
            })),
            max_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        // Entries are immutable and the counters only bound memory: a panic while the lock
        // was held leaves nothing wrong that matters.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value of each of `uids`, `None` where there is none.
    pub(crate) fn lookup(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
    ) -> Vec<Option<V>> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let Some(slot) = inner.slots.get_mut(&(user.clone(), mailbox.clone())) else {
            return vec![None; uids.len()];
        };
        slot.used = tick;
        uids.iter().map(|u| slot.rows.get(u).cloned()).collect()
    }

    /// Drops the entries of `uids` (expunged messages).
    pub(crate) fn forget(&self, user: &ObjectId, mailbox: &ObjectId, uids: &[i64]) {
        let mut inner = self.lock();
        let Some(slot) = inner.slots.get_mut(&(user.clone(), mailbox.clone())) else {
            return;
        };
        let mut freed = 0;
        for uid in uids {
            if let Some(v) = slot.rows.remove(uid) {
                freed += v.weight();
            }
        }
        slot.bytes -= freed;
        inner.bytes -= freed;
    }

    /// Whether a mailbox of `messages` messages is known not to fit: it did not with as
    /// many or fewer. Filling it again would only evict it again (and everything else).
    pub(crate) fn too_big(&self, user: &ObjectId, mailbox: &ObjectId, messages: usize) -> bool {
        let key = (user.clone(), mailbox.clone());
        self.lock()
            .too_big
            .get(&key)
            .is_some_and(|&n| messages >= n)
    }

    /// Adds values for messages of a mailbox, which has `messages` messages in all; evicts
    /// the least recently used mailboxes beyond the bound (this one last, then remembered
    /// as too big).
    pub(crate) fn insert(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        messages: usize,
        rows: Vec<(i64, V)>,
    ) {
        if rows.is_empty() {
            return;
        }
        let key = (user.clone(), mailbox.clone());
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let mut added = 0;
        let slot = inner.slots.entry(key.clone()).or_insert_with(|| Slot {
            rows: HashMap::new(),
            bytes: 0,
            used: tick,
        });
        slot.used = tick;
        for (uid, value) in rows {
            let weight = value.weight();
            if let Some(old) = slot.rows.insert(uid, value) {
                slot.bytes -= old.weight();
                added -= old.weight() as isize;
            }
            slot.bytes += weight;
            added += weight as isize;
        }
        inner.bytes = inner.bytes.saturating_add_signed(added);
        while inner.bytes > self.max_bytes {
            let victim = inner
                .slots
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone())
                .unwrap_or_else(|| key.clone());
            if let Some(slot) = inner.slots.remove(&victim) {
                inner.bytes -= slot.bytes;
            }
            if victim == key {
                if inner.too_big.len() >= MAX_TOO_BIG {
                    inner.too_big.clear();
                }
                inner.too_big.insert(key, messages);
                break;
            }
        }
    }

    /// Whether it may hold anything at all.
    pub(crate) fn enabled(&self) -> bool {
        self.max_bytes > 0
    }

    #[cfg(test)]
    fn total_bytes(&self) -> usize {
        self.lock().bytes
    }
}

/// A [`HeaderIndex`] that owns its strings (one read from the database, kept).
pub(crate) fn owned(index: HeaderIndex<'_>) -> HeaderIndex<'static> {
    let own = |t: IndexText<'_>| IndexText(std::borrow::Cow::Owned(t.0.into_owned()));
    HeaderIndex {
        subject: own(index.subject),
        headers: index
            .headers
            .into_iter()
            .map(|(n, v)| (own(n), own(v)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn fields(subject: &str) -> SearchFields {
        SearchFields {
            hdate: 7,
            index: Arc::new(HeaderIndex {
                subject: IndexText(Cow::Owned(subject.to_string())),
                headers: vec![(
                    IndexText(Cow::Borrowed("from")),
                    IndexText(Cow::Owned(format!("{subject}@example.org"))),
                )],
            }),
        }
    }

    fn ids() -> (ObjectId, ObjectId, ObjectId) {
        (ObjectId::new(), ObjectId::new(), ObjectId::new())
    }

    #[test]
    fn finds_what_was_inserted_and_only_that() {
        let cache = MessageCache::<SearchFields>::new(1 << 20);
        let (user, a, b) = ids();
        cache.insert(&user, &a, 0, vec![(1, fields("one")), (3, fields("three"))]);
        let got = cache.lookup(&user, &a, &[1, 2, 3]);
        assert_eq!(got.len(), 3);
        assert_eq!(&*got[0].as_ref().unwrap().index.subject, "one");
        assert!(got[1].is_none());
        assert_eq!(&*got[2].as_ref().unwrap().index.subject, "three");
        assert!(cache.lookup(&user, &b, &[1]).iter().all(Option::is_none));
    }

    #[test]
    fn stays_within_its_bound_and_evicts_the_least_recently_used() {
        let one = fields("x").weight();
        let cache = MessageCache::<SearchFields>::new(one * 10);
        let (user, a, b) = ids();
        cache.insert(&user, &a, 0, (1..=6).map(|u| (u, fields("x"))).collect());
        cache.insert(&user, &b, 0, (1..=6).map(|u| (u, fields("x"))).collect());
        assert!(cache.total_bytes() <= one * 10);
        // `a` was used least recently: gone; `b` kept.
        assert!(cache.lookup(&user, &a, &[1]).iter().all(Option::is_none));
        assert!(cache.lookup(&user, &b, &[1])[0].is_some());
        // A mailbox bigger than the whole bound is not kept at all, and remembered as such
        // for as many messages or more.
        assert!(!cache.too_big(&user, &a, 20));
        cache.insert(&user, &a, 20, (1..=20).map(|u| (u, fields("x"))).collect());
        assert!(cache.total_bytes() <= one * 10);
        assert!(cache.lookup(&user, &a, &[1])[0].is_none());
        assert!(cache.too_big(&user, &a, 20) && cache.too_big(&user, &a, 25));
        assert!(!cache.too_big(&user, &a, 19) && !cache.too_big(&user, &b, 20));
    }

    #[test]
    fn forgets_expunged_messages() {
        let cache = MessageCache::<Arc<[u8]>>::new(1 << 30);
        let (user, a, _) = ids();
        let block: Arc<[u8]> = Arc::from(&b"Subject: x\r\n\r\n"[..]);
        cache.insert(
            &user,
            &a,
            0,
            (1..=100).map(|u| (u, block.clone())).collect(),
        );
        let before = cache.total_bytes();
        cache.forget(&user, &a, &(1..=90).collect::<Vec<i64>>());
        assert_eq!(cache.total_bytes(), before / 10);
        assert!(cache.lookup(&user, &a, &[5])[0].is_none());
        assert!(cache.lookup(&user, &a, &[95])[0].is_some());
    }
}
