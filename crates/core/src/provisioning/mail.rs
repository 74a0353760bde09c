//! Mail users of a domain: `mail.add|get|set|del|list`. `mail.add` makes an ordinary
//! Sealpost user (username and main address: the mail address; quota from its plan), so
//! that IMAP, POP3, LMTP and the REST API see it at once, plus its `rpc_mail` row; `mail.del`
//! is `DELETE /users/{user}`. Aliases are the user's other addresses, in domains of the
//! same account, as many as the plan allows.

use super::accounts::date;
use super::domains::domain_owner;
use super::fields::{self, MAIL_FIELDS};
use super::logins::check_new_password;
use super::plans::fits;
use super::{
    Level, MAIL_SELF_FIELDS, MailSort, Owner, PLAN_LIMIT_ERROR, Principal, level_refused, not_found,
};
use crate::{AuthMeta, Core, Error, NewUser, Result, UserUpdate, password, validate};
use sealpost_store::model::ObjectId;
use sealpost_store::provisioning::{AccountRow, DomainRow, MailPatch, MailRow};
use serde::Serialize;
use serde_json::{Map, Value};

/// Largest page of `mail.list`, and what a listing without `page_size` returns at most.
pub const MAX_PAGE: i64 = 1000;
pub const MAX_UNPAGED: i64 = 10_000;
/// Longest first or last name, characters.
const MAX_NAME: usize = 256;
const MB: i64 = 1 << 20;

#[derive(Debug, Clone, Default)]
pub struct NewMail {
    pub mail: String,
    pub password: Option<String>,
    pub password_hash: Option<String>,
    pub plan: String,
    pub first_name: String,
    pub last_name: String,
    pub uid_extern: Option<String>,
    pub language: Option<String>,
    /// Forwarding targets, and whether the INBOX keeps a copy.
    pub forwards: Vec<String>,
    pub inboxsave: bool,
    /// By the names of [`MAIL_FIELDS`].
    pub fields: Map<String, Value>,
}

/// `mail.set`: only `Some` fields change. `fields` by the names of [`MAIL_FIELDS`].
#[derive(Debug, Clone, Default)]
pub struct MailChange {
    pub password: Option<String>,
    pub password_hash: Option<String>,
    pub plan: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub aliases: Option<Vec<String>>,
    pub active: Option<bool>,
    pub uid_extern: Option<String>,
    pub language: Option<String>,
    pub forwards: Option<Vec<String>>,
    pub inboxsave: Option<bool>,
    pub fields: Map<String, Value>,
}

