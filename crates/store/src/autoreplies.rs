//! Autoreply settings (one per user) and the record of whom each user's autoreply answered
//! when, which allows one reply per sender per interval.

use crate::db::{read, write_tx};
use crate::model::*;
use crate::rows::Cols;
use crate::{Result, Store};

/// A user's autoreply setting as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoreplyRecord {
    pub status: bool,
    pub name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub start: Option<Millis>,
    pub end: Option<Millis>,
}

fn autoreply(r: &impl Cols) -> Result<AutoreplyRecord> {
    Ok(AutoreplyRecord {
        status: r.boolean("status")?,
        name: r.string("name")?,
        subject: r.string("subject")?,
        text: r.string("text_body")?,
        html: r.string("html_body")?,
        start: r.opt_i64("start_at")?,
        end: r.opt_i64("end_at")?,
    })
}

impl Store {
    pub async fn get_autoreply(&self, user: &ObjectId) -> Result<Option<AutoreplyRecord>> {
        let row = read!(self, db => {
            sqlx::query("SELECT status, name, subject, text_body, html_body, start_at, end_at FROM autoreplies WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| autoreply(&r))
        });
        row.transpose()
    }

    /// Writes the whole setting (insert or replace).
    pub async fn put_autoreply(&self, user: &ObjectId, a: &AutoreplyRecord) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("INSERT INTO autoreplies (user_id, status, name, subject, text_body, html_body, start_at, end_at, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) \
                ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, name = excluded.name, subject = excluded.subject, \
                text_body = excluded.text_body, html_body = excluded.html_body, start_at = excluded.start_at, end_at = excluded.end_at, updated = excluded.updated")
                .bind(user.as_str())
                .bind(a.status)
                .bind(&a.name)
                .bind(&a.subject)
                .bind(&a.text)
                .bind(&a.html)
                .bind(a.start)
                .bind(a.end)
                .bind(crate::now_ms())
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Removes the setting and the record of answered senders.
    pub async fn delete_autoreply(&self, user: &ObjectId) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM autoreplies WHERE user_id = $1")
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM autoreply_sent WHERE user_id = $1")
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Records that `user` answers `sender` at `now`, unless it already did after
    /// `now - interval_ms`: true when the caller may send the reply. Atomic on both engines.
    pub async fn claim_autoreply_slot(
        &self,
        user: &ObjectId,
        sender: &str,
        now: Millis,
        interval_ms: i64,
    ) -> Result<bool> {
        let claimed = write_tx!(self, tx => {
            sqlx::query_scalar::<_, i64>("INSERT INTO autoreply_sent (user_id, sender, sent) VALUES ($1, $2, $3) \
                ON CONFLICT (user_id, sender) DO UPDATE SET sent = excluded.sent WHERE autoreply_sent.sent <= $4 RETURNING sent")
                .bind(user.as_str())
                .bind(sender)
                .bind(now)
                .bind(now - interval_ms)
                .fetch_optional(&mut *tx)
                .await?
                .is_some()
        });
        Ok(claimed)
    }

    /// Forgets answered senders older than `before`; returns how many.
    pub async fn purge_autoreply_sent(&self, before: Millis) -> Result<u64> {
        let n = write_tx!(self, tx => {
            sqlx::query("DELETE FROM autoreply_sent WHERE sent < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}
