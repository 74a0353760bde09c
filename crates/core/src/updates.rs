//! What the event stream (`/users/{user}/updates`) reads: the user's change journal by id.

use crate::{Core, Result};
use sealpost_store::JournalEvent;
use sealpost_store::model::ObjectId;

/// Journal rows read at once by a stream.
pub const MAX_EVENTS: i64 = 500;

impl Core {
    /// The id of the user's newest journal row (0 when none): a new stream starts there.
    pub async fn journal_head(&self, user: &ObjectId) -> Result<i64> {
        Ok(self.store.user_journal_head(user).await?)
    }

    /// The user's journal rows after id `after`, oldest first, at most `limit` (capped at
    /// [`MAX_EVENTS`]).
    pub async fn journal_events_after(
        &self,
        user: &ObjectId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<JournalEvent>> {
        Ok(self
            .store
            .user_journal_after(user, after, limit.clamp(1, MAX_EVENTS))
            .await?)
    }
}
