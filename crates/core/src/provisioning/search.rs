//! `search`: accounts, domains and mail users whose names contain a string, of those the
//! session owns.

use super::accounts::account_owner;
use super::domains::domain_owner;
use super::{Owner, Principal};
use crate::{Core, Error, Result, validate};
use sealpost_store::provisioning::{AccountId, AccountRow};
use serde::Serialize;
use std::collections::HashMap;

/// Most names of each kind returned, and candidates looked at.
const MAX_RESULTS: usize = 100;
const MAX_CANDIDATES: i64 = 1000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchResult {
    pub accounts: Vec<String>,
    pub domains: Vec<String>,
    pub mails: Vec<String>,
}

impl Core {
    pub async fn rpc_search(&self, p: &Principal, query: &str) -> Result<SearchResult> {
        let q = query.trim().to_lowercase();
        validate::text(&q, "query")?;
        if q.is_empty() || q.len() > 256 {
            return Err(Error::validation("query must be 1 to 256 bytes", "query"));
        }
        let mut accounts: HashMap<AccountId, Option<AccountRow>> = HashMap::new();
        let mut out = SearchResult::default();
        let reseller = match p {
            Principal::Reseller(r) => Some(r),
            _ => None,
        };
        for a in self
            .store
            .list_rpc_accounts(reseller, Some(&q), MAX_CANDIDATES)
            .await?
        {
            if p.covers(&account_owner(&a)) && out.accounts.len() < MAX_RESULTS {
                out.accounts.push(a.name.clone());
            }
            accounts.insert(a.id.clone(), Some(a));
        }
        for d in self.store.search_rpc_domains(&q, MAX_CANDIDATES).await? {
            if out.domains.len() >= MAX_RESULTS {
                break;
            }
            if let Some(a) = self.cached_account(&mut accounts, &d.account).await?
                && p.covers(&domain_owner(&a, &d))
            {
                out.domains.push(d.name);
            }
        }
        let mut domains = HashMap::new();
        for m in self.store.search_rpc_mail(&q, MAX_CANDIDATES).await? {
            if out.mails.len() >= MAX_RESULTS {
                break;
            }
            if !domains.contains_key(&m.domain) {
                let d = self.store.rpc_domain(&m.domain).await?;
                domains.insert(m.domain.clone(), d);
            }
            let Some(Some(d)) = domains.get(&m.domain) else {
                continue;
            };
            let Some(a) = self.cached_account(&mut accounts, &d.account).await? else {
                continue;
            };
            let owner = Owner {
                user: Some(m.user.clone()),
                ..domain_owner(&a, d)
            };
            if p.covers(&owner) {
                out.mails.push(m.mail);
            }
        }
        Ok(out)
    }

    async fn cached_account(
        &self,
        cache: &mut HashMap<AccountId, Option<AccountRow>>,
        id: &AccountId,
    ) -> Result<Option<AccountRow>> {
        if let Some(a) = cache.get(id) {
            return Ok(a.clone());
        }
        let a = self.store.rpc_account(id).await?;
        cache.insert(id.clone(), a.clone());
        Ok(a)
    }
}
