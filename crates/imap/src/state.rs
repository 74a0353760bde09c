//! The selected mailbox as one session knows it: messages in sequence-number order (UIDs
//! ascending) with their flags, the mapping between sequence numbers and UIDs, and the
//! reconciliation with the stored state that turns other sessions' changes into untagged
//! FETCH, EXPUNGE and EXISTS responses.
//!
//! Expunges are delivered only where RFC 3501 §7.4.1 allows them: a message expunged
//! elsewhere stays in the snapshot, marked `expunged`, keeping its sequence number, until the
//! session reaches a point where `EXPUNGE` may be sent (not during FETCH, STORE or SEARCH by
//! sequence number).

use sealpost_core::{Flags, ObjectId, ViewRow};
use sealpost_imap_proto::{Data, FetchItem, Flag, SequenceSet};

/// One message of the snapshot.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub uid: u32,
    pub flags: Flags,
    pub modseq: i64,
    pub size: i64,
    pub idate: i64,
    /// Gone from the store; its EXPUNGE is still to be sent.
    pub expunged: bool,
}

/// The selected mailbox.
#[derive(Debug, Clone)]
pub(crate) struct Selected {
    pub id: ObjectId,
    pub read_only: bool,
    /// Sequence number `n` is `messages[n - 1]`; UIDs ascending.
    pub messages: Vec<Entry>,
    /// CONDSTORE is enabled: untagged FETCH responses carry MODSEQ (RFC 7162 3.1).
    pub condstore: bool,
    /// QRESYNC is enabled: expunges are sent as VANISHED, not EXPUNGE (RFC 7162 3.2.10).
    pub qresync: bool,
    /// The highest modseq of the mailbox that the client has been told about (or a lower
    /// one): what HIGHESTMODSEQ reports after SELECT.
    pub highest_modseq: i64,
    /// SEARCHRES (RFC 5182): the UIDs saved by the last `SEARCH RETURN (SAVE)`, ascending.
    /// Kept as UIDs so that `$` still names the same messages after expunges; reset with
    /// the selection (SELECT, EXAMINE, CLOSE, UNSELECT make a new `Selected` or none).
    pub saved: Vec<u32>,
    /// The mailbox modseq up to which its journal has been taken into account: the next
    /// refresh reads the journal rows above it (see `Session::refresh`).
    pub journal_modseq: i64,
    /// When the journal read that `journal_modseq` reflects started (`None`: not read since
    /// SELECT); see `Session::refresh` for when a refresh may go without one.
    pub journal_read: Option<std::time::Instant>,
    /// Some message is marked `expunged` (so that a command boundary with nothing to
    /// remove does not walk a big mailbox looking for one).
    expunges_pending: bool,
    /// The keywords announced to the client in `* FLAGS` (RFC 3501 7.2.6): a FETCH that
    /// shows another one is preceded by a new `* FLAGS` and `PERMANENTFLAGS`.
    pub keywords: std::collections::BTreeSet<String>,
}

fn uid32(uid: i64) -> Option<u32> {
    u32::try_from(uid).ok()
}

fn entry(row: ViewRow) -> Option<Entry> {
    Some(Entry {
        uid: uid32(row.uid)?,
        flags: row.flags,
        modseq: row.modseq,
        size: row.size,
        idate: row.idate,
        expunged: false,
    })
}

/// Flags as IMAP lists them.
pub(crate) fn flag_list(f: &Flags) -> Vec<Flag> {
    let mut out = Vec::with_capacity(5 + f.keywords.len());
    for (set, flag) in [
        (f.answered, Flag::Answered),
        (f.flagged, Flag::Flagged),
        (f.deleted, Flag::Deleted),
        (f.seen, Flag::Seen),
        (f.draft, Flag::Draft),
    ] {
        if set {
            out.push(flag);
        }
    }
    out.extend(f.keywords.iter().map(|k| Flag::Keyword(k.clone())));
    out
}

