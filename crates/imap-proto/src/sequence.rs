//! Sequence sets (`1:*`, `2,4:7,9`, `$`): message sequence numbers or UIDs, parsed once at
//! the edge and written back in the same compact form.

use std::fmt;

/// One end of a range: a number or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqBound {
    /// A non-zero number.
    Value(u32),
    /// `*`: the largest sequence number or UID in the mailbox.
    Largest,
}

impl SeqBound {
    /// The number this bound stands for when the largest one in use is `largest`.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqBound::Value(v) => v,
            SeqBound::Largest => largest,
        }
    }
}

/// One element of a sequence set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sequence {
    /// `a:b` (in either order) or a single number when both ends are equal.
    Range(SeqBound, SeqBound),
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)` (SEARCHRES, RFC 5182).
    SavedResult,
}

/// A non-empty list of ranges as sent by the client (order and overlaps kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SequenceSet(pub Vec<Sequence>);

impl SequenceSet {
    /// The set holding exactly `value`.
    pub fn single(value: u32) -> Self {
        SequenceSet(vec![Sequence::Range(
            SeqBound::Value(value),
            SeqBound::Value(value),
        )])
    }

    /// The range `start:end`.
    pub fn range(start: u32, end: u32) -> Self {
        SequenceSet(vec![Sequence::Range(
            SeqBound::Value(start),
            SeqBound::Value(end),
        )])
    }

    /// The compact set of `ids` (any order, duplicates allowed), e.g. for APPENDUID, COPYUID
    /// and ESEARCH ALL. Returns `None` when `ids` is empty (an empty set cannot be written).
    pub fn from_ids(ids: impl IntoIterator<Item = u32>) -> Option<Self> {
        let mut ids: Vec<u32> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        let mut iter = ids.into_iter();
        let first = iter.next()?;
        let (mut start, mut end) = (first, first);
        for id in iter {
            if end.checked_add(1) == Some(id) {
                end = id;
            } else {
                out.push(Sequence::Range(
                    SeqBound::Value(start),
                    SeqBound::Value(end),
                ));
                start = id;
                end = id;
            }
        }
        out.push(Sequence::Range(
            SeqBound::Value(start),
            SeqBound::Value(end),
        ));
        Some(SequenceSet(out))
    }

    /// The set written in the given order, one element per id (for COPYUID, where source and
    /// destination UIDs correspond pairwise and must not be reordered).
    pub fn from_ordered_ids(ids: &[u32]) -> Option<Self> {
        if ids.is_empty() {
            return None;
        }
        let mut out: Vec<Sequence> = Vec::new();
        for &id in ids {
            if let Some(Sequence::Range(SeqBound::Value(s), SeqBound::Value(e))) = out.last_mut()
                && *s <= *e
                && e.checked_add(1) == Some(id)
            {
                *e = id;
                continue;
            }
            out.push(Sequence::Range(SeqBound::Value(id), SeqBound::Value(id)));
        }
        Some(SequenceSet(out))
    }

    /// Whether the set refers to the saved search result `$`.
    pub fn uses_saved_result(&self) -> bool {
        self.0.iter().any(|s| matches!(s, Sequence::SavedResult))
    }

    /// Whether `value` is in the set when `largest` is the number `*` stands for. `$` matches
    /// nothing here: the session substitutes the saved result first.
    pub fn contains(&self, value: u32, largest: u32) -> bool {
        self.ranges(largest).any(|(a, b)| a <= value && value <= b)
    }

    /// The ranges as ordered `(low, high)` pairs with `*` resolved; `$` is skipped.
    pub fn ranges(&self, largest: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.0.iter().filter_map(move |s| match *s {
            Sequence::Range(a, b) => {
                let (a, b) = (a.resolve(largest), b.resolve(largest));
                Some((a.min(b), a.max(b)))
            }
            Sequence::SavedResult => None,
        })
    }
}

impl fmt::Display for SeqBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqBound::Value(v) => write!(f, "{v}"),
            SeqBound::Largest => f.write_str("*"),
        }
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match s {
                Sequence::Range(a, b) if a == b => write!(f, "{a}")?,
                Sequence::Range(a, b) => write!(f, "{a}:{b}")?,
                Sequence::SavedResult => f.write_str("$")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_ids() {
        let set = SequenceSet::from_ids([5, 1, 2, 3, 9, 10, 3]).unwrap();
        assert_eq!(set.to_string(), "1:3,5,9:10");
        assert!(SequenceSet::from_ids([]).is_none());
        let ordered = SequenceSet::from_ordered_ids(&[7, 8, 9, 2, 3]).unwrap();
        assert_eq!(ordered.to_string(), "7:9,2:3");
    }

    #[test]
    fn resolves_star() {
        let set = SequenceSet(vec![Sequence::Range(SeqBound::Largest, SeqBound::Value(4))]);
        assert!(set.contains(4, 10));
        assert!(set.contains(10, 10));
        assert!(!set.contains(3, 10));
        assert_eq!(set.to_string(), "*:4");
    }
}
