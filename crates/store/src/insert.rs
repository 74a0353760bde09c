//! Batched insertion of new messages: the store side of group commit.
//!
//! A batch is stored with a handful of set-based statements rather than a dozen per message:
//! refusals (unknown user or mailbox, over quota) are decided in memory from one read, then
//! one UPDATE per user (quota) and per mailbox (UIDs, modseq), and multi-row INSERTs for
//! blobs, threads, messages, full-text rows, journal rows and the messages' first events
//! (a delivery's `STORE`). All in one transaction; blob files are durable before it starts.

use crate::db::by_engine;
use crate::direct::Arg;
use crate::messages::{InsertError, Inserted, NewMessage, keywords_text, text};
use crate::model::ObjectId;
use crate::rows::{Cols, corrupt};
use crate::{Result, Store};
use std::collections::{HashMap, HashSet};

/// Rows per multi-row statement: a run of rows is cut into pieces of these sizes, largest
/// first (64 message rows of 22 parameters stay far below both engines' parameter limits).
/// Few distinct sizes keep every statement in the connection's prepared-statement cache:
/// preparing a statement of a thousand parameters costs about as much as running it.
const PIECES: [usize; 4] = [64, 16, 4, 1];

/// `items` in consecutive pieces of the sizes in [`PIECES`].
fn pieces<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        let n = PIECES.iter().copied().find(|&n| n <= rest.len())?;
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        Some(piece)
    })
}
/// Referenced Message-IDs considered per message.
const MAX_REFS: usize = 50;

