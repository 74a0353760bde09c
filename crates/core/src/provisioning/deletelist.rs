//! Mail users deleted and still restorable (`domain.deletelist.search|delete`). `mail.del`
//! deletes with a grace period of [`DELETED_KEEP_MS`] through the same core deletion as
//! WildDuck's `DELETE /users/{user}?deleteAfter=` (`deleted_users.rs`): the user's address
//! and username are free at once, its data stays until the time is up, and
//! `POST /users/{user}/restore` brings it back. `domain.deletelist.delete` purges it for good
//! now; deleting the domain (or its account) purges its deleted mail users too.

use super::domains::domain_owner;
use super::{DomainId, Principal, accounts::date, not_found};
use crate::{Core, Result, validate};
use serde::Serialize;

/// How long a mail user deleted by `mail.del` stays restorable: 30 days.
pub const DELETED_KEEP_MS: i64 = 30 * 24 * 3600 * 1000;
/// Most entries one `domain.deletelist.search` answers.
pub const MAX_DELETED_LISTED: i64 = 10_000;

/// One entry of the delete list.
#[derive(Debug, Clone, Serialize)]
pub struct DeletedMail {
    pub mail: String,
    /// The Sealpost user id (for `POST /users/{user}/restore`).
    pub user: String,
    pub deletion_date: String,
    /// When it goes for good.
    pub purge_date: String,
}

impl Core {
    /// The domain's mail users deleted and still restorable, by address.
    pub async fn rpc_deletelist_search(
        &self,
        p: &Principal,
        domain: &str,
    ) -> Result<Vec<DeletedMail>> {
        let (_, d) = self.owned_domain(p, domain).await?;
        Ok(self
            .store
            .list_deleted_rpc_mail(&d.id, MAX_DELETED_LISTED)
            .await?
            .into_iter()
            .map(|r| DeletedMail {
                mail: r.mail,
                user: r.user.to_string(),
                deletion_date: date(r.deleted),
                purge_date: date(r.delete_after),
            })
            .collect())
    }

    /// Purges for good the deleted mail users that had `mail`, in domains `p` owns.
    pub async fn rpc_deletelist_delete(&self, p: &Principal, mail: &str) -> Result<()> {
        let norm = validate::normalize_address(mail);
        let mut purged = 0;
        for (user, domain) in self.store.deleted_rpc_mail_users(&norm).await? {
            if self.covers_domain(p, &domain).await? {
                self.delete_user(&user).await?;
                purged += 1;
            }
        }
        if purged == 0 {
            return Err(not_found("deleted mail", &norm));
        }
        Ok(())
    }

    async fn covers_domain(&self, p: &Principal, domain: &DomainId) -> Result<bool> {
        if let Some(d) = self.store.rpc_domain(domain).await?
            && let Some(a) = self.store.rpc_account(&d.account).await?
        {
            return Ok(p.covers(&domain_owner(&a, &d)));
        }
        Ok(false)
    }

    /// Purges the domain's mail users deleted with a grace period (before the domain goes).
    pub(crate) async fn purge_deleted_of_domain(&self, domain: &DomainId) -> Result<()> {
        for r in self
            .store
            .list_deleted_rpc_mail(domain, MAX_DELETED_LISTED)
            .await?
        {
            self.delete_user(&r.user).await?;
        }
        Ok(())
    }
}
