//! Domain-wide rules of WildDuck's API.
//!
//! Domain aliases (`/domainaliases`): mail to `user@alias` is mail to `user@domain`.
//! [`Core::normal_address`] is the one place an address is canonicalised for a lookup
//! (delivery, login by address, the sender rule, address resolution): normalised as
//! delivery normalises (`delivery/address.rs`), with the alias target's spellings tried
//! after the address's own domain.
//!
//! Domain access lists (`/domainaccess/{tag}/allow|block`): for a user with the tag, mail
//! whose envelope sender or `From:` domain is allowed is never spam, mail from a blocked one
//! always is (block wins). [`Core::sender_access`] decides; delivery's plan applies it.

use crate::delivery::NormalAddress;
use crate::{Core, Error, Page, PageRequest, Result, validate};
use sealpost_store::domains::{DomainAccess, DomainAccessRecord, DomainAliases};
pub use sealpost_store::domains::{DomainAccessId, DomainAliasId, DomainAliasRecord, Renamed};
use sealpost_store::model::{ObjectId, UserRecord};

/// Entries one access list answers at most (WildDuck answers all; lists are small).
pub const MAX_ACCESS_LIST: i64 = 1000;

/// What an access list says about a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allow,
    Block,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Allow => "allow",
            Access::Block => "block",
        }
    }
}

/// An access list entry as the API shows it.
#[derive(Debug, Clone)]
pub struct AccessEntry {
    pub id: DomainAccessId,
    pub domain: String,
    pub action: String,
}

fn alias_not_found() -> Error {
    Error::not_found("This alias does not exist")
}

/// A tag of an access list: trimmed, lower case, 1..=64 characters.
fn access_tag(tag: &str) -> Result<String> {
    let mut t = validate::tags(&[tag.to_string()])?;
    t.pop()
        .ok_or_else(|| Error::validation("\"tag\" is required", "tag"))
}

/// What the access entries found for a sender decide: block wins over allow.
fn decide_access(actions: impl IntoIterator<Item = String>) -> Option<Access> {
    let mut out = None;
    for a in actions {
        match a.as_str() {
            "block" => return Some(Access::Block),
            "allow" => out = Some(Access::Allow),
            _ => {}
        }
    }
    out
}

/// The domain of an address, lower case, `None` when there is none.
fn domain_of(address: &str) -> Option<String> {
    let (_, d) = address.trim().rsplit_once('@')?;
    validate::domain(d.trim_end_matches('>'), "domain").ok()
}

impl Core {
    /// `address` normalised for a lookup, with the domain alias of its domain applied;
    /// `None` when it is not an address.
    pub async fn normal_address(&self, address: &str) -> Result<Option<NormalAddress>> {
        let Some(norm) = NormalAddress::parse(address) else {
            return Ok(None);
        };
        match self.store.domain_alias_by_name(&norm.domains).await? {
            Some(alias) => Ok(Some(norm.with_alias_of(&alias.domain))),
            None => Ok(Some(norm)),
        }
    }

    /// The address form a login by address is looked up with: the address normalised,
    /// moved to the alias target's domain when its domain is an alias.
    pub async fn login_address(&self, username: &str) -> Result<String> {
        let plain = validate::normalize_address(username);
        if !username.contains('@') {
            return Ok(plain);
        }
        Ok(self
            .normal_address(username)
            .await?
            .and_then(|n| n.in_alias_target())
            .unwrap_or(plain))
    }

