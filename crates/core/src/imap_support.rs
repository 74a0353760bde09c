//! What mailbox sessions (IMAP, POP3) need beyond the REST operations: the
//! compact view of a mailbox, records and parsed indexes for a set of UIDs, the change
//! journal and its wake-up channel, flag stores, copies, moves and expunges.
//!
//! Changes are announced on the user's broadcast channel after they are committed; a
//! session woken by it (or by its own poll, which covers other nodes and missed wake-ups)
//! reads the journal from the last id it saw. Nothing is lost when a wake-up is missed.

use crate::mailboxes::mailbox_not_found;
use crate::messages;
use crate::{Core, Error, Result};
use sealpost_mime::ParsedMessage;
use sealpost_store::UidSet;
use sealpost_store::model::*;
use sealpost_store::view::CopyOutcome;
pub use sealpost_store::view::{FlagOp, FlagsChanged, JournalEntry, ViewRow};
use tokio::sync::broadcast;

/// UIDs per transaction for copies and moves (a copy re-reads each message for the
/// full-text index, so chunks bound the memory held at once).
const COPY_CHUNK: usize = 100;
const MOVE_CHUNK: usize = 500;

/// A message as a FETCH needs it: the record, and the parsed index when asked for.
#[derive(Debug, Clone)]
pub struct FetchedMessage {
    pub record: MessageRecord,
    pub parsed: Option<ParsedMessage>,
}

impl Core {
    /// A receiver of change notifications for one user: a message each time a change to
    /// that user's mailboxes is committed (other users' changes do not wake it).
    pub fn subscribe_changes(&self, user: &ObjectId) -> broadcast::Receiver<()> {
        self.changes.subscribe(user)
    }

    pub(crate) fn notify_change(&self, user: &ObjectId) {
        self.changes.notify(user);
    }

    /// A mailbox already looked up, with its counters (IMAP STATUS, REST get): one read.
    pub async fn mailbox_status(
        &self,
        user: &ObjectId,
        mailbox: MailboxRecord,
    ) -> Result<crate::MailboxInfo> {
        let c = self
            .store
            .mailbox_counters(user, Some(&mailbox.id))
            .await?
            .first()
            .map(|(_, c)| *c)
            .unwrap_or_default();
        Ok(crate::MailboxInfo {
            mailbox,
            total: Some(c.total),
            unseen: Some(c.unseen),
            size: Some(c.size),
        })
    }

    /// The messages of a mailbox with a UID above `after` (new ones), by UID.
    pub async fn mailbox_view_after(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        after: i64,
    ) -> Result<Vec<ViewRow>> {
        Ok(self.store.mailbox_view_after(user, mailbox, after).await?)
    }

    /// The view rows of the given UIDs (those that still exist), by UID.
    pub async fn view_rows(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
    ) -> Result<Vec<ViewRow>> {
        Ok(self.store.view_rows(user, mailbox, uids).await?)
    }

