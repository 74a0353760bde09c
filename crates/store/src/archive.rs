//! The archive of deleted messages and the purge of what is due: listing, reading and
//! restoring archived messages, deleting messages whose retention or expiry has passed, and
//! archive entries whose time is up.
//!
//! A message enters the archive in the transaction that deletes it (`delete_matching` in
//! `messages.rs`, with [`ARCHIVE_ROW`]); its archive row takes over the message row's blob
//! reference, so the raw message and its parsed index stay until the entry is purged or
//! restored. Archived messages count against no quota and are in no mailbox.

use crate::db::{Seek, by_engine, read, write_tx};
use crate::insert::{list, values};
use crate::mailboxes::journal;
use crate::messages::{Direction, text};
use crate::model::*;
use crate::rows::{self, Cols};
use crate::{Result, Store};
use std::collections::HashMap;

/// Rows per multi-row statement.
const CHUNK: usize = 100;

/// Copies message row `$1` into the archive as entry `$2`, archived at `$3`, due at `$4`.
pub(crate) const ARCHIVE_ROW: &str = "INSERT INTO archived (id, user_id, mailbox_id, uid, modseq, thread_id, blob, size, \
    idate, hdate, subject, from_name, from_address, message_id, intro, has_attachments, seen, answered, flagged, deleted, \
    draft, keywords, archived, expires) SELECT $2, user_id, mailbox_id, uid, modseq, thread_id, blob, size, idate, hdate, \
    subject, from_name, from_address, message_id, intro, has_attachments, seen, answered, flagged, deleted, draft, \
    keywords, $3, $4 FROM messages WHERE id = $1";

/// The columns of an archive row, named as [`rows::message`] reads them.
const ARCHIVED_COLS: &str = "a.id AS archive_id, a.archived, a.mailbox_id, a.uid, a.modseq, a.thread_id, a.blob, \
    a.size, a.idate, a.hdate, a.subject, a.from_name, a.from_address, a.message_id, a.intro, a.has_attachments, \
    a.seen, a.answered, a.flagged, a.deleted, a.draft, a.keywords, a.expires";

fn archived(r: &impl Cols) -> Result<ArchivedRecord> {
    Ok(ArchivedRecord {
        id: rows::id(r, "archive_id")?,
        archived: r.i64("archived")?,
        message: rows::message(r)?,
    })
}

/// What became of a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreOutcome {
    /// Back in `mailbox` under a new `uid`.
    Restored { mailbox: ObjectId, uid: i64 },
    /// No such archived message of this user (or restored or purged meanwhile).
    NotFound,
    /// The mailbox asked for is not the user's (or no mailbox to restore to is left).
    NoMailbox,
    /// The message does not fit in the user's quota.
    OverQuota,
}

/// What one purge step removed.
#[derive(Debug, Clone, Default)]
pub struct PurgeStats {
    /// Messages deleted from mailboxes (retention or `expires` passed).
    pub messages: usize,
    /// Archive entries deleted.
    pub archived: usize,
    /// Users whose mailboxes changed.
    pub users: Vec<ObjectId>,
}

