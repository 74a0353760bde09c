//! Mailing lists (`mailinglist.add|get|set|del|list`) and groups (`group.add|get|set|del|
//! list`) of a customer account. A mailing list is an address in a domain of the account
//! whose mail goes to its members (any addresses; `members`, `add_members`,
//! `remove_members` are ours: mailbox.org manages them in its list software), with
//! RFC 2369/2919 `List-*` headers. A group is a named set of the account's mail users,
//! with an optional address that fans out to them. Delivery is in `fanout.rs`.
//! An account field `max_mailinglist` (when above 0) bounds the number of lists.

use super::accounts::date;
use super::logins::check_new_password;
use super::{AccountId, PLAN_LIMIT_ERROR, Principal, fields, not_found};
use crate::{Core, Error, Result, password, validate};
use sealpost_store::provisioning::AccountRow;
use sealpost_store::rpc_lists::{ListId, ListKind, ListPatch, ListRow};
use serde::Serialize;

/// Members of one list or group at most.
pub const MAX_MEMBERS: usize = 1000;
/// Lists or groups one listing answers at most.
pub const MAX_LISTS: i64 = 10_000;
/// Longest group name or display name, characters.
const MAX_NAME: usize = 256;

#[derive(Debug, Clone, Serialize)]
pub struct MailingListView {
    pub mailinglist: String,
    pub account: String,
    pub adminmail: String,
    pub members: Vec<String>,
    pub creation_date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MailingListItem {
    pub mailinglist: String,
    pub adminmail: String,
    pub count_members: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub group_id: i64,
    pub name: String,
    pub display_name: String,
    pub address: Option<String>,
    pub account: String,
    pub members: Vec<String>,
    pub creation_date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupItem {
    pub group_id: i64,
    pub name: String,
    pub display_name: String,
    pub address: Option<String>,
    pub count_members: i64,
}

/// `mailinglist.set`: only `Some` fields change; `members` replaces the membership.
#[derive(Debug, Clone, Default)]
pub struct MailingListChange {
    pub password: Option<String>,
    pub adminmail: Option<String>,
    pub members: Option<Vec<String>>,
    pub add_members: Vec<String>,
    pub remove_members: Vec<String>,
}

/// `group.add` / `group.set`.
#[derive(Debug, Clone, Default)]
pub struct GroupChange {
    pub name: Option<String>,
    pub display_name: Option<String>,
    /// `Some("")` removes the address.
    pub address: Option<String>,
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

fn check_text(s: &str, field: &'static str) -> Result<()> {
    validate::text(s, field)?;
    if s.chars().count() > MAX_NAME {
        return Err(Error::validation(format!("{field} is too long"), field));
    }
    Ok(())
}

/// Normalised addresses, each checked.
fn addresses(list: &[String], field: &'static str) -> Result<Vec<String>> {
    if list.len() > MAX_MEMBERS {
        return Err(Error::validation(
            format!("at most {MAX_MEMBERS} addresses"),
            field,
        ));
    }
    list.iter()
        .map(|a| validate::address(a, field).map(|(_, n)| n))
        .collect()
}

fn domain_of(norm: &str) -> &str {
    norm.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

impl Core {
    /// The account a group call is about: `account` when given, else the session's own.
    async fn group_account(&self, p: &Principal, account: Option<&str>) -> Result<AccountRow> {
        if let Some(a) = account.map(str::trim).filter(|a| !a.is_empty()) {
            return self.owned_account(p, a).await;
        }
        let own: Option<&AccountId> = match p {
            Principal::Account(a) => Some(a),
            Principal::Domain { account, .. } | Principal::Mail { account, .. } => Some(account),
            _ => None,
        };
        match own {
            Some(a) => self
                .store
                .rpc_account(a)
                .await?
                .ok_or_else(|| not_found("account", a.as_str())),
            None => Err(Error::validation(
                "missing parameter \"account\"",
                "account",
            )),
        }
    }

    /// A fan-out address for account `a`: valid, in a domain of the account, and not an
    /// address of a user, forwarded address, list or group already.
    async fn fan_out_address(
        &self,
        a: &AccountRow,
        given: &str,
        field: &'static str,
    ) -> Result<(String, String)> {
        let (address, norm) = validate::address(given, field)?;
        match self.store.rpc_domain_by_name(domain_of(&norm)).await? {
            Some(d) if d.account == a.id => {}
            _ => {
                return Err(Error::validation(
                    format!("{norm} is not in a domain of the account"),
                    field,
                ));
            }
        }
        let taken = self
            .resolve_recipient(&norm)
            .await
            .map(|r| r.is_some())
            .unwrap_or(true)
            || self.forwarded_recipient(&norm).await?.is_some()
            || self
                .store
                .rpc_list_by_address(std::slice::from_ref(&norm))
                .await?
                .is_some();
        if taken {
            return Err(Error::Conflict {
                message: format!("the address {norm:?} is taken"),
                code: "AlreadyExists",
            });
        }
        Ok((address, norm))
    }

    async fn owned_list(
        &self,
        p: &Principal,
        account: &str,
        address: &str,
    ) -> Result<(AccountRow, ListRow)> {
        let a = self.owned_account(p, account).await?;
        let norm = validate::normalize_address(address);
        match self
            .store
            .rpc_list_by_address(std::slice::from_ref(&norm))
            .await?
        {
            Some(l) if l.kind == ListKind::List && l.account == a.id => Ok((a, l)),
            _ => Err(not_found("mailinglist", &norm)),
        }
    }

    async fn owned_group(
        &self,
        p: &Principal,
        account: Option<&str>,
        id: i64,
    ) -> Result<(AccountRow, ListRow)> {
        let a = self.group_account(p, account).await?;
        match self.store.rpc_list(ListId(id)).await? {
            Some(l) if l.kind == ListKind::Group && l.account == a.id => Ok((a, l)),
            _ => Err(not_found("group", &id.to_string())),
        }
    }

    // ---- mailing lists ----

    pub async fn rpc_mailinglist_add(
        &self,
        p: &Principal,
        account: &str,
        mailinglist: &str,
        pass: &str,
        adminmail: Option<&str>,
        members: &[String],
    ) -> Result<()> {
        let a = self.owned_account(p, account).await?;
        check_new_password(pass, "password")?;
        let admin = match adminmail.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => validate::address(m, "adminmail")?.1,
            None => String::new(),
        };
        let members = addresses(members, "members")?;
        let limit = fields::parse(&a.fields)
            .get("max_mailinglist")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        if limit > 0 && self.store.count_rpc_lists(&a.id, ListKind::List).await? >= limit {
            return Err(Error::Forbidden {
                message: format!("the account allows {limit} mailing lists (max_mailinglist)"),
                code: PLAN_LIMIT_ERROR,
            });
        }
        let (address, norm) = self.fan_out_address(&a, mailinglist, "mailinglist").await?;
        let row = ListRow {
            id: ListId(0),
            kind: ListKind::List,
            account: a.id,
            name: norm.clone(),
            address: Some((address, norm)),
            display_name: String::new(),
            adminmail: admin,
            password_hash: password::hash(pass).await?,
            created: sealpost_store::now_ms(),
        };
        self.store
            .insert_rpc_list(&row, &members)
            .await
            .map_err(|e| match e {
                sealpost_store::Error::Conflict(_) => Error::Conflict {
                    message: format!("mailinglist {mailinglist:?} already exists"),
                    code: "AlreadyExists",
                },
                other => other.into(),
            })?;
        Ok(())
    }

    pub async fn rpc_mailinglist_get(
        &self,
        p: &Principal,
        account: &str,
        mailinglist: &str,
    ) -> Result<MailingListView> {
        let (a, l) = self.owned_list(p, account, mailinglist).await?;
        Ok(MailingListView {
            mailinglist: l.name,
            account: a.name,
            adminmail: l.adminmail,
            members: self
                .store
                .rpc_list_members(l.id, MAX_MEMBERS as i64)
                .await?,
            creation_date: date(l.created),
        })
    }

    pub async fn rpc_mailinglist_set(
        &self,
        p: &Principal,
        account: &str,
        mailinglist: &str,
        c: MailingListChange,
    ) -> Result<()> {
        let (_, l) = self.owned_list(p, account, mailinglist).await?;
        let hash = match &c.password {
            Some(pw) => {
                check_new_password(pw, "password")?;
                Some(password::hash(pw).await?)
            }
            None => None,
        };
        let adminmail = match c.adminmail.as_deref().map(str::trim) {
            Some("") => Some(String::new()),
            Some(m) => Some(validate::address(m, "adminmail")?.1),
            None => None,
        };
        let replace = c.members.is_some();
        let mut add = addresses(c.members.as_deref().unwrap_or(&[]), "members")?;
        add.extend(addresses(&c.add_members, "add_members")?);
        let remove = addresses(&c.remove_members, "remove_members")?;
        self.check_member_count(l.id, replace, &add, &remove)
            .await?;
        let patch = ListPatch {
            adminmail,
            password_hash: hash,
            ..ListPatch::default()
        };
        if !self
            .store
            .update_rpc_list(l.id, &patch, &add, &remove, replace)
            .await?
        {
            return Err(not_found("mailinglist", &l.name));
        }
        Ok(())
    }

    pub async fn rpc_mailinglist_del(
        &self,
        p: &Principal,
        account: &str,
        mailinglist: &str,
    ) -> Result<()> {
        let (_, l) = self.owned_list(p, account, mailinglist).await?;
        self.store.delete_rpc_list(l.id).await?;
        Ok(())
    }

    pub async fn rpc_mailinglist_list(
        &self,
        p: &Principal,
        account: &str,
    ) -> Result<Vec<MailingListItem>> {
        let a = self.owned_account(p, account).await?;
        Ok(self
            .store
            .list_rpc_lists(&a.id, ListKind::List, MAX_LISTS)
            .await?
            .into_iter()
            .map(|(l, n)| MailingListItem {
                mailinglist: l.name,
                adminmail: l.adminmail,
                count_members: n,
            })
            .collect())
    }

    /// Refuses a change that would leave more than [`MAX_MEMBERS`] members.
    async fn check_member_count(
        &self,
        id: ListId,
        replace: bool,
        add: &[String],
        remove: &[String],
    ) -> Result<()> {
        let mut members = if replace {
            Vec::new()
        } else {
            self.store
                .rpc_list_members(id, MAX_MEMBERS as i64 + 1)
                .await?
        };
        for a in add {
            if !members.contains(a) {
                members.push(a.clone());
            }
        }
        members.retain(|m| !remove.contains(m));
        if members.len() > MAX_MEMBERS {
            return Err(Error::validation(
                format!("at most {MAX_MEMBERS} members"),
                "members",
            ));
        }
        Ok(())
    }

    // ---- groups ----

    /// Mail users of account `a` (live), normalised; anything else is refused.
    async fn group_members(
        &self,
        a: &AccountRow,
        list: &[String],
        field: &'static str,
    ) -> Result<Vec<String>> {
        let norms = addresses(list, field)?;
        for n in &norms {
            let ok = match self.store.rpc_mail_by_address(n).await? {
                Some(m) => match self.store.rpc_domain(&m.domain).await? {
                    Some(d) => d.account == a.id,
                    None => false,
                },
                None => false,
            };
            if !ok {
                return Err(Error::validation(
                    format!("{n} is not a mail user of the account"),
                    field,
                ));
            }
        }
        Ok(norms)
    }

    /// A new group; its id.
    pub async fn rpc_group_add(
        &self,
        p: &Principal,
        account: Option<&str>,
        c: GroupChange,
    ) -> Result<i64> {
        let a = self.group_account(p, account).await?;
        let name = c.name.clone().unwrap_or_default();
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::validation("missing parameter \"name\"", "name"));
        }
        check_text(name, "name")?;
        let display = c.display_name.clone().unwrap_or_default();
        check_text(&display, "display_name")?;
        let members = self
            .group_members(&a, &c.add, "mail_addresses_to_add")
            .await?;
        let address = match c
            .address
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(addr) => Some(self.fan_out_address(&a, addr, "address").await?),
            None => None,
        };
        let row = ListRow {
            id: ListId(0),
            kind: ListKind::Group,
            account: a.id,
            name: name.to_string(),
            address,
            display_name: display,
            adminmail: String::new(),
            password_hash: String::new(),
            created: sealpost_store::now_ms(),
        };
        let id = self
            .store
            .insert_rpc_list(&row, &members)
            .await
            .map_err(|e| match e {
                sealpost_store::Error::Conflict(_) => Error::Conflict {
                    message: format!("group {name:?} already exists"),
                    code: "AlreadyExists",
                },
                other => other.into(),
            })?;
        Ok(id.0)
    }

