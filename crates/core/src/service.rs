//! [`Core`]: the operations every protocol front end calls.

use crate::{CoreConfig, Error};
use sealpost_mime::ParsedMessage;
use sealpost_store::model::*;

/// Scope of an authentication, as in WildDuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Master,
    Imap,
    Pop3,
    Smtp,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "master" => Some(Scope::Master),
            "imap" => Some(Scope::Imap),
            "pop3" => Some(Scope::Pop3),
            "smtp" => Some(Scope::Smtp),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Master => "master",
            Scope::Imap => "imap",
            Scope::Pop3 => "pop3",
            Scope::Smtp => "smtp",
        }
    }

    /// Whether a user's `disabledScopes` shut this service out. The master scope (the API's
    /// own password checks) is never disabled.
    pub fn disabled_for(self, disabled_scopes: &[String]) -> bool {
        self != Scope::Master && disabled_scopes.iter().any(|s| s == self.as_str())
    }
}

/// The services `disabledScopes` may name, as WildDuck.
pub const DISABLEABLE_SCOPES: [&str; 3] = ["imap", "pop3", "smtp"];

/// Validates and normalises `disabledScopes`: only `imap`, `pop3`, `smtp`, each once, in
/// that order.
pub fn parse_disabled_scopes(given: &[String]) -> crate::Result<Vec<String>> {
    let mut seen = [false; 3];
    for s in given {
        let s = s.trim().to_ascii_lowercase();
        match DISABLEABLE_SCOPES.iter().position(|k| *k == s) {
            Some(i) => seen[i] = true,
            None => {
                return Err(Error::validation(
                    "\"disabledScopes\" must contain only imap, pop3 or smtp",
                    "disabledScopes",
                ));
            }
        }
    }
    Ok(DISABLEABLE_SCOPES
        .iter()
        .zip(seen)
        .filter(|(_, on)| *on)
        .map(|(k, _)| k.to_string())
        .collect())
}

/// `POST /users` input, validated by `create_user`.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    /// `None` creates an account without a password.
    pub password: Option<String>,
    /// Import an existing hash (argon2, bcrypt) instead of a password.
    pub hashed_password: Option<String>,
    pub address: Option<String>,
    pub empty_address: bool,
    pub name: Option<String>,
    pub quota: Option<i64>,
    pub retention: Option<i64>,
    pub language: Option<String>,
    pub recipients: Option<i64>,
    pub forwards: Option<i64>,
    pub tags: Vec<String>,
    pub pub_key: Option<String>,
    pub encrypt_messages: bool,
    pub encrypt_forwarded: bool,
    /// Services the user may not log in to (see [`parse_disabled_scopes`]).
    pub disabled_scopes: Vec<String>,
    /// More addresses the user may send as (see `submission::sender`).
    pub from_whitelist: Vec<String>,
    /// Must change the password at the next opportunity.
    pub require_password_change: bool,
    /// Today's WildDuck settings (targets, spam level, limits, metaData, ...), checked by
    /// `create_user`.
    pub profile: sealpost_store::model::UserProfile,
    /// Names for the special mailboxes instead of the localised defaults.
    pub mailbox_names: SpecialMailboxNames,
}

/// WildDuck's `mailboxes` at user creation: names for the special mailboxes.
#[derive(Debug, Clone, Default)]
pub struct SpecialMailboxNames {
    pub sent: Option<String>,
    pub trash: Option<String>,
    pub junk: Option<String>,
    pub drafts: Option<String>,
}

