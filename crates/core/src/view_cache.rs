//! A shared, bounded cache of mailbox views (UID, flags, modseq, size, internal date of
//! every message), so that selecting a big mailbox again costs a journal read and a copy
//! instead of reading every row from the database.
//!
//! Correctness does not depend on the cache: an entry records the mailbox modseq up to
//! which it reflects the stored state, and every use first reads the mailbox's journal
//! above that modseq and re-reads only the messages those rows name, exactly as an IMAP
//! session brings its selected mailbox up to date (`Session::refresh`). Many rows, or the
//! mailbox's deletion, mean a full reload. A stale entry is therefore never handed out,
//! whoever changed the mailbox (IMAP, REST, another process sharing the database).
//!
//! A view read in full is also saved in the database, packed (`mailbox_views`, see
//! `view_saved.rs` in the store), with the modseq it reflects: the first use of a mailbox
//! in a process (after a start, or once evicted) starts from that copy and the journal above
//! it, the same way, instead of reading every message row. A missing, damaged or too old
//! copy (the journal asks for a full read) means a full read, which saves a new one.
//!
//! The cache is per process; several processes sharing one database each keep their own,
//! and each still goes through the journal before use. It is bounded by the total number
//! of rows held across mailboxes (least recently used mailboxes are dropped first); a
//! mailbox bigger than the bound is not cached.

use crate::{Core, Result};
use sealpost_store::model::ObjectId;
use sealpost_store::view::{JournalEntry, ViewRow};
use sealpost_store::view_saved::{pack_view, unpack_view};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most rows held across all cached mailboxes (about 70 bytes each without keywords).
pub(crate) const MAX_CACHED_ROWS: usize = 400_000;
/// Journal rows read at once to bring an entry up to date; more means a full reload.
const JOURNAL_BATCH: i64 = 1000;
/// Smaller mailboxes are read from the database each time (cheap; keeps the cache for
/// the mailboxes where it matters).
const MIN_CACHED_ROWS: usize = 64;
/// A view read from its saved copy is saved again when the journal moved it on by this
/// many modseqs (at [`JOURNAL_BATCH`] rows the saved copy is no longer used).
const RESAVE_AFTER: i64 = 200;

/// A mailbox's rows by UID, reflecting every change up to `modseq`.
#[derive(Debug, Clone)]
pub(crate) struct CachedView {
    pub modseq: i64,
    pub rows: Arc<Vec<ViewRow>>,
}

struct Slot {
    view: CachedView,
    used: u64,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<(ObjectId, ObjectId), Slot>,
    rows: usize,
    tick: u64,
    /// Mailboxes being read in full, each with the lock its readers queue on.
    loading: HashMap<(ObjectId, ObjectId), Arc<tokio::sync::Mutex<()>>>,
}

/// The right to read one mailbox in full (see [`ViewCache::load_turn`]); dropping it lets
/// the next reader in, or forgets the mailbox's lock when nobody waits.
pub(crate) struct LoadTurn {
    cache: ViewCache,
    key: (ObjectId, ObjectId),
    gate: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for LoadTurn {
    fn drop(&mut self) {
        self.guard.take();
        let mut inner = self.cache.lock();
        // Held by the map and by this turn only: nobody else waits.
        if Arc::strong_count(&self.gate) == 2 {
            inner.loading.remove(&self.key);
        }
    }
}

/// See the module documentation. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ViewCache {
    inner: Arc<Mutex<Inner>>,
    max_rows: usize,
}

