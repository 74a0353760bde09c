//! What a mailbox session (IMAP, later POP3) reads and changes: the compact view of a
//! mailbox (UID, flags, modseq, size, internal date) ordered by UID, records for a set of
//! UIDs, journal rows since a known id, flag stores, copies and expunges.
//!
//! Every write bumps the mailbox modseq and writes journal rows in the same transaction,
//! like the rest of the store.

use crate::db::{by_engine, read, write_tx};
use crate::direct::Arg;
use crate::insert::list;
use crate::mailboxes::journal;
use crate::messages::fts5_query;
use crate::model::*;
use crate::rows::{self, Cols, MESSAGE_COLS};
use crate::{Result, Store, UidSet};

/// UIDs bound per statement (far below both engines' parameter limits).
const CHUNK: usize = 500;

/// Rows per statement of [`Store::scan_search_rows`].
const SEARCH_CHUNK: i64 = 256;

/// One message of a mailbox as a session keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRow {
    pub uid: i64,
    pub modseq: i64,
    pub flags: Flags,
    pub size: i64,
    pub idate: Millis,
}

/// One message as SEARCH reads it ([`Store::scan_search_rows`]).
#[derive(Debug, Clone, Copy)]
pub struct SearchRow<'a> {
    pub uid: i64,
    /// The Date header (Unix milliseconds; the internal date when it has none).
    pub hdate: Millis,
    /// JSON `{"subject": .., "headers": [[name, value], ..]}`, when asked for.
    pub header_index: Option<&'a str>,
}

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub id: i64,
    pub mailbox: Option<ObjectId>,
    /// "EXISTS", "EXPUNGE", "FETCH", "CREATE", "RENAME", "DELETE".
    pub command: String,
    pub uid: Option<i64>,
    pub modseq: Option<i64>,
}

/// How a flag store changes the flags of each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Replace,
    Add,
    Remove,
}

/// A message whose flags a store changed: its new flags and modseq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagsChanged {
    pub uid: i64,
    pub flags: Flags,
    pub modseq: i64,
}

/// Result of [`Store::copy_messages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOutcome {
    /// (source uid, new uid) pairs in source UID order.
    Copied(Vec<(i64, i64)>),
    NoMailbox,
    OverQuota,
}

pub(crate) fn apply(op: FlagOp, current: &Flags, given: &Flags) -> Flags {
    match op {
        FlagOp::Replace => given.clone(),
        FlagOp::Add => {
            let mut f = current.clone();
            f.seen |= given.seen;
            f.answered |= given.answered;
            f.flagged |= given.flagged;
            f.deleted |= given.deleted;
            f.draft |= given.draft;
            for k in &given.keywords {
                if !f.keywords.contains(k) {
                    f.keywords.push(k.clone());
                }
            }
            f
        }
        FlagOp::Remove => {
            let mut f = current.clone();
            f.seen &= !given.seen;
            f.answered &= !given.answered;
            f.flagged &= !given.flagged;
            f.deleted &= !given.deleted;
            f.draft &= !given.draft;
            f.keywords.retain(|k| !given.keywords.contains(k));
            f
        }
    }
}

fn view_row(r: &impl Cols) -> Result<ViewRow> {
    Ok(ViewRow {
        uid: r.i64("uid")?,
        modseq: r.i64("modseq")?,
        size: r.i64("size")?,
        idate: r.i64("idate")?,
        flags: rows::flags(r)?,
    })
}

fn journal_entry(r: &impl Cols) -> Result<JournalEntry> {
    Ok(JournalEntry {
        id: r.i64("id")?,
        mailbox: r.opt_string("mailbox_id")?.map(ObjectId::from_stored),
        command: r.string("command")?,
        uid: r.opt_i64("uid")?,
        modseq: r.opt_i64("modseq")?,
    })
}

const VIEW_COLS: &str =
    "uid, modseq, size, idate, seen, answered, flagged, deleted, draft, keywords";

