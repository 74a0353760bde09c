//! Addresses: each belongs to exactly one user (unique on the normalised form).

use crate::db::{KeysetPage, Seek, fetch_keyset, read, write_tx};
use crate::model::*;
use crate::rows::{self, ADDRESS_COLS, Cols};
use crate::{Result, Store, conflict};

impl Store {
    pub async fn list_addresses(&self, user: &ObjectId) -> Result<Vec<AddressRecord>> {
        let sql =
            format!("SELECT {ADDRESS_COLS} FROM addresses WHERE user_id = $1 ORDER BY created, id");
        read!(self, db => {
            sqlx::query(&sql).bind(user.as_str()).fetch_all(db).await?.iter().map(rows::address).collect()
        })
    }

    pub async fn get_address(
        &self,
        user: &ObjectId,
        id: &ObjectId,
    ) -> Result<Option<AddressRecord>> {
        let sql = format!("SELECT {ADDRESS_COLS} FROM addresses WHERE id = $1 AND user_id = $2");
        read!(self, db => {
            let row = sqlx::query(&sql).bind(id.as_str()).bind(user.as_str()).fetch_optional(db).await?;
            row.map(|r| rows::address(&r)).transpose()
        })
    }

    /// A user's address by id, whoever the user.
    pub async fn address_by_id(&self, id: &ObjectId) -> Result<Option<AddressRecord>> {
        let sql = format!("SELECT {ADDRESS_COLS} FROM addresses WHERE id = $1");
        read!(self, db => {
            let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(db).await?;
            row.map(|r| rows::address(&r)).transpose()
        })
    }

    /// The user address of the first of `norms` that is one (in the order given).
    pub async fn address_by_norms(&self, norms: &[String]) -> Result<Option<AddressRecord>> {
        if norms.is_empty() {
            return Ok(None);
        }
        let marks: Vec<String> = (1..=norms.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {ADDRESS_COLS}, address_norm FROM addresses WHERE address_norm IN ({})",
            marks.join(",")
        );
        let found: Vec<(String, AddressRecord)> = read!(self, db => {
            let mut q = sqlx::query(&sql);
            for n in norms {
                q = q.bind(n);
            }
            q.fetch_all(db)
                .await?
                .iter()
                .map(|r| Ok((r.string("address_norm")?, rows::address(r)?)))
                .collect::<Result<Vec<_>>>()?
        });
        Ok(norms
            .iter()
            .find_map(|n| found.iter().find(|(k, _)| k == n).map(|(_, a)| a.clone())))
    }

    /// Global search on the normalised address (substring), ordered by id.
    pub async fn search_addresses(
        &self,
        like: Option<&str>,
        seek: &Seek<String>,
        limit: i64,
    ) -> Result<(i64, Vec<AddressRecord>)> {
        let (conds, binds) = match like {
            Some(l) => (
                vec!["address_norm LIKE $1 ESCAPE '\\'".to_string()],
                vec![l.to_string()],
            ),
            None => (Vec::new(), Vec::new()),
        };
        let page = KeysetPage::new("addresses", ADDRESS_COLS, "id", conds, binds, seek, limit);
        fetch_keyset!(self, page, rows::address)
    }

    /// Inserts an address; with `main` it becomes the user's main address. False when the
    /// user does not exist.
    pub async fn insert_address(
        &self,
        user: &ObjectId,
        id: &ObjectId,
        address: &str,
        norm: &str,
        main: bool,
    ) -> Result<bool> {
        let now = crate::now_ms();
        let ok = write_tx!(self, tx => {
            let exists = sqlx::query("SELECT id FROM users WHERE id = $1").bind(user.as_str()).fetch_optional(&mut *tx).await?.is_some();
            // An address is a user's or a forwarded one, never both.
            let forwarded = sqlx::query("SELECT id FROM forwarded_addresses WHERE address_norm = $1")
                .bind(norm)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if forwarded {
                return Err(crate::Error::Conflict("This email address already exists".into()));
            }
            if exists {
                if main {
                    sqlx::query("UPDATE addresses SET main = FALSE WHERE user_id = $1").bind(user.as_str()).execute(&mut *tx).await?;
                }
                // The first address of a user is always main.
                let has_main = sqlx::query("SELECT id FROM addresses WHERE user_id = $1 AND main")
                    .bind(user.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                let main = main || !has_main;
                sqlx::query("INSERT INTO addresses (id, user_id, address, address_norm, main, created) VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(id.as_str())
                    .bind(user.as_str())
                    .bind(address)
                    .bind(norm)
                    .bind(main)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, "This email address already exists"))?;
                if main {
                    sqlx::query("UPDATE users SET address = $2 WHERE id = $1").bind(user.as_str()).bind(address).execute(&mut *tx).await?;
                }
            }
            exists
        });
        Ok(ok)
    }

    /// Makes an address the main one. False when not found.
    pub async fn set_main_address(&self, user: &ObjectId, id: &ObjectId) -> Result<bool> {
        let ok = write_tx!(self, tx => {
            let row = sqlx::query("SELECT address FROM addresses WHERE id = $1 AND user_id = $2")
                .bind(id.as_str())
                .bind(user.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                None => false,
                Some(r) => {
                    let address = r.string("address")?;
                    sqlx::query("UPDATE addresses SET main = (id = $2) WHERE user_id = $1")
                        .bind(user.as_str())
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE users SET address = $2 WHERE id = $1").bind(user.as_str()).bind(&address).execute(&mut *tx).await?;
                    true
                }
            }
        });
        Ok(ok)
    }

    pub async fn delete_address(&self, user: &ObjectId, id: &ObjectId) -> Result<bool> {
        let ok = write_tx!(self, tx => {
            sqlx::query("DELETE FROM addresses WHERE id = $1 AND user_id = $2 AND NOT main")
                .bind(id.as_str())
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(ok)
    }
}