impl ViewCache {
    pub(crate) fn new(max_rows: usize) -> Self {
        ViewCache {
            inner: Arc::new(Mutex::new(Inner::default())),
            max_rows,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent in a way that
        // matters (entries are always checked against the journal), so take it back.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, user: &ObjectId, mailbox: &ObjectId) -> Option<CachedView> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let slot = inner.slots.get_mut(&(user.clone(), mailbox.clone()))?;
        slot.used = tick;
        Some(slot.view.clone())
    }

    /// Waits until no other task of this process reads the mailbox in full, and returns
    /// the turn to do so: concurrent cold SELECTs of one mailbox read it once, the others
    /// then find it cached (single flight).
    pub(crate) async fn load_turn(&self, user: &ObjectId, mailbox: &ObjectId) -> LoadTurn {
        let key = (user.clone(), mailbox.clone());
        let gate = self.lock().loading.entry(key.clone()).or_default().clone();
        let guard = gate.clone().lock_owned().await;
        LoadTurn {
            cache: self.clone(),
            key,
            gate,
            guard: Some(guard),
        }
    }

    pub(crate) fn remove(&self, user: &ObjectId, mailbox: &ObjectId) {
        let mut inner = self.lock();
        if let Some(slot) = inner.slots.remove(&(user.clone(), mailbox.clone())) {
            inner.rows -= slot.view.rows.len();
        }
    }

    /// Stores `view` unless a newer one is there already; evicts the least recently used
    /// mailboxes beyond the bound.
    pub(crate) fn put(&self, user: &ObjectId, mailbox: &ObjectId, view: CachedView) {
        let len = view.rows.len();
        let key = (user.clone(), mailbox.clone());
        let mut inner = self.lock();
        if len < MIN_CACHED_ROWS || len > self.max_rows {
            if let Some(slot) = inner.slots.remove(&key) {
                inner.rows -= slot.view.rows.len();
            }
            return;
        }
        inner.tick += 1;
        let tick = inner.tick;
        if let Some(slot) = inner.slots.get_mut(&key) {
            if slot.view.modseq > view.modseq {
                slot.used = tick;
                return;
            }
            let old = slot.view.rows.len();
            slot.view = view;
            slot.used = tick;
            inner.rows = inner.rows - old + len;
        } else {
            inner.slots.insert(key.clone(), Slot { view, used: tick });
            inner.rows += len;
        }
        while inner.rows > self.max_rows {
            let Some(victim) = inner
                .slots
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(slot) = inner.slots.remove(&victim) {
                inner.rows -= slot.view.rows.len();
            }
        }
    }

    #[cfg(test)]
    fn total_rows(&self) -> usize {
        self.lock().rows
    }
}

/// What the journal rows above a cached modseq ask for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Nothing changed.
    Current,
    /// Too many rows, or the mailbox was deleted: read everything again.
    Reload,
    /// Remove `expunged`, re-read `changed`, read the messages above the cached UIDs when
    /// `added`; the result reflects `modseq`.
    Apply {
        expunged: Vec<i64>,
        changed: Vec<i64>,
        added: bool,
        modseq: i64,
    },
}

pub(crate) fn plan(rows: &[JournalEntry], max_uid: i64, since: i64) -> Plan {
    if rows.is_empty() {
        return Plan::Current;
    }
    if rows.len() as i64 >= JOURNAL_BATCH || rows.iter().any(|r| r.modseq.is_none()) {
        return Plan::Reload;
    }
    let mut expunged = Vec::new();
    let mut changed = Vec::new();
    let mut added = false;
    for row in rows {
        match (row.command.as_str(), row.uid) {
            ("EXPUNGE", Some(uid)) => expunged.push(uid),
            ("FETCH", Some(uid)) if uid <= max_uid => changed.push(uid),
            ("EXISTS", Some(uid)) if uid > max_uid => added = true,
            // An EXISTS at or below the cached UIDs is a message already read.
            _ => {}
        }
    }
    expunged.sort_unstable();
    expunged.dedup();
    changed.sort_unstable();
    changed.dedup();
    changed.retain(|u| expunged.binary_search(u).is_err());
    let modseq = rows
        .iter()
        .filter_map(|r| r.modseq)
        .max()
        .unwrap_or(since)
        .max(since);
    Plan::Apply {
        expunged,
        changed,
        added,
        modseq,
    }
}

/// Applies a plan's reads to `rows` (by UID): drops `expunged` (sorted), drops `changed`
/// (sorted) that no longer exist, replaces the others with `current` and appends the new
/// messages of `current` (those above the old highest UID).
pub(crate) fn apply(
    rows: &mut Vec<ViewRow>,
    expunged: &[i64],
    changed: &[i64],
    current: Vec<ViewRow>,
) {
    let max_uid = rows.last().map(|r| r.uid).unwrap_or(0);
    let mut fresh: HashMap<i64, ViewRow> = HashMap::with_capacity(current.len());
    let mut added = Vec::new();
    for r in current {
        if r.uid > max_uid {
            added.push(r);
        } else {
            fresh.insert(r.uid, r);
        }
    }
    if !expunged.is_empty() || !changed.is_empty() {
        rows.retain_mut(|r| {
            if expunged.binary_search(&r.uid).is_ok() {
                return false;
            }
            if changed.binary_search(&r.uid).is_ok() {
                // Re-read but not found: it is gone (its EXPUNGE row is above the batch).
                return match fresh.remove(&r.uid) {
                    Some(new) => {
                        *r = new;
                        true
                    }
                    None => false,
                };
            }
            true
        });
    }
    added.sort_by_key(|r| r.uid);
    added.dedup_by_key(|r| r.uid);
    rows.extend(added);
}

impl Core {
    /// Every message of a mailbox (UID, flags, modseq, size, internal date), by UID, as
    /// stored now: from the view cache brought up to date through the journal, or read.
    pub async fn mailbox_view(&self, user: &ObjectId, mailbox: &ObjectId) -> Result<Vec<ViewRow>> {
        Ok(self.cached_view(user, mailbox).await?.rows.as_ref().clone())
    }

