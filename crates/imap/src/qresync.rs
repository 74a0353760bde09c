//! The UIDs a QRESYNC client is told have vanished (`VANISHED (EARLIER)`, RFC 7162 3.2.5
//! and 3.2.6): those expunged after the client's modseq, within the UIDs it asks about,
//! and not still in the session's snapshot (those get a live EXPUNGE/VANISHED later, when
//! sequence numbers may change).

use crate::error::Result;
use crate::state::Selected;
use sealpost_core::{Core, ObjectId};
use sealpost_imap_proto::{SeqBound, Sequence, SequenceSet};

/// Sorted, non-overlapping, non-adjacent `(low, high)` UID ranges.
pub(crate) type Ranges = Vec<(u32, u32)>;

/// The ranges of `set` with `*` standing for `largest`, merged.
pub(crate) fn merge(set: &SequenceSet, largest: u32) -> Ranges {
    let mut spans: Vec<(u32, u32)> = set.ranges(largest).collect();
    spans.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(spans.len());
    for (lo, hi) in spans {
        match out.last_mut() {
            Some((_, end)) if lo <= end.saturating_add(1) => *end = (*end).max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Whether `uid` is in `ranges`.
pub(crate) fn contains(ranges: &Ranges, uid: u32) -> bool {
    let i = ranges.partition_point(|&(_, hi)| hi < uid);
    ranges.get(i).is_some_and(|&(lo, _)| lo <= uid)
}

/// `ranges` without the UIDs of the snapshot (pending expunges included): every UID the
/// client may know of that the session no longer has.
fn gaps(ranges: &Ranges, selected: &Selected) -> Ranges {
    let mut out = Vec::new();
    for &(lo, hi) in ranges {
        let start = selected.messages.partition_point(|m| m.uid < lo);
        let mut next = lo;
        for m in selected.messages.get(start..).unwrap_or_default() {
            if m.uid > hi {
                break;
            }
            if m.uid > next {
                out.push((next, m.uid - 1));
            }
            next = m.uid.saturating_add(1);
        }
        if next <= hi && !(next == u32::MAX && selected.index_of(u32::MAX).is_some()) {
            out.push((next, hi));
        }
    }
    out
}

/// The UIDs within `ranges` expunged after `modseq` and no longer in the snapshot, as a set
/// to send (`None` when there are none).
pub(crate) async fn vanished(
    core: &Core,
    user: &ObjectId,
    selected: &Selected,
    modseq: u64,
    ranges: &Ranges,
) -> Result<Option<SequenceSet>> {
    let since = i64::try_from(modseq).unwrap_or(i64::MAX);
    Ok(
        match core.expunged_since(user, &selected.id, since).await? {
            Some(uids) => SequenceSet::from_ids(
                uids.into_iter()
                    .filter_map(|u| u32::try_from(u).ok())
                    .filter(|&u| contains(ranges, u) && selected.index_of(u).is_none()),
            ),
            // Too many to list: every UID the client may know that is gone, which RFC 7162
            // allows (a client ignores UIDs it does not know).
            None => {
                let gaps = gaps(ranges, selected);
                (!gaps.is_empty()).then(|| {
                    SequenceSet(
                        gaps.into_iter()
                            .map(|(lo, hi)| {
                                Sequence::Range(SeqBound::Value(lo), SeqBound::Value(hi))
                            })
                            .collect(),
                    )
                })
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_core::{Flags, ViewRow};

    fn selected(uids: &[i64]) -> Selected {
        let rows = uids
            .iter()
            .map(|&uid| ViewRow {
                uid,
                modseq: 1,
                flags: Flags::default(),
                size: 1,
                idate: 0,
            })
            .collect();
        Selected::new(ObjectId::new(), false, rows)
    }

    #[test]
    fn merges_and_finds_gaps() {
        let set = SequenceSet(vec![
            Sequence::Range(SeqBound::Value(10), SeqBound::Largest),
            Sequence::Range(SeqBound::Value(1), SeqBound::Value(3)),
            Sequence::Range(SeqBound::Value(4), SeqBound::Value(5)),
        ]);
        let ranges = merge(&set, 20);
        assert_eq!(ranges, vec![(1, 5), (10, 20)]);
        assert!(contains(&ranges, 1) && contains(&ranges, 15) && contains(&ranges, 20));
        assert!(!contains(&ranges, 6) && !contains(&ranges, 21) && !contains(&ranges, 0));
        let s = selected(&[2, 3, 12, 20]);
        assert_eq!(gaps(&ranges, &s), vec![(1, 1), (4, 5), (10, 11), (13, 19)]);
        assert_eq!(gaps(&vec![(2, 3)], &s), Vec::<(u32, u32)>::new());
        assert_eq!(gaps(&vec![], &s), Vec::<(u32, u32)>::new());
    }
}
