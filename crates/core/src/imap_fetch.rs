//! Cheaper reads for the two commands mail clients send most on big mailboxes: FETCH of
//! header fields (only the header block of each message, read from the first bytes of its
//! blob, in one query for a batch) and SEARCH on header keys (only the subject and the
//! header index out of each message's stored JSON, not its whole MIME tree).

use crate::imap_support::FetchedMessage;
use crate::{Core, Error, Result};
use sealpost_mime::ParsedMessage;
use sealpost_store::model::MessageRecord;
use serde::Deserialize;
use std::collections::HashMap;

/// Bytes read from the start of each message for its header block. Most headers are a few
/// KiB; a longer one costs a second, whole read.
pub const HEADER_PREFIX: usize = 16 * 1024;

/// The part of the stored index a header SEARCH looks at; every other field of the JSON is
/// skipped without being built.
#[derive(Deserialize)]
struct HeaderIndex {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
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

    /// Like [`Core::fetch_messages`] with the parsed index, but the index holds only the
    /// decoded subject and header fields (everything else empty): what SEARCH FROM, TO, CC,
    /// BCC, SUBJECT, HEADER and TEXT compare with.
    pub async fn fetch_header_index(
        &self,
        user: &sealpost_store::model::ObjectId,
        mailbox: &sealpost_store::model::ObjectId,
        uids: &[i64],
    ) -> Result<Vec<FetchedMessage>> {
        let rows = self.store.fetch_records(user, mailbox, uids, true).await?;
        rows.into_iter()
            .map(|(record, json)| {
                let parsed = match json {
                    Some(j) => {
                        let index: HeaderIndex = serde_json::from_str(&j).map_err(|e| {
                            Error::Internal(format!("stored message index is unreadable: {e}"))
                        })?;
                        Some(ParsedMessage {
                            subject: index.subject,
                            headers: index.headers,
                            ..ParsedMessage::default()
                        })
                    }
                    None => None,
                };
                Ok(FetchedMessage { record, parsed })
            })
            .collect()
    }
}
