//! Messages: batched insertion (group commit), listings, flag changes, moves and deletion.
//! Every change bumps the mailbox modseq and writes journal rows in the same transaction.

use crate::db::{Seek, by_engine, read, write_tx};
use crate::direct::{Arg, Commit};
use crate::mailboxes::journal;
use crate::mailboxes::{BUMP_MODSEQ, JOURNAL_INSERT};
use crate::model::*;
use crate::rows::{self, Cols, MESSAGE_COLS};
use crate::view::FlagsChanged;
use crate::{Error, Result, Store};
use std::sync::Arc;

/// A message ready to be stored: raw bytes already hashed and parsed by the caller.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub user: ObjectId,
    pub mailbox: ObjectId,
    pub raw: Arc<Vec<u8>>,
    pub blob: String,
    /// True when the caller created the blob file, durably ([`crate::blobs::BlobStore::create_blocking`]).
    pub blob_written: bool,
    /// True to keep the bytes in the database (`blob_data`, same transaction as the message
    /// row) instead of a file: the caller writes no file for it.
    pub inline: bool,
    /// JSON of the parsed index (stored once per blob).
    pub parsed_json: String,
    /// JSON of the subject and header fields of the parsed index, what SEARCH on header
    /// keys reads (stored once per blob, `blob_headers`).
    pub header_index_json: String,
    pub idate: Millis,
    pub hdate: Millis,
    pub subject: String,
    pub from_name: String,
    pub from_address: String,
    pub message_id: String,
    /// Message-IDs this one refers to (References + In-Reply-To).
    pub references: Vec<String>,
    pub thread_subject: String,
    pub intro: String,
    pub has_attachments: bool,
    pub flags: Flags,
    pub expires: Option<Millis>,
    pub search_text: String,
    /// Message events recorded with the message in its transaction: (action, fields as a
    /// JSON object), oldest first (a delivery's `STORE` and `FILTER`).
    pub events: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Inserted {
    pub mailbox: ObjectId,
    pub uid: i64,
    pub modseq: i64,
    pub size: i64,
}

/// Why one message of a batch was not stored (the others are unaffected).
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("user not found")]
    NoUser,
    #[error("mailbox not found")]
    NoMailbox,
    #[error("over quota")]
    OverQuota,
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<sqlx::Error> for InsertError {
    fn from(e: sqlx::Error) -> Self {
        InsertError::Store(Error::Db(e))
    }
}

/// Flag and expiry changes for a set of messages; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct FlagChange {
    pub seen: Option<bool>,
    pub answered: Option<bool>,
    pub flagged: Option<bool>,
    pub deleted: Option<bool>,
    pub draft: Option<bool>,
    /// Replace the keywords.
    pub keywords: Option<Vec<String>>,
    pub expires: Option<Option<Millis>>,
}

/// A set of UIDs in one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UidSet {
    List(Vec<i64>),
    Range(i64, i64),
}

impl UidSet {
    /// SQL condition on `m.uid`, binding from `$first`.
    fn condition(&self, first: usize) -> (String, Vec<i64>) {
        match self {
            UidSet::Range(a, b) => (
                format!("m.uid BETWEEN ${} AND ${}", first, first + 1),
                vec![*a, *b],
            ),
            UidSet::List(l) if l.is_empty() => ("1=0".into(), vec![]),
            UidSet::List(l) => {
                let ps: Vec<String> = (0..l.len()).map(|i| format!("${}", first + i)).collect();
                (format!("m.uid IN ({})", ps.join(",")), l.clone())
            }
        }
    }
}

/// Search totals are exact up to this many matches (see `search_account`).
pub const SEARCH_TOTAL_CAP: i64 = 10_000;

/// Ordering of listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