    /// The journal rows of one mailbox with a modseq above `after` (at most `limit`, by
    /// modseq), plus its DELETE row if it was deleted. See the store for why modseq order.
    pub async fn mailbox_journal_since(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<JournalEntry>> {
        Ok(self
            .store
            .mailbox_journal_since(user, mailbox, after, limit)
            .await?)
    }

    /// The records of `uids` (missing ones left out), with the parsed index when `parsed`.
    pub async fn fetch_messages(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
        parsed: bool,
    ) -> Result<Vec<FetchedMessage>> {
        let rows = self
            .store
            .fetch_records(user, mailbox, uids, parsed)
            .await?;
        rows.into_iter()
            .map(|(record, json)| {
                let parsed = json.map(|j| messages::parsed(&j)).transpose()?;
                Ok(FetchedMessage { record, parsed })
            })
            .collect()
    }

    /// The raw bytes of a stored message.
    pub async fn message_bytes(&self, record: &MessageRecord) -> Result<Vec<u8>> {
        self.read_blob(&record.blob).await
    }

    /// The raw bytes of a stored message as a reader, so that a large message is not loaded
    /// whole (POP3 RETR and TOP).
    pub async fn message_reader(
        &self,
        record: &MessageRecord,
    ) -> Result<sealpost_store::blobs::BlobReader> {
        self.store
            .open_blob(&record.blob)
            .await
            .map_err(|e| Error::Internal(format!("blob {} unreadable: {e}", record.blob)))
    }

    /// The bytes of a stored blob (a message source), by hash.
    pub(crate) async fn read_blob(&self, hash: &str) -> Result<Vec<u8>> {
        self.store
            .read_blob(hash)
            .await
            .map_err(|e| Error::Internal(format!("blob {hash} unreadable: {e}")))
    }

    /// Sets, adds or removes flags on messages; returns the messages that changed.
    pub async fn store_flags(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
        op: FlagOp,
        flags: &Flags,
    ) -> Result<Vec<FlagsChanged>> {
        Ok(self
            .store_flags_unchanged_since(user, mailbox, uids, op, flags, None)
            .await?
            .changed)
    }

    /// Copies messages to `dest`; returns (source uid, new uid) pairs. Each chunk of
    /// messages is one transaction (quota checked per chunk).
    pub async fn copy_messages(
        &self,
        user: &ObjectId,
        src: &ObjectId,
        dest: &ObjectId,
        uids: &[i64],
    ) -> Result<Vec<(i64, i64)>> {
        self.store
            .get_mailbox(user, dest)
            .await?
            .ok_or_else(mailbox_not_found)?;
        let mut pairs = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(COPY_CHUNK) {
            // The full-text index cannot be read back (SQLite's is contentless): the text is
            // derived again from each blob.
            let records = self.store.fetch_records(user, src, chunk, false).await?;
            let mut items = Vec::with_capacity(records.len());
            for (record, _) in records {
                let raw = self.message_bytes(&record).await?;
                let text = tokio::task::spawn_blocking(move || {
                    sealpost_mime::parse_message(&raw)
                        .map(|p| p.search_text)
                        .unwrap_or_default()
                })
                .await
                .map_err(|e| Error::Internal(e.to_string()))?;
                items.push((record.uid, text));
            }
            match self.store.copy_messages(user, src, dest, &items).await? {
                CopyOutcome::Copied(p) => pairs.extend(p),
                CopyOutcome::NoMailbox => return Err(mailbox_not_found()),
                CopyOutcome::OverQuota => {
                    if !pairs.is_empty() {
                        self.notify_change(user);
                    }
                    return Err(Error::OverQuota);
                }
            }
        }
        if !pairs.is_empty() {
            self.notify_change(user);
        }
        Ok(pairs)
    }

    /// Moves messages to `dest`; returns (source uid, new uid) pairs.
    pub async fn move_messages(
        &self,
        user: &ObjectId,
        src: &ObjectId,
        dest: &ObjectId,
        uids: &[i64],
    ) -> Result<Vec<(i64, i64)>> {
        let mut pairs = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(MOVE_CHUNK) {
            let moved = self
                .store
                .move_messages(user, src, dest, &UidSet::List(chunk.to_vec()))
                .await?
                .ok_or_else(mailbox_not_found)?;
            pairs.extend(moved);
        }
        if !pairs.is_empty() {
            self.notify_change(user);
        }
        Ok(pairs)
    }

    /// Deletes the messages flagged `\Deleted`: all of the mailbox, or only those of `uids`.
    /// Returns the deleted UIDs.
    pub async fn expunge(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: Option<&[i64]>,
    ) -> Result<Vec<i64>> {
        let mut deleted = Vec::new();
        match uids {
            None => deleted = self.store.expunge_deleted(user, mailbox, None).await?,
            Some(uids) => {
                for chunk in uids.chunks(MOVE_CHUNK) {
                    let set = UidSet::List(chunk.to_vec());
                    deleted.extend(
                        self.store
                            .expunge_deleted(user, mailbox, Some(&set))
                            .await?,
                    );
                }
            }
        }
        if !deleted.is_empty() {
            self.notify_change(user);
            self.gc.notify_one();
        }
        Ok(deleted)
    }

    /// Deletes the given messages in one transaction, flagged `\Deleted` or not (POP3's
    /// update state), through the same store path as EXPUNGE and the REST delete. Returns
    /// the UIDs deleted (those that still existed).
    pub async fn delete_messages(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
    ) -> Result<Vec<i64>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let deleted = self
            .store
            .delete_messages(user, mailbox, &UidSet::List(uids.to_vec()))
            .await?;
        if !deleted.is_empty() {
            self.notify_change(user);
            self.gc.notify_one();
        }
        Ok(deleted)
    }

    /// UIDs of the mailbox's messages whose indexed text has every word of `query`.
    /// A query without any word matches every message.
    pub async fn search_text(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        query: &str,
    ) -> Result<Option<Vec<i64>>> {
        let words: String = query
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .take(32)
            .collect::<Vec<_>>()
            .join(" ");
        if words.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            self.store.search_text_uids(user, mailbox, &words).await?,
        ))
    }
}
