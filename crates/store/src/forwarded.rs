//! Forwarded addresses (WildDuck's addresses without a user): the [`ForwardedAddresses`]
//! aggregate. Targets, autoreply and the metadata arrive checked and encoded by core; this
//! module keeps them, counts the 24 h forwards and remembers whom the autoreply answered.

use crate::db::{read, write_tx};
use crate::model::*;
use crate::rows::{self, Cols};
use crate::{Error, Result, Store, conflict};

/// The id of a forwarded address (24 hex, as every WildDuck id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ForwardedId(pub ObjectId);

impl ForwardedId {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Display for ForwardedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored forwarded address.
#[derive(Debug, Clone)]
pub struct ForwardedRecord {
    pub id: ForwardedId,
    /// As registered.
    pub address: String,
    /// Lookup form (unique together with `addresses.address_norm`).
    pub address_norm: String,
    pub name: String,
    pub targets: Vec<String>,
    /// Forwards allowed per 24 hours.
    pub forwards: i64,
    pub disabled: bool,
    /// The autoreply, JSON encoded by core.
    pub autoreply: String,
    pub tags: Vec<String>,
    /// JSON objects, encoded by core.
    pub meta_data: String,
    pub internal_data: String,
    pub created: Millis,
}

/// The 24 h forward counter of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardCount {
    pub used: i64,
    /// When the current window started (0: none yet).
    pub window_start: Millis,
}

const COLS: &str = "id, address, address_norm, name, targets, forwards, forwarded_disabled, autoreply, tags, meta_data, internal_data, created";

fn record(r: &impl Cols) -> Result<ForwardedRecord> {
    let targets: Vec<String> = serde_json::from_str(&r.string("targets")?)
        .map_err(|e| Error::Corrupt(format!("forwarded address targets: {e}")))?;
    Ok(ForwardedRecord {
        id: ForwardedId(rows::id(r, "id")?),
        address: r.string("address")?,
        address_norm: r.string("address_norm")?,
        name: r.string("name")?,
        targets,
        forwards: r.i64("forwards")?,
        disabled: r.boolean("forwarded_disabled")?,
        autoreply: r.string("autoreply")?,
        tags: r
            .string("tags")?
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        meta_data: r.string("meta_data")?,
        internal_data: r.string("internal_data")?,
        created: r.i64("created")?,
    })
}

fn targets_json(t: &[String]) -> String {
    serde_json::to_string(t).unwrap_or_else(|_| "[]".into())
}

/// What [`ForwardedAddresses::take_forwards`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardTake {
    pub allowed: bool,
    pub count: ForwardCount,
}

/// Persistence of forwarded addresses.
#[allow(async_fn_in_trait)]
pub trait ForwardedAddresses {
    /// Conflict ("This email address") when the address is taken by a user's or a
    /// forwarded address.
    async fn insert_forwarded(&self, r: &ForwardedRecord) -> Result<()>;
    async fn forwarded(&self, id: &ForwardedId) -> Result<Option<ForwardedRecord>>;
    /// The forwarded address of the first of `norms` that is one.
    async fn forwarded_by_norm(&self, norms: &[String]) -> Result<Option<ForwardedRecord>>;
    /// Writes every field but id and created; false when there is no such address. Conflict
    /// when a changed address is taken.
    async fn update_forwarded(&self, r: &ForwardedRecord) -> Result<bool>;
    async fn delete_forwarded(&self, id: &ForwardedId) -> Result<bool>;
    async fn forward_count(&self, id: &ForwardedId) -> Result<ForwardCount>;
    /// Counts `n` forwards when `used + n <= limit` within the window of `window_ms`
    /// starting at the first forward (a passed window starts over at `now`).
    async fn take_forwards(
        &self,
        id: &ForwardedId,
        n: i64,
        limit: i64,
        window_ms: i64,
        now: Millis,
    ) -> Result<ForwardTake>;
    /// Claims the right to answer `sender` now: false when answered within `interval_ms`.
    async fn claim_forwarded_autoreply(
        &self,
        id: &ForwardedId,
        sender: &str,
        now: Millis,
        interval_ms: i64,
    ) -> Result<bool>;
}