impl MailChange {
    /// The parameters given that a mail user's own session may not set.
    fn beyond_self(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let named: [(&'static str, bool); 7] = [
            ("forwards", self.forwards.is_some()),
            ("inboxsave", self.inboxsave.is_some()),
            ("password_hash", self.password_hash.is_some()),
            ("plan", self.plan.is_some()),
            ("aliases", self.aliases.is_some()),
            ("active", self.active.is_some()),
            ("uid_extern", self.uid_extern.is_some()),
        ];
        v.extend(named.iter().filter(|(_, on)| *on).map(|(n, _)| *n));
        for (k, _) in MAIL_FIELDS {
            if self.fields.contains_key(*k) && !MAIL_SELF_FIELDS.contains(k) {
                v.push(*k);
            }
        }
        v
    }
}

/// A mail user as `mail.get` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MailView {
    pub mail: String,
    pub domain: String,
    pub plan: String,
    pub first_name: String,
    pub last_name: String,
    pub active: bool,
    pub aliases: Vec<String>,
    pub forwards: Vec<String>,
    pub inboxsave: bool,
    pub uid_extern: Option<String>,
    pub language: Option<String>,
    pub creation_date: String,
    /// Quota, MB.
    pub quota: i64,
    /// Used storage, MB (with `include_quota_usage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_usage: Option<i64>,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// `mail.list` parameters.
#[derive(Debug, Clone)]
pub struct MailListQuery {
    pub domain: String,
    pub details: bool,
    /// `None`: everything (at most [`MAX_UNPAGED`]).
    pub page_size: Option<i64>,
    /// From 1.
    pub page: Option<i64>,
    pub sort: MailSort,
    pub descending: bool,
}

/// One row of `mail.list`.
#[derive(Debug, Clone, Serialize)]
pub struct MailListItem {
    pub mail: String,
    pub first_name: String,
    pub last_name: String,
    pub plan: String,
    pub status: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub domain: String,
    pub creation_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_extern: Option<String>,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// Parses `mail.list`'s `sort_field`.
pub fn sort_field(s: &str) -> Result<MailSort> {
    Ok(match s {
        "mail" | "domain" | "type" => MailSort::Mail,
        "first_name" => MailSort::FirstName,
        "last_name" => MailSort::LastName,
        "plan" => MailSort::Plan,
        "status" => MailSort::Status,
        "creation_date" => MailSort::Created,
        _ => {
            return Err(Error::validation(
                "sort_field must be one of mail, first_name, last_name, status, domain, plan, type, creation_date",
                "sort_field",
            ));
        }
    })
}

fn check_name(n: &str, field: &'static str) -> Result<()> {
    validate::text(n, field)?;
    if n.chars().count() > MAX_NAME {
        return Err(Error::validation(format!("{field} is too long"), field));
    }
    Ok(())
}

fn full_name(first: &str, last: &str) -> Option<String> {
    let n = format!("{} {}", first.trim(), last.trim())
        .trim()
        .to_string();
    (!n.is_empty()).then_some(n)
}

fn extra_quota(fields: &Map<String, Value>) -> i64 {
    fields
        .get("additional_mail_quota")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .saturating_mul(MB)
}

/// The domain part of a normalised address.
fn domain_of(norm: &str) -> &str {
    norm.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

/// A mail user named by a call, with where it sits.
pub(crate) struct MailTarget {
    pub row: MailRow,
    pub domain: DomainRow,
    pub account: AccountRow,
}

impl MailTarget {
    fn owner(&self) -> Owner {
        Owner {
            user: Some(self.row.user.clone()),
            ..domain_owner(&self.account, &self.domain)
        }
    }
}

impl Core {
    /// The mail user `address` if `p` owns it.
    pub(crate) async fn owned_mail(&self, p: &Principal, address: &str) -> Result<MailTarget> {
        let norm = validate::normalize_address(address);
        if let Some(row) = self.store.rpc_mail_by_address(&norm).await?
            && let Some(t) = self.mail_target(row).await?
            && p.covers(&t.owner())
        {
            return Ok(t);
        }
        Err(not_found("mail", &norm))
    }

    /// A mail row with its domain and account (no access check: for core's own use).
    pub(crate) async fn mail_target(&self, row: MailRow) -> Result<Option<MailTarget>> {
        if let Some(domain) = self.store.rpc_domain(&row.domain).await?
            && let Some(account) = self.store.rpc_account(&domain.account).await?
        {
            return Ok(Some(MailTarget {
                row,
                domain,
                account,
            }));
        }
        Ok(None)
    }

    pub async fn rpc_mail_add(&self, p: &Principal, new: NewMail) -> Result<()> {
        let (address, norm) = validate::address(&new.mail, "mail")?;
        let (account, domain) = self.owned_domain(p, domain_of(&norm)).await?;
        let plan = self.config.plans.mail(&new.plan)?;
        check_name(&new.first_name, "first_name")?;
        check_name(&new.last_name, "last_name")?;
        if let Some(u) = &new.uid_extern {
            check_name(u, "uid_extern")?;
        }
        let limits = self.config.plans.account(&account.plan)?;
        if !fits(
            self.store.count_rpc_account_mails(&account.id).await?,
            1,
            limits.mails,
        ) {
            return Err(Error::Forbidden {
                message: format!(
                    "plan {:?} allows {} mail users per account",
                    account.plan, limits.mails
                ),
                code: PLAN_LIMIT_ERROR,
            });
        }
        let fields_json = fields::merge(MAIL_FIELDS, "{}", &new.fields)?;
        let extra = extra_quota(&fields::parse(&fields_json));
        let user = self
            .create_user(NewUser {
                username: norm.clone(),
                password: new.password.clone(),
                hashed_password: new.password_hash.clone(),
                address: Some(address),
                name: full_name(&new.first_name, &new.last_name),
                quota: Some(plan.quota.saturating_add(extra)),
                language: new.language.clone(),
                ..NewUser::default()
            })
            .await
            .map_err(|e| match e {
                Error::Validation { message, .. } if message.starts_with("Invalid username") => {
                    Error::validation(format!("Invalid mail address: {norm}"), "mail")
                }
                Error::Validation {
                    message,
                    field: Some("hashedPassword"),
                } => Error::validation(message, "password_hash"),
                Error::Conflict { code, .. } => Error::Conflict {
                    message: format!("mail {norm:?} already exists"),
                    code,
                },
                other => other,
            })?;
        if !new.forwards.is_empty()
            && let Err(e) = self
                .set_rpc_forwards(&user, &new.forwards, new.inboxsave)
                .await
        {
            if let Err(e) = self.delete_user(&user).await {
                tracing::error!(error = %e, user = %user.as_str(), "cannot undo a half-made mail user");
            }
            return Err(e);
        }
        let row = MailRow {
            user: user.clone(),
            domain: domain.id,
            mail: norm,
            plan: new.plan,
            first_name: new.first_name,
            last_name: new.last_name,
            uid_extern: new.uid_extern,
            fields: fields_json,
            capabilities: "{}".into(),
            created: sealpost_store::now_ms(),
        };
        if let Err(e) = self.store.insert_rpc_mail(&row).await {
            // The user alone would be a mail user of no domain: take it back.
            if let Err(e) = self.delete_user(&user).await {
                tracing::error!(error = %e, user = %user.as_str(), "cannot undo a half-made mail user");
            }
            return Err(e.into());
        }
        Ok(())
    }

    pub async fn rpc_mail_get(
        &self,
        p: &Principal,
        address: &str,
        include_quota_usage: bool,
    ) -> Result<MailView> {
        let t = self.owned_mail(p, address).await?;
        let user = self.get_user(&t.row.user).await?;
        let aliases = self
            .store
            .list_addresses(&t.row.user)
            .await?
            .into_iter()
            .filter(|a| !a.main)
            .map(|a| a.address)
            .collect();
        let (forwards, inboxsave) = self.rpc_forwards(&t.row.user).await?;
        Ok(MailView {
            mail: t.row.mail,
            domain: t.domain.name,
            plan: t.row.plan,
            first_name: t.row.first_name,
            last_name: t.row.last_name,
            active: !user.disabled,
            aliases,
            forwards,
            inboxsave,
            uid_extern: t.row.uid_extern,
            language: user.language,
            creation_date: date(t.row.created),
            quota: user.quota_allowed / MB,
            quota_usage: include_quota_usage.then_some(user.storage_used / MB),
            fields: fields::parse(&t.row.fields),
        })
    }

    pub async fn rpc_mail_set(
        &self,
        p: &Principal,
        address: &str,
        change: MailChange,
        meta: &AuthMeta,
    ) -> Result<()> {
        let t = self.owned_mail(p, address).await?;
        if p.level() < Level::Domain {
            let beyond = change.beyond_self();
            if !beyond.is_empty() {
                return Err(level_refused(&format!(
                    "a mail user's own session may not set {}",
                    beyond.join(", ")
                )));
            }
        }
        if change.password.is_some() && change.password_hash.is_some() {
            return Err(Error::validation(
                "use either password or password_hash",
                "password_hash",
            ));
        }
        if let Some(n) = &change.first_name {
            check_name(n, "first_name")?;
        }
        if let Some(n) = &change.last_name {
            check_name(n, "last_name")?;
        }
        if let Some(u) = &change.uid_extern {
            check_name(u, "uid_extern")?;
        }
        let plan_name = change.plan.clone().unwrap_or_else(|| t.row.plan.clone());
        let plan = self.config.plans.mail(&plan_name)?;
        let fields_json = if change.fields.is_empty() {
            None
        } else {
            Some(fields::merge(MAIL_FIELDS, &t.row.fields, &change.fields)?)
        };
        if let Some(aliases) = &change.aliases {
            self.check_aliases(&t, aliases, plan.aliases).await?;
        }
        if let Some(h) = &change.password_hash
            && !password::is_supported_hash(h)
        {
            return Err(Error::validation(
                "Unsupported password hash (Argon2 PHC strings are accepted)",
                "password_hash",
            ));
        }
        if let Some(pw) = &change.password {
            check_new_password(pw, "password")?;
        }
        // The plan's quota (and any additional quota) whenever either changes.
        let quota = (change.plan.is_some() || fields_json.is_some()).then(|| {
            let stored = fields::parse(fields_json.as_deref().unwrap_or(&t.row.fields));
            plan.quota.saturating_add(extra_quota(&stored))
        });
        let name = (change.first_name.is_some() || change.last_name.is_some()).then(|| {
            full_name(
                change.first_name.as_deref().unwrap_or(&t.row.first_name),
                change.last_name.as_deref().unwrap_or(&t.row.last_name),
            )
        });
        self.update_user(
            &t.row.user,
            UserUpdate {
                name,
                password: change.password.clone(),
                quota,
                language: change.language.clone(),
                disabled: change.active.map(|a| !a),
                meta: meta.clone(),
                ..UserUpdate::default()
            },
        )
        .await?;
        if let Some(h) = &change.password_hash {
            self.set_password_hash(&t.row.user, h).await?;
        }
        if let Some(aliases) = &change.aliases {
            self.replace_aliases(&t.row.user, aliases).await?;
        }
        if change.forwards.is_some() || change.inboxsave.is_some() {
            let (have, keep) = self.rpc_forwards(&t.row.user).await?;
            let targets = change.forwards.clone().unwrap_or(have);
            self.set_rpc_forwards(&t.row.user, &targets, change.inboxsave.unwrap_or(keep))
                .await?;
        }
        let patch = MailPatch {
            plan: change.plan,
            first_name: change.first_name,
            last_name: change.last_name,
            uid_extern: change.uid_extern.map(Some),
            fields: fields_json,
            capabilities: None,
        };
        self.store.update_rpc_mail(&t.row.user, &patch).await?;
        Ok(())
    }

    /// Aliases: valid addresses in domains of the mail user's account, within the plan.
    async fn check_aliases(&self, t: &MailTarget, aliases: &[String], limit: u32) -> Result<()> {
        if aliases.len() > limit as usize {
            return Err(Error::Forbidden {
                message: format!("plan {:?} allows {limit} aliases", t.row.plan),
                code: PLAN_LIMIT_ERROR,
            });
        }
        for a in aliases {
            let (_, norm) = validate::address(a, "aliases")?;
            let same_account = match self.store.rpc_domain_by_name(domain_of(&norm)).await? {
                Some(d) => d.account == t.account.id,
                None => false,
            };
            if !same_account {
                return Err(Error::validation(
                    format!("alias {norm} is not in a domain of the account"),
                    "aliases",
                ));
            }
        }
        Ok(())
    }

    /// Makes the user's non-main addresses exactly `aliases`.
    async fn replace_aliases(&self, user: &ObjectId, aliases: &[String]) -> Result<()> {
        let wanted: Vec<String> = aliases
            .iter()
            .map(|a| validate::normalize_address(a))
            .collect();
        let have = self.store.list_addresses(user).await?;
        for a in have.iter().filter(|a| !a.main) {
            if !wanted.contains(&validate::normalize_address(&a.address)) {
                self.delete_address(user, &a.id).await?;
            }
        }
        for (given, norm) in aliases.iter().zip(&wanted) {
            if !have
                .iter()
                .any(|a| &validate::normalize_address(&a.address) == norm)
            {
                self.create_address(user, given, false).await?;
            }
        }
        Ok(())
    }

    /// Replaces the password with an imported Argon2 hash.
    async fn set_password_hash(&self, user: &ObjectId, hash: &str) -> Result<()> {
        let patch = sealpost_store::UserPatch {
            password_hash: Some(hash.to_string()),
            require_password_change: Some(false),
            ..Default::default()
        };
        if self.store.update_user(user, &patch).await? {
            Ok(())
        } else {
            Err(Error::not_found("This user does not exist"))
        }
    }

    pub async fn rpc_mail_del(&self, p: &Principal, address: &str) -> Result<()> {
        if p.level() < Level::Domain {
            return Err(level_refused(
                "mail users are deleted by their domain or above",
            ));
        }
        let t = self.owned_mail(p, address).await?;
        let keep = sealpost_store::now_ms().saturating_add(super::DELETED_KEEP_MS);
        self.delete_user_after(&t.row.user, Some(keep)).await?;
        Ok(())
    }

    pub async fn rpc_mail_list(
        &self,
        p: &Principal,
        q: &MailListQuery,
    ) -> Result<Vec<MailListItem>> {
        let (_, domain) = self.owned_domain(p, &q.domain).await?;
        let (limit, offset) = match q.page_size {
            Some(n) if !(1..=MAX_PAGE).contains(&n) => {
                return Err(Error::validation(
                    format!("page_size must be 1 to {MAX_PAGE}"),
                    "page_size",
                ));
            }
            Some(n) => {
                let page = q.page.unwrap_or(1);
                if !(1..=1_000_000).contains(&page) {
                    return Err(Error::validation("page must be 1 or more", "page"));
                }
                (n, (page - 1).saturating_mul(n))
            }
            None => (MAX_UNPAGED, 0),
        };
        let rows = self
            .store
            .list_rpc_mail(&domain.id, q.sort, q.descending, limit, offset)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| MailListItem {
                mail: r.mail.mail,
                first_name: r.mail.first_name,
                last_name: r.mail.last_name,
                plan: r.mail.plan,
                status: if r.disabled { "inactive" } else { "active" },
                kind: "inbox",
                domain: domain.name.clone(),
                creation_date: date(r.mail.created),
                uid_extern: if q.details { r.mail.uid_extern } else { None },
                fields: if q.details {
                    fields::parse(&r.mail.fields)
                } else {
                    Map::new()
                },
            })
            .collect())
    }

