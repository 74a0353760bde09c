//! Mailboxes: paths with `/` separators, special use, UID/modseq counters.

use crate::db::{by_engine, read, write_tx};
use crate::model::*;
use crate::rows::{self, Cols, MAILBOX_COLS};
use crate::{Result, Store, conflict};

/// Per-mailbox counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub total: i64,
    pub unseen: i64,
    pub size: i64,
}

/// Writes one journal row (inside the caller's transaction).
/// Adds a journal row: user, mailbox, command, uid, modseq, data, created.
pub(crate) const JOURNAL_INSERT: &str = "INSERT INTO journal (user_id, mailbox_id, command, uid, modseq, data, created) VALUES ($1,$2,$3,$4,$5,$6,$7)";
/// Takes the next modseq of mailbox `$1`.
pub(crate) const BUMP_MODSEQ: &str =
    "UPDATE mailboxes SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq";

macro_rules! journal {
    ($tx:expr, $user:expr, $mailbox:expr, $command:expr, $uid:expr, $modseq:expr, $data:expr) => {
        sqlx::query($crate::mailboxes::JOURNAL_INSERT)
            .bind($user)
            .bind($mailbox)
            .bind($command)
            .bind($uid)
            .bind($modseq)
            .bind($data)
            .bind($crate::now_ms())
            .execute(&mut *$tx)
            .await?
    };
}
pub(crate) use journal;

impl Store {
    pub async fn list_mailboxes(&self, user: &ObjectId) -> Result<Vec<MailboxRecord>> {
        let sql = format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE user_id = $1 ORDER BY path");
        read!(self, db => {
            sqlx::query(&sql).bind(user.as_str()).fetch_all(db).await?.iter().map(rows::mailbox).collect()
        })
    }

    pub async fn get_mailbox(
        &self,
        user: &ObjectId,
        id: &ObjectId,
    ) -> Result<Option<MailboxRecord>> {
        let sql = format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE id = $1 AND user_id = $2");
        self.read_optional(&sql, &[id.as_str().into(), user.as_str().into()], |r| {
            rows::mailbox(r)
        })
        .await
    }

    pub async fn get_mailbox_by_path(
        &self,
        user: &ObjectId,
        path: &str,
    ) -> Result<Option<MailboxRecord>> {
        let sql = format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE user_id = $1 AND path = $2");
        self.read_optional(&sql, &[user.as_str().into(), path.into()], |r| {
            rows::mailbox(r)
        })
        .await
    }

