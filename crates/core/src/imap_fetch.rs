//! Cheaper reads for the two commands mail clients send most on big mailboxes: FETCH of
//! header fields (only the header block of each message, read from the first bytes of its
//! blob, in one query for a batch) and SEARCH on header keys (only the subject and the
//! header index out of each message's stored JSON, not its whole MIME tree).

use crate::message_cache::{MAX_SEARCH_CACHED, SearchFields, owned};
use crate::{Core, Result};
use sealpost_mime::ParsedMessage;
use sealpost_store::model::MessageRecord;
use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Bytes read from the start of each message for its header block. Most headers are a few
/// KiB; a longer one costs a second, whole read.
pub const HEADER_PREFIX: usize = 16 * 1024;

/// What SEARCH on header keys (FROM, TO, CC, BCC, SUBJECT, HEADER, TEXT) compares with: the
/// decoded subject and header fields of a message's parsed index, stored on their own
/// (table `blob_headers`, written with the index; see [`header_index_json`]) so that a
/// header SEARCH reads a few hundred bytes per message instead of the JSON of the whole
/// index (MIME tree, envelope, attachments) and builds nothing but these strings.
///
/// The strings borrow from the JSON text unless they hold escapes, so reading one costs
/// no allocation per field; unknown fields are skipped.
#[derive(Debug, Default, Deserialize)]
pub struct HeaderIndex<'a> {
    /// Decoded subject ("" when absent), as `ParsedMessage::subject`.
    #[serde(default, borrow)]
    pub subject: IndexText<'a>,
    /// (lower-case name, decoded value), as `ParsedMessage::headers`.
    #[serde(default, borrow)]
    pub headers: Vec<(IndexText<'a>, IndexText<'a>)>,
}

/// A string of a [`HeaderIndex`]: borrowed from the JSON when it can be.
#[derive(Debug, Default)]
pub struct IndexText<'a>(pub Cow<'a, str>);

impl std::ops::Deref for IndexText<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for IndexText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(
                self,
                v: String,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(Text).map(IndexText)
    }
}

/// The JSON of `index`'s [`HeaderIndex`], stored with the index at ingestion.
pub(crate) fn header_index_json(index: &ParsedMessage) -> serde_json::Result<String> {
    #[derive(Serialize)]
    struct Out<'a> {
        subject: &'a str,
        headers: &'a [(String, String)],
    }
    serde_json::to_string(&Out {
        subject: &index.subject,
        headers: &index.headers,
    })
}

/// One message as SEARCH sees it beyond the session's view ([`Core::scan_search_rows`]).
#[derive(Debug)]
pub struct SearchRow<'a> {
    pub uid: i64,
    /// The Date header as Unix milliseconds (the internal date when it has none).
    pub hdate: i64,
    /// Present when asked for.
    pub header_index: Option<HeaderIndex<'a>>,
}

impl Core {
    /// The top-level header block (with its empty line, `BODY[HEADER]`) of each record, by
    /// UID: the same bytes as the header of the parsed message, read from the start of the
    /// blob only.
    pub async fn message_headers(
        &self,
        records: &[&MessageRecord],
    ) -> Result<HashMap<i64, Vec<u8>>> {
        let hashes: Vec<&str> = records.iter().map(|r| r.blob.as_str()).collect();
        let mut prefixes = self
            .store
            .read_blob_prefixes(&hashes, HEADER_PREFIX)
            .await?;
        let mut out = HashMap::with_capacity(records.len());
        for record in records {
            let known = prefixes.get_mut(&record.blob).and_then(|p| {
                let n = sealpost_mime::header_len_in_prefix(&p.bytes, p.complete)?;
                // Cloned, not taken: two records may share a blob.
                Some(p.bytes.get(..n).unwrap_or_default().to_vec())
            });
            let header = match known {
                Some(h) => h,
                None => {
                    // A header longer than the prefix (or a blob not found there, which the
                    // whole read reports as an error).
                    let raw = self.message_bytes(record).await?;
                    let n = sealpost_mime::header_len_in_prefix(&raw, true).unwrap_or(0);
                    raw.get(..n).unwrap_or_default().to_vec()
                }
            };
            out.insert(record.uid, header);
        }
        Ok(out)
    }

