//! External recipients' public keys per user (OX Guard's "external keys"): one row per
//! fingerprint per user, uploaded by hand or learnt from Autocrypt headers, with the e-mail
//! addresses of their user ids for lookups, and the Guard "share" flag (visible to the other
//! users of the owner's domain). Validation of the key itself happens in `core`.

use crate::db::{read, write_tx};
use crate::insert::list;
use crate::model::{Millis, ObjectId};
use crate::rows::{self, Cols};
use crate::{Result, Store};

/// Where a stored external key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Uploaded by the user through the API.
    Upload,
    /// Taken from an `Autocrypt:` header of a message the user received.
    Autocrypt,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Upload => "upload",
            KeySource::Autocrypt => "autocrypt",
        }
    }
}

/// One stored external key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalKeyRecord {
    pub id: ObjectId,
    pub user: ObjectId,
    /// Upper-case hex fingerprint of the primary key.
    pub fingerprint: String,
    /// Upper-case hex 64-bit key id of the primary key.
    pub key_id: String,
    pub armored: String,
    pub user_ids: Vec<String>,
    pub source: KeySource,
    pub inline: bool,
    /// The domain it is shared with, when shared.
    pub share_domain: Option<String>,
    pub autocrypt_addr: Option<String>,
    pub prefer_encrypt: Option<String>,
    pub autocrypt_date: Option<Millis>,
    pub created: Millis,
    pub updated: Millis,
}

/// A validated key to store.
#[derive(Debug, Clone)]
pub struct NewExternalKey {
    pub fingerprint: String,
    pub key_id: String,
    pub armored: String,
    pub user_ids: Vec<String>,
    /// Lower-cased e-mail addresses found in the user ids.
    pub addresses: Vec<String>,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    Inserted(ObjectId),
    /// The fingerprint was there already: the key material was refreshed (and a key learnt
    /// from Autocrypt became an uploaded one).
    Updated(ObjectId),
    /// The user has `max` keys already.
    Full,
}

/// What an Autocrypt header did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutocryptOutcome {
    Inserted(ObjectId),
    /// Same key as before: its date and prefer-encrypt were refreshed.
    Refreshed(ObjectId),
    /// A different key replaced the previous Autocrypt key of the address.
    Replaced(ObjectId),
    /// A key of the address (or this very key) was uploaded by hand: left alone.
    HandUploaded,
    /// The message is older than the one that brought the stored key.
    Older,
    /// The user has the maximum number of keys.
    Full,
}

/// The header data of one Autocrypt update.
#[derive(Debug, Clone)]
pub struct AutocryptUpdate<'a> {
    pub addr: &'a str,
    pub prefer_encrypt: &'a str,
    /// Effective message date, ms.
    pub date: Millis,
}

const KEY_COLS: &str = "id, user_id, fingerprint, key_id, armored, user_ids, source, inline, share_domain, \
    autocrypt_addr, prefer_encrypt, autocrypt_date, created, updated";

fn key_row(r: &impl Cols) -> Result<ExternalKeyRecord> {
    let user_ids: Vec<String> = serde_json::from_str(&r.string("user_ids")?)
        .map_err(|e| crate::Error::Corrupt(format!("external key user ids: {e}")))?;
    Ok(ExternalKeyRecord {
        id: rows::id(r, "id")?,
        user: rows::id(r, "user_id")?,
        fingerprint: r.string("fingerprint")?,
        key_id: r.string("key_id")?,
        armored: r.string("armored")?,
        user_ids,
        source: if r.string("source")? == "autocrypt" {
            KeySource::Autocrypt
        } else {
            KeySource::Upload
        },
        inline: r.boolean("inline")?,
        share_domain: r.opt_string("share_domain")?,
        autocrypt_addr: r.opt_string("autocrypt_addr")?,
        prefer_encrypt: r.opt_string("prefer_encrypt")?,
        autocrypt_date: r.opt_i64("autocrypt_date")?,
        created: r.i64("created")?,
        updated: r.i64("updated")?,
    })
}

