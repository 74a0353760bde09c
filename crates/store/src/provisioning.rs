//! Rows of the JSON-RPC provisioning API (migration 20): API logins (admin, reseller),
//! customer accounts, their domains, the mail users of each domain (one row beside the
//! Sealpost user it describes) and sessions, stored by the SHA-256 of their Auth-ID.
//! Who may see which row is decided in `core`; this module only reads and writes them.

use crate::db::{read, write_tx};
use crate::mailboxes::like_contains;
use crate::model::*;
use crate::rows::{self, Cols};
use crate::{Result, Store, conflict};

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub ObjectId);

        impl $name {
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                $name(ObjectId::new())
            }
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0.as_str())
            }
        }
    };
}

typed_id!(
    /// An API login (admin or reseller).
    LoginId
);
typed_id!(
    /// A customer account.
    AccountId
);
typed_id!(
    /// A domain of a customer account.
    DomainId
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRow {
    pub id: LoginId,
    pub name: String,
    /// "admin" or "reseller".
    pub level: String,
    pub password_hash: String,
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub id: AccountId,
    pub name: String,
    pub reseller: Option<LoginId>,
    pub plan: String,
    pub password_hash: String,
    /// JSON object.
    pub fields: String,
    /// JSON object.
    pub capabilities: String,
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRow {
    pub id: DomainId,
    pub name: String,
    pub account: AccountId,
    pub password_hash: String,
    pub memo: String,
    pub capabilities: String,
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRow {
    pub user: ObjectId,
    pub domain: DomainId,
    pub mail: String,
    pub plan: String,
    pub first_name: String,
    pub last_name: String,
    pub uid_extern: Option<String>,
    /// JSON object.
    pub fields: String,
    /// JSON object: the mail user's own capability intents (migration 80).
    pub capabilities: String,
    pub created: Millis,
}

/// A mail row with what `mail.list` shows of its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailListRow {
    pub mail: MailRow,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub level: String,
    pub principal: String,
    pub expires: Millis,
}

/// Changes to an account; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    pub plan: Option<String>,
    pub password_hash: Option<String>,
    pub fields: Option<String>,
    pub capabilities: Option<String>,
}

/// Changes to a mail row; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct MailPatch {
    pub plan: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub uid_extern: Option<Option<String>>,
    pub fields: Option<String>,
    pub capabilities: Option<String>,
}

/// A mail user deleted with a grace period (`domain.deletelist.search`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedMailRow {
    pub user: ObjectId,
    /// The address it had.
    pub mail: String,
    pub deleted: Millis,
    pub delete_after: Millis,
}

/// Mail rows of users not deleted (a user deleted with a grace period keeps its row, with
/// `deleted_mail` set, until it is restored or purged).
const LIVE: &str = "m.deleted_mail IS NULL";

/// `mail.list` order: a column of `rpc_mail` or the user's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailSort {
    Mail,
    FirstName,
    LastName,
    Plan,
    Status,
    Created,
}

impl MailSort {
    fn column(self) -> &'static str {
        match self {
            MailSort::Mail => "m.mail",
            MailSort::FirstName => "m.first_name",
            MailSort::LastName => "m.last_name",
            MailSort::Plan => "m.plan",
            MailSort::Status => "u.disabled",
            MailSort::Created => "m.created",
        }
    }
}

const LOGIN_COLS: &str = "id, name, level, password_hash, created";
const ACCOUNT_COLS: &str =
    "id, name, reseller_id, plan, password_hash, fields, capabilities, created";
const DOMAIN_COLS: &str = "id, name, account_id, password_hash, memo, capabilities, created";
const MAIL_COLS: &str = "m.user_id, m.domain_id, m.mail, m.plan, m.first_name, m.last_name, m.uid_extern, m.fields, m.capabilities, m.created";

