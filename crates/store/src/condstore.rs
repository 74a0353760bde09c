//! What IMAP CONDSTORE and QRESYNC (RFC 7162) need beyond the mailbox view: flag stores
//! with the `UNCHANGEDSINCE` test, and the UIDs expunged from a mailbox after a modseq.
//!
//! Expunged UIDs come from the journal: every expunge (IMAP EXPUNGE, REST delete, the
//! source side of a move) writes an `EXPUNGE` row with the UID and the mailbox modseq of
//! that change, and journal rows are kept as long as their mailbox exists, so the answer is
//! exact rather than an approximation over `known-uids`.

use crate::db::read;
use crate::model::*;
use crate::rows::Cols;
use crate::view::{FlagOp, FlagsChanged, apply};
use crate::{Result, Store, UidSet};

/// Result of [`Store::store_flags_unchanged_since`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionalStore {
    /// Messages whose flags changed, with their new flags and modseq.
    pub changed: Vec<FlagsChanged>,
    /// UIDs left alone because their modseq was above the limit (`MODIFIED`).
    pub modified: Vec<i64>,
}

/// Expunged UIDs read at most per query (a bound on memory). Beyond it the caller falls
/// back to "every UID the client may know that is not in the mailbox", which is also a
/// correct `VANISHED (EARLIER)` answer, only a less tight one.
const MAX_EXPUNGED: i64 = 100_000;

impl Store {
    /// Changes the flags of the given messages (IMAP STORE) unless their modseq is above
    /// `unchanged_since`; see [`Store::change_messages_unchanged_since`].
    pub async fn store_flags_unchanged_since(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<i64>,
    ) -> Result<ConditionalStore> {
        let (changed, modified) = self
            .change_messages_unchanged_since(
                user,
                mailbox,
                &UidSet::List(uids.to_vec()),
                unchanged_since,
                |current, expires| (apply(op, current, flags), expires),
            )
            .await?;
        Ok(ConditionalStore { changed, modified })
    }

    /// UIDs expunged from the mailbox by changes with a modseq above `modseq`, ascending;
    /// `None` when there are more than [`MAX_EXPUNGED`] of them.
    pub async fn expunged_since(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        modseq: i64,
    ) -> Result<Option<Vec<i64>>> {
        let sql = format!(
            "SELECT uid FROM journal WHERE mailbox_id = $1 AND user_id = $2 AND command = 'EXPUNGE' \
             AND modseq > $3 AND uid IS NOT NULL LIMIT {}",
            MAX_EXPUNGED + 1
        );
        let mut uids: Vec<i64> = read!(self, db => {
            sqlx::query(&sql)
                .bind(mailbox.as_str())
                .bind(user.as_str())
                .bind(modseq)
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| r.i64("uid"))
                .collect::<Result<Vec<_>>>()?
        });
        if uids.len() as i64 > MAX_EXPUNGED {
            return Ok(None);
        }
        uids.sort_unstable();
        uids.dedup();
        Ok(Some(uids))
    }
}