impl ForwardedAddresses for Store {
    async fn insert_forwarded(&self, r: &ForwardedRecord) -> Result<()> {
        write_tx!(self, tx => {
            let taken = sqlx::query("SELECT id FROM addresses WHERE address_norm = $1")
                .bind(&r.address_norm)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if taken {
                return Err(Error::Conflict("This email address".into()));
            }
            sqlx::query(&format!("INSERT INTO forwarded_addresses ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"))
                .bind(r.id.as_str())
                .bind(&r.address)
                .bind(&r.address_norm)
                .bind(&r.name)
                .bind(targets_json(&r.targets))
                .bind(r.forwards)
                .bind(r.disabled)
                .bind(&r.autoreply)
                .bind(r.tags.join(","))
                .bind(&r.meta_data)
                .bind(&r.internal_data)
                .bind(r.created)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "This email address"))?;
        });
        Ok(())
    }

    async fn forwarded(&self, id: &ForwardedId) -> Result<Option<ForwardedRecord>> {
        let sql = format!("SELECT {COLS} FROM forwarded_addresses WHERE id = $1");
        read!(self, db => {
            match sqlx::query(&sql).bind(id.as_str()).fetch_optional(db).await? {
                Some(r) => Ok(Some(record(&r)?)),
                None => Ok(None),
            }
        })
    }

    async fn forwarded_by_norm(&self, norms: &[String]) -> Result<Option<ForwardedRecord>> {
        if norms.is_empty() {
            return Ok(None);
        }
        let marks: Vec<String> = (1..=norms.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLS} FROM forwarded_addresses WHERE address_norm IN ({})",
            marks.join(",")
        );
        let found: Vec<ForwardedRecord> = read!(self, db => {
            let mut q = sqlx::query(&sql);
            for n in norms {
                q = q.bind(n);
            }
            q.fetch_all(db).await?.iter().map(record).collect::<Result<Vec<_>>>()?
        });
        Ok(norms
            .iter()
            .find_map(|n| found.iter().find(|r| &r.address_norm == n).cloned()))
    }

    async fn update_forwarded(&self, r: &ForwardedRecord) -> Result<bool> {
        let n = write_tx!(self, tx => {
            let taken = sqlx::query("SELECT id FROM addresses WHERE address_norm = $1")
                .bind(&r.address_norm)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if taken {
                return Err(Error::Conflict("This email address".into()));
            }
            sqlx::query(
                "UPDATE forwarded_addresses SET address = $2, address_norm = $3, name = $4, targets = $5, \
                 forwards = $6, forwarded_disabled = $7, autoreply = $8, tags = $9, meta_data = $10, \
                 internal_data = $11 WHERE id = $1",
            )
            .bind(r.id.as_str())
            .bind(&r.address)
            .bind(&r.address_norm)
            .bind(&r.name)
            .bind(targets_json(&r.targets))
            .bind(r.forwards)
            .bind(r.disabled)
            .bind(&r.autoreply)
            .bind(r.tags.join(","))
            .bind(&r.meta_data)
            .bind(&r.internal_data)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "This email address"))?
            .rows_affected()
        });
        Ok(n > 0)
    }

    async fn delete_forwarded(&self, id: &ForwardedId) -> Result<bool> {
        let n = write_tx!(self, tx => {
            sqlx::query("DELETE FROM forwarded_addresses WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    async fn forward_count(&self, id: &ForwardedId) -> Result<ForwardCount> {
        read!(self, db => {
            let row = sqlx::query("SELECT forward_used, forward_window_start FROM forwarded_addresses WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(db)
                .await?;
            match row {
                Some(r) => Ok(ForwardCount { used: r.i64("forward_used")?, window_start: r.i64("forward_window_start")? }),
                None => Ok(ForwardCount { used: 0, window_start: 0 }),
            }
        })
    }

    async fn take_forwards(
        &self,
        id: &ForwardedId,
        n: i64,
        limit: i64,
        window_ms: i64,
        now: Millis,
    ) -> Result<ForwardTake> {
        let take = write_tx!(self, tx => {
            let row = sqlx::query("SELECT forward_used, forward_window_start FROM forwarded_addresses WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let (mut used, mut start) = match row {
                Some(r) => (r.i64("forward_used")?, r.i64("forward_window_start")?),
                None => (0, 0),
            };
            if start == 0 || start.saturating_add(window_ms) <= now {
                used = 0;
                start = now;
            }
            let allowed = used.saturating_add(n) <= limit;
            if allowed {
                used += n;
                sqlx::query("UPDATE forwarded_addresses SET forward_used = $2, forward_window_start = $3 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(used)
                    .bind(start)
                    .execute(&mut *tx)
                    .await?;
            }
            ForwardTake { allowed, count: ForwardCount { used, window_start: start } }
        });
        Ok(take)
    }

    async fn claim_forwarded_autoreply(
        &self,
        id: &ForwardedId,
        sender: &str,
        now: Millis,
        interval_ms: i64,
    ) -> Result<bool> {
        let claimed = write_tx!(self, tx => {
            sqlx::query_scalar::<_, i64>("INSERT INTO forwarded_autoreply_sent (address_id, sender, sent) VALUES ($1, $2, $3) \
                ON CONFLICT (address_id, sender) DO UPDATE SET sent = excluded.sent WHERE forwarded_autoreply_sent.sent <= $4 RETURNING sent")
                .bind(id.as_str())
                .bind(sender)
                .bind(now)
                .bind(now - interval_ms)
                .fetch_optional(&mut *tx)
                .await?
                .is_some()
        });
        Ok(claimed)
    }
}
