//! The fields SORT and THREAD (RFC 5256) order and link messages by, read from the stored
//! message index only (never from the raw blobs): decoded subject, first From/To/Cc
//! addresses, sent date, Message-ID, In-Reply-To and References.

use crate::{Core, Error, Result};
use sealpost_mime::Addr;
use sealpost_store::model::ObjectId;
use serde::Deserialize;

/// One message's sort and thread keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortFields {
    pub uid: i64,
    /// Decoded Subject ("" when absent).
    pub subject: String,
    /// First address of From, To and Cc, decoded.
    pub from: Option<Addr>,
    pub to: Option<Addr>,
    pub cc: Option<Addr>,
    /// Date header in Unix ms, or the internal date when it is missing or unparseable (the
    /// "sent date" of RFC 5256).
    pub sent: i64,
    /// Message-ID, In-Reply-To and References ids, with angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
}

/// The part of the stored JSON index that sorting needs: serde skips the rest (MIME tree,
/// header index, attachments) without building it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Keys {
    subject: String,
    from: Option<Addr>,
    to: Vec<Addr>,
    cc: Vec<Addr>,
    message_id: Option<String>,
    in_reply_to: Vec<String>,
    references: Vec<String>,
}

impl Core {
    /// The sort/thread fields of `uids` in a mailbox (missing messages left out), by UID.
    /// Without `index` only the message rows are read (subject, first From address, sent
    /// date, Message-ID): To, Cc, In-Reply-To and References are then left empty.
    pub async fn sort_fields(
        &self,
        user: &ObjectId,
        mailbox: &ObjectId,
        uids: &[i64],
        index: bool,
    ) -> Result<Vec<SortFields>> {
        let rows = self.store.fetch_records(user, mailbox, uids, index).await?;
        rows.into_iter()
            .map(|(record, json)| {
                let keys: Keys = match json {
                    Some(j) => serde_json::from_str(&j).map_err(|e| {
                        Error::Internal(format!("stored message index is unreadable: {e}"))
                    })?,
                    None => Keys {
                        subject: record.subject,
                        from: (!record.from_address.is_empty() || !record.from_name.is_empty())
                            .then_some(Addr {
                                name: record.from_name,
                                address: record.from_address,
                            }),
                        message_id: (!record.message_id.is_empty()).then_some(record.message_id),
                        ..Keys::default()
                    },
                };
                Ok(SortFields {
                    uid: record.uid,
                    subject: keys.subject,
                    from: keys.from,
                    to: keys.to.into_iter().next(),
                    cc: keys.cc.into_iter().next(),
                    sent: record.hdate,
                    message_id: keys.message_id,
                    in_reply_to: keys.in_reply_to,
                    references: keys.references,
                })
            })
            .collect()
    }
}
