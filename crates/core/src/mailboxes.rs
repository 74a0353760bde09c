//! Mailboxes: the default set, creation by path, rename, retention, deletion.

use crate::service::*;
use crate::{Core, Error, Result, validate};
use sealpost_store::mailbox_retention;
use sealpost_store::model::*;

/// The special uses a mailbox can have: RFC 6154's (`\All` and `\Flagged` would be
/// virtual mailboxes, which the store does not have) and RFC 8457's `\Important`. Every
/// user has the first five from the start; one mailbox holds each.
pub const SPECIAL_USES: [&str; 6] = [
    "\\Archive",
    "\\Drafts",
    "\\Junk",
    "\\Sent",
    "\\Trash",
    "\\Important",
];

pub(crate) fn mailbox_not_found() -> Error {
    Error::not_found("This mailbox does not exist")
}

impl Core {
    pub async fn list_mailboxes(
        &self,
        user: &ObjectId,
        counters: bool,
    ) -> Result<Vec<MailboxInfo>> {
        let mut list = self.store.list_mailboxes(user).await?;
        // INBOX first, then by path in byte order (the same on both engines, whatever the
        // database collation).
        list.sort_by(|a, b| {
            (a.path != "INBOX", a.path.as_bytes()).cmp(&(b.path != "INBOX", b.path.as_bytes()))
        });
        if list.is_empty() {
            // Every user has INBOX: an empty list means no such user.
            self.get_user(user).await?;
        }
        let counts = if counters {
            self.store.mailbox_counters(user, None).await?
        } else {
            Vec::new()
        };
        Ok(list
            .into_iter()
            .map(|mailbox| {
                let c = counts
                    .iter()
                    .find(|(id, _)| *id == mailbox.id)
                    .map(|(_, c)| *c)
                    .unwrap_or_default();
                MailboxInfo {
                    mailbox,
                    total: counters.then_some(c.total),
                    unseen: counters.then_some(c.unseen),
                    size: counters.then_some(c.size),
                }
            })
            .collect())
    }

    /// One mailbox's stored record, without counters.
    pub async fn mailbox_record(&self, user: &ObjectId, id: &ObjectId) -> Result<MailboxRecord> {
        self.store
            .get_mailbox(user, id)
            .await?
            .ok_or_else(mailbox_not_found)
    }

    pub async fn get_mailbox(&self, user: &ObjectId, id: &ObjectId) -> Result<MailboxInfo> {
        let mailbox = self.mailbox_record(user, id).await?;
        self.mailbox_status(user, mailbox).await
    }

    /// Finds a mailbox by path (`INBOX` case-insensitive).
    pub async fn find_mailbox(&self, user: &ObjectId, path: &str) -> Result<Option<MailboxRecord>> {
        let path = validate::mailbox_path(path)?;
        Ok(self.store.get_mailbox_by_path(user, &path).await?)
    }

    pub async fn create_mailbox(
        &self,
        user: &ObjectId,
        path: &str,
        retention: Option<i64>,
    ) -> Result<ObjectId> {
        self.create_mailbox_with_use(user, path, retention, None)
            .await
    }

    /// Creates a mailbox with a special use (IMAP CREATE-SPECIAL-USE): one of
    /// [`SPECIAL_USES`], not held by another mailbox of the user. A refused use is a
    /// validation error of the field `specialUse`.
    pub async fn create_mailbox_with_use(
        &self,
        user: &ObjectId,
        path: &str,
        retention: Option<i64>,
        special_use: Option<&str>,
    ) -> Result<ObjectId> {
        let path = validate::mailbox_path(path)?;
        if let Some(wanted) = special_use {
            if !SPECIAL_USES.contains(&wanted) {
                return Err(Error::validation(
                    format!("Special use {wanted} is not supported"),
                    "specialUse",
                ));
            }
            let taken = self
                .store
                .list_mailboxes(user)
                .await?
                .iter()
                .any(|m| m.special_use.as_deref() == Some(wanted));
            if taken {
                return Err(Error::validation(
                    format!("Another mailbox already has the special use {wanted}"),
                    "specialUse",
                ));
            }
        }
        if retention.is_some_and(|r| r < 0) {
            return Err(Error::validation(
                "retention must be zero or positive",
                "retention",
            ));
        }
        let retention = match retention {
            Some(r) => r,
            None => mailbox_retention(None, self.get_user(user).await?.retention),
        };
        let parents = validate::parents(&path);
        let id = self
            .store
            .create_mailbox(user, &parents, &path, special_use, retention)
            .await
            .map_err(|e| match e {
                sealpost_store::Error::Conflict(m) => Error::Conflict {
                    message: m,
                    code: "MailboxExistsError",
                },
                other => other.into(),
            })?
            .ok_or_else(|| Error::not_found("This user does not exist"))?;
        // Journaled: wake the readers (IDLE, the event stream) now, not at their next poll.
        self.notify_change(user);
        Ok(id)
    }

