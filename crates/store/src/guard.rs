//! Rows of the Guard key-management API: user session tokens, Guard `auth` tokens (the key
//! password sealed under a key only the client holds), OpenPGP key rings (one current per
//! user) and per-user Guard settings. Tokens are stored as SHA-256 hashes, never as issued.

use crate::db::{read, write_tx};
use crate::model::*;
use crate::rows::{self, Cols};
use crate::{Result, Store};

/// A stored key ring. The secret parts are armored and passphrase-protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRingRow {
    pub id: ObjectId,
    pub user: ObjectId,
    /// The primary key's 64-bit key ID, as a signed integer.
    pub key_id: i64,
    pub fingerprint: String,
    pub public_ring: String,
    /// Protected by the user's key password.
    pub private_ring: Option<String>,
    /// Protected by a passphrase derived from the server master key.
    pub recovery: Option<String>,
    pub current: bool,
    pub created: Millis,
    pub updated: Millis,
}

/// Per-user Guard settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardUserRow {
    pub secondary_email: Option<String>,
    pub language: Option<String>,
}

const KEYRING_COLS: &str = "id, user_id, key_id, fingerprint, public_ring, private_ring, recovery, is_current, created, updated";

fn keyring(r: &impl Cols) -> Result<KeyRingRow> {
    Ok(KeyRingRow {
        id: rows::id(r, "id")?,
        user: rows::id(r, "user_id")?,
        key_id: r.i64("key_id")?,
        fingerprint: r.string("fingerprint")?,
        public_ring: r.string("public_ring")?,
        private_ring: r.opt_string("private_ring")?,
        recovery: r.opt_string("recovery")?,
        current: r.boolean("is_current")?,
        created: r.i64("created")?,
        updated: r.i64("updated")?,
    })
}

impl Store {
    // ---- user session tokens ----

