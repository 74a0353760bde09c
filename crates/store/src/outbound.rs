//! The outbound queue: mail waiting for the relay, claimed by one sender at a time through a
//! lease (`locked_until`), so several nodes sharing one PostgreSQL never send a row twice at
//! once (PostgreSQL also skips rows another node is claiming: `FOR UPDATE SKIP LOCKED`;
//! SQLite has a single writer).

use crate::db::{by_engine, read, write_tx};
use crate::model::*;
use crate::rows::{self, Cols};
use crate::{Error, Result, Store};

/// A row to queue.
#[derive(Debug, Clone)]
pub struct NewOutbound {
    pub id: ObjectId,
    pub user: Option<ObjectId>,
    /// What made it: "forward", "autoreply", ...
    pub kind: String,
    /// Envelope sender; "" is the null sender `<>`.
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    pub created: Millis,
    pub next_attempt: Millis,
}

/// A claimed row, leased to the caller until `locked_until`.
#[derive(Debug, Clone)]
pub struct OutboundRow {
    pub id: ObjectId,
    pub user: Option<ObjectId>,
    pub kind: String,
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    /// Attempts including the one this claim is for.
    pub attempts: i64,
    pub created: Millis,
    pub last_error: Option<String>,
    /// The sender was already told that it is delayed.
    pub warned: bool,
}

/// How much waits in the queue, for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundDepth {
    /// Rows still to be sent (including those being sent now).
    pub queued: i64,
    /// Rows given up, kept for inspection.
    pub failed: i64,
    /// When the oldest queued row was created.
    pub oldest_queued: Option<Millis>,
}

/// A queue entry without its message, for inspection.
#[derive(Debug, Clone)]
pub struct OutboundSummary {
    pub id: ObjectId,
    pub kind: String,
    pub status: String,
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub attempts: i64,
    pub next_attempt: Millis,
    pub last_error: Option<String>,
}

fn recipients_json(r: &[String]) -> Result<String> {
    serde_json::to_string(r).map_err(|e| Error::Corrupt(e.to_string()))
}

fn parse_recipients(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("outbound recipients: {e}")))
}