/// View rows read per statement when a whole mailbox (or its tail) is loaded.
const VIEW_CHUNK: i64 = 10_000;

/// One chunk of view rows as the SQLite aggregated query returns it: each column a list of
/// decimal numbers separated by `,`, row `i` of every list being the same message, and
/// the keywords of the messages that have any as lines "uid keyword…".
struct PackedChunk<'a> {
    /// `uid * 32 + flag bits` (seen 1, answered 2, flagged 4, deleted 8, draft 16).
    uid_bits: &'a str,
    modseq: &'a str,
    size: &'a str,
    idate: &'a str,
    keywords: &'a str,
}

/// Decimal numbers separated by `,` (what group_concat makes of integers), read without
/// splitting into strings first: this loop runs for every message of a mailbox.
struct Numbers<'a>(&'a [u8]);

impl Numbers<'_> {
    /// The next number (`Some(None)` if it is not one), or `None` at the end.
    fn next_number(&mut self) -> Option<Option<i64>> {
        if self.0.is_empty() {
            return None;
        }
        let end = self
            .0
            .iter()
            .position(|&b| b == b',')
            .unwrap_or(self.0.len());
        let (item, rest) = self.0.split_at(end);
        self.0 = rest.get(1..).unwrap_or_default();
        let (negative, digits) = match item.split_first() {
            Some((b'-', d)) => (true, d),
            _ => (false, item),
        };
        if digits.is_empty() {
            return Some(None);
        }
        let mut n: i64 = 0;
        for &b in digits {
            if !b.is_ascii_digit() {
                return Some(None);
            }
            let Some(v) = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(i64::from(b - b'0')))
            else {
                return Some(None);
            };
            n = v;
        }
        Some(Some(if negative { -n } else { n }))
    }
}

/// Flags from their bits (seen 1, answered 2, flagged 4, deleted 8, draft 16).
pub(crate) fn flags_from_bits(bits: i64, keywords: Vec<String>) -> Flags {
    Flags {
        seen: bits & 1 != 0,
        answered: bits & 2 != 0,
        flagged: bits & 4 != 0,
        deleted: bits & 8 != 0,
        draft: bits & 16 != 0,
        keywords,
    }
}

/// Decodes a [`PackedChunk`], appending its rows (by UID) to `out`.
///
/// Numbers rather than one text line per row: turning five numbers per row into text
/// joined by `||` cost SQLite several times more than the read itself, and splitting the
/// lines cost an allocation per row here.
fn unpack_chunk(chunk: &PackedChunk<'_>, out: &mut Vec<ViewRow>) -> Result<()> {
    let bad = |what: &str| rows::corrupt(format!("view chunk: {what}"));
    let start = out.len();
    let mut uid_bits = Numbers(chunk.uid_bits.as_bytes());
    let mut modseq = Numbers(chunk.modseq.as_bytes());
    let mut size = Numbers(chunk.size.as_bytes());
    let mut idate = Numbers(chunk.idate.as_bytes());
    while let Some(ub) = uid_bits.next_number() {
        let ub = ub.ok_or_else(|| bad("uid"))?;
        let col = |list: &mut Numbers<'_>, what: &str| {
            list.next_number().flatten().ok_or_else(|| bad(what))
        };
        let (m, s, d) = (
            col(&mut modseq, "modseq")?,
            col(&mut size, "size")?,
            col(&mut idate, "idate")?,
        );
        let bits = ub & 31;
        out.push(ViewRow {
            uid: ub >> 5,
            modseq: m,
            size: s,
            idate: d,
            flags: flags_from_bits(bits, Vec::new()),
        });
    }
    if !(modseq.0.is_empty() && size.0.is_empty() && idate.0.is_empty()) {
        return Err(bad("column lengths differ"));
    }
    let rows = out.get_mut(start..).unwrap_or_default();
    // group_concat keeps the subquery's order in practice; sorting makes it a rule.
    if !rows.is_sorted_by_key(|r| r.uid) {
        rows.sort_unstable_by_key(|r| r.uid);
    }
    // The keywords column is space-separated and keywords are atoms, so neither a space
    // nor a line feed can appear inside one.
    for line in chunk.keywords.split('\n').filter(|l| !l.is_empty()) {
        let mut parts = line.split(' ');
        let uid: i64 = parts
            .next()
            .and_then(|u| u.parse().ok())
            .ok_or_else(|| bad("keyword uid"))?;
        let i = rows
            .binary_search_by_key(&uid, |r| r.uid)
            .map_err(|_| bad("keywords of an unknown uid"))?;
        if let Some(row) = rows.get_mut(i) {
            row.flags.keywords = parts
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect();
        }
    }
    Ok(())
}