/// "($1,$2,$3),($4,$5,$6)..." for `rows` rows of `cols` parameters.
pub(crate) fn values(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// "$first,$first+1,..." for `n` parameters.
pub(crate) fn list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// What the batch will write for one accepted message.
struct Plan {
    index: usize,
    uid: i64,
    modseq: i64,
    thread: String,
}

impl Store {
    /// Stores a batch of messages in one transaction. Each message gets its own result: a
    /// refusal of one does not affect the others; a storage failure fails the batch. The
    /// blob files the callers created ([`NewMessage::blob_written`]) are already durable.
    pub async fn insert_messages(
        &self,
        batch: &[NewMessage],
    ) -> Result<Vec<Result<Inserted, InsertError>>> {
        self.insert_batch(batch, false).await
    }

    /// Stores a batch all or nothing (IMAP MULTIAPPEND, RFC 3502): when one message is
    /// refused, none is stored and every one gets the first refusal.
    pub async fn insert_messages_atomic(
        &self,
        batch: &[NewMessage],
    ) -> Result<Vec<Result<Inserted, InsertError>>> {
        self.insert_batch(batch, true).await
    }

    async fn insert_batch(
        &self,
        batch: &[NewMessage],
        atomic: bool,
    ) -> Result<Vec<Result<Inserted, InsertError>>> {
        let now = crate::now_ms();
        let mut results: Vec<Option<Result<Inserted, InsertError>>> =
            (0..batch.len()).map(|_| None).collect();
        // PostgreSQL: users, then mailboxes, each locked in id order (see `db::pg_lock_sql`).
        let mut users: Vec<&str> = unique(batch.iter().map(|m| m.user.as_str()));
        users.sort_unstable();
        let mut mailboxes: Vec<&str> = unique(batch.iter().map(|m| m.mailbox.as_str()));
        mailboxes.sort_unstable();
        let lock = by_engine!(self, sqlite => "", postgres => " ORDER BY id FOR NO KEY UPDATE");

        self.write(async |tx| {
            // 1. Users (locked on PostgreSQL) and mailboxes.
            let mut quota: HashMap<String, (i64, i64)> = HashMap::new();
            for chunk in pieces(&users) {
                let sql = format!("SELECT id, quota_allowed, storage_used FROM users WHERE id IN ({}){lock}", list(1, chunk.len()));
                let args: Vec<Arg<'_>> = chunk.iter().map(|u| Arg::from(*u)).collect();
                for (id, q) in tx.all(&sql, &args, |r| Ok((r.string("id")?, (r.i64("quota_allowed")?, r.i64("storage_used")?)))).await? {
                    quota.insert(id, q);
                }
            }
            let mut owner: HashMap<String, String> = HashMap::new();
            // When messages arriving now in each mailbox are due by its retention.
            let mut deadline: HashMap<String, Option<i64>> = HashMap::new();
            for chunk in pieces(&mailboxes) {
                let sql = format!("SELECT id, user_id, special_use, retention FROM mailboxes WHERE id IN ({}){lock}", list(1, chunk.len()));
                let args: Vec<Arg<'_>> = chunk.iter().map(|m| Arg::from(*m)).collect();
                let rows = tx
                    .all(&sql, &args, |r| {
                        let due = crate::retention_deadline(r.opt_string("special_use")?.as_deref(), r.i64("retention")?, now);
                        Ok((r.string("id")?, r.string("user_id")?, due))
                    })
                    .await?;
                for (id, user, due) in rows {
                    deadline.insert(id.clone(), due);
                    owner.insert(id, user);
                }
            }

            // 2. Decide, in order, which messages are accepted.
            let mut accepted: Vec<usize> = Vec::with_capacity(batch.len());
            let mut added: HashMap<&str, i64> = HashMap::new();
            let mut per_mailbox: HashMap<&str, i64> = HashMap::new();
            for (i, m) in batch.iter().enumerate() {
                let size = m.raw.len() as i64;
                let refusal = match quota.get_mut(m.user.as_str()) {
                    None => Some(InsertError::NoUser),
                    Some(_) if owner.get(m.mailbox.as_str()).map(String::as_str) != Some(m.user.as_str()) => Some(InsertError::NoMailbox),
                    Some((allowed, used)) if *allowed > 0 && *used + size > *allowed => Some(InsertError::OverQuota),
                    Some((_, used)) => {
                        *used += size;
                        None
                    }
                };
                match refusal {
                    Some(e) => results[i] = Some(Err(e)),
                    None => {
                        *added.entry(m.user.as_str()).or_default() += size;
                        *per_mailbox.entry(m.mailbox.as_str()).or_default() += 1;
                        accepted.push(i);
                    }
                }
            }

            if atomic && accepted.len() < batch.len() {
                let why = results.iter().flatten().find_map(|r| r.as_ref().err()).map(refusal).unwrap_or(InsertError::OverQuota);
                for &i in &accepted {
                    results[i] = Some(Err(refusal(&why)));
                }
                accepted.clear();
            }

            if !accepted.is_empty() {
                // 3. Quota, then UIDs and modseq per mailbox.
                for (user, size) in &added {
                    tx.execute("UPDATE users SET storage_used = storage_used + $2 WHERE id = $1", &[(*user).into(), (*size).into()]).await?;
                }
                let mut next: HashMap<&str, (i64, i64)> = HashMap::new();
                for (mailbox, n) in &per_mailbox {
                    let (uid_next, modseq) = tx
                        .one(
                            "UPDATE mailboxes SET uid_next = uid_next + $2, modseq = modseq + 1 WHERE id = $1 RETURNING uid_next, modseq",
                            &[(*mailbox).into(), (*n).into()],
                            |r| Ok((r.i64("uid_next")?, r.i64("modseq")?)),
                        )
                        .await?;
                    next.insert(*mailbox, (uid_next - n, modseq));
                }

                // 4. Blobs: one row per distinct hash, reference counts added.
                let mut blob_refs: Vec<(&str, i64, usize)> = Vec::new();
                let mut inline: Vec<&NewMessage> = Vec::new();
                for &i in &accepted {
                    let m = &batch[i];
                    match blob_refs.iter_mut().find(|(h, _, _)| *h == m.blob) {
                        Some(entry) => entry.1 += 1,
                        None => blob_refs.push((m.blob.as_str(), 1, i)),
                    }
                }
                for chunk in pieces(&blob_refs) {
                    let sql = format!(
                        "INSERT INTO blobs (hash, size, refcount, parsed, created) VALUES {} \
                         ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + excluded.refcount RETURNING hash, refcount",
                        values(chunk.len(), 5)
                    );
                    let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 5);
                    for (hash, n, i) in chunk {
                        let m = &batch[*i];
                        args.extend([(*hash).into(), (m.raw.len() as i64).into(), (*n).into(), text(&m.parsed_json).into(), now.into()]);
                    }
                    for (hash, refcount) in tx.all(&sql, &args, |r| Ok((r.string("hash")?, r.i64("refcount")?))).await? {
                        let Some((_, n, i)) = chunk.iter().find(|(h, _, _)| *h == hash) else { continue };
                        if refcount != *n {
                            // Already referenced: its bytes (row or file) are durable.
                            continue;
                        }
                        let m = &batch[*i];
                        if m.inline {
                            // Newly referenced small blob: its bytes go in this transaction.
                            inline.push(m);
                            continue;
                        }
                        // Newly referenced but not created (and synced) for this batch: the file
                        // found by the caller may be a leftover torn by a crash, one not synced
                        // yet, or collected since. Write it again, durably.
                        let written = batch.iter().any(|m| m.blob == hash && m.blob_written);
                        if !written {
                            self.blobs.write(&hash, m.raw.clone()).await?;
                        }
                    }
                }
                // The header index of each blob (SEARCH reads it); one already there is kept
                // (same blob, same index).
                for chunk in pieces(&blob_refs) {
                    let sql = format!(
                        "INSERT INTO blob_headers (hash, header_index) VALUES {} ON CONFLICT (hash) DO NOTHING",
                        values(chunk.len(), 2)
                    );
                    let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 2);
                    for (hash, _, i) in chunk {
                        args.extend([(*hash).into(), text(&batch[*i].header_index_json).into()]);
                    }
                    tx.execute(&sql, &args).await?;
                }
                // A row left by an unreferenced blob not yet collected is kept (same bytes).
                for chunk in pieces(&inline) {
                    let sql = format!("INSERT INTO blob_data (hash, data) VALUES {} ON CONFLICT (hash) DO NOTHING", values(chunk.len(), 2));
                    let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 2);
                    for m in chunk {
                        args.extend([m.blob.as_str().into(), m.raw.as_slice().into()]);
                    }
                    tx.execute(&sql, &args).await?;
                }

                // 5. Threads: a referenced Message-ID's thread (stored, or earlier in this
                // batch), else a recent thread with the same subject when the message is a
                // reply, else a new thread.
                let mut known: HashMap<(&str, String), String> = HashMap::new();
                for user in &users {
                    let ids: Vec<String> = unique(
                        accepted.iter().map(|&i| &batch[i]).filter(|m| m.user.as_str() == *user).flat_map(|m| m.references.iter().take(MAX_REFS).map(|r| text(r).into_owned())),
                    );
                    for chunk in pieces(&ids) {
                        let sql = format!("SELECT message_id, thread_id FROM thread_refs WHERE user_id = $1 AND message_id IN ({})", list(2, chunk.len()));
                        let mut args: Vec<Arg<'_>> = vec![(*user).into()];
                        args.extend(chunk.iter().map(Arg::from));
                        for (id, thread) in tx.all(&sql, &args, |r| Ok((r.string("message_id")?, r.string("thread_id")?))).await? {
                            known.insert((*user, id), thread);
                        }
                    }
                }
                let mut plans = Vec::with_capacity(accepted.len());
                let mut new_threads: Vec<(String, &str, String)> = Vec::new();
                let mut touched: HashSet<String> = HashSet::new();
                let mut new_refs: Vec<(&str, String, String)> = Vec::new();
                let mut seen_refs: HashSet<(&str, String)> = HashSet::new();
                for &i in &accepted {
                    let m = &batch[i];
                    let user = m.user.as_str();
                    let refs: Vec<String> = m.references.iter().take(MAX_REFS).map(|r| text(r).into_owned()).collect();
                    let mut thread = refs.iter().rev().find_map(|r| known.get(&(user, r.clone())).cloned());
                    let subject = text(&m.thread_subject).into_owned();
                    if thread.is_none() && !subject.is_empty() && !refs.is_empty() {
                        thread = new_threads.iter().rev().find(|(_, u, s)| *u == user && *s == subject).map(|(t, _, _)| t.clone());
                        if thread.is_none() {
                            thread = tx
                                .optional(
                                    "SELECT id FROM threads WHERE user_id = $1 AND subject = $2 AND updated > $3 ORDER BY updated DESC LIMIT 1",
                                    &[user.into(), subject.as_str().into(), (now - 30 * 24 * 3600 * 1000).into()],
                                    |r| r.string("id"),
                                )
                                .await?;
                        }
                    }
                    let thread = match thread {
                        Some(t) => {
                            touched.insert(t.clone());
                            t
                        }
                        None => {
                            let t = ObjectId::new().to_string();
                            new_threads.push((t.clone(), user, subject));
                            t
                        }
                    };
                    let own = text(&m.message_id).into_owned();
                    for id in (!own.is_empty()).then_some(own).into_iter().chain(refs) {
                        if seen_refs.insert((user, id.clone())) && !known.contains_key(&(user, id.clone())) {
                            new_refs.push((user, id.clone(), thread.clone()));
                        }
                        known.entry((user, id)).or_insert_with(|| thread.clone());
                    }
                    let (first, modseq) = next.get_mut(m.mailbox.as_str()).ok_or_else(|| corrupt("mailbox vanished"))?;
                    plans.push(Plan { index: i, uid: *first, modseq: *modseq, thread });
                    *first += 1;
                }
                for chunk in pieces(&new_threads) {
                    let sql = format!("INSERT INTO threads (id, user_id, subject, updated) VALUES {}", values(chunk.len(), 4));
                    let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 4);
                    for (t, u, s) in chunk {
                        args.extend([t.into(), (*u).into(), s.into(), now.into()]);
                    }
                    tx.execute(&sql, &args).await?;
                }
                let touched: Vec<String> = touched.into_iter().collect();
                for chunk in pieces(&touched) {
                    let sql = format!("UPDATE threads SET updated = $1 WHERE id IN ({})", list(2, chunk.len()));
                    let mut args: Vec<Arg<'_>> = vec![now.into()];
                    args.extend(chunk.iter().map(Arg::from));
                    tx.execute(&sql, &args).await?;
                }
                for chunk in pieces(&new_refs) {
                    let sql = format!("INSERT INTO thread_refs (user_id, message_id, thread_id) VALUES {} ON CONFLICT DO NOTHING", values(chunk.len(), 3));
                    let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 3);
                    for (u, id, t) in chunk {
                        args.extend([(*u).into(), id.into(), t.into()]);
                    }
                    tx.execute(&sql, &args).await?;
                }

                // 6. Messages, their full-text rows and journal rows.
                for chunk in pieces(&plans) {
                    let sql = format!(
                        "INSERT INTO messages (user_id, mailbox_id, uid, modseq, thread_id, blob, size, idate, hdate, subject, \
                         from_name, from_address, message_id, intro, has_attachments, seen, answered, flagged, deleted, draft, \
                         keywords, expires) VALUES {} RETURNING id, mailbox_id, uid",
                        values(chunk.len(), 22)
                    );
                    let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 22);
                    for p in chunk {
                        let m = &batch[p.index];
                        args.extend([
                            m.user.as_str().into(),
                            m.mailbox.as_str().into(),
                            p.uid.into(),
                            p.modseq.into(),
                            p.thread.as_str().into(),
                            m.blob.as_str().into(),
                            (m.raw.len() as i64).into(),
                            m.idate.into(),
                            m.hdate.into(),
                            text(&m.subject).into(),
                            text(&m.from_name).into(),
                            text(&m.from_address).into(),
                            text(&m.message_id).into(),
                            text(&m.intro).into(),
                            m.has_attachments.into(),
                            m.flags.seen.into(),
                            m.flags.answered.into(),
                            m.flags.flagged.into(),
                            m.flags.deleted.into(),
                            m.flags.draft.into(),
                            keywords_text(&m.flags.keywords).into(),
                            earliest(m.expires, deadline.get(m.mailbox.as_str()).copied().flatten()).into(),
                        ]);
                    }
                    let mut rowids: HashMap<(String, i64), i64> = HashMap::new();
                    for (mailbox, uid, id) in tx.all(&sql, &args, |r| Ok((r.string("mailbox_id")?, r.i64("uid")?, r.i64("id")?))).await? {
                        rowids.insert((mailbox, uid), id);
                    }
                    let mut fts = Vec::with_capacity(chunk.len());
                    for p in chunk {
                        let m = &batch[p.index];
                        let rowid = *rowids.get(&(m.mailbox.to_string(), p.uid)).ok_or_else(|| corrupt("inserted row not returned"))?;
                        fts.push((rowid, m));
                    }
                    let fts_sql = by_engine!(self,
                        sqlite => format!("INSERT INTO messages_fts (rowid, owner, body) VALUES {}", values(fts.len(), 3)),
                        postgres => {
                            let rows: Vec<String> = (0..fts.len()).map(|r| format!("(${}, ${}, to_tsvector('simple', ${}))", r * 3 + 1, r * 3 + 2, r * 3 + 3)).collect();
                            format!("INSERT INTO messages_fts (message, user_id, body) VALUES {}", rows.join(","))
                        }
                    );
                    let mut args: Vec<Arg<'_>> = Vec::with_capacity(fts.len() * 3);
                    for (rowid, m) in &fts {
                        let owner = by_engine!(self, sqlite => format!("u{}", m.user), postgres => m.user.to_string());
                        args.extend([(*rowid).into(), owner.into(), text(&m.search_text).into()]);
                    }
                    tx.execute(&fts_sql, &args).await?;
                    let sql = format!("INSERT INTO journal (user_id, mailbox_id, command, uid, modseq, data, created) VALUES {}", values(chunk.len(), 7));
                    let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 7);
                    for p in chunk {
                        let m = &batch[p.index];
                        args.extend([m.user.as_str().into(), m.mailbox.as_str().into(), "EXISTS".into(), p.uid.into(), p.modseq.into(), Arg::NullText, now.into()]);
                    }
                    tx.execute(&sql, &args).await?;
                    let events: Vec<(i64, &(String, String))> = fts.iter().flat_map(|(rowid, m)| m.events.iter().map(|e| (*rowid, e))).collect();
                    for piece in pieces(&events) {
                        let sql = format!("INSERT INTO message_events (message_id, action, data, created) VALUES {}", values(piece.len(), 4));
                        let mut args: Vec<Arg<'_>> = Vec::with_capacity(piece.len() * 4);
                        for (rowid, (action, data)) in piece {
                            args.extend([(*rowid).into(), action.into(), data.into(), now.into()]);
                        }
                        tx.execute(&sql, &args).await?;
                    }
                    for p in chunk {
                        let m = &batch[p.index];
                        results[p.index] = Some(Ok(Inserted { mailbox: m.mailbox.clone(), uid: p.uid, modseq: p.modseq, size: m.raw.len() as i64 }));
                    }
                }
            }
            Ok(())
        })
        .await?;
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| corrupt("message left undecided")))
            .collect()
    }
}