    /// Stores a session token (by its hash) and drops the user's expired ones.
    pub async fn insert_user_token(
        &self,
        hash: &str,
        user: &ObjectId,
        scope: &str,
        now: Millis,
        expires: Millis,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM user_tokens WHERE user_id = $1 AND expires <= $2")
                .bind(user.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO user_tokens (token_hash, user_id, scope, created, expires) VALUES ($1,$2,$3,$4,$5)")
                .bind(hash)
                .bind(user.as_str())
                .bind(scope)
                .bind(now)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// The user and scope of an unexpired session token.
    pub async fn user_token(&self, hash: &str, now: Millis) -> Result<Option<(ObjectId, String)>> {
        read!(self, db => {
            sqlx::query("SELECT user_id, scope FROM user_tokens WHERE token_hash = $1 AND expires > $2")
                .bind(hash)
                .bind(now)
                .fetch_optional(db)
                .await?
                .map(|r| Ok((rows::id(&r, "user_id")?, r.string("scope")?)))
                .transpose()
        })
    }

    /// Ends one session; false when there was none.
    pub async fn delete_user_token(&self, hash: &str) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM user_tokens WHERE token_hash = $1")
                .bind(hash)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    // ---- Guard auth tokens ----

    /// Stores a Guard auth token (by the hash of its id half) and drops the user's expired
    /// ones.
    pub async fn insert_guard_auth(
        &self,
        hash: &str,
        user: &ObjectId,
        sealed: &str,
        now: Millis,
        expires: Millis,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM guard_auth WHERE user_id = $1 AND expires <= $2")
                .bind(user.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO guard_auth (token_hash, user_id, sealed, created, expires) VALUES ($1,$2,$3,$4,$5)")
                .bind(hash)
                .bind(user.as_str())
                .bind(sealed)
                .bind(now)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// The sealed key password of an unexpired Guard auth token of `user`.
    pub async fn guard_auth(
        &self,
        hash: &str,
        user: &ObjectId,
        now: Millis,
    ) -> Result<Option<String>> {
        read!(self, db => {
            sqlx::query("SELECT sealed FROM guard_auth WHERE token_hash = $1 AND user_id = $2 AND expires > $3")
                .bind(hash)
                .bind(user.as_str())
                .bind(now)
                .fetch_optional(db)
                .await?
                .map(|r| r.string("sealed"))
                .transpose()
        })
    }

    /// Ends every Guard auth token of the user (its key password changed).
    pub async fn delete_guard_auth(&self, user: &ObjectId) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM guard_auth WHERE user_id = $1")
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    // ---- key rings ----

    /// The user's key rings, oldest first.
    pub async fn list_keyrings(&self, user: &ObjectId) -> Result<Vec<KeyRingRow>> {
        read!(self, db => {
            sqlx::query(&format!("SELECT {KEYRING_COLS} FROM guard_keyrings WHERE user_id = $1 ORDER BY created, id"))
                .bind(user.as_str())
                .fetch_all(db)
                .await?
                .iter()
                .map(keyring)
                .collect()
        })
    }

    /// One key ring by its key ID, or the current one when `key_id` is `None`.
    pub async fn keyring(
        &self,
        user: &ObjectId,
        key_id: Option<i64>,
    ) -> Result<Option<KeyRingRow>> {
        read!(self, db => {
            let sql = match key_id {
                Some(_) => format!("SELECT {KEYRING_COLS} FROM guard_keyrings WHERE user_id = $1 AND key_id = $2"),
                None => format!("SELECT {KEYRING_COLS} FROM guard_keyrings WHERE user_id = $1 AND is_current"),
            };
            let mut q = sqlx::query(&sql).bind(user.as_str());
            if let Some(k) = key_id {
                q = q.bind(k);
            }
            q.fetch_optional(db).await?.map(|r| keyring(&r)).transpose()
        })
    }

    /// Stores key rings: a ring whose fingerprint the user already has is replaced (its
    /// secret parts only when the new ring has them). With `make_current` the first ring
    /// becomes current; otherwise a user without a current ring gets the first one as
    /// current. False (nothing stored) when the user already has `max` rings.
    pub async fn put_keyrings(
        &self,
        rings: &[KeyRingRow],
        make_current: bool,
        max: i64,
    ) -> Result<bool> {
        let Some(first) = rings.first() else {
            return Ok(true);
        };
        let user = first.user.as_str();
        let stored = write_tx!(self, tx => {
            let n = sqlx::query("SELECT COUNT(*) AS n FROM guard_keyrings WHERE user_id = $1")
                .bind(user)
                .fetch_one(&mut *tx)
                .await?
                .i64("n")?;
            if n + rings.len() as i64 > max {
                false
            } else {
                let has_current = sqlx::query("SELECT COUNT(*) AS n FROM guard_keyrings WHERE user_id = $1 AND is_current")
                    .bind(user)
                    .fetch_one(&mut *tx)
                    .await?
                    .i64("n")?
                    > 0;
                if make_current {
                    sqlx::query("UPDATE guard_keyrings SET is_current = FALSE WHERE user_id = $1")
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                }
                for (i, r) in rings.iter().enumerate() {
                    let current = i == 0 && (make_current || !has_current);
                    sqlx::query("INSERT INTO guard_keyrings (id, user_id, key_id, fingerprint, public_ring, private_ring, recovery, is_current, created, updated) \
                        VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) \
                        ON CONFLICT (user_id, fingerprint) DO UPDATE SET public_ring = excluded.public_ring, \
                        private_ring = COALESCE(excluded.private_ring, guard_keyrings.private_ring), \
                        recovery = CASE WHEN excluded.private_ring IS NULL THEN guard_keyrings.recovery ELSE excluded.recovery END, \
                        is_current = guard_keyrings.is_current OR excluded.is_current, updated = excluded.updated")
                        .bind(r.id.as_str())
                        .bind(user)
                        .bind(r.key_id)
                        .bind(&r.fingerprint)
                        .bind(&r.public_ring)
                        .bind(&r.private_ring)
                        .bind(&r.recovery)
                        .bind(current)
                        .bind(r.created)
                        .bind(r.updated)
                        .execute(&mut *tx)
                        .await?;
                }
                true
            }
        });
        Ok(stored)
    }

    /// Replaces the secret parts of one ring (a new key password); false when it is gone.
    pub async fn update_keyring_secret(
        &self,
        user: &ObjectId,
        key_id: i64,
        private_ring: &str,
        recovery: Option<&str>,
        now: Millis,
    ) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("UPDATE guard_keyrings SET private_ring = $3, recovery = $4, updated = $5 WHERE user_id = $1 AND key_id = $2")
                .bind(user.as_str())
                .bind(key_id)
                .bind(private_ring)
                .bind(recovery)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    /// Deletes one ring; when it was current, the newest remaining one becomes current.
    /// False when there is no such ring.
    pub async fn delete_keyring(&self, user: &ObjectId, key_id: i64) -> Result<bool> {
        let found = write_tx!(self, tx => {
            let n = sqlx::query("DELETE FROM guard_keyrings WHERE user_id = $1 AND key_id = $2")
                .bind(user.as_str())
                .bind(key_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("UPDATE guard_keyrings SET is_current = TRUE WHERE id = \
                (SELECT id FROM guard_keyrings WHERE user_id = $1 ORDER BY created DESC, id DESC LIMIT 1) \
                AND NOT EXISTS (SELECT 1 FROM guard_keyrings WHERE user_id = $1 AND is_current)")
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
            n > 0
        });
        Ok(found)
    }

    /// Marks one ring current (and no other); false when there is no such ring.
    pub async fn set_current_keyring(&self, user: &ObjectId, key_id: i64) -> Result<bool> {
        let found = write_tx!(self, tx => {
            let exists = sqlx::query("SELECT COUNT(*) AS n FROM guard_keyrings WHERE user_id = $1 AND key_id = $2")
                .bind(user.as_str())
                .bind(key_id)
                .fetch_one(&mut *tx)
                .await?
                .i64("n")?
                > 0;
            if exists {
                sqlx::query("UPDATE guard_keyrings SET is_current = (key_id = $2) WHERE user_id = $1")
                    .bind(user.as_str())
                    .bind(key_id)
                    .execute(&mut *tx)
                    .await?;
            }
            exists
        });
        Ok(found)
    }

    // ---- per-user settings ----

    pub async fn guard_user(&self, user: &ObjectId) -> Result<GuardUserRow> {
        read!(self, db => {
            Ok(sqlx::query("SELECT secondary_email, language FROM guard_users WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| {
                    Ok::<_, crate::Error>(GuardUserRow {
                        secondary_email: r.opt_string("secondary_email")?,
                        language: r.opt_string("language")?,
                    })
                })
                .transpose()?
                .unwrap_or_default())
        })
    }

    /// Sets the secondary address (`Some(None)` clears it) and/or the language.
    pub async fn set_guard_user(
        &self,
        user: &ObjectId,
        secondary_email: Option<Option<&str>>,
        language: Option<&str>,
        now: Millis,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("INSERT INTO guard_users (user_id, updated) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
                .bind(user.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if let Some(email) = secondary_email {
                sqlx::query("UPDATE guard_users SET secondary_email = $2, updated = $3 WHERE user_id = $1")
                    .bind(user.as_str())
                    .bind(email)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(lang) = language {
                sqlx::query("UPDATE guard_users SET language = $2, updated = $3 WHERE user_id = $1")
                    .bind(user.as_str())
                    .bind(lang)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }
}
