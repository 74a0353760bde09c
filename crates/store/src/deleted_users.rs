//! Users deleted with a grace period (WildDuck's `deleteAfter`): the row and all its data stay,
//! marked `deleted`, with its username freed and its addresses removed (and remembered), until
//! it is restored or `delete_after` passes and [`Store::delete_user`] removes it for good.

use crate::db::{read, write_tx};
use crate::model::*;
use crate::rows::{self, Cols, USER_COLS};
use crate::{Error, Result, Store};

/// What a restore brought back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoredUser {
    /// Addresses given back (those nobody took meanwhile).
    pub recovered: usize,
    /// The main address after the restore, if any came back.
    pub main: Option<String>,
}

/// An address as remembered by a deleted user: (as given, normalised, main).
type KeptAddress = (String, String, bool);

fn kept(s: &str) -> Result<Vec<KeptAddress>> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("deleted addresses: {e}")))
}

impl Store {
    /// Marks `id` deleted until `delete_after`: frees its username and removes its addresses
    /// (remembered for a restore) in one transaction. The number of addresses removed, or
    /// `None` when there is no such (live) user.
    pub async fn mark_user_deleted(
        &self,
        id: &ObjectId,
        now: Millis,
        delete_after: Millis,
    ) -> Result<Option<usize>> {
        let removed = write_tx!(self, tx => {
            let found = sqlx::query("SELECT id FROM users WHERE id = $1 AND deleted IS NULL")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if found {
                let rows = sqlx::query("SELECT address, address_norm, main FROM addresses WHERE user_id = $1 ORDER BY id")
                    .bind(id.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
                let mut list: Vec<KeptAddress> = Vec::with_capacity(rows.len());
                for r in &rows {
                    list.push((r.string("address")?, r.string("address_norm")?, r.boolean("main")?));
                }
                let json = serde_json::to_string(&list)
                    .map_err(|e| Error::Corrupt(format!("deleted addresses: {e}")))?;
                sqlx::query("DELETE FROM addresses WHERE user_id = $1")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE users SET deleted = $2, delete_after = $3, deleted_addresses = $4, \
                     username_norm = $5 WHERE id = $1",
                )
                .bind(id.as_str())
                .bind(now)
                .bind(delete_after)
                .bind(json)
                .bind(format!("!deleted:{id}"))
                .execute(&mut *tx)
                .await?;
                // A JSON-RPC mail user frees its address too, and keeps it for a restore.
                sqlx::query(
                    "UPDATE rpc_mail SET deleted_mail = mail, mail = $2 WHERE user_id = $1 AND deleted_mail IS NULL",
                )
                .bind(id.as_str())
                .bind(format!("!deleted:{id}"))
                .execute(&mut *tx)
                .await?;
                Some(list.len())
            } else {
                None
            }
        });
        Ok(removed)
    }

    /// A user deleted with a grace period, with the addresses it had.
    pub async fn get_deleted_user(&self, id: &ObjectId) -> Result<Option<DeletedUser>> {
        let sql = format!(
            "SELECT {USER_COLS}, deleted, delete_after, deleted_addresses FROM users \
             WHERE id = $1 AND deleted IS NOT NULL"
        );
        read!(self, db => {
            let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(db).await?;
            row.map(|r| {
                Ok(DeletedUser {
                    user: rows::user(&r)?,
                    deleted: r.i64("deleted")?,
                    delete_after: r.i64("delete_after")?,
                    addresses: kept(&r.string("deleted_addresses")?)?
                        .into_iter()
                        .map(|(a, _, main)| (a, main))
                        .collect(),
                })
            })
            .transpose()
        })
    }

    /// Which of `norms` (normalised addresses) are taken by someone now.
    pub async fn taken_addresses(&self, norms: &[String]) -> Result<Vec<String>> {
        let mut taken = Vec::new();
        read!(self, db => {
            for n in norms {
                let hit = sqlx::query("SELECT 1 AS one FROM addresses WHERE address_norm = $1")
                    .bind(n)
                    .fetch_optional(db)
                    .await?;
                if hit.is_some() {
                    taken.push(n.clone());
                }
            }
        });
        Ok(taken)
    }

    /// Brings a deleted user back: its username (refused with `Conflict` when someone took it)
    /// and the addresses nobody took meanwhile; the old main address stays main when it came
    /// back, otherwise the first one recovered is. `None` when `id` is not a deleted user.
    pub async fn restore_user(&self, id: &ObjectId, now: Millis) -> Result<Option<RestoredUser>> {
        let out = write_tx!(self, tx => {
            let row = sqlx::query("SELECT username, deleted_addresses FROM users WHERE id = $1 AND deleted IS NOT NULL")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                None => None,
                Some(r) => {
                    let username: String = r.string("username")?;
                    let norm = username.to_lowercase();
                    let taken = sqlx::query("SELECT id FROM users WHERE username_norm = $1")
                        .bind(&norm)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if taken.is_some() {
                        return Err(Error::Conflict("This username already exists".into()));
                    }
                    let list = kept(&r.string("deleted_addresses")?)?;
                    let mut back: Vec<(String, bool)> = Vec::new();
                    for (address, address_norm, main) in &list {
                        let inserted = sqlx::query(
                            "INSERT INTO addresses (id, user_id, address, address_norm, main, created) \
                             VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
                        )
                        .bind(ObjectId::new().as_str())
                        .bind(id.as_str())
                        .bind(address)
                        .bind(address_norm)
                        .bind(false)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            > 0;
                        if inserted {
                            back.push((address.clone(), *main));
                        }
                    }
                    let main = back
                        .iter()
                        .find(|(_, m)| *m)
                        .or_else(|| back.first())
                        .map(|(a, _)| a.clone());
                    if let Some(m) = &main {
                        sqlx::query("UPDATE addresses SET main = $3 WHERE user_id = $1 AND address = $2")
                            .bind(id.as_str())
                            .bind(m)
                            .bind(true)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query(
                        "UPDATE users SET deleted = NULL, delete_after = NULL, deleted_addresses = '[]', \
                         username_norm = $2, address = $3 WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .bind(&norm)
                    .bind(&main)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE rpc_mail SET mail = deleted_mail, deleted_mail = NULL WHERE user_id = $1 AND deleted_mail IS NOT NULL",
                    )
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| crate::conflict(e, "mail"))?;
                    Some(RestoredUser { recovered: back.len(), main })
                }
            }
        });
        Ok(out)
    }

    /// Up to `limit` deleted users whose grace period ended before `now`.
    pub async fn expired_deleted_users(&self, now: Millis, limit: i64) -> Result<Vec<ObjectId>> {
        read!(self, db => {
            let list = sqlx::query(&format!(
                "SELECT id FROM users WHERE deleted IS NOT NULL AND delete_after <= $1 ORDER BY id LIMIT {limit}"
            ))
            .bind(now)
            .fetch_all(db)
            .await?;
            list.iter().map(|r| rows::id(r, "id")).collect()
        })
    }

    /// Every live user's id after `after`, `limit` at a time, in id order (for jobs over
    /// all users).
    pub async fn user_ids_after(
        &self,
        after: Option<&ObjectId>,
        limit: i64,
    ) -> Result<Vec<ObjectId>> {
        read!(self, db => {
            let list = sqlx::query(&format!(
                "SELECT id FROM users WHERE deleted IS NULL AND id > $1 ORDER BY id LIMIT {limit}"
            ))
            .bind(after.map(ObjectId::as_str).unwrap_or(""))
            .fetch_all(db)
            .await?;
            list.iter().map(|r| rows::id(r, "id")).collect()
        })
    }
}
