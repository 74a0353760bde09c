//! Account security rows: application specific passwords, the TOTP seed and its last used
//! step, and the authentication log (with its expiry).

use crate::db::{Seek, read, write_tx};
use crate::model::*;
use crate::rows::{self, Cols};
use crate::{Result, Store};

/// An application specific password as listed (never its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AspRecord {
    pub id: ObjectId,
    pub description: String,
    /// "imap", "pop3", "smtp" or "*".
    pub scopes: Vec<String>,
    pub created: Millis,
    pub last_use: Option<Millis>,
    /// The authentication log entry of the last login with it.
    pub last_event: Option<ObjectId>,
    /// Seconds a temporary password lives past each use; `None` for a lasting one.
    pub ttl: Option<i64>,
    /// When a temporary password stops working.
    pub expires: Option<Millis>,
}

/// A password to check against: id, scopes, Argon2 hash and its lifetime.
#[derive(Debug, Clone)]
pub struct AspCandidate {
    pub id: ObjectId,
    pub scopes: Vec<String>,
    pub hash: String,
    pub ttl: Option<i64>,
}

/// A new application specific password to store.
#[derive(Debug, Clone)]
pub struct NewAsp {
    pub id: ObjectId,
    pub user: ObjectId,
    pub description: String,
    pub scopes: Vec<String>,
    pub lookup: String,
    pub hash: String,
    pub created: Millis,
    pub ttl: Option<i64>,
    pub expires: Option<Millis>,
}

/// A user's TOTP state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpState {
    pub seed: String,
    pub enabled: bool,
    pub last_step: i64,
}

/// One authentication log entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthLogEntry {
    /// Store order (the paging key); 0 for a new entry.
    pub seq: i64,
    pub id: ObjectId,
    pub user: ObjectId,
    pub action: String,
    /// "success" or "fail".
    pub result: String,
    pub protocol: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
    pub asp: Option<ObjectId>,
    pub scope: Option<String>,
    pub created: Millis,
}

/// Filters of an authentication log listing (exact matches).
#[derive(Debug, Clone, Default)]
pub struct AuthLogFilter {
    pub action: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
    /// Only entries created at or after this (older ones have expired).
    pub since: Millis,
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

const AUTHLOG_COLS: &str =
    "seq, id, user_id, action, result, protocol, sess, ip, asp, scope, created";

fn authlog_entry(r: &impl Cols) -> Result<AuthLogEntry> {
    Ok(AuthLogEntry {
        seq: r.i64("seq")?,
        id: rows::id(r, "id")?,
        user: rows::id(r, "user_id")?,
        action: r.string("action")?,
        result: r.string("result")?,
        protocol: r.opt_string("protocol")?,
        sess: r.opt_string("sess")?,
        ip: r.opt_string("ip")?,
        asp: r.opt_string("asp")?.map(ObjectId::from_stored),
        scope: r.opt_string("scope")?,
        created: r.i64("created")?,
    })
}

fn asp_record(r: &impl Cols) -> Result<AspRecord> {
    Ok(AspRecord {
        id: rows::id(r, "id")?,
        description: r.string("description")?,
        scopes: split_scopes(&r.string("scopes")?),
        created: r.i64("created")?,
        last_use: r.opt_i64("last_use")?,
        last_event: r.opt_string("last_event")?.map(ObjectId::from_stored),
        ttl: r.opt_i64("ttl")?,
        expires: r.opt_i64("expires")?,
    })
}

impl Store {
    // ---- application specific passwords ----

    /// Stores a new password unless the user already has `max` of them; false when full.
    pub async fn insert_asp(&self, asp: &NewAsp, max: i64) -> Result<bool> {
        let stored = write_tx!(self, tx => {
            let n = sqlx::query("SELECT COUNT(*) AS n FROM asps WHERE user_id = $1")
                .bind(asp.user.as_str())
                .fetch_one(&mut *tx)
                .await?
                .i64("n")?;
            if n >= max {
                false
            } else {
                sqlx::query("INSERT INTO asps (id, user_id, description, scopes, lookup, password, created, ttl, expires) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")
                    .bind(asp.id.as_str())
                    .bind(asp.user.as_str())
                    .bind(&asp.description)
                    .bind(asp.scopes.join(","))
                    .bind(&asp.lookup)
                    .bind(&asp.hash)
                    .bind(asp.created)
                    .bind(asp.ttl)
                    .bind(asp.expires)
                    .execute(&mut *tx)
                    .await?;
                true
            }
        });
        Ok(stored)
    }