    /// The newest `max` messages of a mailbox (the highest UIDs), by UID, as
    /// [`Core::mailbox_view`] has them: a POP3 maildrop copies only what it lists.
    pub async fn mailbox_view_newest(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        max: usize,
    ) -> Result<Vec<ViewRow>> {
        let view = self.cached_view(user, mailbox).await?;
        let rows = view.rows.as_ref();
        Ok(rows
            .get(rows.len().saturating_sub(max)..)
            .unwrap_or_default()
            .to_vec())
    }

    pub(crate) async fn cached_view(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
    ) -> Result<CachedView> {
        if let Some(view) = self.update_cached(user, mailbox).await? {
            return Ok(view);
        }
        // One full read per mailbox at a time: whoever waited finds the view read by the
        // one before it (and brings it up to date through the journal).
        let _turn = self.views.load_turn(user, mailbox).await;
        if let Some(view) = self.update_cached(user, mailbox).await? {
            return Ok(view);
        }
        // Read the modseq before the rows: the rows reflect at least every change up to it.
        let Some(record) = self.store.get_mailbox(user, mailbox).await? else {
            self.views.remove(user, mailbox);
            return Ok(CachedView {
                modseq: 0,
                rows: Arc::new(self.store.mailbox_view(user, mailbox).await?),
            });
        };
        if let Some(view) = self.view_from_saved(user, mailbox).await? {
            self.views.put(user, mailbox, view.clone());
            return Ok(view);
        }
        let view = CachedView {
            modseq: record.modseq,
            rows: Arc::new(self.store.mailbox_view(user, mailbox).await?),
        };
        self.views.put(user, mailbox, view.clone());
        self.save_view_later(user, mailbox, &view);
        Ok(view)
    }