fn seek_sql(
    dir: Direction,
    seek: &Seek<i64>,
    col: &str,
    n: usize,
) -> (Option<(String, i64)>, &'static str) {
    match (dir, seek) {
        (Direction::Asc, Seek::First) => (None, "ASC"),
        (Direction::Desc, Seek::First) => (None, "DESC"),
        (Direction::Asc, Seek::After(k)) => (Some((format!("{col} > ${n}"), *k)), "ASC"),
        (Direction::Asc, Seek::Before(k)) => (Some((format!("{col} < ${n}"), *k)), "DESC"),
        (Direction::Desc, Seek::After(k)) => (Some((format!("{col} < ${n}"), *k)), "DESC"),
        (Direction::Desc, Seek::Before(k)) => (Some((format!("{col} > ${n}"), *k)), "ASC"),
    }
}

/// PostgreSQL text cannot hold NUL; message-derived strings lose it on both engines alike.
pub(crate) fn text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        s.replace('\0', "").into()
    } else {
        s.into()
    }
}

pub(crate) fn keywords_text(k: &[String]) -> String {
    k.join(" ")
}

/// Builds a safe FTS5 query: every word quoted, all words required.
pub fn fts5_query(q: &str) -> String {
    q.split_whitespace()
        .take(32)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a flag change reads of each message.
struct FlagRow {
    uid: i64,
    modseq: i64,
    flags: Flags,
    expires: Option<Millis>,
}

impl Store {
    /// Messages of one mailbox by UID.
    pub async fn list_messages(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        dir: Direction,
        seek: &Seek<i64>,
        limit: i64,
    ) -> Result<(i64, Vec<MessageRecord>)> {
        // Only the mailbox in the message query: the (mailbox_id, uid) index then serves the
        // filter and the order whatever the planner's statistics say (PostgreSQL without a
        // recent ANALYZE otherwise picks a bitmap scan and a sort of the whole mailbox).
        // Ownership is checked on the mailbox row below.
        let (cond, order) = seek_sql(dir, seek, "m.uid", 2);
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages m WHERE m.mailbox_id = $1{} ORDER BY m.uid {order} LIMIT {limit}",
            cond.as_ref()
                .map(|(c, _)| format!(" AND {c}"))
                .unwrap_or_default()
        );
        read!(self, db => {
            // Kept by triggers (schema 0002): no row is counted.
            let total = sqlx::query("SELECT total FROM mailboxes WHERE id = $1 AND user_id = $2")
                .bind(mailbox.as_str())
                .bind(user.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| r.i64("total"))
                .transpose()?;
            let Some(total) = total else {
                return Ok((0, Vec::new()));
            };
            let mut q = sqlx::query(&sql).bind(mailbox.as_str());
            if let Some((_, k)) = cond {
                q = q.bind(k);
            }
            let list = q.fetch_all(db).await?.iter().map(rows::message).collect::<Result<Vec<_>>>()?;
            Ok((total, list))
        })
    }

    /// Account-wide listings (flagged, or full-text `query`), Trash and Junk excluded, by the
    /// message row id (newest first for `Desc`). Returns (row id, record) pairs.
    pub async fn list_account(
        &self,
        user: &ObjectId,
        query: Option<&str>,
        flagged_only: bool,
        dir: Direction,
        seek: &Seek<i64>,
        limit: i64,
    ) -> Result<(i64, Vec<(i64, MessageRecord)>)> {
        if let Some(q) = query {
            return self.search_account(user, q, dir, seek, limit).await;
        }
        let mut conds = vec![
            "m.user_id = $1".to_string(),
            "m.mailbox_id NOT IN (SELECT id FROM mailboxes WHERE user_id = $1 AND special_use IN ('\\Trash', '\\Junk'))".to_string(),
        ];
        if flagged_only {
            conds.push("m.flagged".into());
        }
        let mut text_bind = None;
        if let Some(q) = query {
            let cond = by_engine!(self,
                sqlite => {
                    text_bind = Some(format!("owner:\"u{}\" AND ({})", user, fts5_query(q)));
                    "m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH $2)"
                },
                postgres => {
                    text_bind = Some(q.to_string());
                    "m.id IN (SELECT message FROM messages_fts WHERE user_id = $1 AND body @@ plainto_tsquery('simple', $2))"
                }
            );
            conds.push(cond.into());
        }
        let n = if text_bind.is_some() { 3 } else { 2 };
        let base = conds.join(" AND ");
        let (cond, order) = seek_sql(dir, seek, "m.id", n);
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages m WHERE {base}{} ORDER BY m.id {order} LIMIT {limit}",
            cond.as_ref()
                .map(|(c, _)| format!(" AND {c}"))
                .unwrap_or_default()
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM messages m WHERE {base}");
        read!(self, db => {
            let mut q = sqlx::query(&count_sql).bind(user.as_str());
            if let Some(t) = &text_bind {
                q = q.bind(t.as_str());
            }
            let total = q.fetch_one(db).await?.i64("n")?;
            let mut q = sqlx::query(&sql).bind(user.as_str());
            if let Some(t) = &text_bind {
                q = q.bind(t.as_str());
            }
            if let Some((_, k)) = cond {
                q = q.bind(k);
            }
            let list = q
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| Ok((r.i64("rowid")?, rows::message(r)?)))
                .collect::<Result<Vec<_>>>()?;
            Ok((total, list))
        })
    }

    /// Full-text search over the user's messages outside Trash and Junk, by row id.
    ///
    /// Matching ids are read from the full-text index a window at a time, in scan order from
    /// the keyset position (FTS5 walks its doclists in rowid order; PostgreSQL can scan the key
    /// backwards), then the visible messages among them by primary key; another window is read
    /// only while exclusions leave the page short. A page costs about its size however many
    /// messages match. The total is exact up to [`SEARCH_TOTAL_CAP`] matches
    /// and reported as that cap beyond: counting every match of a common word in a large
    /// mailbox would cost more than the page itself.
    async fn search_account(
        &self,
        user: &ObjectId,
        query: &str,
        dir: Direction,
        seek: &Seek<i64>,
        limit: i64,
    ) -> Result<(i64, Vec<(i64, MessageRecord)>)> {
        let (key, text) = by_engine!(self,
            sqlite => ("rowid", format!("owner:\"u{}\" AND ({})", user, fts5_query(query))),
            postgres => ("message", query.to_string())
        );
        let matches = by_engine!(self,
            sqlite => "SELECT rowid AS id FROM messages_fts WHERE messages_fts MATCH $2",
            postgres => "SELECT message AS id FROM messages_fts WHERE user_id = $1 AND body @@ plainto_tsquery('simple', $2)"
        );
        let visible = "m.user_id = $1 AND m.mailbox_id NOT IN \
            (SELECT id FROM mailboxes WHERE user_id = $1 AND special_use IN ('\\Trash', '\\Junk'))";
        // CROSS JOIN: the (bounded) match list drives the join on both engines.
        let count_sql = format!(
            "SELECT COUNT(*) AS n FROM ({matches} LIMIT {SEARCH_TOTAL_CAP}) f CROSS JOIN messages m WHERE m.id = f.id AND {visible}"
        );
        let (cond, order) = seek_sql(dir, seek, key, 3);
        let op = if order == "DESC" { "<" } else { ">" };
        let mut position = cond.map(|(_, k)| k);
        let mut window: i64 = limit.clamp(32, 1000);
        read!(self, db => {
            let total = sqlx::query(&count_sql)
                .bind(user.as_str())
                .bind(text.as_str())
                .fetch_one(db)
                .await?
                .i64("n")?;
            let mut list: Vec<(i64, MessageRecord)> = Vec::new();
            loop {
                // A window of matching ids, in scan order, from the position reached so far.
                let ids_sql = format!(
                    "{matches}{} ORDER BY {key} {order} LIMIT {window}",
                    if position.is_some() { format!(" AND {key} {op} $3") } else { String::new() }
                );
                let mut q = sqlx::query(&ids_sql).bind(user.as_str()).bind(text.as_str());
                if let Some(p) = position {
                    q = q.bind(p);
                }
                let ids: Vec<i64> = q.fetch_all(db).await?.iter().map(|r| r.i64("id")).collect::<Result<_>>()?;
                let Some(&last) = ids.last() else { break };
                // The visible messages among them, by primary key.
                let sql = format!(
                    "SELECT {MESSAGE_COLS} FROM messages m WHERE m.id IN ({}) AND {visible} ORDER BY m.id {order}",
                    (0..ids.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(",")
                );
                let mut q = sqlx::query(&sql).bind(user.as_str());
                for id in &ids {
                    q = q.bind(*id);
                }
                for r in q.fetch_all(db).await? {
                    if (list.len() as i64) < limit {
                        list.push((r.i64("rowid")?, rows::message(&r)?));
                    }
                }
                if list.len() as i64 >= limit || (ids.len() as i64) < window {
                    break;
                }
                position = Some(last);
                window = (window * 4).min(1000);
            }
            Ok((total, list))
        })
    }

    /// One message with the JSON of its parsed index.
    pub async fn get_message(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
    ) -> Result<Option<(MessageRecord, String)>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS}, b.parsed FROM messages m JOIN blobs b ON b.hash = m.blob \
             WHERE m.user_id = $1 AND m.mailbox_id = $2 AND m.uid = $3"
        );
        read!(self, db => {
            let row = sqlx::query(&sql).bind(user.as_str()).bind(mailbox.as_str()).bind(uid).fetch_optional(db).await?;
            row.map(|r| Ok((rows::message(&r)?, r.string("parsed")?))).transpose()
        })
    }

    /// Changes flags/expiry of the selected messages (REST): `change` sets what it names.
    /// Returns the UIDs whose flags or expiry changed.
    pub async fn update_flags(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        set: &UidSet,
        change: &FlagChange,
    ) -> Result<Vec<i64>> {
        let changed = self
            .change_messages(user, mailbox, set, |current, expires| {
                let mut f = current.clone();
                if let Some(v) = change.seen {
                    f.seen = v;
                }
                if let Some(v) = change.answered {
                    f.answered = v;
                }
                if let Some(v) = change.flagged {
                    f.flagged = v;
                }
                if let Some(v) = change.deleted {
                    f.deleted = v;
                }
                if let Some(v) = change.draft {
                    f.draft = v;
                }
                if let Some(k) = &change.keywords {
                    f.keywords = k.clone();
                }
                (f, change.expires.unwrap_or(expires))
            })
            .await?;
        Ok(changed.into_iter().map(|c| c.uid).collect())
    }

    /// The one place where message flags and expiry change, for every protocol: `change`
    /// maps each selected message's (flags, expiry) to the new ones. Messages it leaves as
    /// they were are not touched; the others get one new mailbox modseq (one bump per call,
    /// as CONDSTORE allows), and a journal FETCH row when their flags changed.
    pub async fn change_messages<F>(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        set: &UidSet,
        change: F,
    ) -> Result<Vec<FlagsChanged>>
    where
        F: Fn(&Flags, Option<Millis>) -> (Flags, Option<Millis>),
    {
        let (changed, _) = self
            .change_messages_unchanged_since(user, mailbox, set, None, change)
            .await?;
        Ok(changed)
    }

    /// [`Store::change_messages`] with the CONDSTORE `UNCHANGEDSINCE` test (RFC 7162
    /// 3.1.3): a message whose modseq is above `unchanged_since` is left alone and its UID
    /// returned in the second list. The test and the change are one transaction, so no
    /// other writer can slip in between.
    pub async fn change_messages_unchanged_since<F>(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        set: &UidSet,
        unchanged_since: Option<i64>,
        change: F,
    ) -> Result<(Vec<FlagsChanged>, Vec<i64>)>
    where
        F: Fn(&Flags, Option<Millis>) -> (Flags, Option<Millis>),
    {
        // UID lists are read in chunks (an IMAP `UID STORE 1:*` may name a whole mailbox).
        let sets: Vec<UidSet> = match set {
            UidSet::Range(..) => vec![set.clone()],
            UidSet::List(l) => l.chunks(500).map(|c| UidSet::List(c.to_vec())).collect(),
        };
        let pg = by_engine!(self, sqlite => false, postgres => true);
        // Flag changes are not synced one by one (see `Commit::Relaxed`).
        self.write_with(Commit::Relaxed, async |tx| {
            let mut changed = Vec::new();
            let mut modified = Vec::new();
            let mut modseq = None;
            // PostgreSQL: the mailbox is locked before the flags are read, so that two
            // changes of the same message do not both start from its old flags (SQLite's
            // writer runs one transaction at a time anyway).
            if pg {
                tx.all(&crate::db::pg_lock_sql("mailboxes", 1), &[mailbox.as_str().into()], |_| Ok(()))
                    .await?;
            }
            for set in &sets {
                let (cond, uids) = set.condition(3);
                // Only what a flag change reads (not the whole record of each message).
                let select = format!(
                    "SELECT m.uid, m.modseq, m.seen, m.answered, m.flagged, m.deleted, m.draft, m.keywords, m.expires \
                     FROM messages m WHERE m.user_id = $1 AND m.mailbox_id = $2 AND {cond} ORDER BY m.uid"
                );
                let mut args: Vec<Arg<'_>> = vec![user.as_str().into(), mailbox.as_str().into()];
                args.extend(uids.iter().map(|u| Arg::Int(*u)));
                let current = tx
                    .all(&select, &args, |r| {
                        Ok(FlagRow {
                            uid: r.i64("uid")?,
                            modseq: r.i64("modseq")?,
                            flags: rows::flags(r)?,
                            expires: r.opt_i64("expires")?,
                        })
                    })
                    .await?;
                for m in current {
                    if unchanged_since.is_some_and(|limit| m.modseq > limit) {
                        modified.push(m.uid);
                        continue;
                    }
                    let (f, expires) = change(&m.flags, m.expires);
                    if f == m.flags && expires == m.expires {
                        continue;
                    }
                    let ms = match modseq {
                        Some(ms) => ms,
                        None => {
                            let ms = tx
                                .one(BUMP_MODSEQ, &[mailbox.as_str().into()], |r| r.i64("modseq"))
                                .await?;
                            modseq = Some(ms);
                            ms
                        }
                    };
                    let keywords = keywords_text(&f.keywords);
                    tx.execute(
                        "UPDATE messages SET seen = $3, answered = $4, flagged = $5, deleted = $6, draft = $7, \
                         keywords = $8, expires = $9, modseq = $10 WHERE mailbox_id = $1 AND uid = $2",
                        &[
                            mailbox.as_str().into(),
                            m.uid.into(),
                            f.seen.into(),
                            f.answered.into(),
                            f.flagged.into(),
                            f.deleted.into(),
                            f.draft.into(),
                            keywords.as_str().into(),
                            expires.into(),
                            ms.into(),
                        ],
                    )
                    .await?;
                    if f != m.flags {
                        let data = serde_json::to_string(&f).map_err(|e| rows::corrupt(e.to_string()))?;
                        tx.execute(
                            JOURNAL_INSERT,
                            &[
                                user.as_str().into(),
                                mailbox.as_str().into(),
                                "FETCH".into(),
                                m.uid.into(),
                                ms.into(),
                                data.as_str().into(),
                                crate::now_ms().into(),
                            ],
                        )
                        .await?;
                    }
                    changed.push(FlagsChanged { uid: m.uid, flags: f, modseq: ms });
                }
            }
            Ok((changed, modified))
        })
        .await
    }

    /// Moves the selected messages to `dest` (new UIDs there); returns (old uid, new uid).
    /// `None` when `dest` is not the user's mailbox. `dest` may be `src`: the messages then
    /// get new UIDs in their own mailbox (expunged and new, RFC 6851 3.3).
    pub async fn move_messages(
        &self,
        user: &ObjectId,
        src: &ObjectId,
        dest: &ObjectId,
        set: &UidSet,
    ) -> Result<Option<Vec<(i64, i64)>>> {
        let (cond, uids) = set.condition(3);
        let select = format!(
            "SELECT m.uid FROM messages m WHERE m.user_id = $1 AND m.mailbox_id = $2 AND {cond} ORDER BY m.uid"
        );
        let moved = write_tx!(self, tx => {
            // Both mailboxes, in id order (see `db::pg_lock_sql`).
            crate::db::pg_lock!(self, tx, "mailboxes", [src.as_str(), dest.as_str()]);
            let dest_ok = sqlx::query("SELECT id FROM mailboxes WHERE id = $1 AND user_id = $2")
                .bind(dest.as_str())
                .bind(user.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !dest_ok {
                None
            } else {
                let mut q = sqlx::query(&select).bind(user.as_str()).bind(src.as_str());
                for u in &uids {
                    q = q.bind(*u);
                }
                let list: Vec<i64> = q.fetch_all(&mut *tx).await?.iter().map(|r| r.i64("uid")).collect::<Result<_>>()?;
                let mut pairs = Vec::with_capacity(list.len());
                if !list.is_empty() {
                    let src_modseq = sqlx::query("UPDATE mailboxes SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq")
                        .bind(src.as_str())
                        .fetch_one(&mut *tx)
                        .await?
                        .i64("modseq")?;
                    let n = list.len() as i64;
                    let row = sqlx::query("UPDATE mailboxes SET uid_next = uid_next + $2, modseq = modseq + 1 WHERE id = $1 RETURNING uid_next, modseq, special_use, retention")
                        .bind(dest.as_str())
                        .bind(n)
                        .fetch_one(&mut *tx)
                        .await?;
                    let first = row.i64("uid_next")? - n;
                    let dest_modseq = row.i64("modseq")?;
                    // Retention runs from the arrival in the destination (as in WildDuck).
                    let expires = crate::retention_deadline(row.opt_string("special_use")?.as_deref(), row.i64("retention")?, crate::now_ms());
                    for (i, old) in list.iter().enumerate() {
                        let new = first + i as i64;
                        sqlx::query("UPDATE messages SET mailbox_id = $3, uid = $4, modseq = $5, expires = $6 WHERE mailbox_id = $1 AND uid = $2")
                            .bind(src.as_str())
                            .bind(*old)
                            .bind(dest.as_str())
                            .bind(new)
                            .bind(dest_modseq)
                            .bind(expires)
                            .execute(&mut *tx)
                            .await?;
                        journal!(tx, user.as_str(), src.as_str(), "EXPUNGE", Some(*old), Some(src_modseq), None::<String>);
                        journal!(tx, user.as_str(), dest.as_str(), "EXISTS", Some(new), Some(dest_modseq), None::<String>);
                        pairs.push((*old, new));
                    }
                }
                Some(pairs)
            }
        });
        Ok(moved)
    }

    /// Deletes the selected messages, releasing quota, and archives them (see
    /// [`Store::set_archive_for`]; drafts are not archived) or releases their blobs; returns
    /// the deleted UIDs.
    pub async fn delete_messages(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        set: &UidSet,
    ) -> Result<Vec<i64>> {
        self.delete_matching(user, mailbox, set, false).await
    }

    /// Deletes the selected messages (only those flagged `\Deleted` when `only_deleted`).
    /// A message that is not a draft goes to the archive in the same transaction when the
    /// archive is on: it keeps its blob reference, leaves the quota and every mailbox.
    pub(crate) async fn delete_matching(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        set: &UidSet,
        only_deleted: bool,
    ) -> Result<Vec<i64>> {
        let (cond, uids) = set.condition(3);
        let deleted_cond = if only_deleted { " AND m.deleted" } else { "" };
        // Locked on PostgreSQL: a concurrent deletion of the same rows waits, then finds
        // them gone, so no message is archived (or its blob released) twice.
        let lock = by_engine!(self, sqlite => "", postgres => " FOR UPDATE");
        let select = format!(
            "SELECT m.id AS rowid, m.uid, m.blob, m.size, m.draft FROM messages m WHERE m.user_id = $1 AND m.mailbox_id = $2 AND {cond}{deleted_cond} ORDER BY m.uid{lock}"
        );
        let now = crate::now_ms();
        let archive_until = (self.archive_for > 0).then(|| now.saturating_add(self.archive_for));
        let deleted = write_tx!(self, tx => {
            // The user (quota), then the mailbox, then the messages (see `db::pg_lock_sql`).
            crate::db::pg_lock!(self, tx, "users", [user.as_str()]);
            crate::db::pg_lock!(self, tx, "mailboxes", [mailbox.as_str()]);
            let mut q = sqlx::query(&select).bind(user.as_str()).bind(mailbox.as_str());
            for u in &uids {
                q = q.bind(*u);
            }
            let rows = q.fetch_all(&mut *tx).await?;
            let mut deleted = Vec::with_capacity(rows.len());
            if !rows.is_empty() {
                let modseq = sqlx::query("UPDATE mailboxes SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq")
                    .bind(mailbox.as_str())
                    .fetch_one(&mut *tx)
                    .await?
                    .i64("modseq")?;
                let mut freed = 0i64;
                for r in &rows {
                    let rowid = r.i64("rowid")?;
                    let uid = r.i64("uid")?;
                    freed += r.i64("size")?;
                    by_engine!(self,
                        sqlite => {
                            sqlx::query("DELETE FROM messages_fts WHERE rowid = $1").bind(rowid).execute(&mut *tx).await?;
                        },
                        postgres => ()
                    );
                    // Drafts are not archived (as in WildDuck): clients replace them often.
                    let draft = r.boolean("draft")?;
                    match archive_until.filter(|_| !draft) {
                        Some(until) => {
                            // The archive row takes over the message row's blob reference.
                            sqlx::query(crate::archive::ARCHIVE_ROW)
                                .bind(rowid)
                                .bind(ObjectId::new().as_str())
                                .bind(now)
                                .bind(until)
                                .execute(&mut *tx)
                                .await?;
                        }
                        None => {
                            sqlx::query("UPDATE blobs SET refcount = refcount - 1 WHERE hash = $1").bind(r.string("blob")?).execute(&mut *tx).await?;
                        }
                    }
                    sqlx::query("DELETE FROM messages WHERE id = $1").bind(rowid).execute(&mut *tx).await?;
                    journal!(tx, user.as_str(), mailbox.as_str(), "EXPUNGE", Some(uid), Some(modseq), None::<String>);
                    deleted.push(uid);
                }
                sqlx::query("UPDATE users SET storage_used = storage_used - $2 WHERE id = $1")
                    .bind(user.as_str())
                    .bind(freed)
                    .execute(&mut *tx)
                    .await?;
            }
            deleted
        });
        Ok(deleted)
    }

    /// Removes blobs that no message references (rows, their `blob_data` rows by cascade, and
    /// files); returns how many. The row is deleted and the file unlinked inside one
    /// transaction, so an insertion that re-references the blob either sees the row gone (and
    /// rewrites the file or the data row) or keeps it.
    pub async fn collect_blobs(&self, max: i64) -> Result<usize> {
        let n = write_tx!(self, tx => {
            let rows = sqlx::query(&format!("DELETE FROM blobs WHERE hash IN (SELECT hash FROM blobs WHERE refcount <= 0 LIMIT {max}) RETURNING hash"))
                .fetch_all(&mut *tx)
                .await?;
            let hashes = rows.iter().map(|r| r.string("hash")).collect::<Result<Vec<_>>>()?;
            let blobs = self.blobs.clone();
            tokio::task::spawn_blocking(move || hashes.iter().try_for_each(|h| blobs.remove_blocking(h)))
                .await
                .map_err(std::io::Error::other)??;
            rows.len()
        });
        Ok(n)
    }
}
