//! Domain-wide settings of WildDuck's API: domain aliases (the [`DomainAliases`] aggregate,
//! WildDuck's `domainaliases` collection) and the per-tag allow/block lists of sender domains
//! (the [`DomainAccess`] aggregate, WildDuck's `domainaccess`). Domains arrive normalised
//! (core's rule); this module only keeps them.

use crate::db::{KeysetPage, fetch_keyset, read, write_tx};
use crate::model::*;
use crate::rows::{self, Cols};
use crate::{Result, Seek, Store, conflict};

macro_rules! typed_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(pub ObjectId);

        impl $name {
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

typed_id!(
    /// The id of a domain alias.
    DomainAliasId
);
typed_id!(
    /// The id of a domain access list entry.
    DomainAccessId
);

/// A stored domain alias.
#[derive(Debug, Clone)]
pub struct DomainAliasRecord {
    pub id: DomainAliasId,
    /// The alias domain.
    pub alias: String,
    /// The domain it stands for.
    pub domain: String,
    pub created: Millis,
}

/// A stored access list entry.
#[derive(Debug, Clone)]
pub struct DomainAccessRecord {
    pub id: DomainAccessId,
    pub tag: String,
    pub domain: String,
    /// `allow` or `block`.
    pub action: String,
    pub created: Millis,
}

/// Persistence of domain aliases.
#[allow(async_fn_in_trait)]
pub trait DomainAliases {
    /// Conflict when the alias exists.
    async fn insert_domain_alias(&self, alias: &DomainAliasRecord) -> Result<()>;
    async fn domain_alias(&self, id: &DomainAliasId) -> Result<Option<DomainAliasRecord>>;
    /// The alias of the first of `aliases` that is one (in the order given).
    async fn domain_alias_by_name(&self, aliases: &[String]) -> Result<Option<DomainAliasRecord>>;
    async fn delete_domain_alias(&self, id: &DomainAliasId) -> Result<bool>;
    /// Aliases whose alias or domain contains `query` (lower case, already LIKE-escaped),
    /// ordered by id: the total and one page of `limit` rows from `seek` (an id).
    async fn list_domain_aliases(
        &self,
        query: Option<&str>,
        seek: &Seek<String>,
        limit: i64,
    ) -> Result<(i64, Vec<DomainAliasRecord>)>;
}

/// Persistence of domain access lists.
#[allow(async_fn_in_trait)]
pub trait DomainAccess {
    /// Sets the entry of (tag, domain) to `action`; an existing entry keeps its id (returned).
    async fn put_domain_access(&self, entry: &DomainAccessRecord) -> Result<DomainAccessId>;
    /// The entries of `tag` with `action`, by domain (at most `limit`).
    async fn list_domain_access(
        &self,
        tag: &str,
        action: &str,
        limit: i64,
    ) -> Result<Vec<DomainAccessRecord>>;
    /// The entries of any of `tags` for any of `domains` (at most 1,000).
    async fn domain_access_for(
        &self,
        tags: &[String],
        domains: &[String],
    ) -> Result<Vec<DomainAccessRecord>>;
    async fn delete_domain_access(&self, id: &DomainAccessId) -> Result<bool>;
}

const ALIAS_COLS: &str = "id, alias, domain, created";
const ACCESS_COLS: &str = "id, tag, domain, action, created";

fn alias_record(r: &impl Cols) -> Result<DomainAliasRecord> {
    Ok(DomainAliasRecord {
        id: DomainAliasId(rows::id(r, "id")?),
        alias: r.string("alias")?,
        domain: r.string("domain")?,
        created: r.i64("created")?,
    })
}

fn access_record(r: &impl Cols) -> Result<DomainAccessRecord> {
    Ok(DomainAccessRecord {
        id: DomainAccessId(rows::id(r, "id")?),
        tag: r.string("tag")?,
        domain: r.string("domain")?,
        action: r.string("action")?,
        created: r.i64("created")?,
    })
}

/// `$from, $from+1, ...` for `n` binds.
fn marks(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl DomainAliases for Store {
    async fn insert_domain_alias(&self, a: &DomainAliasRecord) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(&format!("INSERT INTO domain_aliases ({ALIAS_COLS}) VALUES ($1,$2,$3,$4)"))
                .bind(a.id.as_str())
                .bind(&a.alias)
                .bind(&a.domain)
                .bind(a.created)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "This domain alias"))?;
        });
        Ok(())
    }

    async fn domain_alias(&self, id: &DomainAliasId) -> Result<Option<DomainAliasRecord>> {
        let sql = format!("SELECT {ALIAS_COLS} FROM domain_aliases WHERE id = $1");
        read!(self, db => {
            match sqlx::query(&sql).bind(id.as_str()).fetch_optional(db).await? {
                Some(r) => Ok(Some(alias_record(&r)?)),
                None => Ok(None),
            }
        })
    }

    async fn domain_alias_by_name(&self, aliases: &[String]) -> Result<Option<DomainAliasRecord>> {
        if aliases.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {ALIAS_COLS} FROM domain_aliases WHERE alias IN ({})",
            marks(1, aliases.len())
        );
        let found: Vec<DomainAliasRecord> = read!(self, db => {
            let mut q = sqlx::query(&sql);
            for a in aliases {
                q = q.bind(a);
            }
            q.fetch_all(db).await?.iter().map(alias_record).collect::<Result<Vec<_>>>()?
        });
        Ok(aliases
            .iter()
            .find_map(|a| found.iter().find(|r| &r.alias == a).cloned()))
    }

    async fn delete_domain_alias(&self, id: &DomainAliasId) -> Result<bool> {
        let n = write_tx!(self, tx => {
            sqlx::query("DELETE FROM domain_aliases WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    async fn list_domain_aliases(
        &self,
        query: Option<&str>,
        seek: &Seek<String>,
        limit: i64,
    ) -> Result<(i64, Vec<DomainAliasRecord>)> {
        let (conds, binds) = match query {
            Some(q) => (
                vec!["(alias LIKE $1 ESCAPE '\\' OR domain LIKE $1 ESCAPE '\\')".to_string()],
                vec![crate::mailboxes::like_contains(q)],
            ),
            None => (Vec::new(), Vec::new()),
        };
        let page = KeysetPage::new(
            "domain_aliases",
            ALIAS_COLS,
            "id",
            conds,
            binds,
            seek,
            limit,
        );
        fetch_keyset!(self, page, alias_record)
    }
}

impl DomainAccess for Store {
    async fn put_domain_access(&self, e: &DomainAccessRecord) -> Result<DomainAccessId> {
        let id: String = write_tx!(self, tx => {
            sqlx::query_scalar(&format!(
                "INSERT INTO domain_access ({ACCESS_COLS}) VALUES ($1,$2,$3,$4,$5) \
                 ON CONFLICT (tag, domain) DO UPDATE SET action = excluded.action RETURNING id"
            ))
            .bind(e.id.as_str())
            .bind(&e.tag)
            .bind(&e.domain)
            .bind(&e.action)
            .bind(e.created)
            .fetch_one(&mut *tx)
            .await?
        });
        Ok(DomainAccessId(ObjectId::from_stored(id)))
    }

    async fn list_domain_access(
        &self,
        tag: &str,
        action: &str,
        limit: i64,
    ) -> Result<Vec<DomainAccessRecord>> {
        let sql = format!(
            "SELECT {ACCESS_COLS} FROM domain_access WHERE tag = $1 AND action = $2 ORDER BY domain LIMIT {limit}"
        );
        read!(self, db => {
            sqlx::query(&sql).bind(tag).bind(action).fetch_all(db).await?.iter().map(access_record).collect()
        })
    }

    async fn domain_access_for(
        &self,
        tags: &[String],
        domains: &[String],
    ) -> Result<Vec<DomainAccessRecord>> {
        if tags.is_empty() || domains.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {ACCESS_COLS} FROM domain_access WHERE tag IN ({}) AND domain IN ({}) LIMIT 1000",
            marks(1, tags.len()),
            marks(1 + tags.len(), domains.len())
        );
        read!(self, db => {
            let mut q = sqlx::query(&sql);
            for b in tags.iter().chain(domains) {
                q = q.bind(b);
            }
            q.fetch_all(db).await?.iter().map(access_record).collect()
        })
    }

    async fn delete_domain_access(&self, id: &DomainAccessId) -> Result<bool> {
        let n = write_tx!(self, tx => {
            sqlx::query("DELETE FROM domain_access WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }
}

/// What [`Store::rename_domain`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Renamed {
    /// User and forwarded addresses.
    pub addresses: u64,
    /// Users whose main address changed.
    pub users: u64,
    /// Domain aliases pointing at the domain.
    pub aliases: u64,
}

/// `local@domain` with the domain replaced; `None` when `address` has no `@`.
fn with_domain(address: &str, domain: &str) -> Option<String> {
    let (local, _) = address.rsplit_once('@')?;
    Some(format!("{local}@{domain}"))
}

impl Store {
    /// Moves every address whose domain is one of `old` (its spellings, lower case) to
    /// `new`, with the users' main addresses and the aliases of the domain, in one
    /// transaction. Conflict when a moved address exists already.
    pub async fn rename_domain(&self, old: &[String], new: &str) -> Result<Renamed> {
        let mut out = Renamed::default();
        if old.is_empty() {
            return Ok(out);
        }
        let likes: Vec<String> = old
            .iter()
            .map(|d| format!("%@{}", crate::mailboxes::like_escape(d)))
            .collect();
        let cond = (1..=likes.len())
            .map(|i| format!("address_norm LIKE ${i} ESCAPE '\\'"))
            .collect::<Vec<_>>()
            .join(" OR ");
        write_tx!(self, tx => {
            for table in ["addresses", "forwarded_addresses"] {
                let sql = format!("SELECT id, address, address_norm FROM {table} WHERE {cond}");
                let mut q = sqlx::query(&sql);
                for l in &likes {
                    q = q.bind(l);
                }
                let found: Vec<(String, String, String)> = q
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| Ok((r.string("id")?, r.string("address")?, r.string("address_norm")?)))
                    .collect::<Result<Vec<_>>>()?;
                for (id, address, norm) in found {
                    let (Some(address_new), Some(norm_new)) = (with_domain(&address, new), with_domain(&norm, new)) else {
                        continue;
                    };
                    let taken = sqlx::query(
                        "SELECT id FROM addresses WHERE address_norm = $1 AND id <> $2 \
                         UNION ALL SELECT id FROM forwarded_addresses WHERE address_norm = $1 AND id <> $2",
                    )
                    .bind(&norm_new)
                    .bind(&id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                    if taken {
                        return Err(crate::Error::Conflict(format!("The address {address_new}")));
                    }
                    sqlx::query(&format!("UPDATE {table} SET address = $2, address_norm = $3 WHERE id = $1"))
                        .bind(&id)
                        .bind(&address_new)
                        .bind(&norm_new)
                        .execute(&mut *tx)
                        .await?;
                    out.addresses += 1;
                    if table == "addresses" {
                        out.users += sqlx::query("UPDATE users SET address = $2 WHERE address = $1 AND id = (SELECT user_id FROM addresses WHERE id = $3)")
                            .bind(&address)
                            .bind(&address_new)
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                    }
                }
            }
            let alias_sql = format!("UPDATE domain_aliases SET domain = $1 WHERE domain IN ({})", marks(2, old.len()));
            let mut q = sqlx::query(&alias_sql).bind(new);
            for d in old {
                q = q.bind(d);
            }
            out.aliases = q.execute(&mut *tx).await?.rows_affected();
        });
        Ok(out)
    }
}