impl Store {
    /// A page of the user's archive by entry id (newest first for `Desc`), and the total.
    pub async fn list_archived(
        &self,
        user: &ObjectId,
        dir: Direction,
        seek: &Seek<String>,
        limit: i64,
    ) -> Result<(i64, Vec<ArchivedRecord>)> {
        let (cond, order) = match (dir, seek) {
            (Direction::Asc, Seek::First) => (None, "ASC"),
            (Direction::Desc, Seek::First) => (None, "DESC"),
            (Direction::Asc, Seek::After(k)) => (Some((">", k)), "ASC"),
            (Direction::Asc, Seek::Before(k)) => (Some(("<", k)), "DESC"),
            (Direction::Desc, Seek::After(k)) => (Some(("<", k)), "DESC"),
            (Direction::Desc, Seek::Before(k)) => (Some((">", k)), "ASC"),
        };
        let sql = format!(
            "SELECT {ARCHIVED_COLS} FROM archived a WHERE a.user_id = $1{} ORDER BY a.id {order} LIMIT {limit}",
            cond.map(|(op, _)| format!(" AND a.id {op} $2"))
                .unwrap_or_default()
        );
        read!(self, db => {
            let total = sqlx::query("SELECT COUNT(*) AS n FROM archived WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_one(db)
                .await?
                .i64("n")?;
            let mut q = sqlx::query(&sql).bind(user.as_str());
            if let Some((_, k)) = cond {
                q = q.bind(k.as_str());
            }
            let list = q.fetch_all(db).await?.iter().map(archived).collect::<Result<Vec<_>>>()?;
            Ok((total, list))
        })
    }

    /// One archived message with the JSON of its parsed index.
    pub async fn get_archived(
        &self,
        user: &ObjectId,
        id: &ObjectId,
    ) -> Result<Option<(ArchivedRecord, String)>> {
        let sql = format!(
            "SELECT {ARCHIVED_COLS}, b.parsed FROM archived a JOIN blobs b ON b.hash = a.blob \
             WHERE a.id = $1 AND a.user_id = $2"
        );
        read!(self, db => {
            let row = sqlx::query(&sql).bind(id.as_str()).bind(user.as_str()).fetch_optional(db).await?;
            row.map(|r| Ok((archived(&r)?, r.string("parsed")?))).transpose()
        })
    }

    /// Puts an archived message back: into `dest` when given, else the mailbox it was deleted
    /// from, else INBOX; with a new UID, the `\Deleted` flag cleared (it was what deleted
    /// it), retention counted from now, and its size back in the quota. `search_text` is
    /// its full-text index text. One transaction.
    pub async fn restore_archived(
        &self,
        user: &ObjectId,
        id: &ObjectId,
        dest: Option<&ObjectId>,
        search_text: &str,
    ) -> Result<RestoreOutcome> {
        let lock = by_engine!(self, sqlite => "", postgres => " FOR UPDATE");
        let select = format!(
            "SELECT {ARCHIVED_COLS} FROM archived a WHERE a.id = $1 AND a.user_id = $2{lock}"
        );
        let mailbox_of_user = "SELECT id FROM mailboxes WHERE id = $1 AND user_id = $2";
        let now = crate::now_ms();
        let outcome = write_tx!(self, tx => {
            let row = sqlx::query(&select).bind(id.as_str()).bind(user.as_str()).fetch_optional(&mut *tx).await?;
            match row.map(|r| archived(&r)).transpose()? {
                None => RestoreOutcome::NotFound,
                Some(entry) => {
                    let target = match dest {
                        Some(d) => sqlx::query(mailbox_of_user).bind(d.as_str()).bind(user.as_str()).fetch_optional(&mut *tx).await?,
                        None => match sqlx::query(mailbox_of_user).bind(entry.message.mailbox.as_str()).bind(user.as_str()).fetch_optional(&mut *tx).await? {
                            Some(r) => Some(r),
                            None => sqlx::query("SELECT id FROM mailboxes WHERE user_id = $1 AND path = 'INBOX'")
                                .bind(user.as_str())
                                .fetch_optional(&mut *tx)
                                .await?,
                        },
                    };
                    let target = target.map(|r| r.string("id")).transpose()?;
                    let user_lock = by_engine!(self, sqlite => "", postgres => " FOR NO KEY UPDATE");
                    let quota = sqlx::query(&format!("SELECT quota_allowed, storage_used FROM users WHERE id = $1{user_lock}"))
                        .bind(user.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let size = entry.message.size;
                    match (target, quota) {
                        (_, None) => RestoreOutcome::NotFound,
                        (None, _) => RestoreOutcome::NoMailbox,
                        (Some(_), Some(q)) if q.i64("quota_allowed")? > 0 && q.i64("storage_used")? + size > q.i64("quota_allowed")? => {
                            RestoreOutcome::OverQuota
                        }
                        (Some(target), Some(_)) => {
                            let row = sqlx::query("UPDATE mailboxes SET uid_next = uid_next + 1, modseq = modseq + 1 WHERE id = $1 RETURNING uid_next, modseq, special_use, retention")
                                .bind(target.as_str())
                                .fetch_one(&mut *tx)
                                .await?;
                            let uid = row.i64("uid_next")? - 1;
                            let modseq = row.i64("modseq")?;
                            let expires = crate::retention_deadline(row.opt_string("special_use")?.as_deref(), row.i64("retention")?, now);
                            let rowid = sqlx::query(
                                "INSERT INTO messages (user_id, mailbox_id, uid, modseq, thread_id, blob, size, idate, hdate, subject, \
                                 from_name, from_address, message_id, intro, has_attachments, seen, answered, flagged, deleted, draft, \
                                 keywords, expires) SELECT user_id, $2, $3, $4, thread_id, blob, size, idate, hdate, subject, \
                                 from_name, from_address, message_id, intro, has_attachments, seen, answered, flagged, FALSE, draft, \
                                 keywords, $5 FROM archived WHERE id = $1 RETURNING id",
                            )
                            .bind(id.as_str())
                            .bind(target.as_str())
                            .bind(uid)
                            .bind(modseq)
                            .bind(expires)
                            .fetch_one(&mut *tx)
                            .await?
                            .i64("id")?;
                            by_engine!(self,
                                sqlite => {
                                    sqlx::query("INSERT INTO messages_fts (rowid, owner, body) VALUES ($1, $2, $3)")
                                        .bind(rowid)
                                        .bind(format!("u{user}"))
                                        .bind(text(search_text))
                                        .execute(&mut *tx)
                                        .await?;
                                },
                                postgres => {
                                    sqlx::query("INSERT INTO messages_fts (message, user_id, body) VALUES ($1, $2, to_tsvector('simple', $3))")
                                        .bind(rowid)
                                        .bind(user.as_str())
                                        .bind(text(search_text))
                                        .execute(&mut *tx)
                                        .await?;
                                }
                            );
                            // The message row takes over the archive row's blob reference.
                            sqlx::query("DELETE FROM archived WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
                            sqlx::query("UPDATE users SET storage_used = storage_used + $2 WHERE id = $1")
                                .bind(user.as_str())
                                .bind(size)
                                .execute(&mut *tx)
                                .await?;
                            journal!(tx, user.as_str(), target.as_str(), "EXISTS", Some(uid), Some(modseq), None::<String>);
                            RestoreOutcome::Restored { mailbox: ObjectId::from_stored(target), uid }
                        }
                    }
                }
            }
        });
        Ok(outcome)
    }

    /// Deletes up to `max` messages due at `now` (retention or `expires` passed), in one
    /// transaction of a few set-based statements, as an expunge: one modseq bump per
    /// mailbox, a journal EXPUNGE row per message, quota and blob references released. Not
    /// archived: retention is the owner's policy, not a user's deletion.
    pub async fn purge_expired_messages(&self, now: Millis, max: i64) -> Result<PurgeStats> {
        let select = format!(
            "SELECT id, user_id, mailbox_id FROM messages WHERE expires IS NOT NULL AND expires <= $1 ORDER BY expires LIMIT {max}"
        );
        let stats = write_tx!(self, tx => {
            let found = sqlx::query(&select).bind(now).fetch_all(&mut *tx).await?;
            let ids: Vec<i64> = found.iter().map(|r| r.i64("id")).collect::<Result<_>>()?;
            // Their users, then their mailboxes (see `db::pg_lock_sql`).
            for (table, column) in [("users", "user_id"), ("mailboxes", "mailbox_id")] {
                let keys: Vec<String> = found.iter().map(|r| r.string(column)).collect::<Result<_>>()?;
                crate::db::pg_lock!(self, tx, table, keys.iter().map(String::as_str));
            }
            let mut stats = PurgeStats::default();
            if !ids.is_empty() {
                let marks = list(1, ids.len());
                by_engine!(self,
                    sqlite => {
                        let sql = format!("DELETE FROM messages_fts WHERE rowid IN ({marks})");
                        let mut q = sqlx::query(&sql);
                        for id in &ids {
                            q = q.bind(*id);
                        }
                        q.execute(&mut *tx).await?;
                    },
                    postgres => ()
                );
                // Only rows deleted here count (a concurrent expunge may have taken some).
                let sql = format!("DELETE FROM messages WHERE id IN ({marks}) RETURNING user_id, mailbox_id, uid, blob, size");
                let mut q = sqlx::query(&sql);
                for id in &ids {
                    q = q.bind(*id);
                }
                let rows = q.fetch_all(&mut *tx).await?;
                let mut modseqs: HashMap<String, i64> = HashMap::new();
                let mut freed: HashMap<String, i64> = HashMap::new();
                let mut refs: HashMap<String, i64> = HashMap::new();
                let mut expunged: Vec<(String, String, i64)> = Vec::with_capacity(rows.len());
                for r in &rows {
                    let (user, mailbox) = (r.string("user_id")?, r.string("mailbox_id")?);
                    *freed.entry(user.clone()).or_default() += r.i64("size")?;
                    *refs.entry(r.string("blob")?).or_default() += 1;
                    modseqs.entry(mailbox.clone()).or_default();
                    expunged.push((user, mailbox, r.i64("uid")?));
                }
                for (mailbox, modseq) in modseqs.iter_mut() {
                    *modseq = sqlx::query("UPDATE mailboxes SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq")
                        .bind(mailbox.as_str())
                        .fetch_one(&mut *tx)
                        .await?
                        .i64("modseq")?;
                }
                // Blob references, one statement per distinct count (nearly always just 1).
                let mut by_count: HashMap<i64, Vec<&str>> = HashMap::new();
                for (hash, n) in &refs {
                    by_count.entry(*n).or_default().push(hash.as_str());
                }
                for (n, hashes) in &by_count {
                    for chunk in hashes.chunks(CHUNK) {
                        let sql = format!("UPDATE blobs SET refcount = refcount - $1 WHERE hash IN ({})", list(2, chunk.len()));
                        let mut q = sqlx::query(&sql).bind(*n);
                        for h in chunk {
                            q = q.bind(*h);
                        }
                        q.execute(&mut *tx).await?;
                    }
                }
                let created = crate::now_ms();
                for chunk in expunged.chunks(CHUNK) {
                    let sql = format!("INSERT INTO journal (user_id, mailbox_id, command, uid, modseq, data, created) VALUES {}", values(chunk.len(), 7));
                    let mut q = sqlx::query(&sql);
                    for (user, mailbox, uid) in chunk {
                        let modseq = modseqs.get(mailbox).copied().unwrap_or_default();
                        q = q.bind(user.as_str()).bind(mailbox.as_str()).bind("EXPUNGE").bind(*uid).bind(modseq).bind(None::<String>).bind(created);
                    }
                    q.execute(&mut *tx).await?;
                }
                for (user, size) in &freed {
                    sqlx::query("UPDATE users SET storage_used = storage_used - $2 WHERE id = $1")
                        .bind(user.as_str())
                        .bind(*size)
                        .execute(&mut *tx)
                        .await?;
                }
                stats.messages = expunged.len();
                stats.users = freed.into_keys().map(ObjectId::from_stored).collect();
            }
            stats
        });
        Ok(stats)
    }

    /// Deletes up to `max` archive entries due at `now`, releasing their blob references.
    pub async fn purge_expired_archive(&self, now: Millis, max: i64) -> Result<usize> {
        let sql = format!(
            "DELETE FROM archived WHERE id IN (SELECT id FROM archived WHERE expires <= $1 ORDER BY expires LIMIT {max}) RETURNING blob"
        );
        let n = write_tx!(self, tx => {
            let rows = sqlx::query(&sql).bind(now).fetch_all(&mut *tx).await?;
            let mut refs: HashMap<String, i64> = HashMap::new();
            for r in &rows {
                *refs.entry(r.string("blob")?).or_default() += 1;
            }
            for (hash, n) in &refs {
                sqlx::query("UPDATE blobs SET refcount = refcount - $2 WHERE hash = $1")
                    .bind(hash.as_str())
                    .bind(*n)
                    .execute(&mut *tx)
                    .await?;
            }
            rows.len()
        });
        Ok(n)
    }
}

/// Milliseconds of a day: restore points of the archive are days (UTC).
const DAY_MS: i64 = 86_400_000;

impl Store {
    /// The days (UTC, as the millisecond they start) on which the user deleted messages that
    /// are still in the archive, newest first, with how many; at most `limit` days.
    pub async fn archive_days(&self, user: &ObjectId, limit: i64) -> Result<Vec<(Millis, i64)>> {
        read!(self, db => {
            sqlx::query(&format!(
                "SELECT archived / {DAY_MS} AS day, COUNT(*) AS n FROM archived WHERE user_id = $1 \
                 GROUP BY archived / {DAY_MS} ORDER BY day DESC LIMIT $2"
            ))
            .bind(user.as_str())
            .bind(limit)
            .fetch_all(db)
            .await?
            .iter()
            .map(|r| Ok((r.i64("day")?.saturating_mul(DAY_MS), r.i64("n")?)))
            .collect()
        })
    }

    /// The archive entries of the user deleted from `from` to `to` (inclusive), from
    /// `mailbox` only when given, oldest first; at most `limit`.
    pub async fn archived_between(
        &self,
        user: &ObjectId,
        from: Millis,
        to: Millis,
        mailbox: Option<&ObjectId>,
        limit: i64,
    ) -> Result<Vec<ObjectId>> {
        read!(self, db => {
            sqlx::query(
                "SELECT id FROM archived WHERE user_id = $1 AND archived >= $2 AND archived <= $3 \
                 AND ($4 = '' OR mailbox_id = $4) ORDER BY archived, id LIMIT $5",
            )
            .bind(user.as_str())
            .bind(from)
            .bind(to)
            .bind(mailbox.map(|m| m.as_str()).unwrap_or(""))
            .bind(limit)
            .fetch_all(db)
            .await?
            .iter()
            .map(|r| rows::id(r, "id"))
            .collect()
        })
    }
}