fn login(r: &impl Cols) -> Result<LoginRow> {
    Ok(LoginRow {
        id: LoginId(rows::id(r, "id")?),
        name: r.string("name")?,
        level: r.string("level")?,
        password_hash: r.string("password_hash")?,
        created: r.i64("created")?,
    })
}

fn account(r: &impl Cols) -> Result<AccountRow> {
    Ok(AccountRow {
        id: AccountId(rows::id(r, "id")?),
        name: r.string("name")?,
        reseller: r
            .opt_string("reseller_id")?
            .map(|s| LoginId(ObjectId::from_stored(s))),
        plan: r.string("plan")?,
        password_hash: r.string("password_hash")?,
        fields: r.string("fields")?,
        capabilities: r.string("capabilities")?,
        created: r.i64("created")?,
    })
}

fn domain(r: &impl Cols) -> Result<DomainRow> {
    Ok(DomainRow {
        id: DomainId(rows::id(r, "id")?),
        name: r.string("name")?,
        account: AccountId(rows::id(r, "account_id")?),
        password_hash: r.string("password_hash")?,
        memo: r.string("memo")?,
        capabilities: r.string("capabilities")?,
        created: r.i64("created")?,
    })
}

fn mail(r: &impl Cols) -> Result<MailRow> {
    Ok(MailRow {
        user: rows::id(r, "user_id")?,
        domain: DomainId(rows::id(r, "domain_id")?),
        mail: r.string("mail")?,
        plan: r.string("plan")?,
        first_name: r.string("first_name")?,
        last_name: r.string("last_name")?,
        uid_extern: r.opt_string("uid_extern")?,
        fields: r.string("fields")?,
        capabilities: r.string("capabilities")?,
        created: r.i64("created")?,
    })
}

impl Store {
    // ---- API logins ----

