//! Records as stored, shared by every layer above the store.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// A 24-hex object id in MongoDB's ObjectId layout: 4 bytes of creation time (seconds), 5
/// random bytes chosen once per process (the node), then a 3-byte counter. Ids made by one
/// node sort in creation order, also within one second; ids of different nodes sort by second.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectId(String);

/// The last (seconds, counter) this process gave out.
static LAST_ID: std::sync::Mutex<(u32, u32)> = std::sync::Mutex::new((0, 0));
/// This process's random node part.
static NODE: std::sync::OnceLock<[u8; 5]> = std::sync::OnceLock::new();
const COUNTER_MAX: u32 = 0xff_ffff;

/// The next (seconds, counter) after `last` at wall-clock second `now`: never smaller than the
/// last one, even if the clock steps back or more than 2^24 ids are made in one second (then
/// the seconds run ahead of the clock until it catches up).
fn next_time_counter(last: (u32, u32), now: u32) -> (u32, u32) {
    let (last_secs, last_counter) = last;
    if now > last_secs {
        (now, 0)
    } else if last_counter < COUNTER_MAX {
        (last_secs, last_counter + 1)
    } else {
        (last_secs.saturating_add(1), 0)
    }
}

impl ObjectId {
    pub fn new() -> Self {
        let now = chrono::Utc::now().timestamp().clamp(0, u32::MAX as i64) as u32;
        let (secs, counter) = {
            let mut last = LAST_ID.lock().unwrap_or_else(|p| p.into_inner());
            *last = next_time_counter(*last, now);
            *last
        };
        let node = NODE.get_or_init(|| {
            use rand::RngCore;
            let mut n = [0u8; 5];
            rand::rngs::OsRng.fill_bytes(&mut n);
            n
        });
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&secs.to_be_bytes());
        bytes[4..9].copy_from_slice(node);
        bytes[9..].copy_from_slice(&counter.to_be_bytes()[1..]);
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
    /// Today's WildDuck settings stored as one object (see [`UserProfile`]).
    pub profile: UserProfile,
}

/// The user settings of today's WildDuck that need no column of their own: limits, forwarding
/// targets, spam level and the client's own data. Stored as one JSON object; fields missing in
/// a stored object take their defaults, so new ones need no migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserProfile {
    /// Forwarding targets: addresses, or `http(s)://` URLs the message is POSTed to.
    pub targets: Vec<String>,
    /// 0 = everything is spam, 100 = nothing is; in between the MTA's verdict counts.
    pub spam_level: i64,
    /// Filters the user may have (0 = the server's default).
    pub filters: i64,
    /// Bytes a day that may be uploaded / downloaded over IMAP (0 = no limit).
    pub imap_max_upload: i64,
    pub imap_max_download: i64,
    /// Parallel IMAP connections (0 = the server's default).
    pub imap_max_connections: i64,
    /// Bytes a day that may be downloaded over POP3 (0 = no limit).
    pub pop3_max_download: i64,
    /// How many of the newest messages a POP3 session lists (0 = the server's default).
    pub pop3_max_messages: i64,
    /// Messages a minute the user may receive from MX (0 = no limit).
    pub received_max: i64,
    /// Whether passwords are not checked against breach lists (always true here).
    pub allow_unsafe: bool,
    pub upload_sent_messages: bool,
    /// WildDuck's `mtaRelay` (stored and shown; outbound mail uses the server's relay).
    pub mta_relay: Option<String>,
    /// The client's own objects, returned as given.
    pub meta_data: serde_json::Map<String, serde_json::Value>,
    pub internal_data: serde_json::Map<String, serde_json::Value>,
    /// WildDuck's custom 2FA: the application in front handles a second factor itself, so
    /// the account password no longer logs in to IMAP, POP3 or SMTP (application passwords do).
    #[serde(rename = "custom2fa")]
    pub custom_2fa: bool,
}

impl Default for UserProfile {
    fn default() -> Self {
        UserProfile {
            targets: Vec::new(),
            spam_level: 50,
            filters: 0,
            imap_max_upload: 0,
            imap_max_download: 0,
            imap_max_connections: 0,
            pop3_max_download: 0,
            pop3_max_messages: 0,
            received_max: 0,
            allow_unsafe: true,
            upload_sent_messages: false,
            mta_relay: None,
            meta_data: Default::default(),
            internal_data: Default::default(),
            custom_2fa: false,
        }
    }
}

/// A user deleted with a grace period: restorable until `delete_after`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeletedUser {
    pub user: UserRecord,
    /// When it was deleted, ms.
    pub deleted: Millis,
    /// When its data goes for good, ms.
    pub delete_after: Millis,
    /// The addresses it had, (address as given, main).
    pub addresses: Vec<(String, bool)>,
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

#[cfg(test)]
mod object_id_tests {
    use super::{COUNTER_MAX, ObjectId, next_time_counter};

    #[test]
    fn ids_sort_in_creation_order_within_a_second() {
        let ids: Vec<ObjectId> = (0..5000).map(|_| ObjectId::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        assert!(
            ids.iter()
                .all(|i| ObjectId::parse(i.as_str()).as_ref() == Some(i))
        );
        // Same node part for every id of this process.
        assert!(
            ids.iter()
                .all(|i| i.as_str()[8..18] == ids[0].as_str()[8..18])
        );
    }

    #[test]
    fn counter_never_goes_back() {
        assert_eq!(next_time_counter((10, 5), 11), (11, 0));
        assert_eq!(next_time_counter((10, 5), 10), (10, 6));
        // Clock stepped back: keep counting on the last second.
        assert_eq!(next_time_counter((10, 5), 3), (10, 6));
        // Counter full: run one second ahead.
        assert_eq!(next_time_counter((10, COUNTER_MAX), 10), (11, 0));
        assert_eq!(
            next_time_counter((u32::MAX, COUNTER_MAX), 10),
            (u32::MAX, 0)
        );
    }
}