/// Takes the stored state `r` of the message at index `i` and returns the FETCH that tells
/// the client, if its flags changed (nothing for a message whose EXPUNGE is pending).
/// With CONDSTORE enabled the FETCH carries MODSEQ (RFC 7162 3.1).
fn update_entry(i: usize, m: &mut Entry, r: Entry, condstore: bool) -> Option<Data> {
    if m.expunged {
        return None;
    }
    if r.flags == m.flags {
        // A change that IMAP does not show (REST expiry) still moves the modseq that FETCH
        // MODSEQ and CHANGEDSINCE use.
        m.modseq = r.modseq;
        return None;
    }
    m.flags = r.flags;
    m.modseq = r.modseq;
    let mut items = vec![FetchItem::Uid(m.uid), FetchItem::Flags(flag_list(&m.flags))];
    if condstore {
        items.push(FetchItem::ModSeq(u64::try_from(m.modseq).unwrap_or(0)));
    }
    Some(Data::Fetch {
        seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
        items,
    })
}

impl Selected {
    pub fn new(id: ObjectId, read_only: bool, view: Vec<ViewRow>) -> Self {
        let messages: Vec<Entry> = view.into_iter().filter_map(entry).collect();
        let keywords = messages
            .iter()
            .flat_map(|m| m.flags.keywords.iter().cloned())
            .collect();
        Selected {
            id,
            read_only,
            keywords,
            messages,
            condstore: false,
            qresync: false,
            highest_modseq: 0,
            saved: Vec::new(),
            journal_modseq: 0,
            journal_read: None,
            expunges_pending: false,
        }
    }

    /// Number of messages (`EXISTS`), pending expunges included.
    pub fn exists(&self) -> u32 {
        u32::try_from(self.messages.len()).unwrap_or(u32::MAX)
    }

    pub fn max_uid(&self) -> u32 {
        self.messages.last().map(|m| m.uid).unwrap_or(0)
    }

    /// Index of the message with `uid`.
    pub fn index_of(&self, uid: u32) -> Option<usize> {
        self.messages.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// Indexes (sequence number − 1) named by a set of sequence numbers or UIDs, ascending
    /// and without duplicates. Numbers that name no message are left out. Overlapping ranges
    /// are merged first, so the work is bounded by the mailbox size, not by the ranges.
    /// `$` stands for the saved search result (the same messages whether `uid` or not);
    /// saved messages expunged since are left out.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<usize> {
        let len = self.messages.len();
        let mut spans: Vec<(usize, usize)> = if uid {
            set.ranges(self.max_uid())
                .map(|(lo, hi)| {
                    let start = self.messages.partition_point(|m| m.uid < lo);
                    let end = self.messages.partition_point(|m| m.uid <= hi);
                    (start, end.max(start))
                })
                .collect()
        } else {
            set.ranges(self.exists())
                .map(|(lo, hi)| {
                    let lo = usize::try_from(lo).unwrap_or(usize::MAX).max(1);
                    let hi = usize::try_from(hi).unwrap_or(usize::MAX).min(len);
                    (lo - 1, hi.max(lo - 1))
                })
                .collect()
        };
        if set.uses_saved_result() {
            spans.extend(
                self.saved
                    .iter()
                    .filter_map(|&u| self.index_of(u))
                    .map(|i| (i, i + 1)),
            );
        }
        spans.sort_unstable();
        let mut out = Vec::new();
        let mut covered = 0usize;
        for (start, end) in spans {
            let start = start.max(covered);
            if start < end {
                out.extend(start..end);
                covered = end;
            }
        }
        out
    }

    /// The first unseen message's sequence number.
    pub fn first_unseen(&self) -> Option<u32> {
        let i = self.messages.iter().position(|m| !m.flags.seen)?;
        u32::try_from(i + 1).ok()
    }

    /// Brings the snapshot up to date with `view` (the stored state, by UID) and returns
    /// the untagged responses that tell the client: FETCH for flag changes, then EXPUNGE
    /// (only when `allow_expunge`; highest sequence number first), then EXISTS.
    pub fn reconcile(&mut self, view: Vec<ViewRow>, allow_expunge: bool) -> Vec<Data> {
        let mut out = Vec::new();
        let max_known = self.max_uid();
        let condstore = self.condstore;
        let mut rows = view.into_iter().filter_map(entry).peekable();
        for (i, m) in self.messages.iter_mut().enumerate() {
            while rows.next_if(|r| r.uid < m.uid).is_some() {}
            match rows.next_if(|r| r.uid == m.uid) {
                Some(r) => {
                    if let Some(update) = update_entry(i, m, r, condstore) {
                        out.push(update);
                    }
                }
                None => {
                    m.expunged = true;
                    self.expunges_pending = true;
                }
            }
        }
        if allow_expunge {
            out.extend(self.take_expunges());
        }
        let before = self.messages.len();
        self.messages
            .extend(rows.filter(|r| r.uid > max_known && !r.expunged));
        if self.messages.len() != before {
            out.push(Data::Exists(self.exists()));
        }
        out
    }