fn user_ids_json(k: &NewExternalKey) -> String {
    serde_json::Value::from(k.user_ids.clone()).to_string()
}

/// Inserts a key row and its addresses (inside a transaction). `$tx` is the transaction.
macro_rules! insert_key {
    ($tx:ident, $user:expr, $key:expr, $source:expr, $ac:expr) => {{
        let user: &ObjectId = $user;
        let key: &NewExternalKey = $key;
        let ac: Option<&AutocryptUpdate<'_>> = $ac;
        let id = ObjectId::new();
        let now = crate::now_ms();
        sqlx::query(
            "INSERT INTO external_keys (id, user_id, fingerprint, key_id, armored, user_ids, source, \
             inline, share_domain, autocrypt_addr, prefer_encrypt, autocrypt_date, created, updated) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,FALSE,NULL,$8,$9,$10,$11,$11)",
        )
        .bind(id.as_str())
        .bind(user.as_str())
        .bind(&key.fingerprint)
        .bind(&key.key_id)
        .bind(&key.armored)
        .bind(user_ids_json(key))
        .bind($source.as_str())
        .bind(ac.map(|a| a.addr))
        .bind(ac.map(|a| a.prefer_encrypt))
        .bind(ac.map(|a| a.date))
        .bind(now)
        .execute(&mut *$tx)
        .await
        .map_err(|e| crate::conflict(e, "Key"))?;
        replace_addresses!($tx, user, &id, key);
        id
    }};
}

