//! The domain of Sealpost: users, addresses, mailboxes, messages and quota.
//!
//! Every rule lives here once, whatever the protocol that triggers it: the REST API, IMAP,
//! POP3 and LMTP all call [`Core`]. `core` talks to persistence only through
//! `sealpost_store`, never to a protocol.

mod archive;
mod authlog;
pub mod autoconfig;
mod autoreply;
mod condstore;
pub mod deleted_users;
pub mod delivery;
pub mod dkim;
pub mod dns;
pub mod domains;
mod encryption;
mod error;
mod events;
mod forward;
pub mod forwarded;
pub mod guard;
mod imap_fetch;
mod imap_support;
mod mailbox_names;
mod mailboxes;
mod message_cache;
mod messages;
pub mod metrics;
mod mobileconfig;
mod notify;
mod page;
mod qr_png;
mod random;
mod retention;
mod security;
mod service;
mod sort_fields;
pub mod totp;
mod updates;
pub mod user_access;
pub mod user_profile;
mod users;
mod validate;
pub mod vault;
mod view_cache;
mod writer;

pub mod external_keys;
pub mod wkd;

pub mod config;
pub mod filters;
pub mod outbound;
pub mod password;
pub mod provisioning;
pub mod submission;
pub mod throttle;

pub use archive::ArchivedDetails;
pub use authlog::{AuthEventExtra, AuthLogQuery, AuthMeta};
pub use autoreply::{Autoreply, AutoreplyUpdate, Suppressed};
pub use condstore::ConditionalStore;
pub use config::{ClientSetup, CoreConfig};
pub use deleted_users::{DeleteOutcome, RestoreInfo};
pub use encryption::{EncryptionKey, KeyUse, PubKeyInfo};
pub use error::{Error, Result};
pub use events::{MAX_EVENTS_PER_MESSAGE, MessageEvent};
pub use forward::LIMIT_WINDOW_MS;
pub use imap_fetch::{HEADER_PREFIX, HeaderIndex, IndexText, SearchRow};
pub use imap_support::*;
pub use mailboxes::SPECIAL_USES;
pub use message_cache::SearchFields;
pub use notify::SessionSignal;
pub use page::{Cursor, MAX_PAGE_LIMIT, Page, PageRequest};
pub use random::token as random_token;
pub use sealpost_mime as mime;
pub use sealpost_store::PurgeStats;
pub use sealpost_store::RestoredUser;
pub use sealpost_store::filters::FilterRecord;
pub use sealpost_store::model::*;
pub use sealpost_store::{AspRecord, AuthLogEntry, JournalEvent};
pub use security::{ASP_SCOPES, AspRequest, CreatedAsp, MAX_ASPS, TotpSetup, TotpSetupRequest};
pub use service::*;
pub use sort_fields::SortFields;
pub use updates::MAX_EVENTS;