    /// The user's passwords, expired temporary ones left out.
    pub async fn list_asps(&self, user: &ObjectId, now: Millis) -> Result<Vec<AspRecord>> {
        read!(self, db => {
            sqlx::query("SELECT id, description, scopes, created, last_use, last_event, ttl, expires FROM asps WHERE user_id = $1 AND (expires IS NULL OR expires > $2) ORDER BY id")
                .bind(user.as_str())
                .bind(now)
                .fetch_all(db)
                .await?
                .iter()
                .map(asp_record)
                .collect()
        })
    }

    /// One of the user's passwords, unless it has expired.
    pub async fn get_asp(
        &self,
        user: &ObjectId,
        id: &ObjectId,
        now: Millis,
    ) -> Result<Option<AspRecord>> {
        read!(self, db => {
            sqlx::query("SELECT id, description, scopes, created, last_use, last_event, ttl, expires FROM asps WHERE id = $1 AND user_id = $2 AND (expires IS NULL OR expires > $3)")
                .bind(id.as_str())
                .bind(user.as_str())
                .bind(now)
                .fetch_optional(db)
                .await?
                .as_ref()
                .map(asp_record)
                .transpose()
        })
    }

    /// The user's passwords whose lookup key is `lookup`.
    pub async fn asp_candidates(
        &self,
        user: &ObjectId,
        lookup: &str,
        now: Millis,
    ) -> Result<Vec<AspCandidate>> {
        read!(self, db => {
            sqlx::query("SELECT id, scopes, password, ttl FROM asps WHERE user_id = $1 AND lookup = $2 AND (expires IS NULL OR expires > $3) ORDER BY id LIMIT 100")
                .bind(user.as_str())
                .bind(lookup)
                .bind(now)
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| {
                    Ok(AspCandidate {
                        id: rows::id(r, "id")?,
                        scopes: split_scopes(&r.string("scopes")?),
                        hash: r.string("password")?,
                        ttl: r.opt_i64("ttl")?,
                    })
                })
                .collect()
        })
    }