/// Replaces the address rows of key `$id` with the key's addresses.
macro_rules! replace_addresses {
    ($tx:ident, $user:expr, $id:expr, $key:expr) => {{
        let id: &ObjectId = $id;
        sqlx::query("DELETE FROM external_key_addresses WHERE key_id = $1")
            .bind(id.as_str())
            .execute(&mut *$tx)
            .await?;
        for a in &$key.addresses {
            sqlx::query(
                "INSERT INTO external_key_addresses (key_id, user_id, address) VALUES ($1,$2,$3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id.as_str())
            .bind($user.as_str())
            .bind(a)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// Runs `$sql` in a write transaction with the parameters `$binds` adds, then one per id of
/// `$ids`; the number of rows affected.
macro_rules! for_ids {
    ($store:expr, $sql:expr, $ids:expr, |$q:ident| $binds:expr) => {
        write_tx!($store, tx => {
            let $q = sqlx::query($sql);
            let mut q = $binds;
            for id in $ids {
                q = q.bind(id.as_str());
            }
            q.execute(&mut *tx).await?.rows_affected()
        })
    };
}

/// Number of keys of a user (inside a transaction).
macro_rules! count_keys {
    ($tx:ident, $user:expr) => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM external_keys WHERE user_id = $1")
            .bind($user.as_str())
            .fetch_one(&mut *$tx)
            .await?
    };
}

impl Store {
    /// Stores a key uploaded by hand: a new row, or the existing row of the same fingerprint
    /// refreshed (and owned by the upload from then on). At most `max` keys per user.
    pub async fn upload_external_key(
        &self,
        user: &ObjectId,
        key: &NewExternalKey,
        max: i64,
    ) -> Result<UploadOutcome> {
        let out = write_tx!(self, tx => {
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT id FROM external_keys WHERE user_id = $1 AND fingerprint = $2",
            )
            .bind(user.as_str())
            .bind(&key.fingerprint)
            .fetch_optional(&mut *tx)
            .await?;
            match existing {
                Some(id) => {
                    let id = ObjectId::from_stored(id);
                    sqlx::query(
                        "UPDATE external_keys SET armored = $1, user_ids = $2, key_id = $3, source = 'upload', \
                         autocrypt_addr = NULL, prefer_encrypt = NULL, autocrypt_date = NULL, updated = $4 \
                         WHERE id = $5",
                    )
                    .bind(&key.armored)
                    .bind(user_ids_json(key))
                    .bind(&key.key_id)
                    .bind(crate::now_ms())
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
                    replace_addresses!(tx, user, &id, key);
                    UploadOutcome::Updated(id)
                }
                None if count_keys!(tx, user) >= max => UploadOutcome::Full,
                None => UploadOutcome::Inserted(insert_key!(tx, user, key, KeySource::Upload, None)),
            }
        });
        Ok(out)
    }

    /// Applies one valid Autocrypt header (Autocrypt Level 1 "update process"): the newest
    /// message wins per sender address; a key the user uploaded by hand for that address, or
    /// with that fingerprint, is never touched or shadowed.
    pub async fn autocrypt_update(
        &self,
        user: &ObjectId,
        key: &NewExternalKey,
        update: &AutocryptUpdate<'_>,
        max: i64,
    ) -> Result<AutocryptOutcome> {
        let out = write_tx!(self, tx => {
            let by_hand: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM external_keys k WHERE k.user_id = $1 AND k.source = 'upload' AND \
                 (k.fingerprint = $2 OR EXISTS (SELECT 1 FROM external_key_addresses a WHERE a.key_id = k.id AND a.address = $3)) \
                 LIMIT 1",
            )
            .bind(user.as_str())
            .bind(&key.fingerprint)
            .bind(update.addr)
            .fetch_optional(&mut *tx)
            .await?;
            let previous = sqlx::query(&format!(
                "SELECT {KEY_COLS} FROM external_keys WHERE user_id = $1 AND source = 'autocrypt' AND autocrypt_addr = $2"
            ))
            .bind(user.as_str())
            .bind(update.addr)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| key_row(&r))
            .transpose()?;
            if by_hand.is_some() {
                AutocryptOutcome::HandUploaded
            } else if previous.as_ref().and_then(|p| p.autocrypt_date).is_some_and(|d| update.date < d) {
                AutocryptOutcome::Older
            } else if let Some(p) = previous.filter(|p| p.fingerprint == key.fingerprint) {
                sqlx::query(
                    "UPDATE external_keys SET armored = $1, user_ids = $2, prefer_encrypt = $3, autocrypt_date = $4, updated = $5 WHERE id = $6",
                )
                .bind(&key.armored)
                .bind(user_ids_json(key))
                .bind(update.prefer_encrypt)
                .bind(update.date)
                .bind(crate::now_ms())
                .bind(p.id.as_str())
                .execute(&mut *tx)
                .await?;
                replace_addresses!(tx, user, &p.id, key);
                AutocryptOutcome::Refreshed(p.id)
            } else {
                // A different key (or none yet): the previous Autocrypt key of the address
                // goes, and any other Autocrypt row of the same fingerprint (the key was seen
                // for another address before) moves to this address.
                let removed = sqlx::query(
                    "DELETE FROM external_keys WHERE user_id = $1 AND source = 'autocrypt' AND (autocrypt_addr = $2 OR fingerprint = $3)",
                )
                .bind(user.as_str())
                .bind(update.addr)
                .bind(&key.fingerprint)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if removed == 0 && count_keys!(tx, user) >= max {
                    AutocryptOutcome::Full
                } else {
                    let id = insert_key!(tx, user, key, KeySource::Autocrypt, Some(update));
                    if removed > 0 {
                        AutocryptOutcome::Replaced(id)
                    } else {
                        AutocryptOutcome::Inserted(id)
                    }
                }
            }
        });
        Ok(out)
    }

    /// The user's own external keys, oldest first.
    pub async fn list_external_keys(&self, user: &ObjectId) -> Result<Vec<ExternalKeyRecord>> {
        let sql =
            format!("SELECT {KEY_COLS} FROM external_keys WHERE user_id = $1 ORDER BY created, id");
        read!(self, db => {
            sqlx::query(&sql)
                .bind(user.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(key_row)
                .collect()
        })
    }

    /// Keys other users shared with `domain` (not `except`'s own), oldest first, at most
    /// `limit`.
    pub async fn list_shared_external_keys(
        &self,
        domain: &str,
        except: &ObjectId,
        limit: i64,
    ) -> Result<Vec<ExternalKeyRecord>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM external_keys WHERE share_domain = $1 AND user_id <> $2 ORDER BY created, id LIMIT $3"
        );
        read!(self, db => {
            sqlx::query(&sql)
                .bind(domain)
                .bind(except.as_str())
                .bind(limit)
                .fetch_all(db)
                .await?
                .iter()
                .map(key_row)
                .collect()
        })
    }

    /// The keys whose user ids name `address` (lower-cased): the user's own first, then keys
    /// shared with `domain` by others; at most `limit`.
    pub async fn find_external_keys_by_address(
        &self,
        user: &ObjectId,
        address: &str,
        domain: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ExternalKeyRecord>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM external_keys k WHERE k.id IN (SELECT key_id FROM external_key_addresses WHERE address = $1) \
             AND (k.user_id = $2 OR k.share_domain = $3) \
             ORDER BY CASE WHEN k.user_id = $2 THEN 0 ELSE 1 END, CASE WHEN k.source = 'upload' THEN 0 ELSE 1 END, k.updated DESC LIMIT $4"
        );
        read!(self, db => {
            sqlx::query(&sql)
                .bind(address)
                .bind(user.as_str())
                .bind(domain)
                .bind(limit)
                .fetch_all(db)
                .await?
                .iter()
                .map(key_row)
                .collect()
        })
    }

    /// Deletes the user's keys among `ids`; returns how many.
    pub async fn delete_external_keys(&self, user: &ObjectId, ids: &[ObjectId]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "DELETE FROM external_keys WHERE user_id = $1 AND id IN ({})",
            list(2, ids.len())
        );
        Ok(for_ids!(self, &sql, ids, |q| q.bind(user.as_str())))
    }

    /// Shares the user's keys among `ids` with `domain` (`None`: stops sharing them);
    /// returns how many rows matched.
    pub async fn share_external_keys(
        &self,
        user: &ObjectId,
        ids: &[ObjectId],
        domain: Option<&str>,
    ) -> Result<u64> {
        self.update_external_keys(user, ids, "share_domain", domain.map(str::to_string))
            .await
    }

    /// Sets Guard's "inline" preference of the user's keys among `ids`.
    pub async fn set_external_keys_inline(
        &self,
        user: &ObjectId,
        ids: &[ObjectId],
        inline: bool,
    ) -> Result<u64> {
        self.update_external_keys(user, ids, "inline", inline).await
    }

    async fn update_external_keys<T>(
        &self,
        user: &ObjectId,
        ids: &[ObjectId],
        column: &'static str,
        value: T,
    ) -> Result<u64>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Sqlite>
            + for<'q> sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Sqlite>
            + sqlx::Type<sqlx::Postgres>
            + Send
            + Clone,
    {
        if ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE external_keys SET {column} = $1, updated = $2 WHERE user_id = $3 AND id IN ({})",
            list(4, ids.len())
        );
        Ok(for_ids!(self, &sql, ids, |q| q
            .bind(value.clone())
            .bind(crate::now_ms())
            .bind(user.as_str())))
    }

    /// Normalised addresses (and their owners) in any of `domains`, at most `limit`: the
    /// candidates of a WKD lookup by hash.
    pub async fn addresses_in_domains(
        &self,
        domains: &[String],
        limit: i64,
    ) -> Result<Vec<(String, ObjectId)>> {
        let mut out = Vec::new();
        for d in domains {
            let pattern = format!("%@{}", crate::mailboxes::like_escape(d));
            let rows: Vec<(String, ObjectId)> = read!(self, db => {
                sqlx::query("SELECT address_norm, user_id FROM addresses WHERE address_norm LIKE $1 ESCAPE '\\' ORDER BY address_norm LIMIT $2")
                    .bind(&pattern)
                    .bind(limit)
                    .fetch_all(db)
                    .await?
                    .iter()
                    .map(|r| Ok((r.string("address_norm")?, rows::id(r, "user_id")?)))
                    .collect::<Result<Vec<_>>>()?
            });
            out.extend(rows);
        }
        Ok(out)
    }
}
