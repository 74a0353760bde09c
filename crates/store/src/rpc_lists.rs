//! Mailing lists and groups of customer accounts (migration 81): fan-out addresses of the
//! JSON-RPC provisioning API, with their members. Who may see which is decided in `core`.

use crate::db::{read, write_tx};
use crate::model::*;
use crate::provisioning::AccountId;
use crate::rows::{self, Cols};
use crate::{Result, Store, conflict};

/// A list's or group's id (mailbox.org's `group_id` is an integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListId(pub i64);

/// Which of the two a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// A mailing list: its address is required; members are any addresses.
    List,
    /// A group: mail users of the account, with an optional address.
    Group,
}

impl ListKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::List => "list",
            ListKind::Group => "group",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    pub id: ListId,
    pub kind: ListKind,
    pub account: AccountId,
    /// (as given, normalised)
    pub address: Option<(String, String)>,
    pub name: String,
    pub display_name: String,
    pub adminmail: String,
    pub password_hash: String,
    pub created: Millis,
}

/// Changes to a list or group; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct ListPatch {
    pub display_name: Option<String>,
    pub adminmail: Option<String>,
    pub password_hash: Option<String>,
    /// `Some(None)` removes a group's address.
    pub address: Option<Option<(String, String)>>,
}

const COLS: &str = "id, kind, account_id, address, address_norm, name, display_name, adminmail, password_hash, created";

fn row(r: &impl Cols) -> Result<ListRow> {
    let address = match (r.opt_string("address")?, r.opt_string("address_norm")?) {
        (Some(a), Some(n)) => Some((a, n)),
        _ => None,
    };
    Ok(ListRow {
        id: ListId(r.i64("id")?),
        kind: if r.string("kind")? == "group" {
            ListKind::Group
        } else {
            ListKind::List
        },
        account: AccountId(rows::id(r, "account_id")?),
        address,
        name: r.string("name")?,
        display_name: r.string("display_name")?,
        adminmail: r.string("adminmail")?,
        password_hash: r.string("password_hash")?,
        created: r.i64("created")?,
    })
}

impl Store {
    /// Stores a new list or group with its members; its id.
    pub async fn insert_rpc_list(&self, l: &ListRow, members: &[String]) -> Result<ListId> {
        let id = write_tx!(self, tx => {
            let r = sqlx::query(
                "INSERT INTO rpc_lists (kind, account_id, address, address_norm, name, display_name, adminmail, password_hash, created) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id",
            )
            .bind(l.kind.as_str())
            .bind(l.account.as_str())
            .bind(l.address.as_ref().map(|(a, _)| a.clone()))
            .bind(l.address.as_ref().map(|(_, n)| n.clone()))
            .bind(&l.name)
            .bind(&l.display_name)
            .bind(&l.adminmail)
            .bind(&l.password_hash)
            .bind(l.created)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| conflict(e, l.kind.as_str()))?;
            let id: i64 = r.i64("id")?;
            for m in members {
                sqlx::query("INSERT INTO rpc_list_members (list_id, member) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(m)
                    .execute(&mut *tx)
                    .await?;
            }
            ListId(id)
        });
        Ok(id)
    }

    pub async fn rpc_list(&self, id: ListId) -> Result<Option<ListRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {COLS} FROM rpc_lists WHERE id = $1"))
                .bind(id.0)
                .fetch_optional(db)
                .await?
                .map(|r| row(&r))
                .transpose()
        })
    }

    /// The list or group whose address is one of `norms` (normalised spellings).
    pub async fn rpc_list_by_address(&self, norms: &[String]) -> Result<Option<ListRow>> {
        read!(self, db => {
            for n in norms {
                let hit = sqlx::query(&format!("SELECT {COLS} FROM rpc_lists WHERE address_norm = $1"))
                    .bind(n)
                    .fetch_optional(db)
                    .await?;
                if let Some(r) = hit {
                    return Ok(Some(row(&r)?));
                }
            }
            Ok(None)
        })
    }

    /// The account's lists (or groups) by name, with their number of members; at most `limit`.
    pub async fn list_rpc_lists(
        &self,
        account: &AccountId,
        kind: ListKind,
        limit: i64,
    ) -> Result<Vec<(ListRow, i64)>> {
        read!(self, db => {
            sqlx::query(&format!(
                "SELECT {COLS}, (SELECT COUNT(*) FROM rpc_list_members m WHERE m.list_id = rpc_lists.id) AS members \
                 FROM rpc_lists WHERE account_id = $1 AND kind = $2 ORDER BY name, id LIMIT $3"
            ))
            .bind(account.as_str())
            .bind(kind.as_str())
            .bind(limit)
            .fetch_all(db)
            .await?
            .iter()
            .map(|r| Ok((row(r)?, r.i64("members")?)))
            .collect()
        })
    }

    pub async fn count_rpc_lists(&self, account: &AccountId, kind: ListKind) -> Result<i64> {
        read!(self, db => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rpc_lists WHERE account_id = $1 AND kind = $2")
                .bind(account.as_str())
                .bind(kind.as_str())
                .fetch_one(db)
                .await?;
            Ok(n)
        })
    }

    /// Changes a list and its members (`add`, then `remove`; `replace`: `add` is the whole
    /// membership). `false` when there is no such list.
    pub async fn update_rpc_list(
        &self,
        id: ListId,
        p: &ListPatch,
        add: &[String],
        remove: &[String],
        replace: bool,
    ) -> Result<bool> {
        let found = write_tx!(self, tx => {
            let (set_address, address) = match &p.address {
                Some(a) => (true, a.clone()),
                None => (false, None),
            };
            let n = sqlx::query(
                "UPDATE rpc_lists SET display_name = COALESCE($2, display_name), adminmail = COALESCE($3, adminmail), \
                 password_hash = COALESCE($4, password_hash), \
                 address = CASE WHEN $5 THEN $6 ELSE address END, address_norm = CASE WHEN $5 THEN $7 ELSE address_norm END \
                 WHERE id = $1",
            )
            .bind(id.0)
            .bind(&p.display_name)
            .bind(&p.adminmail)
            .bind(&p.password_hash)
            .bind(set_address)
            .bind(address.as_ref().map(|(a, _)| a.clone()))
            .bind(address.as_ref().map(|(_, n)| n.clone()))
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "address"))?
            .rows_affected();
            if n > 0 {
                if replace {
                    sqlx::query("DELETE FROM rpc_list_members WHERE list_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                }
                for m in add {
                    sqlx::query("INSERT INTO rpc_list_members (list_id, member) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(id.0)
                        .bind(m)
                        .execute(&mut *tx)
                        .await?;
                }
                for m in remove {
                    sqlx::query("DELETE FROM rpc_list_members WHERE list_id = $1 AND member = $2")
                        .bind(id.0)
                        .bind(m)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            n > 0
        });
        Ok(found)
    }

    /// A list's members by address; at most `limit`.
    pub async fn rpc_list_members(&self, id: ListId, limit: i64) -> Result<Vec<String>> {
        read!(self, db => {
            sqlx::query("SELECT member FROM rpc_list_members WHERE list_id = $1 ORDER BY member LIMIT $2")
                .bind(id.0)
                .bind(limit)
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| r.string("member"))
                .collect()
        })
    }

    pub async fn delete_rpc_list(&self, id: ListId) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM rpc_list_members WHERE list_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM rpc_lists WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }
}
