//! Typed access to result rows of either engine, and the record mappings.

use crate::model::*;
use crate::{Error, Result};

/// Column access shared by SQLite and PostgreSQL rows.
pub(crate) trait Cols {
    fn i64(&self, c: &str) -> Result<i64>;
    fn opt_i64(&self, c: &str) -> Result<Option<i64>>;
    fn string(&self, c: &str) -> Result<String>;
    fn opt_string(&self, c: &str) -> Result<Option<String>>;
    fn boolean(&self, c: &str) -> Result<bool>;
}

macro_rules! impl_cols {
    ($row:ty) => {
        impl Cols for $row {
            fn i64(&self, c: &str) -> Result<i64> {
                Ok(sqlx::Row::try_get(self, c)?)
            }
            fn opt_i64(&self, c: &str) -> Result<Option<i64>> {
                Ok(sqlx::Row::try_get(self, c)?)
            }
            fn string(&self, c: &str) -> Result<String> {
                Ok(sqlx::Row::try_get(self, c)?)
            }
            fn opt_string(&self, c: &str) -> Result<Option<String>> {
                Ok(sqlx::Row::try_get(self, c)?)
            }
            fn boolean(&self, c: &str) -> Result<bool> {
                Ok(sqlx::Row::try_get(self, c)?)
            }
        }
    };
}
impl_cols!(sqlx::sqlite::SqliteRow);
impl_cols!(sqlx::postgres::PgRow);

pub(crate) fn id(r: &impl Cols, c: &str) -> Result<ObjectId> {
    Ok(ObjectId::from_stored(r.string(c)?))
}

pub(crate) const USER_COLS: &str = "id, username, name, password, address, language, quota_allowed, storage_used, \
    retention, recipients, forwards, tags, encrypt_messages, encrypt_forwarded, pub_key, activated, disabled, \
    suspended, require_password_change, created, disabled_scopes, from_whitelist, profile";

pub(crate) fn user(r: &impl Cols) -> Result<UserRecord> {
    let tags = r.string("tags")?;
    Ok(UserRecord {
        id: id(r, "id")?,
        username: r.string("username")?,
        name: r.opt_string("name")?,
        address: r.opt_string("address")?,
        language: r.opt_string("language")?,
        quota_allowed: r.i64("quota_allowed")?,
        storage_used: r.i64("storage_used")?,
        retention: r.i64("retention")?,
        recipients: r.i64("recipients")?,
        forwards: r.i64("forwards")?,
        tags: list(&tags),
        encrypt_messages: r.boolean("encrypt_messages")?,
        encrypt_forwarded: r.boolean("encrypt_forwarded")?,
        pub_key: r.string("pub_key")?,
        has_password: r.opt_string("password")?.is_some(),
        activated: r.boolean("activated")?,
        disabled: r.boolean("disabled")?,
        suspended: r.boolean("suspended")?,
        require_password_change: r.boolean("require_password_change")?,
        created: r.i64("created")?,
        disabled_scopes: list(&r.string("disabled_scopes")?),
        from_whitelist: list(&r.string("from_whitelist")?),
        profile: profile(&r.string("profile")?)?,
    })
}

/// A stored [`UserProfile`] (JSON; missing fields take their defaults).
pub(crate) fn profile(s: &str) -> Result<UserProfile> {
    serde_json::from_str(s).map_err(|e| crate::Error::Corrupt(format!("user profile: {e}")))
}

/// A comma separated list as stored (`tags`, `disabled_scopes`).
fn list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) const ADDRESS_COLS: &str = "id, user_id, address, main, created";

pub(crate) fn address(r: &impl Cols) -> Result<AddressRecord> {
    Ok(AddressRecord {
        id: id(r, "id")?,
        user: id(r, "user_id")?,
        address: r.string("address")?,
        main: r.boolean("main")?,
        created: r.i64("created")?,
    })
}

pub(crate) const MAILBOX_COLS: &str = "id, user_id, path, special_use, subscribed, uid_validity, uid_next, modseq, retention, created";

pub(crate) fn mailbox(r: &impl Cols) -> Result<MailboxRecord> {
    Ok(MailboxRecord {
        id: id(r, "id")?,
        user: id(r, "user_id")?,
        path: r.string("path")?,
        special_use: r.opt_string("special_use")?,
        subscribed: r.boolean("subscribed")?,
        uid_validity: r.i64("uid_validity")?,
        uid_next: r.i64("uid_next")?,
        modseq: r.i64("modseq")?,
        retention: r.i64("retention")?,
        created: r.i64("created")?,
    })
}

pub(crate) const MESSAGE_COLS: &str = "m.id AS rowid, m.mailbox_id, m.uid, m.modseq, m.thread_id, m.blob, m.size, \
    m.idate, m.hdate, m.subject, m.from_name, m.from_address, m.message_id, m.intro, m.has_attachments, m.seen, \
    m.answered, m.flagged, m.deleted, m.draft, m.keywords, m.expires";

/// The system flags and the space-separated keywords of a message row.
pub(crate) fn flags(r: &impl Cols) -> Result<Flags> {
    let keywords = r.string("keywords")?;
    Ok(Flags {
        seen: r.boolean("seen")?,
        answered: r.boolean("answered")?,
        flagged: r.boolean("flagged")?,
        deleted: r.boolean("deleted")?,
        draft: r.boolean("draft")?,
        keywords: keywords
            .split(' ')
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

pub(crate) fn message(r: &impl Cols) -> Result<MessageRecord> {
    Ok(MessageRecord {
        mailbox: id(r, "mailbox_id")?,
        uid: r.i64("uid")?,
        modseq: r.i64("modseq")?,
        thread: id(r, "thread_id")?,
        blob: r.string("blob")?,
        size: r.i64("size")?,
        idate: r.i64("idate")?,
        hdate: r.i64("hdate")?,
        subject: r.string("subject")?,
        from_name: r.string("from_name")?,
        from_address: r.string("from_address")?,
        message_id: r.string("message_id")?,
        intro: r.string("intro")?,
        has_attachments: r.boolean("has_attachments")?,
        flags: flags(r)?,
        expires: r.opt_i64("expires")?,
    })
}

pub(crate) fn corrupt(what: impl Into<String>) -> Error {
    Error::Corrupt(what.into())
}
