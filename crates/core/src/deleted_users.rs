//! Deleting users with a grace period and restoring them (WildDuck's `deleteAfter`,
//! `/users/{user}/restore`), the background removal of those whose time is up, and the
//! quota recalculation of every user as a background job (`POST /quota/reset`).

use crate::{Core, Error, Result, validate};
use sealpost_store::model::{DeletedUser, Millis, ObjectId};
use std::sync::atomic::{AtomicBool, Ordering};

/// Longest grace period a deletion may ask for (WildDuck has none; ten years bounds it).
pub const MAX_DELETE_AFTER_MS: i64 = 10 * 365 * 24 * 3600 * 1000;

/// What `DELETE /users/{user}` did.
#[derive(Debug, Clone)]
pub struct DeleteOutcome {
    /// Addresses removed.
    pub addresses: usize,
    /// When the data goes for good (None: it went now).
    pub delete_after: Option<Millis>,
    /// Id of the job that removes the data.
    pub task: ObjectId,
}

/// A deleted user as `GET /users/{user}/restore` shows it.
#[derive(Debug, Clone)]
pub struct RestoreInfo {
    pub deleted: DeletedUser,
    /// The addresses it had that nobody took meanwhile.
    pub recoverable: Vec<String>,
}

/// Whether a quota recalculation of all users is running on this node.
static QUOTA_JOB: AtomicBool = AtomicBool::new(false);

fn not_deleted() -> Error {
    Error::not_found("This user does not exist")
}

impl Core {
    /// Deletes `id`: now (`delete_after` None or not in the future), or keeps it restorable
    /// until `delete_after` (its username and addresses are freed at once).
    pub async fn delete_user_after(
        &self,
        id: &ObjectId,
        delete_after: Option<Millis>,
    ) -> Result<DeleteOutcome> {
        let now = sealpost_store::now_ms();
        let task = ObjectId::new();
        match delete_after.filter(|t| *t > now) {
            Some(t) => {
                if t - now > MAX_DELETE_AFTER_MS {
                    return Err(Error::validation(
                        "deleteAfter is too far in the future",
                        "deleteAfter",
                    ));
                }
                let addresses = self
                    .store
                    .mark_user_deleted(id, now, t)
                    .await?
                    .ok_or_else(not_deleted)?;
                self.changes.log_out(id, "Account was deleted");
                Ok(DeleteOutcome {
                    addresses,
                    delete_after: Some(t),
                    task,
                })
            }
            None => {
                let addresses = self.list_addresses(id).await?.len();
                self.delete_user(id).await?;
                Ok(DeleteOutcome {
                    addresses,
                    delete_after: None,
                    task,
                })
            }
        }
    }

    /// A user deleted with a grace period, and which of its addresses can come back.
    pub async fn deleted_user_info(&self, id: &ObjectId) -> Result<RestoreInfo> {
        let deleted = self
            .store
            .get_deleted_user(id)
            .await?
            .ok_or_else(not_deleted)?;
        let norms: Vec<String> = deleted
            .addresses
            .iter()
            .map(|(a, _)| validate::normalize_address(a))
            .collect();
        let taken = self.store.taken_addresses(&norms).await?;
        let recoverable = deleted
            .addresses
            .iter()
            .zip(&norms)
            .filter(|(_, n)| !taken.contains(n))
            .map(|((a, _), _)| a.clone())
            .collect();
        Ok(RestoreInfo {
            deleted,
            recoverable,
        })
    }

    /// Restores a user deleted with a grace period; refused when its username was taken.
    pub async fn restore_user(&self, id: &ObjectId) -> Result<sealpost_store::RestoredUser> {
        self.store
            .restore_user(id, sealpost_store::now_ms())
            .await
            .map_err(|e| match e {
                sealpost_store::Error::Conflict(m) => Error::Conflict {
                    message: m,
                    code: "UserExistsError",
                },
                other => other.into(),
            })?
            .ok_or_else(not_deleted)
    }

    /// Removes for good the deleted users whose grace period is over (also done every
    /// minute in the background); the number removed.
    pub async fn purge_deleted_users(&self) -> Result<usize> {
        Ok(purge_expired(&self.store).await?)
    }

    /// Starts recalculating the storage used of every user in the background (one job at a
    /// time on a node); the job's id.
    pub fn start_quota_reset_all(&self) -> ObjectId {
        let task = ObjectId::new();
        if QUOTA_JOB.swap(true, Ordering::AcqRel) {
            return task;
        }
        let core = self.clone();
        let id = task.clone();
        tokio::spawn(async move {
            let mut after: Option<ObjectId> = None;
            let mut done = 0usize;
            loop {
                let ids = match core.store.user_ids_after(after.as_ref(), 200).await {
                    Ok(ids) => ids,
                    Err(e) => {
                        tracing::warn!(task = %id, error = %e, "quota reset stopped");
                        break;
                    }
                };
                for u in &ids {
                    if let Err(e) = core.store.recalculate_quota(u).await {
                        tracing::warn!(task = %id, user = %u, error = %e, "quota reset failed");
                    }
                    done += 1;
                }
                match ids.last() {
                    Some(last) if ids.len() == 200 => after = Some(last.clone()),
                    _ => break,
                }
            }
            tracing::info!(task = %id, users = done, "quota reset finished");
            QUOTA_JOB.store(false, Ordering::Release);
        });
        task
    }
}

/// Removes the deleted users whose grace period is over, 100 at a time.
pub(crate) async fn purge_expired(store: &sealpost_store::Store) -> sealpost_store::Result<usize> {
    let mut total = 0;
    loop {
        let ids = store
            .expired_deleted_users(sealpost_store::now_ms(), 100)
            .await?;
        for id in &ids {
            if store.delete_user(id).await? {
                total += 1;
            }
        }
        if ids.len() < 100 {
            return Ok(total);
        }
    }
}