    pub async fn insert_rpc_login(&self, row: &LoginRow) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(&format!("INSERT INTO rpc_logins ({LOGIN_COLS}) VALUES ($1,$2,$3,$4,$5)"))
                .bind(row.id.as_str())
                .bind(&row.name)
                .bind(&row.level)
                .bind(&row.password_hash)
                .bind(row.created)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "API login"))?;
        });
        Ok(())
    }

    pub async fn rpc_login_by_name(&self, name: &str) -> Result<Option<LoginRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {LOGIN_COLS} FROM rpc_logins WHERE name = $1"))
                .bind(name)
                .fetch_optional(db)
                .await?
                .map(|r| login(&r))
                .transpose()
        })
    }

    pub async fn rpc_login(&self, id: &LoginId) -> Result<Option<LoginRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {LOGIN_COLS} FROM rpc_logins WHERE id = $1"))
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| login(&r))
                .transpose()
        })
    }

    /// Every API login by name (there are few: they are made by hand).
    pub async fn list_rpc_logins(&self) -> Result<Vec<LoginRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {LOGIN_COLS} FROM rpc_logins ORDER BY name LIMIT 10000"))
                .fetch_all(db)
                .await?
                .iter()
                .map(login)
                .collect()
        })
    }

    pub async fn set_rpc_login_password(&self, name: &str, hash: &str) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("UPDATE rpc_logins SET password_hash = $1 WHERE name = $2")
                .bind(hash)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    /// Deletes a login and its sessions (its accounts stay, owned by no reseller).
    pub async fn delete_rpc_login(&self, name: &str) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM rpc_sessions WHERE principal IN (SELECT id FROM rpc_logins WHERE name = $1)")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM rpc_logins WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    // ---- accounts ----

    pub async fn insert_rpc_account(&self, row: &AccountRow) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(&format!("INSERT INTO rpc_accounts ({ACCOUNT_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"))
                .bind(row.id.as_str())
                .bind(&row.name)
                .bind(row.reseller.as_ref().map(|r| r.as_str().to_string()))
                .bind(&row.plan)
                .bind(&row.password_hash)
                .bind(&row.fields)
                .bind(&row.capabilities)
                .bind(row.created)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "account"))?;
        });
        Ok(())
    }

    pub async fn rpc_account_by_name(&self, name: &str) -> Result<Option<AccountRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {ACCOUNT_COLS} FROM rpc_accounts WHERE name = $1"))
                .bind(name)
                .fetch_optional(db)
                .await?
                .map(|r| account(&r))
                .transpose()
        })
    }

    pub async fn rpc_account(&self, id: &AccountId) -> Result<Option<AccountRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {ACCOUNT_COLS} FROM rpc_accounts WHERE id = $1"))
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| account(&r))
                .transpose()
        })
    }

    /// Accounts by name, those of `reseller` only when given, matching `query` (substring)
    /// when given; at most `limit`.
    pub async fn list_rpc_accounts(
        &self,
        reseller: Option<&LoginId>,
        query: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AccountRow>> {
        read!(self, db => {
            let sql = format!(
                "SELECT {ACCOUNT_COLS} FROM rpc_accounts WHERE ($1 = '' OR reseller_id = $1) \
                 AND ($2 = '' OR name LIKE $2 ESCAPE '\\') ORDER BY name LIMIT $3"
            );
            sqlx::query(&sql)
                .bind(reseller.map(|r| r.as_str()).unwrap_or(""))
                .bind(query.map(like_contains).unwrap_or_default())
                .bind(limit)
                .fetch_all(db)
                .await?
                .iter()
                .map(account)
                .collect()
        })
    }

    pub async fn update_rpc_account(&self, id: &AccountId, p: &AccountPatch) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE rpc_accounts SET plan = COALESCE($2, plan), password_hash = COALESCE($3, password_hash), \
                 fields = COALESCE($4, fields), capabilities = COALESCE($5, capabilities) WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(&p.plan)
            .bind(&p.password_hash)
            .bind(&p.fields)
            .bind(&p.capabilities)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        });
        Ok(found)
    }

    /// Deletes an account and its domains (their mail users must be gone: see `core`), and
    /// the sessions of both.
    pub async fn delete_rpc_account(&self, id: &AccountId) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM rpc_sessions WHERE principal = $1 OR principal IN (SELECT id FROM rpc_domains WHERE account_id = $1)")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM rpc_accounts WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    /// The users of every domain of the account.
    pub async fn rpc_account_users(&self, id: &AccountId) -> Result<Vec<ObjectId>> {
        read!(self, db => {
            sqlx::query("SELECT m.user_id FROM rpc_mail m JOIN rpc_domains d ON d.id = m.domain_id WHERE d.account_id = $1 ORDER BY m.user_id LIMIT 100000")
                .bind(id.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| rows::id(r, "user_id"))
                .collect()
        })
    }

    pub async fn count_rpc_domains(&self, account: &AccountId) -> Result<i64> {
        read!(self, db => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rpc_domains WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_one(db)
                .await?;
            Ok(n)
        })
    }

    pub async fn count_rpc_account_mails(&self, account: &AccountId) -> Result<i64> {
        read!(self, db => {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM rpc_mail m JOIN rpc_domains d ON d.id = m.domain_id WHERE d.account_id = $1 AND {LIVE}"))
                .bind(account.as_str())
                .fetch_one(db)
                .await?;
            Ok(n)
        })
    }

    // ---- domains ----

    pub async fn insert_rpc_domain(&self, row: &DomainRow) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(&format!("INSERT INTO rpc_domains ({DOMAIN_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7)"))
                .bind(row.id.as_str())
                .bind(&row.name)
                .bind(row.account.as_str())
                .bind(&row.password_hash)
                .bind(&row.memo)
                .bind(&row.capabilities)
                .bind(row.created)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "domain"))?;
        });
        Ok(())
    }

    pub async fn rpc_domain_by_name(&self, name: &str) -> Result<Option<DomainRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {DOMAIN_COLS} FROM rpc_domains WHERE name = $1"))
                .bind(name)
                .fetch_optional(db)
                .await?
                .map(|r| domain(&r))
                .transpose()
        })
    }

    pub async fn rpc_domain(&self, id: &DomainId) -> Result<Option<DomainRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {DOMAIN_COLS} FROM rpc_domains WHERE id = $1"))
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| domain(&r))
                .transpose()
        })
    }

    /// The account's domains by name with their number of mail users; `query` filters
    /// by substring; at most `limit`.
    pub async fn list_rpc_domains(
        &self,
        account: &AccountId,
        query: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(DomainRow, i64)>> {
        read!(self, db => {
            let sql = format!(
                "SELECT {DOMAIN_COLS}, (SELECT COUNT(*) FROM rpc_mail m WHERE m.domain_id = rpc_domains.id AND {LIVE}) AS count_mails \
                 FROM rpc_domains WHERE account_id = $1 AND ($2 = '' OR name LIKE $2 ESCAPE '\\') ORDER BY name LIMIT $3"
            );
            sqlx::query(&sql)
                .bind(account.as_str())
                .bind(query.map(like_contains).unwrap_or_default())
                .bind(limit)
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| Ok((domain(r)?, r.i64("count_mails")?)))
                .collect()
        })
    }

    /// Domains whose name contains `query`, of any account; at most `limit`.
    pub async fn search_rpc_domains(&self, query: &str, limit: i64) -> Result<Vec<DomainRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {DOMAIN_COLS} FROM rpc_domains WHERE name LIKE $1 ESCAPE '\\' ORDER BY name LIMIT $2"))
                .bind(like_contains(query))
                .bind(limit)
                .fetch_all(db)
                .await?
                .iter()
                .map(domain)
                .collect()
        })
    }

    pub async fn update_rpc_domain(
        &self,
        id: &DomainId,
        password_hash: Option<&str>,
        memo: Option<&str>,
        capabilities: Option<&str>,
    ) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE rpc_domains SET password_hash = COALESCE($2, password_hash), memo = COALESCE($3, memo), \
                 capabilities = COALESCE($4, capabilities) WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(password_hash)
            .bind(memo)
            .bind(capabilities)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        });
        Ok(found)
    }

    /// Deletes a domain without mail users, and its sessions.
    pub async fn delete_rpc_domain(&self, id: &DomainId) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM rpc_sessions WHERE principal = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM rpc_domains WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    pub async fn count_rpc_mails(&self, domain: &DomainId) -> Result<i64> {
        read!(self, db => {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM rpc_mail m WHERE m.domain_id = $1 AND {LIVE}"))
                .bind(domain.as_str())
                .fetch_one(db)
                .await?;
            Ok(n)
        })
    }

    // ---- mail users ----

    pub async fn insert_rpc_mail(&self, row: &MailRow) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("INSERT INTO rpc_mail (user_id, domain_id, mail, plan, first_name, last_name, uid_extern, fields, created) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")
                .bind(row.user.as_str())
                .bind(row.domain.as_str())
                .bind(&row.mail)
                .bind(&row.plan)
                .bind(&row.first_name)
                .bind(&row.last_name)
                .bind(&row.uid_extern)
                .bind(&row.fields)
                .bind(row.created)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "mail"))?;
        });
        Ok(())
    }

    pub async fn rpc_mail_by_address(&self, address: &str) -> Result<Option<MailRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {MAIL_COLS} FROM rpc_mail m WHERE m.mail = $1"))
                .bind(address)
                .fetch_optional(db)
                .await?
                .map(|r| mail(&r))
                .transpose()
        })
    }

    pub async fn rpc_mail(&self, user: &ObjectId) -> Result<Option<MailRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {MAIL_COLS} FROM rpc_mail m WHERE m.user_id = $1"))
                .bind(user.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| mail(&r))
                .transpose()
        })
    }

    /// The mail user of the account's domains with this external uid.
    pub async fn rpc_mail_by_uid_extern(
        &self,
        account: &AccountId,
        uid: &str,
    ) -> Result<Option<MailRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {MAIL_COLS} FROM rpc_mail m JOIN rpc_domains d ON d.id = m.domain_id WHERE d.account_id = $1 AND m.uid_extern = $2 AND {LIVE} ORDER BY m.mail LIMIT 1"))
                .bind(account.as_str())
                .bind(uid)
                .fetch_optional(db)
                .await?
                .map(|r| mail(&r))
                .transpose()
        })
    }

    /// One page of a domain's mail users.
    pub async fn list_rpc_mail(
        &self,
        domain: &DomainId,
        sort: MailSort,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<MailListRow>> {
        read!(self, db => {
            let dir = if descending { "DESC" } else { "ASC" };
            let order = format!("{} {dir}, m.mail {dir}", sort.column());
            // The page is cut from rpc_mail alone (on its index for the address order), so
            // that only its rows are joined with their users; the user's state is needed
            // for the cut only when it is the order.
            let sql = if sort == MailSort::Status {
                format!(
                    "SELECT {MAIL_COLS}, u.disabled FROM rpc_mail m JOIN users u ON u.id = m.user_id \
                     WHERE m.domain_id = $1 AND {LIVE} ORDER BY {order} LIMIT $2 OFFSET $3"
                )
            } else {
                format!(
                    "SELECT {MAIL_COLS}, u.disabled FROM (SELECT * FROM rpc_mail m WHERE m.domain_id = $1 AND {LIVE} \
                     ORDER BY {order} LIMIT $2 OFFSET $3) m JOIN users u ON u.id = m.user_id ORDER BY {order}"
                )
            };
            sqlx::query(&sql)
                .bind(domain.as_str())
                .bind(limit)
                .bind(offset)
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| Ok(MailListRow { mail: mail(r)?, disabled: r.boolean("disabled")? }))
                .collect()
        })
    }

    /// Mail users whose address contains `query`, of any domain; at most `limit`.
    pub async fn search_rpc_mail(&self, query: &str, limit: i64) -> Result<Vec<MailRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {MAIL_COLS} FROM rpc_mail m WHERE m.mail LIKE $1 ESCAPE '\\' AND {LIVE} ORDER BY m.mail LIMIT $2"))
                .bind(like_contains(query))
                .bind(limit)
                .fetch_all(db)
                .await?
                .iter()
                .map(mail)
                .collect()
        })
    }

    pub async fn update_rpc_mail(&self, user: &ObjectId, p: &MailPatch) -> Result<bool> {
        let found = write_tx!(self, tx => {
            let (set_uid, uid) = match &p.uid_extern {
                Some(v) => (true, v.clone()),
                None => (false, None),
            };
            sqlx::query(
                "UPDATE rpc_mail SET plan = COALESCE($2, plan), first_name = COALESCE($3, first_name), \
                 last_name = COALESCE($4, last_name), uid_extern = CASE WHEN $5 THEN $6 ELSE uid_extern END, \
                 fields = COALESCE($7, fields), capabilities = COALESCE($8, capabilities) WHERE user_id = $1",
            )
            .bind(user.as_str())
            .bind(&p.plan)
            .bind(&p.first_name)
            .bind(&p.last_name)
            .bind(set_uid)
            .bind(uid)
            .bind(&p.fields)
            .bind(&p.capabilities)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        });
        Ok(found)
    }

    // ---- sessions ----

    /// Stores a session (by its hash) and drops expired ones.
    pub async fn insert_rpc_session(
        &self,
        hash: &str,
        level: &str,
        principal: &str,
        now: Millis,
        expires: Millis,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM rpc_sessions WHERE expires <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO rpc_sessions (token_hash, level, principal, created, expires) VALUES ($1,$2,$3,$4,$5)")
                .bind(hash)
                .bind(level)
                .bind(principal)
                .bind(now)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// An unexpired session.
    pub async fn rpc_session(&self, hash: &str, now: Millis) -> Result<Option<SessionRow>> {
        read!(self, db => {
            sqlx::query("SELECT level, principal, expires FROM rpc_sessions WHERE token_hash = $1 AND expires > $2")
                .bind(hash)
                .bind(now)
                .fetch_optional(db)
                .await?
                .map(|r| Ok(SessionRow { level: r.string("level")?, principal: r.string("principal")?, expires: r.i64("expires")? }))
                .transpose()
        })
    }

    pub async fn touch_rpc_session(&self, hash: &str, expires: Millis) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE rpc_sessions SET expires = $2 WHERE token_hash = $1")
                .bind(hash)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    pub async fn delete_rpc_session(&self, hash: &str) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM rpc_sessions WHERE token_hash = $1")
                .bind(hash)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }
}