    /// The header block (`BODY[HEADER]`) of each of `uids` of a mailbox that is stored, by
    /// UID: from the header cache, the missing ones read (see [`Core::message_headers`]) and
    /// kept there (see `message_cache.rs`).
    pub async fn header_blocks(
        &self,
        user: &sealpost_store::model::ObjectId,
        mailbox: &sealpost_store::model::ObjectId,
        uids: &[i64],
    ) -> Result<HashMap<i64, Arc<[u8]>>> {
        let cached = self.header_cache.lookup(user, mailbox, uids);
        let mut out = HashMap::with_capacity(uids.len());
        let mut missing = Vec::new();
        for (uid, block) in uids.iter().zip(cached) {
            match block {
                Some(b) => {
                    out.insert(*uid, b);
                }
                None => missing.push(*uid),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let records = self
            .store
            .fetch_records(user, mailbox, &missing, false)
            .await?;
        let list: Vec<&MessageRecord> = records.iter().map(|(r, _)| r).collect();
        let read: Vec<(i64, Arc<[u8]>)> = self
            .message_headers(&list)
            .await?
            .into_iter()
            .map(|(uid, block)| (uid, Arc::from(block)))
            .collect();
        out.extend(read.iter().cloned());
        // FETCH fills the header cache a few messages at a time: never "too big" as a whole.
        self.header_cache.insert(user, mailbox, usize::MAX, read);
        Ok(out)
    }

    /// Drops what the caches hold of messages of a mailbox that were expunged.
    pub fn forget_messages(
        &self,
        user: &sealpost_store::model::ObjectId,
        mailbox: &sealpost_store::model::ObjectId,
        uids: &[i64],
    ) {
        self.header_cache.forget(user, mailbox, uids);
        self.search_cache.forget(user, mailbox, uids);
    }

    /// Calls `each` for every message of `mailbox` whose UID is in `uids`, in UID order, with
    /// its Date header and, with `header_index`, its [`HeaderIndex`] (read a bounded number
    /// of rows at a time, on one connection). Messages no longer stored are not seen.
    pub async fn scan_search_rows<T: Send>(
        &self,
        user: &sealpost_store::model::ObjectId,
        mailbox: &sealpost_store::model::ObjectId,
        uids: std::ops::RangeInclusive<i64>,
        header_index: bool,
        mut each: impl FnMut(SearchRow<'_>) -> T + Send,
    ) -> Result<Vec<T>> {
        Ok(self
            .store
            .scan_search_rows(user, mailbox, uids, header_index, |row| {
                let header_index = row
                    .header_index
                    .map(|json| parse_index(row.uid, json))
                    .transpose()?;
                Ok(each(SearchRow {
                    uid: row.uid,
                    hdate: row.hdate,
                    header_index,
                }))
            })
            .await?)
    }

    /// The Date header and [`HeaderIndex`] of each of `uids` (ascending live UIDs of a
    /// mailbox), `None` for a message no longer stored: from the search cache, the missing
    /// ones read from the database and kept there (see `message_cache.rs`). `None` overall
    /// for a mailbox too big to cache (or with the cache off), which
    /// [`Core::scan_search_rows`] reads instead.
    pub async fn search_fields(
        &self,
        user: &sealpost_store::model::ObjectId,
        mailbox: &sealpost_store::model::ObjectId,
        uids: &[i64],
    ) -> Result<Option<Vec<Option<SearchFields>>>> {
        if uids.len() > MAX_SEARCH_CACHED
            || !self.search_cache.enabled()
            || self.search_cache.too_big(user, mailbox, uids.len())
        {
            return Ok(None);
        }
        let mut out = self.search_cache.lookup(user, mailbox, uids);
        let missing: Vec<i64> = uids
            .iter()
            .zip(&out)
            .filter(|(_, f)| f.is_none())
            .map(|(u, _)| *u)
            .collect();
        let (Some(&lo), Some(&hi)) = (missing.first(), missing.last()) else {
            return Ok(Some(out));
        };
        // Typically the messages that arrived since the last SEARCH: the tail of the range.
        let read = self
            .store
            .scan_search_rows(user, mailbox, lo..=hi, true, |row| {
                if missing.binary_search(&row.uid).is_err() {
                    return Ok(None);
                }
                let index = parse_index(row.uid, row.header_index.unwrap_or("{}"))?;
                Ok(Some((
                    row.uid,
                    SearchFields {
                        hdate: row.hdate,
                        index: Arc::new(owned(index)),
                    },
                )))
            })
            .await?;
        let read: Vec<(i64, SearchFields)> = read.into_iter().flatten().collect();
        for (uid, fields) in &read {
            if let Some(slot) = uids.binary_search(uid).ok().and_then(|i| out.get_mut(i)) {
                *slot = Some(fields.clone());
            }
        }
        self.search_cache.insert(user, mailbox, uids.len(), read);
        Ok(Some(out))
    }
}

/// A stored header index (see [`header_index_json`]), borrowing from `json`.
fn parse_index(uid: i64, json: &str) -> sealpost_store::Result<HeaderIndex<'_>> {
    serde_json::from_str::<HeaderIndex<'_>>(json).map_err(|e| {
        sealpost_store::Error::Corrupt(format!(
            "stored header index of message {uid} is unreadable: {e}"
        ))
    })
}