    /// Records a login with the password: when, its log entry, and a temporary password's
    /// new expiry.
    pub async fn touch_asp(
        &self,
        id: &ObjectId,
        when: Millis,
        event: &ObjectId,
        expires: Option<Millis>,
    ) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE asps SET last_use = $2, last_event = $3, expires = COALESCE($4, expires) WHERE id = $1")
                .bind(id.as_str())
                .bind(when)
                .bind(event.as_str())
                .bind(expires)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// False when the user has no such password.
    pub async fn delete_asp(&self, user: &ObjectId, id: &ObjectId) -> Result<bool> {
        let found = write_tx!(self, tx => {
            sqlx::query("DELETE FROM asps WHERE id = $1 AND user_id = $2")
                .bind(id.as_str())
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(found)
    }

    // ---- TOTP ----

    pub async fn totp_state(&self, user: &ObjectId) -> Result<Option<TotpState>> {
        read!(self, db => {
            let row = sqlx::query("SELECT seed, enabled, last_step FROM user_totp WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_optional(db)
                .await?;
            row.map(|r| {
                Ok(TotpState {
                    seed: r.string("seed")?,
                    enabled: r.boolean("enabled")?,
                    last_step: r.i64("last_step")?,
                })
            })
            .transpose()
        })
    }

    /// Stores a new (not yet enabled) seed, replacing a pending one; false when TOTP is
    /// already enabled.
    pub async fn set_totp_seed(&self, user: &ObjectId, seed: &str) -> Result<bool> {
        let done = write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO user_totp (user_id, seed, enabled, last_step, created) VALUES ($1, $2, FALSE, 0, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET seed = excluded.seed, last_step = 0, created = excluded.created \
                 WHERE NOT user_totp.enabled",
            )
            .bind(user.as_str())
            .bind(seed)
            .bind(crate::now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        });
        Ok(done)
    }

    /// Takes TOTP step `step` as used (and enables TOTP when `enable`), unless a step at or
    /// after it was used already: the compare-and-set that makes a token single-use.
    pub async fn use_totp_step(&self, user: &ObjectId, step: i64, enable: bool) -> Result<bool> {
        let sql = if enable {
            "UPDATE user_totp SET last_step = $2, enabled = TRUE WHERE user_id = $1 AND NOT enabled AND last_step < $2"
        } else {
            "UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND enabled AND last_step < $2"
        };
        let done = write_tx!(self, tx => {
            sqlx::query(sql)
                .bind(user.as_str())
                .bind(step)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(done)
    }

    /// Removes the TOTP seed; true when there was one.
    pub async fn delete_totp(&self, user: &ObjectId) -> Result<bool> {
        let done = write_tx!(self, tx => {
            sqlx::query("DELETE FROM user_totp WHERE user_id = $1")
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(done)
    }

    // ---- authentication log ----

    /// Writes entries in one transaction; entries of users that no longer exist are dropped.
    pub async fn insert_authlog(&self, entries: &[AuthLogEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        write_tx!(self, tx => {
            for e in entries {
                sqlx::query(
                    "INSERT INTO authlog (id, user_id, action, result, protocol, sess, ip, asp, scope, created) \
                     SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10 WHERE EXISTS (SELECT 1 FROM users WHERE id = $2)",
                )
                .bind(e.id.as_str())
                .bind(e.user.as_str())
                .bind(&e.action)
                .bind(&e.result)
                .bind(&e.protocol)
                .bind(&e.sess)
                .bind(&e.ip)
                .bind(e.asp.as_ref().map(ObjectId::as_str))
                .bind(&e.scope)
                .bind(e.created)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    /// Counts and lists the user's entries matching `filter`, newest first, `limit` rows
    /// from `seek` (keys are `seq`).
    pub async fn list_authlog(
        &self,
        user: &ObjectId,
        filter: &AuthLogFilter,
        seek: &Seek<i64>,
        limit: i64,
    ) -> Result<(i64, Vec<AuthLogEntry>)> {
        let mut conds = vec!["user_id = $1".to_string(), "created >= $2".to_string()];
        let mut binds: Vec<String> = Vec::new();
        for (col, v) in [
            ("action", &filter.action),
            ("sess", &filter.sess),
            ("ip", &filter.ip),
        ] {
            if let Some(v) = v {
                binds.push(v.clone());
                conds.push(format!("{col} = ${}", binds.len() + 2));
            }
        }
        let where_all = conds.join(" AND ");
        let (seek_cond, dir, key) = match seek {
            Seek::First => (String::new(), "DESC", None),
            Seek::After(k) => (format!(" AND seq < ${}", binds.len() + 3), "DESC", Some(*k)),
            Seek::Before(k) => (format!(" AND seq > ${}", binds.len() + 3), "ASC", Some(*k)),
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM authlog WHERE {where_all}");
        let list_sql = format!(
            "SELECT {AUTHLOG_COLS} FROM authlog WHERE {where_all}{seek_cond} ORDER BY seq {dir} LIMIT {}",
            limit.max(1)
        );
        read!(self, db => {
            let mut q = sqlx::query(&count_sql).bind(user.as_str()).bind(filter.since);
            for b in &binds {
                q = q.bind(b);
            }
            let total = q.fetch_one(db).await?.i64("n")?;
            let mut q = sqlx::query(&list_sql).bind(user.as_str()).bind(filter.since);
            for b in &binds {
                q = q.bind(b);
            }
            if let Some(k) = key {
                q = q.bind(k);
            }
            let list = q.fetch_all(db).await?.iter().map(authlog_entry).collect::<Result<Vec<_>>>()?;
            Ok((total, list))
        })
    }

    /// One of the user's entries, unless older than `since`.
    pub async fn get_authlog(
        &self,
        user: &ObjectId,
        id: &ObjectId,
        since: Millis,
    ) -> Result<Option<AuthLogEntry>> {
        let sql = format!(
            "SELECT {AUTHLOG_COLS} FROM authlog WHERE id = $1 AND user_id = $2 AND created >= $3"
        );
        read!(self, db => {
            sqlx::query(&sql)
                .bind(id.as_str())
                .bind(user.as_str())
                .bind(since)
                .fetch_optional(db)
                .await?
                .as_ref()
                .map(authlog_entry)
                .transpose()
        })
    }

    /// Deletes at most `limit` temporary application passwords expired before `now`.
    pub async fn purge_expired_asps(&self, now: Millis, limit: i64) -> Result<u64> {
        let sql = format!(
            "DELETE FROM asps WHERE id IN (SELECT id FROM asps WHERE expires IS NOT NULL AND expires <= $1 LIMIT {})",
            limit.max(1)
        );
        let n = write_tx!(self, tx => {
            sqlx::query(&sql).bind(now).execute(&mut *tx).await?.rows_affected()
        });
        Ok(n)
    }

    /// Deletes at most `limit` entries created before `before`; returns how many.
    pub async fn purge_authlog(&self, before: Millis, limit: i64) -> Result<u64> {
        let sql = format!(
            "DELETE FROM authlog WHERE seq IN (SELECT seq FROM authlog WHERE created < $1 ORDER BY created LIMIT {})",
            limit.max(1)
        );
        let n = write_tx!(self, tx => {
            sqlx::query(&sql).bind(before).execute(&mut *tx).await?.rows_affected()
        });
        Ok(n)
    }
}
