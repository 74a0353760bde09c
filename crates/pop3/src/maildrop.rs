//! The maildrop of a POP3 session: the newest messages of INBOX as they were at login
//! (RFC 1939 fixes the list for the session), numbered from 1, with the session's deletion
//! marks and which messages were retrieved.

use sealpost_core::{ObjectId, ViewRow};

/// One message of the maildrop.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub uid: i64,
    /// Octets of the stored message.
    pub size: u64,
    pub seen: bool,
    /// Marked by DELE; removed at QUIT.
    pub deleted: bool,
    /// Sent whole by RETR (flagged `\Seen` at QUIT).
    pub retrieved: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Maildrop {
    pub user: ObjectId,
    pub mailbox: ObjectId,
    pub uid_validity: i64,
    pub messages: Vec<Entry>,
}

impl Maildrop {
    /// The newest `max` messages of `rows` (a mailbox view, by UID), oldest first.
    pub fn new(
        user: ObjectId,
        mailbox: ObjectId,
        uid_validity: i64,
        rows: &[ViewRow],
        max: usize,
    ) -> Maildrop {
        let first = rows.len().saturating_sub(max);
        let messages = rows
            .get(first..)
            .unwrap_or_default()
            .iter()
            .map(|r| Entry {
                uid: r.uid,
                size: u64::try_from(r.size).unwrap_or(0),
                seen: r.flags.seen,
                deleted: false,
                retrieved: false,
            })
            .collect();
        Maildrop {
            user,
            mailbox,
            uid_validity,
            messages,
        }
    }

    /// The message numbered `n` unless it does not exist or is marked deleted.
    pub fn get(&self, n: u32) -> Option<&Entry> {
        let i = usize::try_from(n).ok()?.checked_sub(1)?;
        self.messages.get(i).filter(|e| !e.deleted)
    }

    pub fn get_mut(&mut self, n: u32) -> Option<&mut Entry> {
        let i = usize::try_from(n).ok()?.checked_sub(1)?;
        self.messages.get_mut(i).filter(|e| !e.deleted)
    }

    /// Whether the message numbered `n` exists and is marked deleted.
    pub fn is_deleted(&self, n: u32) -> bool {
        usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.messages.get(i))
            .is_some_and(|e| e.deleted)
    }

    /// Messages not marked deleted, with their numbers.
    pub fn live(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.deleted)
            .map(|(i, e)| (i + 1, e))
    }

    /// Count and total size of the messages not marked deleted.
    pub fn stat(&self) -> (usize, u64) {
        self.live()
            .fold((0, 0), |(n, size), (_, e)| (n + 1, size + e.size))
    }

    /// The unique-id of a message: stable across sessions while INBOX keeps its
    /// UIDVALIDITY (RFC 1939 section 7: 1 to 70 characters in 0x21..0x7E).
    pub fn unique_id(&self, entry: &Entry) -> String {
        format!("{}-{}", self.uid_validity, entry.uid)
    }

    pub fn reset(&mut self) {
        for e in &mut self.messages {
            e.deleted = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_core::Flags;

    fn row(uid: i64, size: i64) -> ViewRow {
        ViewRow {
            uid,
            modseq: 1,
            flags: Flags::default(),
            size,
            idate: 0,
        }
    }

    #[test]
    fn newest_messages_numbered_from_one() {
        let rows: Vec<_> = (1..=5).map(|u| row(u * 10, u)).collect();
        let mut m = Maildrop::new(ObjectId::new(), ObjectId::new(), 7, &rows, 3);
        assert_eq!(
            m.messages.iter().map(|e| e.uid).collect::<Vec<_>>(),
            [30, 40, 50]
        );
        assert_eq!(m.stat(), (3, 12));
        assert!(m.get(0).is_none() && m.get(4).is_none());
        assert_eq!(m.get(1).map(|e| m.unique_id(e)), Some("7-30".into()));
        if let Some(e) = m.get_mut(2) {
            e.deleted = true;
        }
        assert!(m.get(2).is_none() && m.is_deleted(2) && !m.is_deleted(1));
        assert_eq!(m.stat(), (2, 8));
        assert_eq!(m.live().map(|(n, _)| n).collect::<Vec<_>>(), [1, 3]);
        m.reset();
        assert_eq!(m.stat(), (3, 12));
        let all = Maildrop::new(ObjectId::new(), ObjectId::new(), 7, &rows, 250);
        assert_eq!(all.messages.len(), 5);
    }
}