    /// The mailbox's saved view (see `view_saved.rs` in the store) brought up to date
    /// through the journal; `None` when there is none, it cannot be read, or the journal
    /// asks for a full read. Saved again when many changes were applied to it.
    async fn view_from_saved(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
    ) -> Result<Option<CachedView>> {
        let Some((modseq, data)) = self.store.saved_view(user, mailbox).await? else {
            return Ok(None);
        };
        let rows = match tokio::task::spawn_blocking(move || unpack_view(&data)).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::warn!(%mailbox, error = %e, "saved mailbox view unreadable; reading the mailbox");
                return Ok(None);
            }
            Err(e) => {
                tracing::warn!(%mailbox, error = %e, "decoding a saved mailbox view failed");
                return Ok(None);
            }
        };
        let saved = CachedView {
            modseq,
            rows: Arc::new(rows),
        };
        let Some(view) = self.bring_up_to_date(user, mailbox, saved).await? else {
            return Ok(None);
        };
        tracing::info!(%mailbox, messages = view.rows.len(), saved_modseq = modseq, modseq = view.modseq,
            "mailbox view read from its saved copy");
        if view.modseq - modseq >= RESAVE_AFTER {
            self.save_view_later(user, mailbox, &view);
        }
        Ok(Some(view))
    }

    /// Saves `view` in the background (a full read of a mailbox costs far more than this
    /// write); only for mailboxes the cache would keep.
    fn save_view_later(&self, user: &ObjectId, mailbox: &ObjectId, view: &CachedView) {
        if view.rows.len() < MIN_CACHED_ROWS || view.rows.len() > self.views.max_rows {
            return;
        }
        let (store, user, mailbox, view) = (
            self.store.clone(),
            user.clone(),
            mailbox.clone(),
            view.clone(),
        );
        tokio::spawn(async move {
            let rows = view.rows.clone();
            let packed = match tokio::task::spawn_blocking(move || pack_view(&rows)).await {
                Ok(Some(p)) => p,
                _ => return,
            };
            let n = view.rows.len() as i64;
            match store
                .save_view(&user, &mailbox, view.modseq, n, &packed)
                .await
            {
                Ok(()) => tracing::info!(%mailbox, messages = n, modseq = view.modseq,
                    bytes = packed.len(), "mailbox view saved"),
                Err(e) => tracing::warn!(%mailbox, error = %e, "saving the mailbox view failed"),
            }
        });
    }

    /// The cached view brought up to date through the journal; `None` when there is none
    /// or the journal asks for a full read.
    async fn update_cached(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
    ) -> Result<Option<CachedView>> {
        let Some(cached) = self.views.get(user, mailbox) else {
            return Ok(None);
        };
        let view = self.bring_up_to_date(user, mailbox, cached).await?;
        if let Some(view) = &view {
            self.views.put(user, mailbox, view.clone());
        }
        Ok(view)
    }

    /// `view` with the journal rows above its modseq applied; `None` when the journal
    /// asks for a full read.
    async fn bring_up_to_date(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        cached: CachedView,
    ) -> Result<Option<CachedView>> {
        let journal = self
            .store
            .mailbox_journal_since(user, mailbox, cached.modseq, JOURNAL_BATCH)
            .await?;
        let max_uid = cached.rows.last().map(|r| r.uid).unwrap_or(0);
        let (expunged, changed, added, modseq) = match plan(&journal, max_uid, cached.modseq) {
            Plan::Current => return Ok(Some(cached)),
            Plan::Reload => return Ok(None),
            Plan::Apply {
                expunged,
                changed,
                added,
                modseq,
            } => (expunged, changed, added, modseq),
        };
        let mut current = if changed.is_empty() {
            Vec::new()
        } else {
            self.store.view_rows(user, mailbox, &changed).await?
        };
        if added {
            current.extend(
                self.store
                    .mailbox_view_after(user, mailbox, max_uid)
                    .await?,
            );
        }
        let mut rows = cached.rows.as_ref().clone();
        apply(&mut rows, &expunged, &changed, current);
        Ok(Some(CachedView {
            modseq,
            rows: Arc::new(rows),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_store::model::Flags;

    fn row(uid: i64, seen: bool, modseq: i64) -> ViewRow {
        ViewRow {
            uid,
            modseq,
            flags: Flags {
                seen,
                ..Flags::default()
            },
            size: 10,
            idate: 0,
        }
    }

    fn journal(command: &str, uid: i64, modseq: Option<i64>) -> JournalEntry {
        JournalEntry {
            id: 0,
            mailbox: None,
            command: command.into(),
            uid: Some(uid),
            modseq,
        }
    }

    #[test]
    fn plan_reads_only_what_the_journal_names() {
        assert_eq!(plan(&[], 10, 5), Plan::Current);
        let rows = [
            journal("FETCH", 3, Some(6)),
            journal("EXPUNGE", 4, Some(7)),
            journal("FETCH", 4, Some(8)),
            journal("EXISTS", 11, Some(9)),
            journal("EXISTS", 9, Some(9)),
        ];
        assert_eq!(
            plan(&rows, 10, 5),
            Plan::Apply {
                expunged: vec![4],
                changed: vec![3],
                added: true,
                modseq: 9
            }
        );
        assert_eq!(plan(&[journal("DELETE", 0, None)], 10, 5), Plan::Reload);
        let many: Vec<_> = (0..JOURNAL_BATCH)
            .map(|i| journal("FETCH", 1, Some(6 + i)))
            .collect();
        assert_eq!(plan(&many, 10, 5), Plan::Reload);
    }

    #[test]
    fn apply_updates_removes_and_appends() {
        let mut rows = vec![row(1, false, 1), row(2, false, 1), row(3, false, 1)];
        apply(
            &mut rows,
            &[1],
            &[2, 3],
            vec![row(3, true, 5), row(5, false, 6), row(4, false, 6)],
        );
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.uid, r.flags.seen, r.modseq))
            .collect();
        // 2 was re-read but is gone; 3 changed; 4 and 5 are new, in UID order.
        assert_eq!(got, vec![(3, true, 5), (4, false, 6), (5, false, 6)]);
    }

    fn view(n: usize, modseq: i64) -> CachedView {
        CachedView {
            modseq,
            rows: Arc::new((1..=n as i64).map(|u| row(u, false, 1)).collect()),
        }
    }

    #[test]
    fn cache_is_bounded_and_keeps_the_newest() {
        let cache = ViewCache::new(5000);
        let user = ObjectId::new();
        let (a, b, c) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
        cache.put(&user, &a, view(2000, 3));
        cache.put(&user, &b, view(2000, 3));
        assert!(cache.get(&user, &a).is_some()); // a is now more recent than b
        cache.put(&user, &c, view(2000, 3));
        assert_eq!(cache.total_rows(), 4000);
        assert!(
            cache.get(&user, &b).is_none(),
            "least recently used goes first"
        );
        assert!(cache.get(&user, &a).is_some() && cache.get(&user, &c).is_some());
        // An older view does not replace a newer one.
        cache.put(&user, &a, view(1500, 2));
        assert_eq!(cache.get(&user, &a).map(|v| v.modseq), Some(3));
        cache.put(&user, &a, view(1500, 4));
        assert_eq!(cache.total_rows(), 3500);
        // Too small or too big: not kept.
        cache.put(&user, &a, view(10, 5));
        assert!(cache.get(&user, &a).is_none());
        cache.put(&user, &b, view(6000, 5));
        assert!(cache.get(&user, &b).is_none());
        assert_eq!(cache.total_rows(), 2000);
        cache.remove(&user, &c);
        assert_eq!(cache.total_rows(), 0);
    }
}