    /// Counters of the user's mailboxes (or of one), kept by triggers (schema 0002).
    pub async fn mailbox_counters(
        &self,
        user: &ObjectId,
        mailbox: Option<&ObjectId>,
    ) -> Result<Vec<(ObjectId, Counters)>> {
        let sql = format!(
            "SELECT id, total, unseen, size FROM mailboxes WHERE user_id = $1{}",
            if mailbox.is_some() {
                " AND id = $2"
            } else {
                ""
            }
        );
        read!(self, db => {
            let mut q = sqlx::query(&sql).bind(user.as_str());
            if let Some(m) = mailbox {
                q = q.bind(m.as_str());
            }
            q.fetch_all(db)
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        rows::id(r, "id")?,
                        Counters { total: r.i64("total")?, unseen: r.i64("unseen")?, size: r.i64("size")? },
                    ))
                })
                .collect()
        })
    }

    /// Creates `path` and any missing parents (`parents` lists them, outermost first).
    /// Returns the new mailbox id; `Conflict` if `path` exists; `None` if the user is unknown.
    pub async fn create_mailbox(
        &self,
        user: &ObjectId,
        parents: &[String],
        path: &str,
        special_use: Option<&str>,
        retention: i64,
    ) -> Result<Option<ObjectId>> {
        let now = crate::now_ms();
        let id = write_tx!(self, tx => {
            if sqlx::query("SELECT id FROM users WHERE id = $1").bind(user.as_str()).fetch_optional(&mut *tx).await?.is_none() {
                None
            } else {
                let mut created = Vec::new();
                for p in parents {
                    let exists = sqlx::query("SELECT id FROM mailboxes WHERE user_id = $1 AND path = $2")
                        .bind(user.as_str())
                        .bind(p)
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                    if !exists {
                        created.push((ObjectId::new(), p.as_str(), None));
                    }
                }
                let id = ObjectId::new();
                created.push((id.clone(), path, special_use));
                for (mid, p, special) in &created {
                    let validity = next_uid_validity!(tx, user);
                    sqlx::query("INSERT INTO mailboxes (id, user_id, path, special_use, subscribed, uid_validity, uid_next, modseq, retention, created) VALUES ($1,$2,$3,$4,$5,$6,1,0,$7,$8)")
                        .bind(mid.as_str())
                        .bind(user.as_str())
                        .bind(*p)
                        .bind(*special)
                        .bind(true)
                        .bind(validity)
                        .bind(retention)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, "Mailbox already exists"))?;
                    let data = serde_json::json!({ "path": p }).to_string();
                    journal!(tx, user.as_str(), mid.as_str(), "CREATE", None::<i64>, None::<i64>, data);
                }
                Some(id)
            }
        });
        Ok(id)
    }

    /// Renames a mailbox and its children, creating missing parents of the new path.
    /// False when not found; `Conflict` when the new path exists.
    pub async fn rename_mailbox(
        &self,
        user: &ObjectId,
        id: &ObjectId,
        new_parents: &[String],
        new_path: &str,
    ) -> Result<bool> {
        let now = crate::now_ms();
        let ok = write_tx!(self, tx => {
            // The user row first (new parents take a UIDVALIDITY from it), then the mailboxes
            // (see `db::pg_lock_sql`).
            crate::db::pg_lock!(self, tx, "users", [user.as_str()]);
            let row = sqlx::query("SELECT path FROM mailboxes WHERE id = $1 AND user_id = $2")
                .bind(id.as_str())
                .bind(user.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                None => false,
                Some(r) => {
                    let old = r.string("path")?;
                    let taken = sqlx::query("SELECT id FROM mailboxes WHERE user_id = $1 AND (path = $2 OR path LIKE $3 ESCAPE '\\')")
                        .bind(user.as_str())
                        .bind(new_path)
                        .bind(format!("{}/%", like_escape(new_path)))
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                    if taken {
                        return Err(crate::Error::Conflict("Mailbox already exists".into()));
                    }
                    let children = sqlx::query("SELECT id, path FROM mailboxes WHERE user_id = $1 AND (id = $2 OR path LIKE $3 ESCAPE '\\')")
                        .bind(user.as_str())
                        .bind(id.as_str())
                        .bind(format!("{}/%", like_escape(&old)))
                        .fetch_all(&mut *tx)
                        .await?;
                    for c in &children {
                        let cid = c.string("id")?;
                        let cpath = c.string("path")?;
                        let renamed = format!("{new_path}{}", cpath.get(old.len()..).unwrap_or(""));
                        sqlx::query("UPDATE mailboxes SET path = $2, modseq = modseq + 1 WHERE id = $1")
                            .bind(&cid)
                            .bind(&renamed)
                            .execute(&mut *tx)
                            .await?;
                        let data = serde_json::json!({ "path": renamed, "old": cpath }).to_string();
                        journal!(tx, user.as_str(), cid.as_str(), "RENAME", None::<i64>, None::<i64>, data);
                    }
                    for p in new_parents {
                        let exists = sqlx::query("SELECT id FROM mailboxes WHERE user_id = $1 AND path = $2")
                            .bind(user.as_str())
                            .bind(p)
                            .fetch_optional(&mut *tx)
                            .await?
                            .is_some();
                        if !exists {
                            let mid = ObjectId::new();
                            let validity = next_uid_validity!(tx, user);
                            sqlx::query("INSERT INTO mailboxes (id, user_id, path, special_use, subscribed, uid_validity, uid_next, modseq, retention, created) VALUES ($1,$2,$3,NULL,$4,$5,1,0,0,$6)")
                                .bind(mid.as_str())
                                .bind(user.as_str())
                                .bind(p)
                                .bind(true)
                                .bind(validity)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                            let data = serde_json::json!({ "path": p }).to_string();
                            journal!(tx, user.as_str(), mid.as_str(), "CREATE", None::<i64>, None::<i64>, data);
                        }
                    }
                    true
                }
            }
        });
        Ok(ok)
    }

    pub async fn update_mailbox_settings(
        &self,
        user: &ObjectId,
        id: &ObjectId,
        retention: Option<i64>,
        subscribed: Option<bool>,
    ) -> Result<bool> {
        let ok = write_tx!(self, tx => {
            let mut found = sqlx::query("SELECT id FROM mailboxes WHERE id = $1 AND user_id = $2")
                .bind(id.as_str())
                .bind(user.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if found {
                if let Some(r) = retention {
                    sqlx::query("UPDATE mailboxes SET retention = $2 WHERE id = $1").bind(id.as_str()).bind(r).execute(&mut *tx).await?;
                }
                if let Some(s) = subscribed {
                    sqlx::query("UPDATE mailboxes SET subscribed = $2 WHERE id = $1").bind(id.as_str()).bind(s).execute(&mut *tx).await?;
                }
                found = true;
            }
            found
        });
        Ok(ok)
    }

    /// Deletes a mailbox with its messages, releasing blobs and quota. False when not found.
    pub async fn delete_mailbox(&self, user: &ObjectId, id: &ObjectId) -> Result<bool> {
        let ok = write_tx!(self, tx => {
            let found = sqlx::query("SELECT id FROM mailboxes WHERE id = $1 AND user_id = $2")
                .bind(id.as_str())
                .bind(user.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if found {
                sqlx::query(
                    "UPDATE blobs SET refcount = refcount - c.n FROM \
                     (SELECT blob, COUNT(*) AS n FROM messages WHERE mailbox_id = $1 GROUP BY blob) AS c WHERE blobs.hash = c.blob",
                )
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE users SET storage_used = storage_used - (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM messages WHERE mailbox_id = $2) WHERE id = $1")
                    .bind(user.as_str())
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
                by_engine!(self,
                    sqlite => {
                        sqlx::query("DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE mailbox_id = $1)")
                            .bind(id.as_str())
                            .execute(&mut *tx)
                            .await?;
                    },
                    postgres => ()
                );
                sqlx::query("DELETE FROM messages WHERE mailbox_id = $1").bind(id.as_str()).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM mailboxes WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
                journal!(tx, user.as_str(), id.as_str(), "DELETE", None::<i64>, None::<i64>, None::<String>);
            }
            found
        });
        Ok(ok)
    }
}

/// UIDVALIDITY for a new mailbox of user `$1`, `$2` being [`uid_validity`]: the creation
/// second, or one more than the user's last one when that is not lower, so that a path
/// deleted and created again in the same second still gets a new one.
const NEXT_UID_VALIDITY: &str = "UPDATE users SET last_uid_validity = CASE WHEN last_uid_validity >= $2 THEN last_uid_validity + 1 ELSE $2 END WHERE id = $1 RETURNING last_uid_validity";

/// The UIDVALIDITY for a new mailbox of `user`, taken in transaction `tx` (see
/// [`NEXT_UID_VALIDITY`]).
macro_rules! next_uid_validity {
    ($tx:ident, $user:expr) => {
        sqlx::query(NEXT_UID_VALIDITY)
            .bind($user.as_str())
            .bind(uid_validity())
            .fetch_one(&mut *$tx)
            .await?
            .i64("last_uid_validity")?
    };
}
use next_uid_validity;

/// The creation second, the lowest UIDVALIDITY a new mailbox may get.
fn uid_validity() -> i64 {
    (crate::now_ms() / 1000).clamp(1, u32::MAX as i64)
}

/// A LIKE pattern (ESCAPE '\\') matching values that contain `q` literally: `%` and `_` in
/// a client's query are not wildcards.
pub(crate) fn like_contains(q: &str) -> String {
    format!("%{}%", like_escape(q))
}

/// Escapes `%`, `_` and the backslash for a LIKE pattern whose ESCAPE character is the backslash.
pub fn like_escape(s: &str) -> String {
    let mut p = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p
}
