//! Records as stored, shared by every layer above the store.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// A 24-hex object id: 4 bytes of creation time (seconds) then 8 random bytes, so ids sort
/// roughly by creation time and look like the MongoDB ids WildDuck clients expect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectId(String);

impl ObjectId {
    pub fn new() -> Self {
        use rand::RngCore;
        let secs = chrono::Utc::now().timestamp().clamp(0, u32::MAX as i64) as u32;
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&secs.to_be_bytes());
        rand::thread_rng().fill_bytes(&mut bytes[4..]);
        ObjectId(hex::encode(bytes))
    }

    /// Parses a client-supplied id: exactly 24 hex digits (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(ObjectId(s.to_ascii_lowercase()))
        } else {
            None
        }
    }

    /// Wraps an id read back from our own storage.
    pub fn from_stored(s: String) -> Self {
        ObjectId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ObjectId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: ObjectId,
    pub username: String,
    pub name: Option<String>,
    /// Main address, if the user has any.
    pub address: Option<String>,
    pub language: Option<String>,
    pub quota_allowed: i64,
    pub storage_used: i64,
    /// Default retention for new mailboxes, ms; 0 = keep forever.
    pub retention: i64,
    pub recipients: i64,
    pub forwards: i64,
    pub tags: Vec<String>,
    pub encrypt_messages: bool,
    pub encrypt_forwarded: bool,
    pub pub_key: String,
    pub has_password: bool,
    pub activated: bool,
    pub disabled: bool,
    pub suspended: bool,
    pub require_password_change: bool,
    pub created: Millis,
    /// Services the user may not log in to (`imap`, `pop3`, `smtp`), as WildDuck's
    /// `disabledScopes`; checked by core's authentication.
    pub disabled_scopes: Vec<String>,
    /// More addresses the user may send as over submission (`*` matches any run of
    /// characters), as WildDuck's `fromWhitelist`; checked by core's sender rule.
    pub from_whitelist: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddressRecord {
    pub id: ObjectId,
    pub user: ObjectId,
    /// As registered (Unicode kept).
    pub address: String,
    pub main: bool,
    pub created: Millis,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailboxRecord {
    pub id: ObjectId,
    pub user: ObjectId,
    /// Full path with `/` separators, e.g. "Archive/2024".
    pub path: String,
    /// "\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive", or None (INBOX has None).
    pub special_use: Option<String>,
    pub subscribed: bool,
    pub uid_validity: i64,
    pub uid_next: i64,
    pub modseq: i64,
    /// Retention in ms for messages stored here; 0 = keep forever.
    pub retention: i64,
    pub created: Millis,
}

impl MailboxRecord {
    /// Last path segment.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    pub seen: bool,
    pub answered: bool,
    pub flagged: bool,
    pub deleted: bool,
    pub draft: bool,
    /// Keywords (IMAP flags without a backslash), as given, deduplicated.
    pub keywords: Vec<String>,
}

/// One message in one mailbox: what listings show without opening the blob's index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageRecord {
    pub mailbox: ObjectId,
    pub uid: i64,
    pub modseq: i64,
    pub thread: ObjectId,
    pub blob: String,
    pub size: i64,
    /// Internal date (arrival), ms.
    pub idate: Millis,
    /// Date header, ms (falls back to the internal date).
    pub hdate: Millis,
    pub subject: String,
    pub from_name: String,
    pub from_address: String,
    pub message_id: String,
    pub intro: String,
    pub has_attachments: bool,
    pub flags: Flags,
    pub expires: Option<Millis>,
}

/// A message in the user's archive: deleted, kept out of every mailbox and the quota until
/// `message.expires`, restorable. `message.mailbox` and `message.uid` are where it was.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchivedRecord {
    pub id: ObjectId,
    /// When it was archived, ms.
    pub archived: Millis,
    pub message: MessageRecord,
}
