//! Domains of customer accounts: `domain.add|get|set|del|list`. A domain has a password of
//! its own (its `auth` is a session of level `domain`) and owns the mail users whose main
//! address is in it.

use super::accounts::{account_owner, date};
use super::logins::check_new_password;
use super::plans::fits;
use super::{DomainId, NOT_EMPTY_ERROR, Owner, PLAN_LIMIT_ERROR, Principal, not_found};
use crate::{Core, Error, Result, password};
use sealpost_store::provisioning::{AccountRow, DomainRow};
use serde::Serialize;

/// Most domains one listing returns.
pub const MAX_LISTED: i64 = 10_000;
/// Longest memo, characters.
const MAX_MEMO: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct NewDomain {
    pub account: String,
    pub domain: String,
    pub password: String,
    pub memo: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DomainView {
    pub domain: String,
    pub account: String,
    pub memo: String,
    pub count_mails: i64,
    pub creation_date: String,
    /// The domain's own capability intents (`on`/`off`; absent: inherit).
    pub capabilities: std::collections::BTreeMap<String, &'static str>,
}

/// A domain name: lower case, labels of letters, digits and `-`, at least two of them.
pub(crate) fn domain_name(d: &str, field: &'static str) -> Result<String> {
    let d = d.trim().trim_end_matches('.').to_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if d.len() <= 253 && d.contains('.') && d.split('.').all(label_ok) {
        Ok(d)
    } else {
        Err(Error::validation(
            format!("Invalid domain name: {d}"),
            field,
        ))
    }
}

fn check_memo(m: &Option<String>) -> Result<()> {
    if let Some(m) = m {
        crate::validate::text(m, "memo")?;
        if m.chars().count() > MAX_MEMO {
            return Err(Error::validation("memo is too long", "memo"));
        }
    }
    Ok(())
}

pub(crate) fn domain_owner(a: &AccountRow, d: &DomainRow) -> Owner {
    Owner {
        domain: Some(d.id.clone()),
        ..account_owner(a)
    }
}

impl Core {
    /// The domain named `name` and its account, if `p` owns the domain.
    pub(crate) async fn owned_domain(
        &self,
        p: &Principal,
        name: &str,
    ) -> Result<(AccountRow, DomainRow)> {
        let name = name.trim().trim_end_matches('.').to_lowercase();
        if let Some(d) = self.store.rpc_domain_by_name(&name).await?
            && let Some(a) = self.store.rpc_account(&d.account).await?
            && p.covers(&domain_owner(&a, &d))
        {
            return Ok((a, d));
        }
        Err(not_found("domain", &name))
    }

    pub async fn rpc_domain_add(&self, p: &Principal, new: NewDomain) -> Result<()> {
        let a = self.owned_account(p, &new.account).await?;
        let name = domain_name(&new.domain, "domain")?;
        check_new_password(&new.password, "password")?;
        check_memo(&new.memo)?;
        let limits = self.config.plans.account(&a.plan)?;
        if !fits(
            self.store.count_rpc_domains(&a.id).await?,
            1,
            limits.domains,
        ) {
            return Err(Error::Forbidden {
                message: format!(
                    "plan {:?} allows {} domains per account",
                    a.plan, limits.domains
                ),
                code: PLAN_LIMIT_ERROR,
            });
        }
        if self.store.rpc_account_by_name(&name).await?.is_some()
            || self.store.rpc_login_by_name(&name).await?.is_some()
        {
            return Err(Error::Conflict {
                message: format!("the name {name:?} is taken"),
                code: "AlreadyExists",
            });
        }
        let row = DomainRow {
            id: DomainId::new(),
            name,
            account: a.id,
            password_hash: password::hash(&new.password).await?,
            memo: new.memo.unwrap_or_default(),
            capabilities: "{}".into(),
            created: sealpost_store::now_ms(),
        };
        self.store.insert_rpc_domain(&row).await?;
        Ok(())
    }

    pub async fn rpc_domain_get(&self, p: &Principal, name: &str) -> Result<DomainView> {
        let (a, d) = self.owned_domain(p, name).await?;
        Ok(DomainView {
            count_mails: self.store.count_rpc_mails(&d.id).await?,
            domain: d.name,
            account: a.name,
            memo: d.memo,
            creation_date: date(d.created),
            capabilities: super::capabilities::parse_intents(&d.capabilities)
                .into_iter()
                .map(|(k, v)| (k, if v { "on" } else { "off" }))
                .collect(),
        })
    }

    pub async fn rpc_domain_set(
        &self,
        p: &Principal,
        name: &str,
        new_password: Option<&str>,
        memo: Option<String>,
    ) -> Result<()> {
        let (_, d) = self.owned_domain(p, name).await?;
        check_memo(&memo)?;
        let hash = match new_password {
            Some(pw) => {
                check_new_password(pw, "password")?;
                Some(password::hash(pw).await?)
            }
            None => None,
        };
        if self
            .store
            .update_rpc_domain(&d.id, hash.as_deref(), memo.as_deref(), None)
            .await?
        {
            Ok(())
        } else {
            Err(not_found("domain", &d.name))
        }
    }

    /// Deletes a domain of `account` that has no mail users left.
    pub async fn rpc_domain_del(&self, p: &Principal, account: &str, name: &str) -> Result<()> {
        let a = self.owned_account(p, account).await?;
        let (_, d) = self.owned_domain(p, name).await?;
        if d.account != a.id {
            return Err(not_found("domain", &d.name));
        }
        let n = self.store.count_rpc_mails(&d.id).await?;
        if n > 0 {
            return Err(Error::Forbidden {
                message: format!(
                    "domain {:?} still has {n} mail users: delete them first",
                    d.name
                ),
                code: NOT_EMPTY_ERROR,
            });
        }
        self.purge_deleted_of_domain(&d.id).await?;
        self.store.delete_rpc_domain(&d.id).await?;
        Ok(())
    }

    /// The account's domains by name with their number of mail users.
    pub async fn rpc_domain_list(
        &self,
        p: &Principal,
        account: &str,
        filter: Option<&str>,
    ) -> Result<Vec<(String, i64)>> {
        let a = self.owned_account(p, account).await?;
        let filter = filter.map(str::trim).filter(|f| !f.is_empty());
        if let Some(f) = filter {
            crate::validate::text(f, "filter")?;
        }
        Ok(self
            .store
            .list_rpc_domains(&a.id, filter.map(str::to_lowercase).as_deref(), MAX_LISTED)
            .await?
            .into_iter()
            .map(|(d, n)| (d.name, n))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_names() {
        assert_eq!(
            domain_name("Example.COM.", "domain").unwrap(),
            "example.com"
        );
        assert!(domain_name("localhost", "domain").is_err());
        assert!(domain_name("a..b", "domain").is_err());
        assert!(domain_name("-a.b", "domain").is_err());
        assert!(domain_name("a b.c", "domain").is_err());
    }
}
