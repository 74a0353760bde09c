//! What IMAP CONDSTORE and QRESYNC (RFC 7162) need from the store: conditional flag
//! stores (`UNCHANGEDSINCE`) and the UIDs expunged from a mailbox since a modseq.

use crate::messages::check_keywords;
use crate::{Core, Result};
use sealpost_store::model::*;
use sealpost_store::view::FlagOp;

pub use sealpost_store::condstore::ConditionalStore;

impl Core {
    /// Sets, adds or removes flags on the messages whose modseq is not above
    /// `unchanged_since` (all of them when `None`); the others are returned as modified.
    pub async fn store_flags_unchanged_since(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<i64>,
    ) -> Result<ConditionalStore> {
        check_keywords(&flags.keywords)?;
        let outcome = self
            .store
            .store_flags_unchanged_since(user, mailbox, uids, op, flags, unchanged_since)
            .await?;
        if !outcome.changed.is_empty() {
            self.notify_change(user);
        }
        Ok(outcome)
    }

    /// UIDs expunged from the mailbox after `modseq`, ascending; `None` when too many to
    /// list (the caller then reports every UID that is no longer there).
    pub async fn expunged_since(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        modseq: i64,
    ) -> Result<Option<Vec<i64>>> {
        Ok(self.store.expunged_since(user, mailbox, modseq).await?)
    }
}