/// Changes to a user's [`UserProfile`](sealpost_store::model::UserProfile): only `Some`
/// fields change.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub targets: Option<Vec<String>>,
    pub spam_level: Option<i64>,
    pub filters: Option<i64>,
    pub imap_max_upload: Option<i64>,
    pub imap_max_download: Option<i64>,
    pub imap_max_connections: Option<i64>,
    pub pop3_max_download: Option<i64>,
    pub pop3_max_messages: Option<i64>,
    pub received_max: Option<i64>,
    pub allow_unsafe: Option<bool>,
    pub upload_sent_messages: Option<bool>,
    /// `Some(None)` clears it.
    pub mta_relay: Option<Option<String>>,
    pub meta_data: Option<serde_json::Map<String, serde_json::Value>>,
    pub internal_data: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ProfileUpdate {
    pub fn is_empty(&self) -> bool {
        self.targets.is_none()
            && self.spam_level.is_none()
            && self.filters.is_none()
            && self.imap_max_upload.is_none()
            && self.imap_max_download.is_none()
            && self.imap_max_connections.is_none()
            && self.pop3_max_download.is_none()
            && self.pop3_max_messages.is_none()
            && self.received_max.is_none()
            && self.allow_unsafe.is_none()
            && self.upload_sent_messages.is_none()
            && self.mta_relay.is_none()
            && self.meta_data.is_none()
            && self.internal_data.is_none()
    }

    /// `profile` with these changes.
    pub fn apply(
        self,
        mut p: sealpost_store::model::UserProfile,
    ) -> sealpost_store::model::UserProfile {
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { p.$f = v; } )* };
        }
        take!(
            targets,
            spam_level,
            filters,
            imap_max_upload,
            imap_max_download,
            imap_max_connections,
            pop3_max_download,
            pop3_max_messages,
            received_max,
            allow_unsafe,
            upload_sent_messages,
            mta_relay,
            meta_data,
            internal_data
        );
        p
    }
}

/// `PUT /users/{user}` input: only `Some` fields change.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub name: Option<Option<String>>,
    pub password: Option<String>,
    pub existing_password: Option<String>,
    pub quota: Option<i64>,
    pub retention: Option<i64>,
    pub language: Option<String>,
    pub recipients: Option<i64>,
    pub forwards: Option<i64>,
    pub tags: Option<Vec<String>>,
    pub pub_key: Option<String>,
    pub encrypt_messages: Option<bool>,
    pub encrypt_forwarded: Option<bool>,
    pub disabled: Option<bool>,
    pub suspended: Option<bool>,
    pub disabled_scopes: Option<Vec<String>>,
    pub from_whitelist: Option<Vec<String>>,
    pub require_password_change: Option<bool>,
    pub profile: ProfileUpdate,
    /// Where the change came from, for the authentication log.
    pub meta: crate::AuthMeta,
}

/// `GET /users` filters.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Partial match on username (and addresses).
    pub query: Option<String>,
    /// At least one of these tags.
    pub tags: Vec<String>,
    /// All of these tags.
    pub required_tags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AuthResult {
    pub id: ObjectId,
    pub username: String,
    pub scope: Scope,
    /// Enabled 2FA mechanisms (empty when none).
    pub require_2fa: Vec<String>,
    pub require_password_change: bool,
}

/// A mailbox with optional counters.
#[derive(Debug, Clone)]
pub struct MailboxInfo {
    pub mailbox: MailboxRecord,
    /// Present when counters were asked for.
    pub total: Option<i64>,
    pub unseen: Option<i64>,
    pub size: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

/// A message with its full parsed index.
#[derive(Debug, Clone)]
pub struct MessageDetails {
    pub record: MessageRecord,
    pub parsed: ParsedMessage,
}

/// Which messages of a mailbox: one UID, a comma list, or a range `444:446`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UidSelector {
    List(Vec<i64>),
    Range(i64, i64),
}

impl UidSelector {
    /// Parses "444", "444,445,446" or "444:446" (at most 1,000 items in a list).
    pub fn parse(s: &str) -> Option<UidSelector> {
        fn uid(s: &str) -> Option<i64> {
            let s = s.trim();
            if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<i64>()
                .ok()
                .filter(|n| *n > 0 && *n <= u32::MAX as i64)
        }
        if let Some((a, b)) = s.split_once(':') {
            let (a, b) = (uid(a)?, uid(b)?);
            Some(UidSelector::Range(a.min(b), a.max(b)))
        } else {
            let list: Option<Vec<i64>> = s.split(',').take(1001).map(uid).collect();
            let list = list?;
            (list.len() <= 1000).then_some(UidSelector::List(list))
        }
    }
}

/// `PUT .../messages/{message}` input.
#[derive(Debug, Clone, Default)]
pub struct MessageUpdate {
    pub seen: Option<bool>,
    pub flagged: Option<bool>,
    pub draft: Option<bool>,
    pub deleted: Option<bool>,
    /// `Some(None)` clears the expiry.
    pub expires: Option<Option<Millis>>,
    pub move_to: Option<ObjectId>,
}