impl Store {
    /// Every message of a mailbox, ordered by UID.
    pub async fn mailbox_view(&self, user: &ObjectId, mailbox: &ObjectId) -> Result<Vec<ViewRow>> {
        self.mailbox_view_after(user, mailbox, 0).await
    }

    /// The messages of a mailbox with a UID above `after`, ordered by UID.
    ///
    /// On SQLite, read in chunks of [`VIEW_CHUNK`] rows, each chunk aggregated by the
    /// database into one text value: decoding 100,000 rows one by one through the driver
    /// costs several times more than the query itself (SELECT of a big mailbox).
    pub async fn mailbox_view_after(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        after: i64,
    ) -> Result<Vec<ViewRow>> {
        // PostgreSQL decodes plain rows fast, and there the chunked aggregate was slower
        // (each chunk re-sorted its rows): 1.4 s against 0.4 s for 100,000 messages.
        let (mb, us) = (mailbox.as_str(), user.as_str());
        if by_engine!(self, sqlite => false, postgres => true) {
            let sql = format!(
                "SELECT {VIEW_COLS} FROM messages WHERE mailbox_id = $1 AND user_id = $2 AND uid > $3 ORDER BY uid"
            );
            let args = [mb.into(), us.into(), after.into()];
            return self
                .read(async |tx| tx.all(&sql, &args, |r| view_row(r)).await)
                .await;
        }
        // Chunks are UID ranges read straight off the (mailbox_id, uid) index: a subquery
        // with ORDER BY and LIMIT cost a fifth more (a co-routine step per row). The flag
        // columns hold 0 or 1 on SQLite.
        let sql = "SELECT COALESCE(group_concat(uid * 32 + seen + 2 * answered + 4 * flagged + 8 * deleted + 16 * draft), '') AS uid_bits, \
             COALESCE(group_concat(modseq), '') AS modseqs, COALESCE(group_concat(size), '') AS sizes, \
             COALESCE(group_concat(idate), '') AS idates, \
             COALESCE(group_concat(CASE WHEN keywords <> '' THEN uid || ' ' || keywords END, char(10)), '') AS kws \
             FROM messages WHERE mailbox_id = $1 AND user_id = $2 AND uid > $3 AND uid <= $4";
        // The next UID above a gap of more than a chunk (and the end).
        let next_sql = "SELECT MIN(uid) AS uid FROM messages WHERE mailbox_id = $1 AND user_id = $2 AND uid > $3";
        self.read(async |tx| {
            let mut out = Vec::new();
            let mut after = after;
            loop {
                let args = [mb.into(), us.into(), after.into()];
                let Some(next) = tx.one(next_sql, &args, |r| r.opt_i64("uid")).await? else {
                    break;
                };
                // Each chunk starts at a message, so no query reads an empty range.
                let hi = next.saturating_add(VIEW_CHUNK - 1);
                let args = [mb.into(), us.into(), after.into(), hi.into()];
                tx.one(sql, &args, |r| {
                    let chunk = PackedChunk {
                        uid_bits: r.str("uid_bits")?,
                        modseq: r.str("modseqs")?,
                        size: r.str("sizes")?,
                        idate: r.str("idates")?,
                        keywords: r.str("kws")?,
                    };
                    unpack_chunk(&chunk, &mut out)
                })
                .await?;
                after = hi;
            }
            Ok(out)
        })
        .await
    }