    /// Rename (children move along) and/or change retention / subscription.
    pub async fn update_mailbox(
        &self,
        user: &ObjectId,
        id: &ObjectId,
        path: Option<&str>,
        retention: Option<i64>,
        subscribed: Option<bool>,
    ) -> Result<()> {
        if retention.is_some_and(|r| r < 0) {
            return Err(Error::validation(
                "retention must be zero or positive",
                "retention",
            ));
        }
        let current = self
            .store
            .get_mailbox(user, id)
            .await?
            .ok_or_else(mailbox_not_found)?;
        if let Some(new_path) = path {
            let new_path = validate::mailbox_path(new_path)?;
            if current.path == "INBOX" {
                return Err(Error::Forbidden {
                    message: "INBOX can not be renamed".into(),
                    code: "DisallowedMailboxMethod",
                });
            }
            if new_path == "INBOX" {
                return Err(Error::Conflict {
                    message: "Mailbox already exists".into(),
                    code: "MailboxExistsError",
                });
            }
            if new_path.starts_with(&format!("{}/", current.path)) {
                return Err(Error::validation(
                    "A mailbox can not be moved into itself",
                    "path",
                ));
            }
            if new_path != current.path {
                let parents = validate::parents(&new_path);
                let ok = self
                    .store
                    .rename_mailbox(user, id, &parents, &new_path)
                    .await
                    .map_err(|e| match e {
                        sealpost_store::Error::Conflict(m) => Error::Conflict {
                            message: m,
                            code: "MailboxExistsError",
                        },
                        other => other.into(),
                    })?;
                if !ok {
                    return Err(mailbox_not_found());
                }
                self.notify_change(user);
            }
        }
        if (retention.is_some() || subscribed.is_some())
            && !self
                .store
                .update_mailbox_settings(user, id, retention, subscribed)
                .await?
        {
            return Err(mailbox_not_found());
        }
        Ok(())
    }

    /// RENAME of INBOX (IMAP, RFC 3501 6.3.5): a new mailbox `path` receives every message
    /// of INBOX, which stays, empty (its children, if any, stay too). Returns the new id.
    pub async fn rename_inbox(&self, user: &ObjectId, path: &str) -> Result<ObjectId> {
        let inbox = self
            .find_mailbox(user, "INBOX")
            .await?
            .ok_or_else(mailbox_not_found)?;
        let id = self.create_mailbox(user, path, None).await?;
        let uids: Vec<i64> = self
            .store
            .mailbox_view(user, &inbox.id)
            .await?
            .iter()
            .map(|m| m.uid)
            .collect();
        self.move_messages(user, &inbox.id, &id, &uids).await?;
        Ok(id)
    }

    /// Deletes a user-made mailbox and its messages; INBOX and special-use mailboxes stay.
    pub async fn delete_mailbox(&self, user: &ObjectId, id: &ObjectId) -> Result<()> {
        let current = self
            .store
            .get_mailbox(user, id)
            .await?
            .ok_or_else(mailbox_not_found)?;
        if current.path == "INBOX" || current.special_use.is_some() {
            return Err(Error::Forbidden {
                message: "Mailbox deletion failed with code CANNOT".into(),
                code: "DisallowedMailboxMethod",
            });
        }
        if !self.store.delete_mailbox(user, id).await? {
            return Err(mailbox_not_found());
        }
        self.notify_change(user);
        self.gc.notify_one();
        Ok(())
    }
}