impl Store {
    /// The user an application password belongs to.
    pub async fn asp_owner(&self, asp: &ObjectId) -> Result<Option<ObjectId>> {
        read!(self, db => {
            sqlx::query("SELECT user_id FROM asps WHERE id = $1")
                .bind(asp.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| rows::id(&r, "user_id"))
                .transpose()
        })
    }
}

impl Store {
    // ---- mail users deleted with a grace period (migration 80) ----

    /// The domain's mail users deleted with a grace period, by address; at most `limit`.
    pub async fn list_deleted_rpc_mail(
        &self,
        domain: &DomainId,
        limit: i64,
    ) -> Result<Vec<DeletedMailRow>> {
        read!(self, db => {
            sqlx::query(
                "SELECT m.user_id, m.deleted_mail, u.deleted, u.delete_after FROM rpc_mail m JOIN users u ON u.id = m.user_id \
                 WHERE m.domain_id = $1 AND m.deleted_mail IS NOT NULL AND u.deleted IS NOT NULL \
                 ORDER BY m.deleted_mail, u.deleted LIMIT $2",
            )
            .bind(domain.as_str())
            .bind(limit)
            .fetch_all(db)
            .await?
            .iter()
            .map(|r| {
                Ok(DeletedMailRow {
                    user: rows::id(r, "user_id")?,
                    mail: r.string("deleted_mail")?,
                    deleted: r.i64("deleted")?,
                    delete_after: r.i64("delete_after")?,
                })
            })
            .collect()
        })
    }