/// A copy of a refusal decided in step 2 (only these three are).
fn refusal(e: &InsertError) -> InsertError {
    match e {
        InsertError::NoUser => InsertError::NoUser,
        InsertError::NoMailbox => InsertError::NoMailbox,
        _ => InsertError::OverQuota,
    }
}

/// The earlier of two optional deadlines.
pub(crate) fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Distinct values in first-seen order.
fn unique<T: Eq + std::hash::Hash + Clone, I: Iterator<Item = T>>(it: I) -> Vec<T> {
    let mut seen = HashSet::new();
    it.filter(|v| seen.insert(v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(values(2, 3), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(list(2, 3), "$2,$3,$4");
        assert_eq!(unique([1, 2, 1, 3].into_iter()), vec![1, 2, 3]);
        assert_eq!(earliest(Some(3), Some(2)), Some(2));
        assert_eq!(earliest(None, Some(2)), Some(2));
        assert_eq!(earliest(Some(3), None), Some(3));
        assert_eq!(earliest(None, None), None);
    }

    #[test]
    fn pieces_cover_every_row_in_few_sizes() {
        for len in 0..300 {
            let items: Vec<usize> = (0..len).collect();
            let cut: Vec<&[usize]> = pieces(&items).collect();
            assert_eq!(cut.concat(), items);
            assert!(cut.iter().all(|p| PIECES.contains(&p.len())));
        }
        let sizes: Vec<usize> = pieces(&[0; 150]).map(<[i32]>::len).collect();
        assert_eq!(sizes, vec![64, 64, 16, 4, 1, 1]);
    }
}
