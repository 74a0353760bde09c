//! The purge task: deletes messages whose mailbox retention or own `expires` has passed,
//! and archive entries whose time is up, then wakes the blob collector for what nothing
//! references any more.
//!
//! Retention runs from a message's arrival in its mailbox, as WildDuck's `rdate`: the
//! deadline is set when a message is stored, moved, copied or restored into a mailbox
//! (its `expires`), from that mailbox's retention, Trash and Junk capped at 30 days. So a
//! message uploaded with an old internal date is not purged at once, and a change of a
//! mailbox's retention applies to messages that arrive after it.
//!
//! Work is done in bounded batches ([`PURGE_BATCH`] rows per transaction), with a pause
//! between batches so that deliveries and IMAP sessions get the writer in between. A purged
//! message is expunged like any other (modseq bump, journal row): IMAP sessions see
//! EXPUNGE or VANISHED. It is not archived: retention is the owner's policy, not a deletion.

use crate::Core;
use crate::notify::Notifier;
use sealpost_store::model::Millis;
use sealpost_store::{PurgeStats, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Rows deleted per transaction.
pub const PURGE_BATCH: i64 = 500;
/// Pause between two full batches.
const BETWEEN_BATCHES: Duration = Duration::from_millis(20);

impl Core {
    /// Starts the purge task, which runs every `CoreConfig::purge_interval` until the
    /// runtime stops. `sealpost serve` starts it once.
    pub fn start_purge_task(&self) -> tokio::task::JoinHandle<()> {
        // Only what the purge needs: holding a whole `Core` would keep the writer open.
        let (store, changes, gc) = (self.store.clone(), self.changes.clone(), self.gc.clone());
        let interval = self.config.purge_interval.max(Duration::from_millis(10));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                match purge(&store, &changes, &gc, sealpost_store::now_ms()).await {
                    Ok(s) if s.messages + s.archived > 0 => {
                        tracing::info!(messages = s.messages, archived = s.archived, "purged")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "purge failed"),
                }
            }
        })
    }

    /// Purges everything due at `now` (the task does this on its own; callers may too).
    pub async fn purge_due(&self, now: Millis) -> crate::Result<PurgeStats> {
        Ok(purge(&self.store, &self.changes, &self.gc, now).await?)
    }
}

async fn purge(
    store: &Store,
    changes: &Notifier,
    gc: &Arc<Notify>,
    now: Millis,
) -> sealpost_store::Result<PurgeStats> {
    let mut total = PurgeStats::default();
    loop {
        let s = store.purge_expired_messages(now, PURGE_BATCH).await?;
        for user in &s.users {
            changes.notify(user);
        }
        total.messages += s.messages;
        total.users.extend(s.users);
        if (s.messages as i64) < PURGE_BATCH {
            break;
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
    loop {
        let n = store.purge_expired_archive(now, PURGE_BATCH).await?;
        total.archived += n;
        if (n as i64) < PURGE_BATCH {
            break;
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
    total.users.sort();
    total.users.dedup();
    if total.messages + total.archived > 0 {
        gc.notify_one();
    }
    Ok(total)
}