    /// The view rows of the given UIDs (those that exist), ordered by UID.
    pub async fn view_rows(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
    ) -> Result<Vec<ViewRow>> {
        let mut out = self
            .read(async |tx| {
                let mut out = Vec::with_capacity(uids.len());
                for chunk in uids.chunks(CHUNK) {
                    let sql = format!(
                        "SELECT {VIEW_COLS} FROM messages WHERE mailbox_id = $1 AND user_id = $2 AND uid IN ({}) ORDER BY uid",
                        list(3, chunk.len())
                    );
                    let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() + 2);
                    args.push(mailbox.as_str().into());
                    args.push(user.as_str().into());
                    args.extend(chunk.iter().map(|u| Arg::Int(*u)));
                    out.extend(tx.all(&sql, &args, |r| view_row(r)).await?);
                }
                Ok(out)
            })
            .await?;
        out.sort_unstable_by_key(|r| r.uid);
        Ok(out)
    }

    /// The journal rows of one mailbox with a modseq above `after`, by modseq, at most
    /// `limit`, plus its DELETE row if the mailbox was deleted.
    ///
    /// Every journal row of a mailbox carries the modseq its transaction took from the
    /// mailbox row, which stays locked until the commit: in modseq order, rows become
    /// visible in commit order on both engines, so a reader that has seen modseq `m`
    /// will never later find a row at or below `m` (journal ids do not have that property
    /// on PostgreSQL, where ids are taken before the commit order is known).
    pub async fn mailbox_journal_since(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<JournalEntry>> {
        let sql = format!(
            "SELECT id, mailbox_id, command, uid, modseq FROM (SELECT id, mailbox_id, command, uid, modseq FROM journal \
             WHERE mailbox_id = $1 AND user_id = $2 AND modseq > $3 ORDER BY modseq, id LIMIT {}) t \
             UNION ALL SELECT id, mailbox_id, command, uid, modseq FROM journal \
             WHERE mailbox_id = $1 AND user_id = $2 AND modseq IS NULL AND command = 'DELETE'",
            limit.max(1)
        );
        let args = [mailbox.as_str().into(), user.as_str().into(), after.into()];
        self.read(async |tx| tx.all(&sql, &args, |r| journal_entry(r)).await)
            .await
    }

    /// Records (and, with `parsed`, the JSON of their parsed index) of the given UIDs,
    /// ordered by UID; UIDs that do not exist are left out.
    pub async fn fetch_records(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
        parsed: bool,
    ) -> Result<Vec<(MessageRecord, Option<String>)>> {
        self.read(async |tx| {
            let mut out = Vec::with_capacity(uids.len());
            for chunk in uids.chunks(CHUNK) {
                let sql = if parsed {
                    format!(
                        "SELECT {MESSAGE_COLS}, b.parsed FROM messages m JOIN blobs b ON b.hash = m.blob \
                         WHERE m.user_id = $1 AND m.mailbox_id = $2 AND m.uid IN ({}) ORDER BY m.uid",
                        list(3, chunk.len())
                    )
                } else {
                    format!(
                        "SELECT {MESSAGE_COLS} FROM messages m WHERE m.user_id = $1 AND m.mailbox_id = $2 \
                         AND m.uid IN ({}) ORDER BY m.uid",
                        list(3, chunk.len())
                    )
                };
                let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() + 2);
                args.push(user.as_str().into());
                args.push(mailbox.as_str().into());
                args.extend(chunk.iter().map(|u| Arg::Int(*u)));
                let rows = tx
                    .all(&sql, &args, |r| {
                        let json = if parsed { Some(r.string("parsed")?) } else { None };
                        Ok((rows::message(r)?, json))
                    })
                    .await?;
                out.extend(rows);
            }
            Ok(out)
        })
        .await
    }

    /// Calls `each` for every message of the mailbox with a UID in `uids`, in UID order, with
    /// what SEARCH looks at beyond the session's view: its UID, its Date header
    /// (`hdate`) and, with `header_index`, the JSON of its subject and header fields
    /// (`blob_headers`), borrowed from the row. The JSON of the whole parsed index is
    /// not read: on a header SEARCH it was most of the work.
    ///
    /// One connection for the whole range, read [`SEARCH_CHUNK`] rows per statement: on
    /// SQLite each row is passed to `each` in place, on PostgreSQL a statement's rows are
    /// held until they are; either way only `each`'s answers are kept.
    pub async fn scan_search_rows<T: Send>(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: std::ops::RangeInclusive<i64>,
        header_index: bool,
        mut each: impl FnMut(SearchRow<'_>) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        let sql = if header_index {
            format!(
                "SELECT m.uid, m.hdate, coalesce(h.header_index, '{{}}') AS header_index FROM messages m \
                 LEFT JOIN blob_headers h ON h.hash = m.blob \
                 WHERE m.user_id = $1 AND m.mailbox_id = $2 AND m.uid > $3 AND m.uid <= $4 \
                 ORDER BY m.uid LIMIT {SEARCH_CHUNK}"
            )
        } else {
            format!(
                "SELECT m.uid, m.hdate FROM messages m \
                 WHERE m.user_id = $1 AND m.mailbox_id = $2 AND m.uid > $3 AND m.uid <= $4 \
                 ORDER BY m.uid LIMIT {SEARCH_CHUNK}"
            )
        };
        let (first, last) = (*uids.start(), *uids.end());
        self.read(async |tx| {
            let mut out = Vec::new();
            let mut after = first.saturating_sub(1);
            while after < last {
                let args = [
                    user.as_str().into(),
                    mailbox.as_str().into(),
                    Arg::Int(after),
                    Arg::Int(last),
                ];
                let (mut rows, mut seen) = (0, after);
                let found = tx
                    .all(&sql, &args, |r| {
                        let uid = r.i64("uid")?;
                        (rows, seen) = (rows + 1, uid);
                        each(SearchRow {
                            uid,
                            hdate: r.i64("hdate")?,
                            header_index: if header_index {
                                Some(r.str("header_index")?)
                            } else {
                                None
                            },
                        })
                    })
                    .await?;
                out.extend(found);
                if rows < SEARCH_CHUNK || seen <= after {
                    break;
                }
                after = seen;
            }
            Ok(out)
        })
        .await
    }

    /// UIDs of the mailbox's messages whose full-text index matches every word of `query`.
    pub async fn search_text_uids(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        query: &str,
    ) -> Result<Vec<i64>> {
        let (sql, bind) = by_engine!(self,
            sqlite => (
                "SELECT m.uid FROM messages m WHERE m.mailbox_id = $1 AND m.user_id = $2 AND m.id IN \
                 (SELECT rowid FROM messages_fts WHERE messages_fts MATCH $3) ORDER BY m.uid",
                format!("owner:\"u{}\" AND ({})", user, fts5_query(query)),
            ),
            postgres => (
                "SELECT m.uid FROM messages m WHERE m.mailbox_id = $1 AND m.user_id = $2 AND m.id IN \
                 (SELECT message FROM messages_fts WHERE user_id = $2 AND body @@ plainto_tsquery('simple', $3)) ORDER BY m.uid",
                query.to_string(),
            )
        );
        read!(self, db => {
            sqlx::query(sql)
                .bind(mailbox.as_str())
                .bind(user.as_str())
                .bind(bind.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| r.i64("uid"))
                .collect()
        })
    }

    /// Copies messages (uid and the text for the full-text index of each) to `dest`: new
    /// UIDs there, blob references and quota usage added, journal EXISTS rows.
    pub async fn copy_messages(
        &self,
        user: &ObjectId,
        src: &ObjectId,
        dest: &ObjectId,
        items: &[(i64, String)],
    ) -> Result<CopyOutcome> {
        // The user first (quota), then the destination (see `db::pg_lock_sql`).
        let lock = by_engine!(self, sqlite => "", postgres => " FOR NO KEY UPDATE");
        let outcome = write_tx!(self, tx => {
            let dest_ok = sqlx::query("SELECT id FROM mailboxes WHERE id = $1 AND user_id = $2")
                .bind(dest.as_str())
                .bind(user.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let user_row = sqlx::query(&format!("SELECT quota_allowed, storage_used FROM users WHERE id = $1{lock}"))
                .bind(user.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            match (dest_ok, user_row) {
                (true, Some(user_row)) => {
                    // The source rows that still exist, in UID order.
                    let mut found: Vec<(i64, i64, String)> = Vec::new();
                    for chunk in items.chunks(CHUNK) {
                        let sql = format!(
                            "SELECT uid, size, blob FROM messages WHERE mailbox_id = $1 AND user_id = $2 AND uid IN ({}) ORDER BY uid",
                            list(3, chunk.len())
                        );
                        let mut q = sqlx::query(&sql).bind(src.as_str()).bind(user.as_str());
                        for (u, _) in chunk {
                            q = q.bind(*u);
                        }
                        for r in q.fetch_all(&mut *tx).await? {
                            found.push((r.i64("uid")?, r.i64("size")?, r.string("blob")?));
                        }
                    }
                    found.sort_by_key(|(u, _, _)| *u);
                    let total: i64 = found.iter().map(|(_, s, _)| *s).sum();
                    let allowed = user_row.i64("quota_allowed")?;
                    let used = user_row.i64("storage_used")?;
                    if allowed > 0 && used + total > allowed {
                        CopyOutcome::OverQuota
                    } else if found.is_empty() {
                        CopyOutcome::Copied(Vec::new())
                    } else {
                        sqlx::query("UPDATE users SET storage_used = storage_used + $2 WHERE id = $1")
                            .bind(user.as_str())
                            .bind(total)
                            .execute(&mut *tx)
                            .await?;
                        let n = found.len() as i64;
                        let row = sqlx::query("UPDATE mailboxes SET uid_next = uid_next + $2, modseq = modseq + 1 WHERE id = $1 RETURNING uid_next, modseq, special_use, retention")
                            .bind(dest.as_str())
                            .bind(n)
                            .fetch_one(&mut *tx)
                            .await?;
                        let first = row.i64("uid_next")? - n;
                        let modseq = row.i64("modseq")?;
                        // Retention runs from the arrival in the destination (as in WildDuck).
                        let expires = crate::retention_deadline(row.opt_string("special_use")?.as_deref(), row.i64("retention")?, crate::now_ms());
                        let mut pairs = Vec::with_capacity(found.len());
                        for (i, (old, _, blob)) in found.iter().enumerate() {
                            let new = first + i as i64;
                            let rowid = sqlx::query(
                                "INSERT INTO messages (user_id, mailbox_id, uid, modseq, thread_id, blob, size, idate, hdate, subject, \
                                 from_name, from_address, message_id, intro, has_attachments, seen, answered, flagged, deleted, draft, \
                                 keywords, expires) SELECT user_id, $3, $4, $5, thread_id, blob, size, idate, hdate, subject, \
                                 from_name, from_address, message_id, intro, has_attachments, seen, answered, flagged, deleted, draft, \
                                 keywords, $6 FROM messages WHERE mailbox_id = $1 AND uid = $2 RETURNING id",
                            )
                            .bind(src.as_str())
                            .bind(*old)
                            .bind(dest.as_str())
                            .bind(new)
                            .bind(modseq)
                            .bind(expires)
                            .fetch_one(&mut *tx)
                            .await?
                            .i64("id")?;
                            sqlx::query("UPDATE blobs SET refcount = refcount + 1 WHERE hash = $1")
                                .bind(blob.as_str())
                                .execute(&mut *tx)
                                .await?;
                            let search_text = items
                                .iter()
                                .find(|(u, _)| u == old)
                                .map(|(_, t)| crate::messages::text(t).into_owned())
                                .unwrap_or_default();
                            by_engine!(self,
                                sqlite => {
                                    sqlx::query("INSERT INTO messages_fts (rowid, owner, body) VALUES ($1, $2, $3)")
                                        .bind(rowid)
                                        .bind(format!("u{user}"))
                                        .bind(search_text)
                                        .execute(&mut *tx)
                                        .await?;
                                },
                                postgres => {
                                    sqlx::query("INSERT INTO messages_fts (message, user_id, body) VALUES ($1, $2, to_tsvector('simple', $3))")
                                        .bind(rowid)
                                        .bind(user.as_str())
                                        .bind(search_text)
                                        .execute(&mut *tx)
                                        .await?;
                                }
                            );
                            journal!(tx, user.as_str(), dest.as_str(), "EXISTS", Some(new), Some(modseq), None::<String>);
                            pairs.push((*old, new));
                        }
                        CopyOutcome::Copied(pairs)
                    }
                }
                _ => CopyOutcome::NoMailbox,
            }
        });
        Ok(outcome)
    }

    /// Deletes the messages flagged `\Deleted` (all of the mailbox, or only those in `set`),
    /// releasing blobs and quota; returns the deleted UIDs.
    pub async fn expunge_deleted(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        set: Option<&UidSet>,
    ) -> Result<Vec<i64>> {
        let all = UidSet::Range(1, i64::from(u32::MAX));
        self.delete_matching(user, mailbox, set.unwrap_or(&all), true)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_ops() {
        let cur = Flags {
            seen: true,
            keywords: vec!["a".into()],
            ..Flags::default()
        };
        let given = Flags {
            flagged: true,
            seen: true,
            keywords: vec!["b".into()],
            ..Flags::default()
        };
        let added = apply(FlagOp::Add, &cur, &given);
        assert!(added.seen && added.flagged);
        assert_eq!(added.keywords, vec!["a".to_string(), "b".to_string()]);
        let removed = apply(FlagOp::Remove, &added, &given);
        assert!(!removed.seen && !removed.flagged);
        assert_eq!(removed.keywords, vec!["a".to_string()]);
        assert_eq!(apply(FlagOp::Replace, &cur, &given), given);
        assert_eq!(list(3, 2), "$3,$4");
    }

    #[test]
    fn unpacks_chunks() {
        let mut out = Vec::new();
        // UIDs 7 (seen, flagged) and 3 (draft, keywords), out of order; then an empty chunk.
        let chunk = PackedChunk {
            uid_bits: "229,112",
            modseq: "9,4",
            size: "100,200",
            idate: "1700000000000,1600000000000",
            keywords: "3 $Junk work",
        };
        unpack_chunk(&chunk, &mut out).unwrap();
        let empty = PackedChunk {
            uid_bits: "",
            modseq: "",
            size: "",
            idate: "",
            keywords: "",
        };
        unpack_chunk(&empty, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].uid, out[0].modseq, out[0].size), (3, 4, 200));
        assert!(out[0].flags.draft && !out[0].flags.seen);
        assert_eq!(
            out[0].flags.keywords,
            vec!["$Junk".to_string(), "work".into()]
        );
        assert_eq!((out[1].uid, out[1].idate), (7, 1700000000000));
        assert!(out[1].flags.seen && out[1].flags.flagged && !out[1].flags.deleted);
        assert!(out[1].flags.keywords.is_empty());
        // Lists of different lengths, or keywords of a UID not in the chunk, are corrupt.
        let short = PackedChunk {
            modseq: "9",
            ..chunk
        };
        assert!(unpack_chunk(&short, &mut Vec::new()).is_err());
        let stray = PackedChunk {
            keywords: "5 x",
            ..chunk
        };
        assert!(unpack_chunk(&stray, &mut Vec::new()).is_err());
        let mut n = Numbers(b"12,-3,x,,9223372036854775807,9223372036854775808");
        let got: Vec<_> = std::iter::from_fn(|| n.next_number()).collect();
        assert_eq!(
            got,
            vec![Some(12), Some(-3), None, None, Some(i64::MAX), None]
        );
    }
}
