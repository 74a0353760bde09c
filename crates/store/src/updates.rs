//! The user-wide read of the change journal that the event stream (`/users/{user}/updates`)
//! follows: rows by journal id, with their data and creation time (index `journal_user`).

use crate::db::read;
use crate::model::*;
use crate::rows::Cols;
use crate::{Result, Store};

/// One journal row with everything an event needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEvent {
    pub id: i64,
    pub mailbox: Option<ObjectId>,
    pub command: String,
    pub uid: Option<i64>,
    pub modseq: Option<i64>,
    /// JSON written with the row (new flags, mailbox path, ...), when any.
    pub data: Option<String>,
    pub created: Millis,
}

impl Store {
    /// The id of the user's newest journal row (0 when there is none).
    pub async fn user_journal_head(&self, user: &ObjectId) -> Result<i64> {
        read!(self, db => {
            sqlx::query("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS n FROM journal WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_one(db)
                .await?
                .i64("n")
        })
    }

    /// The user's journal rows with an id above `after`, by id, at most `limit`.
    pub async fn user_journal_after(
        &self,
        user: &ObjectId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<JournalEvent>> {
        let sql = format!(
            "SELECT id, mailbox_id, command, uid, modseq, data, created FROM journal \
             WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT {}",
            limit.max(1)
        );
        read!(self, db => {
            sqlx::query(&sql)
                .bind(user.as_str())
                .bind(after)
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| {
                    Ok(JournalEvent {
                        id: r.i64("id")?,
                        mailbox: r.opt_string("mailbox_id")?.map(ObjectId::from_stored),
                        command: r.string("command")?,
                        uid: r.opt_i64("uid")?,
                        modseq: r.opt_i64("modseq")?,
                        data: r.opt_string("data")?,
                        created: r.i64("created")?,
                    })
                })
                .collect()
        })
    }
}
