//! Messages: storing (upload, and later delivery and APPEND), listing, reading, flag
//! changes, moves and deletion.

use crate::mailboxes::mailbox_not_found;
use crate::service::*;
use crate::{Core, Error, Page, PageRequest, Result};
use sealpost_mime::ParsedMessage;
use sealpost_store::model::*;
use sealpost_store::{
    Direction, FlagChange, InsertError, Inserted, NewMessage, Seek, UidSet, blobs,
};
use std::sync::Arc;

/// A stored message, or why the store refused it.
pub(crate) fn stored(r: std::result::Result<Inserted, InsertError>) -> Result<Stored> {
    match r {
        Ok(ins) => Ok(Stored {
            mailbox: ins.mailbox,
            uid: ins.uid,
            size: ins.size,
        }),
        Err(InsertError::NoUser) => Err(Error::not_found("This user does not exist")),
        Err(InsertError::NoMailbox) => Err(mailbox_not_found()),
        Err(InsertError::OverQuota) => Err(Error::OverQuota),
        Err(InsertError::Store(e)) => Err(e.into()),
    }
}

fn message_not_found() -> Error {
    Error::not_found("This message does not exist")
}

pub(crate) fn direction(o: Order) -> Direction {
    match o {
        Order::Asc => Direction::Asc,
        Order::Desc => Direction::Desc,
    }
}

fn uid_set(s: &UidSelector) -> UidSet {
    match s {
        UidSelector::List(l) => UidSet::List(l.clone()),
        UidSelector::Range(a, b) => UidSet::Range(*a, *b),
    }
}

pub(crate) fn parsed(json: &str) -> Result<ParsedMessage> {
    serde_json::from_str(json)
        .map_err(|e| Error::Internal(format!("stored message index is unreadable: {e}")))
}

/// Keywords: IMAP atoms without a backslash, at most 64 of at most 128 bytes.
pub(crate) fn check_keywords(k: &[String]) -> Result<()> {
    if k.len() > 64 {
        return Err(Error::validation("Too many keywords", "flags"));
    }
    for w in k {
        if w.is_empty()
            || w.len() > 128
            || w.bytes()
                .any(|b| b <= b' ' || b >= 0x7f || b"(){%*\"\\]".contains(&b))
        {
            return Err(Error::validation(format!("Invalid keyword {w:?}"), "flags"));
        }
    }
    Ok(())
}

impl Core {
    /// Stores a raw message in a mailbox; returns only once it is durably committed.
    pub async fn upload_message(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        raw: Vec<u8>,
        options: UploadOptions,
    ) -> Result<Stored> {
        let owner = self.get_user(user).await?;
        let new = self
            .prepare_message(&owner, 0, mailbox, raw, options)
            .await?;
        stored(self.writer.insert(new).await)
    }

    /// Stores several messages in a mailbox all or nothing (IMAP MULTIAPPEND): if one is
    /// refused (too large, unparseable, over quota), none is stored. They are committed in
    /// one transaction of their own, outside the group-commit writer, so that no other
    /// message's refusal can split them.
    pub async fn append_messages(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        messages: Vec<(Vec<u8>, UploadOptions)>,
    ) -> Result<Vec<Stored>> {
        let owner = self.get_user(user).await?;
        let mut batch = Vec::with_capacity(messages.len());
        let mut before = 0i64;
        for (raw, options) in messages {
            let size = raw.len() as i64;
            batch.push(
                self.prepare_message(&owner, before, mailbox, raw, options)
                    .await?,
            );
            before = before.saturating_add(size);
        }
        let results = self.store.insert_messages_atomic(&batch).await?;
        self.notify_change(user);
        results.into_iter().map(stored).collect()
    }

    /// Checks a message (size, keywords, quota with `before` bytes already on the way),
    /// parses it and writes its blob (not synced): the row to insert.
    async fn prepare_message(
        &self,
        owner: &UserRecord,
        before: i64,
        mailbox: &ObjectId,
        raw: Vec<u8>,
        options: UploadOptions,
    ) -> Result<NewMessage> {
        self.check_size(raw.len())?;
        check_keywords(&options.flags.keywords)?;
        if owner.quota_allowed > 0
            && owner.storage_used + before + raw.len() as i64 > owner.quota_allowed
        {
            return Err(Error::OverQuota);
        }
        let raw = self.encrypted_upload(owner, raw, &options.flags).await;
        let analysed = self.analyse(raw).await?;
        Ok(new_message(&owner.id, mailbox, analysed, options))
    }

    /// Refuses a message larger than the configured limit.
    pub(crate) fn check_size(&self, len: usize) -> Result<()> {
        if len as u64 > self.config.max_message_size {
            return Err(Error::TooLarge(format!(
                "Message is larger than the allowed {} bytes",
                self.config.max_message_size
            )));
        }
        Ok(())
    }

    /// Parses a message and writes its blob (not synced) in one blocking call.
    pub(crate) async fn analyse(&self, raw: Vec<u8>) -> Result<Analysed> {
        self.analyse_with(raw, true).await
    }

