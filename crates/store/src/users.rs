//! Users and their tags.

use crate::db::{KeysetPage, Seek, by_engine, fetch_keyset, read, write_tx};
use crate::model::*;
use crate::rows::{self, Cols, USER_COLS};
use crate::{Result, Store, conflict};

/// A user row to insert, with its main address and default mailboxes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewUserRow {
    pub user: UserRecord,
    pub password_hash: Option<String>,
    /// (id, address as given, normalised address)
    pub address: Option<(ObjectId, String, String)>,
    /// (path, special use)
    pub mailboxes: Vec<(String, Option<String>)>,
}

/// Changes to a user; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<Option<String>>,
    pub password_hash: Option<String>,
    pub require_password_change: Option<bool>,
    pub quota_allowed: Option<i64>,
    pub retention: Option<i64>,
    pub language: Option<String>,
    pub recipients: Option<i64>,
    pub forwards: Option<i64>,
    pub tags: Option<Vec<String>>,
    pub pub_key: Option<String>,
    pub encrypt_messages: Option<bool>,
    pub encrypt_forwarded: Option<bool>,
    pub disabled: Option<bool>,
    pub suspended: Option<bool>,
    pub disabled_scopes: Option<Vec<String>>,
    pub from_whitelist: Option<Vec<String>>,
    pub profile: Option<UserProfile>,
}

fn profile_json(p: &UserProfile) -> Result<String> {
    serde_json::to_string(p).map_err(|e| crate::Error::Corrupt(format!("user profile: {e}")))
}

/// Filter for listing users.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Lower-cased substring of the username or any address.
    pub query: Option<String>,
    pub any_tags: Vec<String>,
    pub all_tags: Vec<String>,
}