    /// `mail.externaluid`: the account's mail user with this external uid.
    pub async fn rpc_mail_externaluid(
        &self,
        p: &Principal,
        account: &str,
        uid: &str,
    ) -> Result<MailView> {
        let a = self.owned_account(p, account).await?;
        match self.store.rpc_mail_by_uid_extern(&a.id, uid.trim()).await? {
            Some(m) => self.rpc_mail_get(p, &m.mail, false).await,
            None => Err(not_found("uid_extern", uid)),
        }
    }

    /// The user id of a mail user `p` owns (for the methods that act on the user itself:
    /// application passwords, vacation, capabilities).
    pub async fn rpc_mail_user(&self, p: &Principal, address: &str) -> Result<ObjectId> {
        Ok(self.owned_mail(p, address).await?.row.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_fields_and_sorting() {
        let c = MailChange {
            password: Some("x".into()),
            first_name: Some("A".into()),
            ..Default::default()
        };
        assert!(c.beyond_self().is_empty());
        let mut c = MailChange {
            plan: Some("premium".into()),
            active: Some(false),
            ..Default::default()
        };
        c.fields.insert("memo".into(), Value::from("m"));
        assert_eq!(c.beyond_self(), vec!["plan", "active", "memo"]);
        assert_eq!(sort_field("creation_date").unwrap(), MailSort::Created);
        assert!(sort_field("password").is_err());
        assert_eq!(full_name(" ", ""), None);
        assert_eq!(full_name("Ann", "Lee").as_deref(), Some("Ann Lee"));
        assert_eq!(domain_of("a@b.example"), "b.example");
    }
}