/// Result of an update: how many messages matched, and for a move the new UIDs.
#[derive(Debug, Clone, Default)]
pub struct UpdateResult {
    pub updated: u64,
    /// (old uid, new uid) pairs when moved.
    pub moved: Vec<(i64, i64)>,
    pub destination: Option<ObjectId>,
}

/// Options of an upload (`POST .../messages`) or APPEND.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    pub flags: Flags,
    /// Internal date; now when `None`.
    pub date: Option<Millis>,
}

/// Where a stored message landed.
#[derive(Debug, Clone)]
pub struct Stored {
    pub mailbox: ObjectId,
    pub uid: i64,
    pub size: i64,
}

/// A decoded attachment.
#[derive(Debug, Clone)]
pub struct AttachmentData {
    pub content_type: String,
    pub filename: Option<String>,
    pub content: Vec<u8>,
}

/// The service. Cheap to clone (shares its pools).
#[derive(Clone)]
pub struct Core {
    pub(crate) store: sealpost_store::Store,
    pub(crate) config: std::sync::Arc<CoreConfig>,
    pub(crate) writer: crate::writer::Writer,
    pub(crate) gc: std::sync::Arc<tokio::sync::Notify>,
    /// Fired for the user after a committed change to that user's mailboxes; it only
    /// wakes readers (IMAP IDLE), which then read the journal. See `imap_support.rs`.
    pub(crate) changes: crate::notify::Notifier,
    /// Mailbox views shared by the sessions of this process (see `view_cache.rs`).
    pub(crate) views: crate::view_cache::ViewCache,
    /// What SEARCH reads of each message, shared by the sessions of this process (see
    /// `message_cache.rs`).
    pub(crate) search_cache: crate::message_cache::MessageCache<crate::SearchFields>,
    /// Header blocks of messages for FETCH, likewise.
    pub(crate) header_cache: crate::message_cache::MessageCache<std::sync::Arc<[u8]>>,
    /// Wakes the `action_targetUrl` upload worker (see `filters/upload.rs`).
    pub(crate) uploads: std::sync::Arc<tokio::sync::Notify>,
    /// Outbound mail: relay settings, SRS, the worker's wake-up (see `outbound/`).
    pub(crate) outbound: std::sync::Arc<crate::outbound::Outbound>,
    /// The authentication log's queue (see `authlog.rs`).
    pub(crate) authlog: crate::authlog::AuthLog,
    /// TOTP token checks per user (see `totp.rs`).
    pub(crate) totp_checks: std::sync::Arc<crate::totp::CheckLimiter>,
    /// Failed authentications across protocols (see `throttle.rs`).
    pub(crate) auth_throttle: std::sync::Arc<crate::throttle::AuthThrottle>,
    /// Guard key management: the master key, loaded on first use (see `guard/`).
    pub(crate) guard: std::sync::Arc<crate::guard::GuardState>,
    /// The DNS resolver (see `dns.rs`).
    pub(crate) dns: crate::dns::Dns,
    /// DKIM: the sealing secret and the signing-key cache (see `dkim/`).
    pub(crate) dkim: std::sync::Arc<crate::dkim::DkimState>,
    /// The password vault: its server key (see `vault/`).
    pub(crate) vault: std::sync::Arc<crate::vault::VaultState>,
}

#[allow(dead_code)]
fn _assert_error_is_send(e: Error) -> impl Send {
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_scopes_are_normalised_and_checked() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_disabled_scopes(&v(&["SMTP", " imap", "smtp"])).unwrap(),
            v(&["imap", "smtp"])
        );
        assert!(parse_disabled_scopes(&v(&[])).unwrap().is_empty());
        assert!(parse_disabled_scopes(&v(&["*"])).is_err());
        assert!(parse_disabled_scopes(&v(&["master"])).is_err());
        let off = v(&["pop3"]);
        assert!(Scope::Pop3.disabled_for(&off));
        assert!(!Scope::Imap.disabled_for(&off));
        assert!(!Scope::Master.disabled_for(&v(&["imap", "pop3", "smtp"])));
    }
}