    pub async fn rpc_group_get(
        &self,
        p: &Principal,
        account: Option<&str>,
        id: i64,
    ) -> Result<GroupView> {
        let (a, l) = self.owned_group(p, account, id).await?;
        Ok(GroupView {
            group_id: l.id.0,
            members: self
                .store
                .rpc_list_members(l.id, MAX_MEMBERS as i64)
                .await?,
            name: l.name,
            display_name: l.display_name,
            address: l.address.map(|(a, _)| a),
            account: a.name,
            creation_date: date(l.created),
        })
    }

    pub async fn rpc_group_set(
        &self,
        p: &Principal,
        account: Option<&str>,
        id: i64,
        c: GroupChange,
    ) -> Result<()> {
        let (a, l) = self.owned_group(p, account, id).await?;
        if let Some(d) = &c.display_name {
            check_text(d, "display_name")?;
        }
        let add = self
            .group_members(&a, &c.add, "mail_addresses_to_add")
            .await?;
        let remove = addresses(&c.remove, "mail_addresses_to_remove")?;
        self.check_member_count(l.id, false, &add, &remove).await?;
        let address = match c.address.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(given)
                if l.address.as_ref().map(|(_, n)| n.as_str())
                    == Some(validate::normalize_address(given).as_str()) =>
            {
                None
            }
            Some(given) => Some(Some(self.fan_out_address(&a, given, "address").await?)),
        };
        let patch = ListPatch {
            display_name: c.display_name,
            address,
            ..ListPatch::default()
        };
        if !self
            .store
            .update_rpc_list(l.id, &patch, &add, &remove, false)
            .await?
        {
            return Err(not_found("group", &id.to_string()));
        }
        Ok(())
    }

    pub async fn rpc_group_del(&self, p: &Principal, account: Option<&str>, id: i64) -> Result<()> {
        let (_, l) = self.owned_group(p, account, id).await?;
        self.store.delete_rpc_list(l.id).await?;
        Ok(())
    }

    pub async fn rpc_group_list(
        &self,
        p: &Principal,
        account: Option<&str>,
    ) -> Result<Vec<GroupItem>> {
        let a = self.group_account(p, account).await?;
        Ok(self
            .store
            .list_rpc_lists(&a.id, ListKind::Group, MAX_LISTS)
            .await?
            .into_iter()
            .map(|(l, n)| GroupItem {
                group_id: l.id.0,
                name: l.name,
                display_name: l.display_name,
                address: l.address.map(|(a, _)| a),
                count_members: n,
            })
            .collect())
    }
}