    /// Registers `alias` as another name of `domain`.
    pub async fn create_domain_alias(&self, alias: &str, domain: &str) -> Result<DomainAliasId> {
        let alias = validate::domain(alias, "alias")?;
        let domain = validate::domain(domain, "domain")?;
        if alias == domain {
            return Err(Error::validation(
                "A domain can not be an alias of itself",
                "alias",
            ));
        }
        let record = DomainAliasRecord {
            id: DomainAliasId(ObjectId::new()),
            alias,
            domain,
            created: sealpost_store::now_ms(),
        };
        match self.store.insert_domain_alias(&record).await {
            Ok(()) => Ok(record.id),
            Err(sealpost_store::Error::Conflict(_)) => Err(Error::Conflict {
                message: "This domain alias already exists".into(),
                code: "AliasExists",
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn domain_alias(&self, id: &DomainAliasId) -> Result<DomainAliasRecord> {
        self.store
            .domain_alias(id)
            .await?
            .ok_or_else(alias_not_found)
    }

    /// The id of the alias named `alias` (`GET /domainaliases/resolve/{alias}`).
    pub async fn resolve_domain_alias(&self, alias: &str) -> Result<DomainAliasId> {
        let alias = validate::domain(alias, "alias").map_err(|_| alias_not_found())?;
        self.store
            .domain_alias_by_name(&[alias])
            .await?
            .map(|a| a.id)
            .ok_or_else(alias_not_found)
    }

    pub async fn delete_domain_alias(&self, id: &DomainAliasId) -> Result<()> {
        if self.store.delete_domain_alias(id).await? {
            Ok(())
        } else {
            Err(alias_not_found())
        }
    }

    /// Aliases whose alias or target domain contains `query`, by id.
    pub async fn list_domain_aliases(
        &self,
        query: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<DomainAliasRecord>> {
        let query = query
            .map(|q| q.trim().to_lowercase())
            .filter(|q| !q.is_empty());
        if let Some(q) = &query {
            validate::text(q, "query")?;
            if q.len() > 255 {
                return Err(Error::validation("query is too long", "query"));
            }
        }
        // The store makes the LIKE pattern (its wildcards escaped), as for every listing.
        let (total, rows) = self
            .store
            .list_domain_aliases(
                query.as_deref(),
                &page.seek::<String>()?,
                page.fetch_limit(),
            )
            .await?;
        Ok(page.finish(total, rows, |a| a.id.to_string()))
    }

    /// `PUT /addresses/renameDomain`: moves every user and forwarded address of `old` to
    /// `new`, with the users' main addresses and the aliases of `old`. DKIM keys are not
    /// moved (a key is sealed for its domain): make one for the new domain.
    pub async fn rename_domain(&self, old: &str, new: &str) -> Result<Renamed> {
        let old = validate::domain(old, "oldDomain")?;
        let new = validate::domain(new, "newDomain")?;
        if old == new {
            return Err(Error::validation(
                "\"newDomain\" must differ from \"oldDomain\"",
                "newDomain",
            ));
        }
        match self
            .store
            .rename_domain(&crate::delivery::domain_spellings(&old), &new)
            .await
        {
            Ok(r) => Ok(r),
            Err(sealpost_store::Error::Conflict(what)) => Err(Error::Conflict {
                message: format!("{what} already exists"),
                code: "AddressExistsError",
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Puts `domain` on the `action` list of `tag` (moving it from the other list).
    pub async fn set_domain_access(
        &self,
        tag: &str,
        domain: &str,
        action: Access,
    ) -> Result<DomainAccessId> {
        let entry = DomainAccessRecord {
            id: DomainAccessId(ObjectId::new()),
            tag: access_tag(tag)?,
            domain: validate::domain(domain, "domain")?,
            action: action.as_str().into(),
            created: sealpost_store::now_ms(),
        };
        Ok(self.store.put_domain_access(&entry).await?)
    }

    /// The `action` list of `tag`, by domain.
    pub async fn domain_access_list(&self, tag: &str, action: Access) -> Result<Vec<AccessEntry>> {
        let tag = access_tag(tag)?;
        let rows = self
            .store
            .list_domain_access(&tag, action.as_str(), MAX_ACCESS_LIST)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| AccessEntry {
                id: r.id,
                domain: r.domain,
                action: r.action,
            })
            .collect())
    }

    pub async fn delete_domain_access(&self, id: &DomainAccessId) -> Result<()> {
        if self.store.delete_domain_access(id).await? {
            Ok(())
        } else {
            Err(Error::not_found("Domain was not found"))
        }
    }

    /// What `user`'s access lists say about mail from `senders` (envelope sender, `From:`).
    pub async fn sender_access(
        &self,
        user: &UserRecord,
        senders: &[&str],
    ) -> Result<Option<Access>> {
        if user.tags.is_empty() {
            return Ok(None);
        }
        let mut domains: Vec<String> = Vec::new();
        for d in senders.iter().filter_map(|s| domain_of(s)) {
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
        let tags: Vec<String> = user.tags.iter().map(|t| t.to_lowercase()).collect();
        let found = self.store.domain_access_for(&tags, &domains).await?;
        Ok(decide_access(found.into_iter().map(|e| e.action)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_wins_over_allow() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(decide_access(v(&[])), None);
        assert_eq!(decide_access(v(&["allow"])), Some(Access::Allow));
        assert_eq!(decide_access(v(&["allow", "block"])), Some(Access::Block));
        assert_eq!(decide_access(v(&["block", "allow"])), Some(Access::Block));
    }

    #[test]
    fn sender_domains_and_tags() {
        assert_eq!(domain_of("a@Spam.Example").as_deref(), Some("spam.example"));
        assert_eq!(domain_of(""), None);
        assert_eq!(domain_of("no-domain"), None);
        assert_eq!(access_tag(" VIP ").unwrap(), "vip");
        assert!(access_tag(" ").is_err());
        assert!(access_tag(&"t".repeat(65)).is_err());
    }
}
