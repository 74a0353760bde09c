//! DKIM signing keys, one per domain (WildDuck's `dkim` collection): the [`DkimKeys`]
//! aggregate. The private key arrives sealed (core encrypts it with the server's DKIM secret);
//! this module only keeps it.

use crate::db::{KeysetPage, fetch_keyset, read, write_tx};
use crate::model::*;
use crate::rows::{self, Cols};
use crate::{Result, Seek, Store};

/// The id of a DKIM key (24 hex, as every WildDuck id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DkimKeyId(pub ObjectId);

impl DkimKeyId {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Display for DkimKeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored key.
#[derive(Debug, Clone)]
pub struct DkimKeyRecord {
    pub id: DkimKeyId,
    /// Lower-case ASCII domain, or `*`.
    pub domain: String,
    pub selector: String,
    pub description: String,
    /// `rsa` or `ed25519`.
    pub algorithm: String,
    /// Sealed PKCS#8 DER.
    pub sealed_private_key: Vec<u8>,
    /// SubjectPublicKeyInfo PEM.
    pub public_key: String,
    /// The `p=` value of the DNS record.
    pub dns_key: String,
    pub fingerprint: String,
    pub created: Millis,
}

const COLS: &str = "id, domain, selector, description, algorithm, private_key, public_key, dns_key, fingerprint, created";

/// Persistence of DKIM keys.
#[allow(async_fn_in_trait)]
pub trait DkimKeys {
    /// Stores `key` as the key of its domain: a domain that had one keeps its id (the
    /// returned one), everything else is replaced, as WildDuck's upsert does.
    async fn put_dkim_key(&self, key: &DkimKeyRecord) -> Result<DkimKeyId>;
    async fn dkim_key(&self, id: &DkimKeyId) -> Result<Option<DkimKeyRecord>>;
    async fn dkim_key_for_domain(&self, domain: &str) -> Result<Option<DkimKeyRecord>>;
    /// The keys of the first of `domains` that has one, most specific first.
    async fn dkim_key_for_any(&self, domains: &[String]) -> Result<Option<DkimKeyRecord>>;
    /// False when there was no such key.
    async fn delete_dkim_key(&self, id: &DkimKeyId) -> Result<bool>;
    /// Keys whose domain contains `query` (lower case), ordered by domain: the total and one
    /// page of `limit` rows from `seek` (a domain).
    async fn list_dkim_keys(
        &self,
        query: Option<&str>,
        seek: &Seek<String>,
        limit: i64,
    ) -> Result<(i64, Vec<DkimKeyRecord>)>;
}

fn record(r: &(impl Cols + BytesCol)) -> Result<DkimKeyRecord> {
    Ok(DkimKeyRecord {
        id: DkimKeyId(rows::id(r, "id")?),
        domain: r.string("domain")?,
        selector: r.string("selector")?,
        description: r.string("description")?,
        algorithm: r.string("algorithm")?,
        sealed_private_key: r.bytes("private_key")?,
        public_key: r.string("public_key")?,
        dns_key: r.string("dns_key")?,
        fingerprint: r.string("fingerprint")?,
        created: r.i64("created")?,
    })
}

/// A byte column, on either engine.
trait BytesCol {
    fn bytes(&self, c: &str) -> Result<Vec<u8>>;
}

impl BytesCol for sqlx::sqlite::SqliteRow {
    fn bytes(&self, c: &str) -> Result<Vec<u8>> {
        Ok(sqlx::Row::try_get(self, c)?)
    }
}

impl BytesCol for sqlx::postgres::PgRow {
    fn bytes(&self, c: &str) -> Result<Vec<u8>> {
        Ok(sqlx::Row::try_get(self, c)?)
    }
}

impl DkimKeys for Store {
    async fn put_dkim_key(&self, k: &DkimKeyRecord) -> Result<DkimKeyId> {
        let id: String = write_tx!(self, tx => {
            sqlx::query_scalar(&format!(
                "INSERT INTO dkim_keys ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) \
                 ON CONFLICT (domain) DO UPDATE SET selector = excluded.selector, \
                 description = excluded.description, algorithm = excluded.algorithm, \
                 private_key = excluded.private_key, public_key = excluded.public_key, \
                 dns_key = excluded.dns_key, fingerprint = excluded.fingerprint, \
                 created = excluded.created RETURNING id"
            ))
            .bind(k.id.as_str())
            .bind(&k.domain)
            .bind(&k.selector)
            .bind(&k.description)
            .bind(&k.algorithm)
            .bind(&k.sealed_private_key)
            .bind(&k.public_key)
            .bind(&k.dns_key)
            .bind(&k.fingerprint)
            .bind(k.created)
            .fetch_one(&mut *tx)
            .await?
        });
        Ok(DkimKeyId(ObjectId::from_stored(id)))
    }

    async fn dkim_key(&self, id: &DkimKeyId) -> Result<Option<DkimKeyRecord>> {
        let sql = format!("SELECT {COLS} FROM dkim_keys WHERE id = $1");
        read!(self, db => {
            match sqlx::query(&sql).bind(id.as_str()).fetch_optional(db).await? {
                Some(r) => Ok(Some(record(&r)?)),
                None => Ok(None),
            }
        })
    }

    async fn dkim_key_for_domain(&self, domain: &str) -> Result<Option<DkimKeyRecord>> {
        let sql = format!("SELECT {COLS} FROM dkim_keys WHERE domain = $1");
        read!(self, db => {
            match sqlx::query(&sql).bind(domain).fetch_optional(db).await? {
                Some(r) => Ok(Some(record(&r)?)),
                None => Ok(None),
            }
        })
    }

    async fn dkim_key_for_any(&self, domains: &[String]) -> Result<Option<DkimKeyRecord>> {
        if domains.is_empty() {
            return Ok(None);
        }
        let marks: Vec<String> = (1..=domains.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLS} FROM dkim_keys WHERE domain IN ({})",
            marks.join(",")
        );
        let found: Vec<DkimKeyRecord> = read!(self, db => {
            let mut q = sqlx::query(&sql);
            for d in domains {
                q = q.bind(d);
            }
            q.fetch_all(db).await?.iter().map(record).collect::<Result<Vec<_>>>()?
        });
        Ok(domains
            .iter()
            .find_map(|d| found.iter().find(|k| &k.domain == d).cloned()))
    }

    async fn delete_dkim_key(&self, id: &DkimKeyId) -> Result<bool> {
        let n = write_tx!(self, tx => {
            sqlx::query("DELETE FROM dkim_keys WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    async fn list_dkim_keys(
        &self,
        query: Option<&str>,
        seek: &Seek<String>,
        limit: i64,
    ) -> Result<(i64, Vec<DkimKeyRecord>)> {
        let (conds, binds) = match query {
            Some(q) => (
                vec!["domain LIKE $1 ESCAPE '\\'".to_string()],
                vec![crate::mailboxes::like_contains(q)],
            ),
            None => (Vec::new(), Vec::new()),
        };
        let page = KeysetPage::new("dkim_keys", COLS, "domain", conds, binds, seek, limit);
        fetch_keyset!(self, page, record)
    }
}