    /// Applies a few known changes (rather than a whole view): `expunged` UIDs, and the
    /// current rows of changed or new messages (UID order). Responses as for
    /// [`Selected::reconcile`]: FETCH, then EXPUNGE (only when `allow_expunge`), then EXISTS.
    pub fn apply_changes(
        &mut self,
        expunged: &[i64],
        rows: Vec<ViewRow>,
        allow_expunge: bool,
    ) -> Vec<Data> {
        let mut out = Vec::new();
        let max_known = self.max_uid();
        let condstore = self.condstore;
        let mut added = Vec::new();
        for r in rows.into_iter().filter_map(entry) {
            if r.uid > max_known {
                added.push(r);
            } else if let Some(i) = self.index_of(r.uid)
                && let Some(m) = self.messages.get_mut(i)
                && let Some(update) = update_entry(i, m, r, condstore)
            {
                out.push(update);
            }
        }
        self.mark_expunged(expunged);
        if allow_expunge {
            out.extend(self.take_expunges());
        }
        added.sort_unstable_by_key(|m| m.uid);
        added.dedup_by_key(|m| m.uid);
        if !added.is_empty() {
            self.messages.extend(added);
            out.push(Data::Exists(self.exists()));
        }
        out
    }

    /// Removes the expunged messages and returns their EXPUNGE responses, highest sequence
    /// number first (so that each number is valid when the client reads it).
    /// With QRESYNC enabled, one `VANISHED` with their UIDs instead.
    pub fn take_expunges(&mut self) -> Vec<Data> {
        if !std::mem::take(&mut self.expunges_pending) {
            return Vec::new();
        }
        if self.qresync {
            let uids = self.messages.iter().filter(|m| m.expunged).map(|m| m.uid);
            let Some(uids) = SequenceSet::from_ids(uids) else {
                return Vec::new();
            };
            self.messages.retain(|m| !m.expunged);
            return vec![Data::Vanished {
                earlier: false,
                uids,
            }];
        }
        let out: Vec<Data> = self
            .messages
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, m)| m.expunged)
            .map(|(i, _)| Data::Expunge(u32::try_from(i + 1).unwrap_or(u32::MAX)))
            .collect();
        if !out.is_empty() {
            self.messages.retain(|m| !m.expunged);
        }
        out
    }

    /// Marks messages expunged by this session (they are removed at the next allowed point).
    pub fn mark_expunged(&mut self, uids: &[i64]) {
        for uid in uids.iter().filter_map(|u| uid32(*u)) {
            if let Some(i) = self.index_of(uid)
                && let Some(m) = self.messages.get_mut(i)
            {
                m.expunged = true;
                self.expunges_pending = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_imap_proto::{SeqBound, Sequence};

    fn row(uid: i64, seen: bool) -> ViewRow {
        ViewRow {
            uid,
            modseq: 1,
            flags: Flags {
                seen,
                ..Flags::default()
            },
            size: 10,
            idate: 0,
        }
    }

    fn selected(uids: &[i64]) -> Selected {
        Selected::new(
            ObjectId::new(),
            false,
            uids.iter().map(|u| row(*u, false)).collect(),
        )
    }

    #[test]
    fn resolves_sequence_numbers_and_uids() {
        let s = selected(&[3, 5, 9]);
        let all = SequenceSet(vec![Sequence::Range(SeqBound::Value(1), SeqBound::Largest)]);
        assert_eq!(s.resolve(&all, false), vec![0, 1, 2]);
        assert_eq!(s.resolve(&all, true), vec![0, 1, 2]);
        assert_eq!(s.resolve(&SequenceSet::range(4, 9), true), vec![1, 2]);
        assert_eq!(
            s.resolve(&SequenceSet::single(7), false),
            Vec::<usize>::new()
        );
        // "10:*" with largest UID 9 still names the last message (RFC 3501 6.4.8).
        let tail = SequenceSet(vec![Sequence::Range(
            SeqBound::Value(10),
            SeqBound::Largest,
        )]);
        assert_eq!(s.resolve(&tail, true), vec![2]);
    }

    #[test]
    fn resolves_saved_result_by_uid() {
        let mut s = selected(&[3, 5, 9, 12]);
        let dollar = SequenceSet(vec![Sequence::SavedResult]);
        assert_eq!(s.resolve(&dollar, false), Vec::<usize>::new());
        s.saved = vec![5, 12, 40];
        assert_eq!(s.resolve(&dollar, false), vec![1, 3]);
        assert_eq!(s.resolve(&dollar, true), vec![1, 3]);
        // "$" mixed with ranges, overlaps merged.
        let mixed = SequenceSet(vec![
            Sequence::SavedResult,
            Sequence::Range(SeqBound::Value(1), SeqBound::Value(2)),
        ]);
        assert_eq!(s.resolve(&mixed, false), vec![0, 1, 3]);
        // After UID 5 is expunged, "$" names only UID 12 (now sequence number 3).
        s.mark_expunged(&[5]);
        s.take_expunges();
        assert_eq!(s.resolve(&dollar, false), vec![2]);
    }

    #[test]
    fn apply_changes_orders_fetch_expunge_exists() {
        let mut s = selected(&[3, 5, 9]);
        // UID 9 seen, UID 5 expunged, UID 12 new (twice: rows may repeat), UID 4 unknown.
        let out = s.apply_changes(
            &[5, 7],
            vec![row(4, true), row(9, true), row(12, false), row(12, false)],
            false,
        );
        assert_eq!(
            out,
            vec![
                Data::Fetch {
                    seq: 3,
                    items: vec![FetchItem::Uid(9), FetchItem::Flags(vec![Flag::Seen])]
                },
                Data::Exists(4)
            ]
        );
        // Applying the same rows again changes nothing; the expunge waits for its turn.
        assert_eq!(s.apply_changes(&[5], vec![row(9, true)], false), vec![]);
        assert_eq!(s.apply_changes(&[], vec![], true), vec![Data::Expunge(2)]);
        assert_eq!(
            s.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
            vec![3, 9, 12]
        );
    }

    #[test]
    fn reconcile_orders_fetch_expunge_exists() {
        let mut s = selected(&[3, 5, 9]);
        let out = s.reconcile(vec![row(3, true), row(9, false), row(12, false)], false);
        assert_eq!(
            out,
            vec![
                Data::Fetch {
                    seq: 1,
                    items: vec![FetchItem::Uid(3), FetchItem::Flags(vec![Flag::Seen])]
                },
                Data::Exists(4)
            ]
        );
        // UID 5 is kept (expunge not allowed) until an allowed point.
        assert_eq!(s.messages.len(), 4);
        let out = s.reconcile(vec![row(3, true), row(9, false), row(12, false)], true);
        assert_eq!(out, vec![Data::Expunge(2)]);
        assert_eq!(
            s.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
            vec![3, 9, 12]
        );
    }

    #[test]
    fn condstore_and_qresync_updates() {
        let mut s = selected(&[3, 5, 9]);
        s.condstore = true;
        s.qresync = true;
        let mut changed = row(9, true);
        changed.modseq = 7;
        let out = s.reconcile(vec![row(3, false), changed], true);
        assert_eq!(
            out,
            vec![
                Data::Fetch {
                    seq: 3,
                    items: vec![
                        FetchItem::Uid(9),
                        FetchItem::Flags(vec![Flag::Seen]),
                        FetchItem::ModSeq(7)
                    ]
                },
                Data::Vanished {
                    earlier: false,
                    uids: SequenceSet::single(5)
                }
            ]
        );
        // A modseq change without a flag change is kept, silently.
        let mut moved = row(3, false);
        moved.modseq = 8;
        let mut same = row(9, true);
        same.modseq = 7;
        assert!(s.reconcile(vec![moved, same], true).is_empty());
        assert_eq!(s.messages.first().map(|m| m.modseq), Some(8));
    }
}