impl Store {
    pub async fn insert_user(&self, new: &NewUserRow) -> Result<()> {
        let u = &new.user;
        write_tx!(self, tx => {
            sqlx::query(&format!(
                "INSERT INTO users ({USER_COLS}, username_norm) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24)"
            ))
            .bind(u.id.as_str())
            .bind(&u.username)
            .bind(&u.name)
            .bind(&new.password_hash)
            .bind(&u.address)
            .bind(&u.language)
            .bind(u.quota_allowed)
            .bind(0i64)
            .bind(u.retention)
            .bind(u.recipients)
            .bind(u.forwards)
            .bind(u.tags.join(","))
            .bind(u.encrypt_messages)
            .bind(u.encrypt_forwarded)
            .bind(&u.pub_key)
            .bind(u.activated)
            .bind(u.disabled)
            .bind(u.suspended)
            .bind(u.require_password_change)
            .bind(u.created)
            .bind(u.disabled_scopes.join(","))
            .bind(u.from_whitelist.join(","))
            .bind(profile_json(&u.profile)?)
            .bind(u.username.to_lowercase())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "This username already exists"))?;
            for tag in &u.tags {
                sqlx::query("INSERT INTO user_tags (user_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(u.id.as_str())
                    .bind(tag)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some((aid, address, norm)) = &new.address {
                sqlx::query("INSERT INTO addresses (id, user_id, address, address_norm, main, created) VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(aid.as_str())
                    .bind(u.id.as_str())
                    .bind(address)
                    .bind(norm)
                    .bind(true)
                    .bind(u.created)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, "This address already exists"))?;
            }
            for (i, (path, special)) in new.mailboxes.iter().enumerate() {
                let mid = ObjectId::new();
                sqlx::query("INSERT INTO mailboxes (id, user_id, path, special_use, subscribed, uid_validity, uid_next, modseq, retention, created) VALUES ($1,$2,$3,$4,$5,$6,1,0,$7,$8)")
                    .bind(mid.as_str())
                    .bind(u.id.as_str())
                    .bind(path)
                    .bind(special)
                    .bind(true)
                    .bind(u.created / 1000 + i as i64)
                    .bind(mailbox_retention(special.as_deref(), u.retention))
                    .bind(u.created)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, "Mailbox already exists"))?;
            }
        });
        Ok(())
    }

    pub async fn get_user(&self, id: &ObjectId) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1 AND deleted IS NULL");
        self.read_optional(&sql, &[id.as_str().into()], |r| rows::user(r))
            .await
    }

    /// The user's id and password hash, by username or by any address (normalised).
    pub async fn find_login(
        &self,
        username_norm: &str,
        address_norm: &str,
    ) -> Result<Option<(ObjectId, Option<String>)>> {
        read!(self, db => {
            let row = sqlx::query(
                "SELECT id, password FROM users WHERE username_norm = $1 \
                 UNION ALL SELECT u.id, u.password FROM addresses a JOIN users u ON u.id = a.user_id WHERE a.address_norm = $2 LIMIT 1",
            )
            .bind(username_norm)
            .bind(address_norm)
            .fetch_optional(db)
            .await?;
            row.map(|r| Ok((rows::id(&r, "id")?, r.opt_string("password")?))).transpose()
        })
    }

    /// Sets the password hash to `new` if it still is `old`; false when it changed meanwhile.
    pub async fn replace_password_hash(
        &self,
        id: &ObjectId,
        old: Option<&str>,
        new: &str,
    ) -> Result<bool> {
        let done = write_tx!(self, tx => {
            sqlx::query("UPDATE users SET password = $3 WHERE id = $1 AND password = $2")
                .bind(id.as_str())
                .bind(old)
                .bind(new)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(done)
    }

    pub async fn password_hash(&self, id: &ObjectId) -> Result<Option<Option<String>>> {
        read!(self, db => {
            let row = sqlx::query("SELECT password FROM users WHERE id = $1").bind(id.as_str()).fetch_optional(db).await?;
            row.map(|r| r.opt_string("password")).transpose()
        })
    }

    /// Counts and lists users matching `filter`, ordered by id, `limit` rows from `seek`.
    pub async fn list_users(
        &self,
        filter: &UserFilter,
        seek: &Seek<String>,
        limit: i64,
    ) -> Result<(i64, Vec<UserRecord>)> {
        let mut conds: Vec<String> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(q) = &filter.query {
            binds.push(crate::mailboxes::like_contains(q));
            let n = binds.len();
            conds.push(format!(
                "(username_norm LIKE ${n} ESCAPE '\\' OR id IN (SELECT user_id FROM addresses WHERE address_norm LIKE ${n} ESCAPE '\\'))"
            ));
        }
        if !filter.any_tags.is_empty() {
            let mut ps = Vec::new();
            for t in &filter.any_tags {
                binds.push(t.clone());
                ps.push(format!("${}", binds.len()));
            }
            conds.push(format!(
                "id IN (SELECT user_id FROM user_tags WHERE tag IN ({}))",
                ps.join(",")
            ));
        }
        for t in &filter.all_tags {
            binds.push(t.clone());
            conds.push(format!(
                "id IN (SELECT user_id FROM user_tags WHERE tag = ${})",
                binds.len()
            ));
        }
        conds.push("deleted IS NULL".to_string());
        let page = KeysetPage::new("users", USER_COLS, "id", conds, binds, seek, limit);
        fetch_keyset!(self, page, rows::user)
    }

    /// Applies `patch`; false when the user does not exist.
    pub async fn update_user(&self, id: &ObjectId, patch: &UserPatch) -> Result<bool> {
        let mut sets: Vec<String> = Vec::new();
        macro_rules! set {
            ($col:literal, $v:expr) => {
                if $v.is_some() {
                    sets.push(format!("{} = ${}", $col, sets.len() + 2));
                }
            };
        }
        set!("name", patch.name);
        set!("password", patch.password_hash);
        set!("require_password_change", patch.require_password_change);
        set!("quota_allowed", patch.quota_allowed);
        set!("retention", patch.retention);
        set!("language", patch.language);
        set!("recipients", patch.recipients);
        set!("forwards", patch.forwards);
        set!("tags", patch.tags);
        set!("pub_key", patch.pub_key);
        set!("encrypt_messages", patch.encrypt_messages);
        set!("encrypt_forwarded", patch.encrypt_forwarded);
        set!("disabled", patch.disabled);
        set!("suspended", patch.suspended);
        set!("disabled_scopes", patch.disabled_scopes);
        set!("from_whitelist", patch.from_whitelist);
        set!("profile", patch.profile);
        if sets.is_empty() {
            return Ok(self.get_user(id).await?.is_some());
        }
        let sql = format!(
            "UPDATE users SET {} WHERE id = $1 AND deleted IS NULL",
            sets.join(", ")
        );
        let found = write_tx!(self, tx => {
            let mut q = sqlx::query(&sql).bind(id.as_str());
            if let Some(v) = &patch.name { q = q.bind(v.clone()); }
            if let Some(v) = &patch.password_hash { q = q.bind(v.clone()); }
            if let Some(v) = patch.require_password_change { q = q.bind(v); }
            if let Some(v) = patch.quota_allowed { q = q.bind(v); }
            if let Some(v) = patch.retention { q = q.bind(v); }
            if let Some(v) = &patch.language { q = q.bind(v.clone()); }
            if let Some(v) = patch.recipients { q = q.bind(v); }
            if let Some(v) = patch.forwards { q = q.bind(v); }
            if let Some(v) = &patch.tags { q = q.bind(v.join(",")); }
            if let Some(v) = &patch.pub_key { q = q.bind(v.clone()); }
            if let Some(v) = patch.encrypt_messages { q = q.bind(v); }
            if let Some(v) = patch.encrypt_forwarded { q = q.bind(v); }
            if let Some(v) = patch.disabled { q = q.bind(v); }
            if let Some(v) = patch.suspended { q = q.bind(v); }
            if let Some(v) = &patch.disabled_scopes { q = q.bind(v.join(",")); }
            if let Some(v) = &patch.from_whitelist { q = q.bind(v.join(",")); }
            if let Some(v) = &patch.profile { q = q.bind(profile_json(v)?); }
            let found = q.execute(&mut *tx).await?.rows_affected() > 0;
            if found && let Some(tags) = &patch.tags {
                    sqlx::query("DELETE FROM user_tags WHERE user_id = $1").bind(id.as_str()).execute(&mut *tx).await?;
                    for tag in tags {
                        sqlx::query("INSERT INTO user_tags (user_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                            .bind(id.as_str())
                            .bind(tag)
                            .execute(&mut *tx)
                            .await?;
                    }
            }
            found
        });
        Ok(found)
    }

    /// Deletes a user and everything it owns; releases its blobs. False when not found.
    pub async fn delete_user(&self, id: &ObjectId) -> Result<bool> {
        let found = write_tx!(self, tx => {
            // Messages and archived messages each hold a reference.
            for table in ["messages", "archived"] {
                sqlx::query(&format!(
                    "UPDATE blobs SET refcount = refcount - c.n FROM \
                     (SELECT blob, COUNT(*) AS n FROM {table} WHERE user_id = $1 GROUP BY blob) AS c WHERE blobs.hash = c.blob"
                ))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            }
            by_engine!(self,
                sqlite => {
                    sqlx::query("DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE user_id = $1)")
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await?;
                },
                postgres => ()
            );
            sqlx::query("DELETE FROM messages WHERE user_id = $1").bind(id.as_str()).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM users WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?.rows_affected() > 0
        });
        Ok(found)
    }

    /// Recomputes storage used from the messages; returns it.
    pub async fn recalculate_quota(&self, id: &ObjectId) -> Result<Option<i64>> {
        let used = write_tx!(self, tx => {
            let row = sqlx::query(
                "UPDATE users SET storage_used = (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM messages WHERE user_id = $1) \
                 WHERE id = $1 RETURNING storage_used",
            )
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            row.map(|r| r.i64("storage_used")).transpose()?
        });
        Ok(used)
    }
}

/// Trash and Junk keep messages at most 30 days; other mailboxes use the user's retention.
pub fn mailbox_retention(special_use: Option<&str>, user_retention: i64) -> i64 {
    const THIRTY_DAYS: i64 = 30 * 24 * 3600 * 1000;
    match special_use {
        Some("\\Trash") | Some("\\Junk") => {
            if user_retention > 0 {
                user_retention.min(THIRTY_DAYS)
            } else {
                THIRTY_DAYS
            }
        }
        _ => user_retention.max(0),
    }
}

/// When a message arriving now (`now`) in a mailbox is due for deletion by retention, if
/// ever: retention runs from the arrival in the mailbox (as WildDuck's `rdate`), so a
/// message moved, copied or restored into a mailbox starts afresh there, and changing a
/// mailbox's retention applies to messages that arrive after the change. Trash and Junk
/// are capped at 30 days ([`mailbox_retention`] applied to the mailbox's own setting).
pub fn retention_deadline(
    special_use: Option<&str>,
    retention: i64,
    now: Millis,
) -> Option<Millis> {
    let r = mailbox_retention(special_use, retention);
    (r > 0).then(|| now.saturating_add(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_runs_from_arrival_and_trash_is_capped() {
        const DAY: i64 = 24 * 3600 * 1000;
        let now = 1_000_000;
        assert_eq!(retention_deadline(None, 0, now), None);
        assert_eq!(retention_deadline(None, 5, now), Some(now + 5));
        assert_eq!(
            retention_deadline(None, 90 * DAY, now),
            Some(now + 90 * DAY)
        );
        for special in ["\\Trash", "\\Junk"] {
            assert_eq!(
                retention_deadline(Some(special), 0, now),
                Some(now + 30 * DAY)
            );
            assert_eq!(
                retention_deadline(Some(special), 90 * DAY, now),
                Some(now + 30 * DAY)
            );
            assert_eq!(retention_deadline(Some(special), 5, now), Some(now + 5));
        }
        assert_eq!(retention_deadline(Some("\\Sent"), 0, now), None);
    }
}