    /// The users deleted with a grace period that had the address `mail` (normalised).
    pub async fn deleted_rpc_mail_users(&self, mail: &str) -> Result<Vec<(ObjectId, DomainId)>> {
        read!(self, db => {
            sqlx::query(
                "SELECT m.user_id, m.domain_id FROM rpc_mail m WHERE m.deleted_mail = $1 ORDER BY m.user_id LIMIT 1000",
            )
            .bind(mail)
            .fetch_all(db)
            .await?
            .iter()
            .map(|r| Ok((rows::id(r, "user_id")?, DomainId(rows::id(r, "domain_id")?))))
            .collect()
        })
    }

    /// Every mail user of the domain, live or deleted with a grace period (their rows keep
    /// the domain: it cannot go before them).
    pub async fn rpc_domain_users(&self, domain: &DomainId) -> Result<Vec<MailRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {MAIL_COLS} FROM rpc_mail m WHERE m.domain_id = $1 ORDER BY m.user_id LIMIT 100000"))
                .bind(domain.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(mail)
                .collect()
        })
    }

    // ---- spam protection (migration 80) ----

    /// The mail user's spam protection settings (JSON), if it has any.
    pub async fn rpc_spamprotect(&self, user: &ObjectId) -> Result<Option<String>> {
        read!(self, db => {
            sqlx::query("SELECT settings FROM rpc_spamprotect WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| r.string("settings"))
                .transpose()
        })
    }

    pub async fn put_rpc_spamprotect(&self, user: &ObjectId, settings: &str) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO rpc_spamprotect (user_id, settings) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings",
            )
            .bind(user.as_str())
            .bind(settings)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }
}
