//! Customer accounts: `account.add|get|set|del|list`. An account belongs to the reseller
//! login that made it (none when an admin did); deleting it deletes its domains and their
//! mail users through the same deletion as `DELETE /users/{user}`.

use super::fields::{self, ACCOUNT_FIELDS};
use super::logins::{check_new_password, login_name};
use super::plans::fits;
use super::{AccountId, Level, Owner, PLAN_LIMIT_ERROR, Principal, level_refused, not_found};
use crate::{Core, Error, Result, password};
use sealpost_store::provisioning::{AccountPatch, AccountRow};
use serde::Serialize;
use serde_json::{Map, Value};

/// Most accounts one listing returns.
pub const MAX_LISTED: i64 = 1000;

#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub account: String,
    pub password: String,
    pub plan: String,
    /// By the names of [`ACCOUNT_FIELDS`].
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub password: Option<String>,
    pub plan: Option<String>,
    pub fields: Map<String, Value>,
}

/// An account as `account.get` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub account: String,
    pub plan: String,
    pub status: &'static str,
    pub creation_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_domains: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_mails: Option<i64>,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

pub fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub(crate) fn account_owner(a: &AccountRow) -> Owner {
    Owner {
        reseller: a.reseller.clone(),
        account: a.id.clone(),
        domain: None,
        user: None,
    }
}

impl Core {
    /// The account named `name` if `p` owns it.
    pub(crate) async fn owned_account(&self, p: &Principal, name: &str) -> Result<AccountRow> {
        let name = name.trim().to_lowercase();
        match self.store.rpc_account_by_name(&name).await? {
            Some(a) if p.covers(&account_owner(&a)) => Ok(a),
            _ => Err(not_found("account", &name)),
        }
    }

    pub async fn rpc_account_add(&self, p: &Principal, new: NewAccount) -> Result<()> {
        let reseller = match p {
            Principal::Admin(_) => None,
            Principal::Reseller(r) => Some(r.clone()),
            _ => return Err(level_refused("only resellers and admins add accounts")),
        };
        let name = login_name(&new.account, "account")?;
        check_new_password(&new.password, "password")?;
        self.config.plans.account(&new.plan)?;
        let fields = fields::merge(ACCOUNT_FIELDS, "{}", &new.fields)?;
        if self.store.rpc_login_by_name(&name).await?.is_some()
            || self.store.rpc_domain_by_name(&name).await?.is_some()
        {
            return Err(Error::Conflict {
                message: format!("the name {name:?} is taken"),
                code: "AlreadyExists",
            });
        }
        let row = AccountRow {
            id: AccountId::new(),
            name,
            reseller,
            plan: new.plan,
            password_hash: password::hash(&new.password).await?,
            fields,
            capabilities: "{}".into(),
            created: sealpost_store::now_ms(),
        };
        self.store.insert_rpc_account(&row).await?;
        Ok(())
    }

    pub async fn rpc_account_get(&self, p: &Principal, name: &str) -> Result<AccountView> {
        let a = self.owned_account(p, name).await?;
        self.account_view(a).await
    }

    async fn account_view(&self, a: AccountRow) -> Result<AccountView> {
        Ok(AccountView {
            count_domains: Some(self.store.count_rpc_domains(&a.id).await?),
            count_mails: Some(self.store.count_rpc_account_mails(&a.id).await?),
            account: a.name,
            plan: a.plan,
            status: "active",
            creation_date: date(a.created),
            fields: fields::parse(&a.fields),
        })
    }

    pub async fn rpc_account_set(
        &self,
        p: &Principal,
        name: &str,
        change: AccountChange,
    ) -> Result<()> {
        let a = self.owned_account(p, name).await?;
        if change.plan.is_some() && p.level() < Level::Reseller {
            return Err(level_refused(
                "an account's plan is changed by its reseller or an admin",
            ));
        }
        if let Some(plan) = &change.plan {
            let limits = self.config.plans.account(plan)?;
            let domains = self.store.count_rpc_domains(&a.id).await?;
            let mails = self.store.count_rpc_account_mails(&a.id).await?;
            if !fits(domains, 0, limits.domains) || !fits(mails, 0, limits.mails) {
                return Err(Error::Forbidden {
                    message: format!(
                        "the account has {domains} domains and {mails} mail users, more than plan {plan:?} allows"
                    ),
                    code: PLAN_LIMIT_ERROR,
                });
            }
        }
        let password_hash = match &change.password {
            Some(pw) => {
                check_new_password(pw, "password")?;
                Some(password::hash(pw).await?)
            }
            None => None,
        };
        let fields = if change.fields.is_empty() {
            None
        } else {
            Some(fields::merge(ACCOUNT_FIELDS, &a.fields, &change.fields)?)
        };
        let patch = AccountPatch {
            plan: change.plan,
            password_hash,
            fields,
            capabilities: None,
        };
        if self.store.update_rpc_account(&a.id, &patch).await? {
            Ok(())
        } else {
            Err(not_found("account", &a.name))
        }
    }

    /// Deletes the account, its domains and every mail user of them.
    pub async fn rpc_account_del(&self, p: &Principal, name: &str) -> Result<()> {
        if p.level() < Level::Reseller {
            return Err(level_refused(
                "accounts are deleted by their reseller or an admin",
            ));
        }
        let a = self.owned_account(p, name).await?;
        for user in self.store.rpc_account_users(&a.id).await? {
            match self.delete_user(&user).await {
                Ok(()) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.store.delete_rpc_account(&a.id).await?;
        Ok(())
    }

    /// The accounts `p` owns (an admin: all), by name, matching `query` (substring).
    pub async fn rpc_account_list(
        &self,
        p: &Principal,
        query: Option<&str>,
        extended: bool,
    ) -> Result<Vec<AccountView>> {
        let reseller = match p {
            Principal::Admin(_) => None,
            Principal::Reseller(r) => Some(r),
            _ => return Err(level_refused("accounts are listed by resellers and admins")),
        };
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        if let Some(q) = query {
            crate::validate::text(q, "query")?;
        }
        let rows = self
            .store
            .list_rpc_accounts(
                reseller,
                query.map(str::to_lowercase).as_deref(),
                MAX_LISTED,
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for a in rows {
            if extended {
                out.push(self.account_view(a).await?);
            } else {
                out.push(AccountView {
                    account: a.name,
                    plan: a.plan,
                    status: "active",
                    creation_date: date(a.created),
                    count_domains: None,
                    count_mails: None,
                    fields: Map::new(),
                });
            }
        }
        Ok(out)
    }
}