    /// [`Core::analyse`]; with `store` false a large message's blob is not written (its
    /// plaintext is only looked at, the stored form is another one).
    pub(crate) async fn analyse_with(&self, raw: Vec<u8>, store: bool) -> Result<Analysed> {
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::validation("Message is empty", "message"));
        }
        let raw = Arc::new(raw);
        // One blocking call hashes, parses, encodes the index and, for a large message, creates
        // the blob file durably if it is not there yet (the store rewrites durably any newly
        // referenced blob that its batch did not create). A small message's bytes go into the
        // database with its row instead; so does nothing at all of a plaintext that is only
        // analysed before being encrypted (`store` false: it never reaches a file).
        let inline = !store || (raw.len() as u64) < self.config.inline_blob_max;
        let (input, blobs) = (raw.clone(), self.store.blobs.clone());
        let (hash, index, parsed_json, header_index_json, blob_written) =
            tokio::task::spawn_blocking(move || {
                let hash = blobs::hash(&input);
                let index = sealpost_mime::parse_message(&input).map_err(|e| {
                    Error::validation(format!("Message can not be parsed: {e}"), "message")
                })?;
                let json =
                    serde_json::to_string(&index).map_err(|e| Error::Internal(e.to_string()))?;
                let header_json = crate::imap_fetch::header_index_json(&index)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let written = !inline
                    && blobs
                        .create_blocking(&hash, &input)
                        .map_err(|e| Error::Internal(format!("blob write failed: {e}")))?;
                Ok::<_, Error>((hash, index, json, header_json, written))
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        Ok(Analysed {
            raw,
            hash,
            index,
            parsed_json,
            header_index_json,
            blob_written,
            inline,
        })
    }

    pub async fn list_messages(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        order: Order,
        page: &PageRequest,
    ) -> Result<Page<MessageRecord>> {
        self.store
            .get_mailbox(user, mailbox)
            .await?
            .ok_or_else(mailbox_not_found)?;
        let (total, rows) = self
            .store
            .list_messages(
                user,
                mailbox,
                direction(order),
                &page.seek::<i64>()?,
                page.fetch_limit(),
            )
            .await?;
        Ok(page.finish(total, rows, |m| m.uid))
    }

    async fn list_account(
        &self,
        user: &ObjectId,
        query: Option<&str>,
        flagged: bool,
        order: Order,
        page: &PageRequest,
    ) -> Result<Page<MessageRecord>> {
        self.get_user(user).await?;
        let seek: Seek<i64> = page.seek()?;
        let (total, rows) = self
            .store
            .list_account(
                user,
                query,
                flagged,
                direction(order),
                &seek,
                page.fetch_limit(),
            )
            .await?;
        let p = page.finish(total, rows, |(rowid, _)| *rowid);
        Ok(Page {
            total: p.total,
            results: p.results.into_iter().map(|(_, m)| m).collect(),
            next_cursor: p.next_cursor,
            previous_cursor: p.previous_cursor,
        })
    }

    /// Flagged messages of the whole account, Trash and Junk excluded.
    pub async fn list_flagged(
        &self,
        user: &ObjectId,
        order: Order,
        page: &PageRequest,
    ) -> Result<Page<MessageRecord>> {
        self.list_account(user, None, true, order, page).await
    }

    /// Full-text search over the whole account, Trash and Junk excluded. All words must
    /// match (no stemming: the index is language-neutral).
    pub async fn search_messages(
        &self,
        user: &ObjectId,
        query: &str,
        page: &PageRequest,
    ) -> Result<Page<MessageRecord>> {
        let q = query.trim();
        if q.is_empty()
            || q.len() > 256
            || q.split_whitespace()
                .all(|w| !w.chars().any(char::is_alphanumeric))
        {
            return Err(Error::validation(
                "query must contain 1 to 256 characters with at least one word",
                "query",
            ));
        }
        self.list_account(user, Some(q), false, Order::Desc, page)
            .await
    }

    pub async fn get_message(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
    ) -> Result<MessageDetails> {
        let (record, json) = self
            .store
            .get_message(user, mailbox, uid)
            .await?
            .ok_or_else(message_not_found)?;
        let parsed = self.parsed_with_bodies(&record.blob, &json).await?;
        Ok(MessageDetails { record, parsed })
    }

    /// The stored index of a message (`json`) with its text and HTML bodies.
    pub(crate) async fn parsed_with_bodies(&self, blob: &str, json: &str) -> Result<ParsedMessage> {
        let mut parsed = parsed(json)?;
        // Text and HTML bodies are not kept in the stored index (they would double its size
        // and the write cost of every delivery); they are re-derived from the blob here.
        let raw = self.read_blob(blob).await?;
        // The stored structure is lent to the blocking task and handed back: no re-parse.
        let body = std::mem::take(&mut parsed.body);
        let (text, html, body) = tokio::task::spawn_blocking(move || {
            let (text, html) = sealpost_mime::message_bodies(&raw, &body);
            (text, html, body)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
        parsed.body = body;
        parsed.text = text;
        parsed.html = html;
        Ok(parsed)
    }

    /// The raw RFC 5322 source, byte for byte as stored.
    pub async fn get_message_source(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
    ) -> Result<Vec<u8>> {
        let (record, _) = self
            .store
            .get_message(user, mailbox, uid)
            .await?
            .ok_or_else(message_not_found)?;
        self.read_blob(&record.blob).await
    }

    pub async fn get_attachment(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
        attachment: &str,
    ) -> Result<AttachmentData> {
        // The stored index lists the attachments: the blob is read (and parsed) once, to
        // decode the one asked for.
        let (record, json) = self
            .store
            .get_message(user, mailbox, uid)
            .await?
            .ok_or_else(message_not_found)?;
        let att = parsed(&json)?
            .attachments
            .into_iter()
            .find(|a| a.id == attachment)
            .ok_or_else(|| Error::not_found("This attachment does not exist"))?;
        let raw = self.read_blob(&record.blob).await?;
        let a = att.clone();
        let content =
            tokio::task::spawn_blocking(move || sealpost_mime::attachment_content(&raw, &a))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|_| Error::not_found("This attachment does not exist"))?;
        Ok(AttachmentData {
            content_type: att.content_type,
            filename: att.filename,
            content,
        })
    }

    pub async fn update_messages(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        selector: &UidSelector,
        update: MessageUpdate,
    ) -> Result<UpdateResult> {
        self.store
            .get_mailbox(user, mailbox)
            .await?
            .ok_or_else(mailbox_not_found)?;
        let set = uid_set(selector);
        let change = FlagChange {
            seen: update.seen,
            answered: None,
            flagged: update.flagged,
            deleted: update.deleted,
            draft: update.draft,
            keywords: None,
            expires: update.expires,
        };
        let has_change = change.seen.is_some()
            || change.flagged.is_some()
            || change.deleted.is_some()
            || change.draft.is_some()
            || change.expires.is_some();
        let mut result = UpdateResult::default();
        if has_change {
            result.updated = self
                .store
                .update_flags(user, mailbox, &set, &change)
                .await?
                .len() as u64;
        }
        // A REST move into the message's own mailbox changes nothing (as before; IMAP MOVE
        // into the selected mailbox renumbers, see `Core::move_messages`).
        if let Some(dest) = update.move_to.as_ref().filter(|d| *d != mailbox) {
            let moved = self
                .store
                .move_messages(user, mailbox, dest, &set)
                .await?
                .ok_or_else(mailbox_not_found)?;
            result.updated = result.updated.max(moved.len() as u64);
            result.moved = moved;
            result.destination = Some(dest.clone());
        }
        self.notify_change(user);
        Ok(result)
    }

    /// Deletes one message (its blob is released and collected when unreferenced).
    pub async fn delete_message(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uid: i64,
    ) -> Result<()> {
        let deleted = self
            .store
            .delete_messages(user, mailbox, &UidSet::List(vec![uid]))
            .await?;
        if deleted.is_empty() {
            self.store
                .get_mailbox(user, mailbox)
                .await?
                .ok_or_else(mailbox_not_found)?;
            return Err(message_not_found());
        }
        self.notify_change(user);
        self.gc.notify_one();
        Ok(())
    }
}

/// A parsed message whose blob is written (durably, when it is a file), ready to become a row.
pub(crate) struct Analysed {
    pub raw: Arc<Vec<u8>>,
    pub hash: String,
    pub index: ParsedMessage,
    pub parsed_json: String,
    pub header_index_json: String,
    pub blob_written: bool,
    pub inline: bool,
}

/// The row to insert for an analysed message; the index's fields are moved into it.
pub(crate) fn new_message(
    user: &ObjectId,
    mailbox: &ObjectId,
    a: Analysed,
    options: UploadOptions,
) -> NewMessage {
    let index = a.index;
    let idate = options.date.unwrap_or_else(sealpost_store::now_ms);
    let has_attachments = !index.attachments.is_empty();
    let mut references = index.references;
    for r in index.in_reply_to {
        if !references.contains(&r) {
            references.push(r);
        }
    }
    let from = index.from.unwrap_or_default();
    NewMessage {
        user: user.clone(),
        mailbox: mailbox.clone(),
        raw: a.raw,
        blob: a.hash,
        blob_written: a.blob_written,
        inline: a.inline,
        parsed_json: a.parsed_json,
        header_index_json: a.header_index_json,
        idate,
        hdate: index.date.unwrap_or(idate),
        subject: index.subject,
        from_name: from.name,
        from_address: from.address,
        message_id: index.message_id.unwrap_or_default(),
        references,
        thread_subject: index.thread_subject,
        intro: index.intro,
        has_attachments,
        flags: options.flags,
        expires: None,
        search_text: index.search_text,
        events: Vec::new(),
    }
}
