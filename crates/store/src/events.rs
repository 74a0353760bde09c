//! Message events: the timeline of one stored message (STORE, FILTER, FORWARD, ...), kept
//! with the message row (deleted with it) and bounded per message.

use crate::db::{read, write_tx};
use crate::model::ObjectId;
use crate::rows::Cols;
use crate::{Result, Store};

/// One stored event. `data` is a JSON object of the event's other fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub id: i64,
    pub action: String,
    pub data: String,
    /// Unix milliseconds.
    pub created: i64,
}

impl Store {
    /// The database row id of a message, by its mailbox and UID; `None` when not found.
    pub async fn message_row(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
    ) -> Result<Option<i64>> {
        read!(self, db => {
            let row = sqlx::query("SELECT id FROM messages WHERE user_id = $1 AND mailbox_id = $2 AND uid = $3")
                .bind(user.as_str())
                .bind(mailbox.as_str())
                .bind(uid)
                .fetch_optional(db)
                .await?;
            row.map(|r| r.i64("id")).transpose()
        })
    }

    /// Appends an event to the message `(mailbox, uid)` of `user`, keeping at most `keep` events
    /// per message (the oldest go). False when the message does not exist.
    pub async fn insert_event(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
        action: &str,
        data: &str,
        keep: i64,
    ) -> Result<bool> {
        let now = crate::now_ms();
        let ok = write_tx!(self, tx => {
            let row = sqlx::query("SELECT id FROM messages WHERE user_id = $1 AND mailbox_id = $2 AND uid = $3")
                .bind(user.as_str())
                .bind(mailbox.as_str())
                .bind(uid)
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                None => false,
                Some(r) => {
                    let message = r.i64("id")?;
                    sqlx::query("INSERT INTO message_events (message_id, action, data, created) VALUES ($1, $2, $3, $4)")
                        .bind(message)
                        .bind(action)
                        .bind(data)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "DELETE FROM message_events WHERE message_id = $1 AND id <= \
                         (SELECT id FROM message_events WHERE message_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
                    )
                    .bind(message)
                    .bind(keep.max(1))
                    .execute(&mut *tx)
                    .await?;
                    true
                }
            }
        });
        Ok(ok)
    }

    /// The events of a message row, oldest first.
    pub async fn list_events(&self, message: i64) -> Result<Vec<EventRecord>> {
        read!(self, db => {
            sqlx::query("SELECT id, action, data, created FROM message_events WHERE message_id = $1 ORDER BY id")
                .bind(message)
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| {
                    Ok(EventRecord {
                        id: r.i64("id")?,
                        action: r.string("action")?,
                        data: r.string("data")?,
                        created: r.i64("created")?,
                    })
                })
                .collect()
        })
    }
}
