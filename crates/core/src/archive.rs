//! The archive of deleted messages: listing, reading and restoring them.
//!
//! A message deleted by a user (REST delete, IMAP EXPUNGE/CLOSE, POP3 DELE: every path
//! that ends in the store's `delete_matching`) enters the archive in the transaction that
//! deletes it, unless it is a draft or the archive is off (`CoreConfig::archive_for` zero).
//! A move is not a deletion and archives nothing. Archived messages are in no mailbox and
//! count against no quota; the purge task (`retention.rs`) removes them when their time is up.

use crate::messages::direction;
use crate::service::*;
use crate::{Core, Error, Page, PageRequest, Result};
use sealpost_mime::ParsedMessage;
use sealpost_store::RestoreOutcome;
use sealpost_store::model::*;

/// An archived message in full.
#[derive(Debug, Clone)]
pub struct ArchivedDetails {
    pub entry: ArchivedRecord,
    pub parsed: ParsedMessage,
}

fn archived_not_found() -> Error {
    Error::not_found("This archived message does not exist")
}

impl Core {
    /// A page of the user's archive, newest first for `Order::Desc`.
    pub async fn list_archived(
        &self,
        user: &ObjectId,
        order: Order,
        page: &PageRequest,
    ) -> Result<Page<ArchivedRecord>> {
        self.get_user(user).await?;
        let (total, rows) = self
            .store
            .list_archived(user, direction(order), &page.seek()?, page.fetch_limit())
            .await?;
        Ok(page.finish(total, rows, |a| a.id.to_string()))
    }

    /// One archived message with its parsed index, text and HTML.
    pub async fn get_archived(&self, user: &ObjectId, id: &ObjectId) -> Result<ArchivedDetails> {
        let (entry, json) = self
            .store
            .get_archived(user, id)
            .await?
            .ok_or_else(archived_not_found)?;
        let parsed = self.parsed_with_bodies(&entry.message.blob, &json).await?;
        Ok(ArchivedDetails { entry, parsed })
    }

    /// Restores an archived message to `mailbox`, or where it was deleted from, or INBOX
    /// when that mailbox is gone. It gets a new UID there and counts against the quota
    /// again; `Error::OverQuota` when it does not fit.
    pub async fn restore_archived(
        &self,
        user: &ObjectId,
        id: &ObjectId,
        mailbox: Option<&ObjectId>,
    ) -> Result<Stored> {
        self.get_user(user).await?;
        let (entry, _) = self
            .store
            .get_archived(user, id)
            .await?
            .ok_or_else(archived_not_found)?;
        // The full-text index keeps no text of archived messages: derived again from the blob.
        let raw = self.read_blob(&entry.message.blob).await?;
        let text = tokio::task::spawn_blocking(move || {
            sealpost_mime::parse_message(&raw)
                .map(|p| p.search_text)
                .unwrap_or_default()
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
        match self
            .store
            .restore_archived(user, id, mailbox, &text)
            .await?
        {
            RestoreOutcome::Restored { mailbox, uid } => {
                self.notify_change(user);
                Ok(Stored {
                    mailbox,
                    uid,
                    size: entry.message.size,
                })
            }
            RestoreOutcome::NotFound => Err(archived_not_found()),
            RestoreOutcome::NoMailbox => Err(crate::mailboxes::mailbox_not_found()),
            RestoreOutcome::OverQuota => Err(Error::OverQuota),
        }
    }
}