impl Store {
    pub async fn insert_outbound(&self, new: &NewOutbound) -> Result<()> {
        let recipients = recipients_json(&new.recipients)?;
        write_tx!(self, tx => {
            sqlx::query("INSERT INTO outbound_queue (id, user_id, kind, mail_from, recipients, raw, size, status, attempts, created, next_attempt, locked_until) VALUES ($1,$2,$3,$4,$5,$6,$7,'queued',0,$8,$9,0)")
                .bind(new.id.as_str())
                .bind(new.user.as_ref().map(ObjectId::as_str))
                .bind(&new.kind)
                .bind(&new.mail_from)
                .bind(&recipients)
                .bind(&new.raw)
                .bind(new.raw.len() as i64)
                .bind(new.created)
                .bind(new.next_attempt)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Claims up to `limit` due rows (queued, `next_attempt <= now`, not leased) for
    /// `lease_ms`, counting the attempt.
    pub async fn claim_outbound(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboundRow>> {
        let lock = by_engine!(self, sqlite => "", postgres => " FOR UPDATE SKIP LOCKED");
        let sql = format!(
            "UPDATE outbound_queue SET locked_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbound_queue WHERE status = 'queued' AND next_attempt <= $2 \
             AND locked_until <= $2 ORDER BY next_attempt LIMIT $3{lock}) \
             RETURNING id, user_id, kind, mail_from, recipients, raw, attempts, created, last_error, warned"
        );
        let rows = write_tx!(self, tx => {
            sqlx::query(&sql)
                .bind(now + lease_ms)
                .bind(now)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|r| claimed(&r))
                .collect::<Vec<_>>()
        });
        rows.into_iter().collect()
    }

    /// Extends the lease of a row being sent (the sender is alive) until `until`.
    pub async fn extend_outbound_lease(&self, id: &ObjectId, until: Millis) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE outbound_queue SET locked_until = $2 WHERE id = $1 AND status = 'queued'")
                .bind(id.as_str())
                .bind(until)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Removes a row (sent, or nothing left to send).
    pub async fn delete_outbound(&self, id: &ObjectId) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM outbound_queue WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Puts a row back for another attempt at `next_attempt` with the recipients still to do.
    pub async fn reschedule_outbound(
        &self,
        id: &ObjectId,
        recipients: &[String],
        next_attempt: Millis,
        error: &str,
    ) -> Result<()> {
        let recipients = recipients_json(recipients)?;
        write_tx!(self, tx => {
            sqlx::query("UPDATE outbound_queue SET recipients = $2, next_attempt = $3, locked_until = 0, last_error = $4 WHERE id = $1")
                .bind(id.as_str())
                .bind(&recipients)
                .bind(next_attempt)
                .bind(error)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Gives a row up: kept as 'failed' with the recipients that failed and why, without
    /// its message (nothing will send it again).
    pub async fn fail_outbound(
        &self,
        id: &ObjectId,
        recipients: &[String],
        error: &str,
    ) -> Result<()> {
        let recipients = recipients_json(recipients)?;
        let empty: &[u8] = &[];
        write_tx!(self, tx => {
            sqlx::query("UPDATE outbound_queue SET status = 'failed', recipients = $2, last_error = $3, locked_until = 0, raw = $4 WHERE id = $1")
                .bind(id.as_str())
                .bind(&recipients)
                .bind(error)
                .bind(empty)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Records that the sender of a row was told it is delayed.
    pub async fn mark_outbound_warned(&self, id: &ObjectId) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE outbound_queue SET warned = TRUE WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// When the next queued row becomes due (a leased row: when its lease ends).
    pub async fn next_outbound_due(&self) -> Result<Option<Millis>> {
        let due: Option<i64> = read!(self, db => {
            sqlx::query_scalar("SELECT MIN(CASE WHEN locked_until > next_attempt THEN locked_until ELSE next_attempt END) FROM outbound_queue WHERE status = 'queued'")
                .fetch_one(db)
                .await?
        });
        Ok(due)
    }

    /// The number of queued and failed rows, and the age of the oldest queued one.
    pub async fn outbound_depth(&self) -> Result<OutboundDepth> {
        let rows: Vec<(String, i64, i64)> = read!(self, db => {
            sqlx::query_as("SELECT status, COUNT(*), MIN(created) FROM outbound_queue GROUP BY status")
                .fetch_all(db)
                .await?
        });
        let mut depth = OutboundDepth::default();
        for (status, count, oldest) in rows {
            match status.as_str() {
                "queued" => {
                    depth.queued = count;
                    depth.oldest_queued = Some(oldest);
                }
                "failed" => depth.failed = count,
                _ => {}
            }
        }
        Ok(depth)
    }

    /// Deletes failed rows created before `before`; returns how many.
    pub async fn purge_failed_outbound(&self, before: Millis) -> Result<u64> {
        let n = write_tx!(self, tx => {
            sqlx::query("DELETE FROM outbound_queue WHERE status = 'failed' AND created < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    /// The queue (without messages), oldest first, at most `limit` rows.
    pub async fn list_outbound(&self, limit: i64) -> Result<Vec<OutboundSummary>> {
        let rows = read!(self, db => {
            sqlx::query("SELECT id, kind, status, mail_from, recipients, attempts, next_attempt, last_error FROM outbound_queue ORDER BY created, id LIMIT $1")
                .bind(limit)
                .fetch_all(db)
                .await?
                .into_iter()
                .map(|r| summary(&r))
                .collect::<Vec<_>>()
        });
        rows.into_iter().collect()
    }
}

/// The message bytes of a row, on either engine.
trait RawCol: Cols {
    fn bytes(&self, c: &str) -> Result<Vec<u8>>;
}

impl RawCol for sqlx::sqlite::SqliteRow {
    fn bytes(&self, c: &str) -> Result<Vec<u8>> {
        Ok(sqlx::Row::try_get(self, c)?)
    }
}

impl RawCol for sqlx::postgres::PgRow {
    fn bytes(&self, c: &str) -> Result<Vec<u8>> {
        Ok(sqlx::Row::try_get(self, c)?)
    }
}

fn claimed(r: &impl RawCol) -> Result<OutboundRow> {
    Ok(OutboundRow {
        id: rows::id(r, "id")?,
        user: r.opt_string("user_id")?.map(ObjectId::from_stored),
        kind: r.string("kind")?,
        mail_from: r.string("mail_from")?,
        recipients: parse_recipients(&r.string("recipients")?)?,
        raw: r.bytes("raw")?,
        attempts: r.i64("attempts")?,
        created: r.i64("created")?,
        last_error: r.opt_string("last_error")?,
        warned: r.boolean("warned")?,
    })
}

fn summary(r: &impl Cols) -> Result<OutboundSummary> {
    Ok(OutboundSummary {
        id: rows::id(r, "id")?,
        kind: r.string("kind")?,
        status: r.string("status")?,
        mail_from: r.string("mail_from")?,
        recipients: parse_recipients(&r.string("recipients")?)?,
        attempts: r.i64("attempts")?,
        next_attempt: r.i64("next_attempt")?,
        last_error: r.opt_string("last_error")?,
    })
}
