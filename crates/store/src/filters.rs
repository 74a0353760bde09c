//! A user's message filters, stored in creation order (`seq`), and the queue of
//! `action_targetUrl` uploads that the background worker drains.

use crate::db::{KeysetPage, Seek, fetch_keyset, read, write_tx};
use crate::model::ObjectId;
use crate::rows::{self, Cols};
use crate::{Result, Store};
use sqlx::Row;

/// One stored filter. `None` in a query or action field means "not used".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterRecord {
    pub id: ObjectId,
    pub user: ObjectId,
    pub name: Option<String>,
    pub query_from: Option<String>,
    pub query_to: Option<String>,
    pub query_subject: Option<String>,
    pub query_text: Option<String>,
    pub query_ha: Option<bool>,
    /// Positive: larger than; negative: smaller than (bytes).
    pub query_size: Option<i64>,
    pub action_seen: Option<bool>,
    pub action_flag: Option<bool>,
    pub action_delete: Option<bool>,
    pub action_spam: Option<bool>,
    pub action_mailbox: Option<ObjectId>,
    pub action_forward: Option<String>,
    pub action_target_url: Option<String>,
    /// Partial match on the List-ID: header.
    pub query_list_id: Option<String>,
    /// More forwarding targets: addresses and http(s) upload URLs (today's `action.targets`).
    pub action_targets: Vec<String>,
    /// The client's own object, as JSON text.
    pub meta_data: Option<String>,
    pub disabled: bool,
    /// Unix milliseconds.
    pub created: i64,
}

const FILTER_COLS: &str = "id, user_id, name, query_from, query_to, query_subject, query_text, query_ha, \
    query_size, action_seen, action_flag, action_delete, action_spam, action_mailbox, action_forward, \
    action_target_url, disabled, created, query_list_id, action_targets, meta_data";

/// Binds the columns of [`FILTER_COLS`] in order, `$1` to `$21`.
macro_rules! bind_filter {
    ($q:expr, $f:expr) => {{
        let f: &FilterRecord = $f;
        $q.bind(f.id.as_str())
            .bind(f.user.as_str())
            .bind(f.name.as_deref())
            .bind(f.query_from.as_deref())
            .bind(f.query_to.as_deref())
            .bind(f.query_subject.as_deref())
            .bind(f.query_text.as_deref())
            .bind(f.query_ha)
            .bind(f.query_size)
            .bind(f.action_seen)
            .bind(f.action_flag)
            .bind(f.action_delete)
            .bind(f.action_spam)
            .bind(f.action_mailbox.as_ref().map(ObjectId::as_str))
            .bind(f.action_forward.as_deref())
            .bind(f.action_target_url.as_deref())
            .bind(f.disabled)
            .bind(f.created)
            .bind(f.query_list_id.as_deref())
            .bind(targets_json(&f.action_targets))
            .bind(f.meta_data.as_deref())
    }};
}

fn targets_json(targets: &[String]) -> Option<String> {
    if targets.is_empty() {
        None
    } else {
        serde_json::to_string(targets).ok()
    }
}

fn targets_of(json: Option<String>) -> Result<Vec<String>> {
    match json {
        None => Ok(Vec::new()),
        Some(j) => serde_json::from_str(&j)
            .map_err(|e| crate::Error::Corrupt(format!("filter targets: {e}"))),
    }
}

/// Nullable booleans, which [`Cols`] does not cover.
trait OptBool {
    fn opt_bool(&self, c: &str) -> Result<Option<bool>>;
}

impl OptBool for sqlx::sqlite::SqliteRow {
    fn opt_bool(&self, c: &str) -> Result<Option<bool>> {
        Ok(self.try_get(c)?)
    }
}

impl OptBool for sqlx::postgres::PgRow {
    fn opt_bool(&self, c: &str) -> Result<Option<bool>> {
        Ok(self.try_get(c)?)
    }
}

fn filter(r: &(impl Cols + OptBool)) -> Result<FilterRecord> {
    Ok(FilterRecord {
        id: rows::id(r, "id")?,
        user: rows::id(r, "user_id")?,
        name: r.opt_string("name")?,
        query_from: r.opt_string("query_from")?,
        query_to: r.opt_string("query_to")?,
        query_subject: r.opt_string("query_subject")?,
        query_text: r.opt_string("query_text")?,
        query_ha: r.opt_bool("query_ha")?,
        query_size: r.opt_i64("query_size")?,
        action_seen: r.opt_bool("action_seen")?,
        action_flag: r.opt_bool("action_flag")?,
        action_delete: r.opt_bool("action_delete")?,
        action_spam: r.opt_bool("action_spam")?,
        action_mailbox: r.opt_string("action_mailbox")?.map(ObjectId::from_stored),
        action_forward: r.opt_string("action_forward")?,
        action_target_url: r.opt_string("action_target_url")?,
        query_list_id: r.opt_string("query_list_id")?,
        action_targets: targets_of(r.opt_string("action_targets")?)?,
        meta_data: r.opt_string("meta_data")?,
        disabled: r.boolean("disabled")?,
        created: r.i64("created")?,
    })
}

/// A due `action_targetUrl` upload claimed by a worker.
#[derive(Debug, Clone)]
pub struct UploadJob {
    pub id: i64,
    pub user: ObjectId,
    pub url: String,
    pub raw: Vec<u8>,
    /// Attempts made before this one.
    pub attempts: i64,
}

impl Store {
    /// The user's filters in creation order (disabled ones included).
    pub async fn list_filters(&self, user: &ObjectId) -> Result<Vec<FilterRecord>> {
        let sql = format!("SELECT {FILTER_COLS} FROM filters WHERE user_id = $1 ORDER BY seq");
        read!(self, db => {
            sqlx::query(&sql).bind(user.as_str()).fetch_all(db).await?.iter().map(filter).collect()
        })
    }

    pub async fn get_filter(&self, user: &ObjectId, id: &ObjectId) -> Result<Option<FilterRecord>> {
        let sql = format!("SELECT {FILTER_COLS} FROM filters WHERE id = $1 AND user_id = $2");
        read!(self, db => {
            let row = sqlx::query(&sql).bind(id.as_str()).bind(user.as_str()).fetch_optional(db).await?;
            row.map(|r| filter(&r)).transpose()
        })
    }

    /// Inserts a filter unless the user already has `max` filters. `Ok(None)`: no such user;
    /// `Ok(Some(false))`: the limit is reached.
    pub async fn insert_filter(&self, f: &FilterRecord, max: i64) -> Result<Option<bool>> {
        let out = write_tx!(self, tx => {
            let exists = sqlx::query("SELECT id FROM users WHERE id = $1")
                .bind(f.user.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !exists {
                None
            } else {
                let n = sqlx::query("SELECT COUNT(*) AS n FROM filters WHERE user_id = $1")
                    .bind(f.user.as_str())
                    .fetch_one(&mut *tx)
                    .await?
                    .i64("n")?;
                if n >= max {
                    Some(false)
                } else {
                    let sql = format!(
                        "INSERT INTO filters ({FILTER_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)"
                    );
                    bind_filter!(sqlx::query(&sql), f)
                    .execute(&mut *tx)
                    .await?;
                    Some(true)
                }
            }
        });
        Ok(out)
    }

    /// Replaces every field of the filter `f.id` of `f.user` (but `created`). False when not found.
    pub async fn update_filter(&self, f: &FilterRecord) -> Result<bool> {
        let ok = write_tx!(self, tx => {
            bind_filter!(
                sqlx::query(
                    "UPDATE filters SET name = $3, query_from = $4, query_to = $5, query_subject = $6, query_text = $7, \
                     query_ha = $8, query_size = $9, action_seen = $10, action_flag = $11, action_delete = $12, \
                     action_spam = $13, action_mailbox = $14, action_forward = $15, action_target_url = $16, \
                     disabled = $17, query_list_id = $19, action_targets = $20, meta_data = $21 \
                     WHERE id = $1 AND user_id = $2 AND created = $18",
                ),
                f
            )
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
        });
        Ok(ok)
    }

    /// Every user's filters by id (`GET /filters`): `limit` rows from `seek`; with
    /// `forward_like` (a LIKE pattern on lower-case text) only those forwarding to a matching
    /// address or URL.
    pub async fn list_all_filters(
        &self,
        forward_like: Option<&str>,
        seek: &Seek<String>,
        limit: i64,
    ) -> Result<(i64, Vec<FilterRecord>)> {
        let (conds, binds) = match forward_like {
            Some(l) => (
                vec![
                    "(LOWER(action_forward) LIKE $1 ESCAPE '\\' OR LOWER(action_target_url) LIKE $1 ESCAPE '\\' \
                     OR LOWER(action_targets) LIKE $1 ESCAPE '\\')"
                        .to_string(),
                ],
                vec![l.to_string()],
            ),
            None => (Vec::new(), Vec::new()),
        };
        let page = KeysetPage::new("filters", FILTER_COLS, "id", conds, binds, seek, limit);
        fetch_keyset!(self, page, filter)
    }

    pub async fn delete_filter(&self, user: &ObjectId, id: &ObjectId) -> Result<bool> {
        let ok = write_tx!(self, tx => {
            sqlx::query("DELETE FROM filters WHERE id = $1 AND user_id = $2")
                .bind(id.as_str())
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0
        });
        Ok(ok)
    }

    // ---- the action_targetUrl upload queue ----

    /// Queues an upload unless `max_pending` uploads are already waiting. False when full.
    pub async fn enqueue_upload(
        &self,
        user: &ObjectId,
        url: &str,
        raw: &[u8],
        max_pending: i64,
    ) -> Result<bool> {
        let now = crate::now_ms();
        let ok = write_tx!(self, tx => {
            let n = sqlx::query("SELECT COUNT(*) AS n FROM upload_queue")
                .fetch_one(&mut *tx)
                .await?
                .i64("n")?;
            if n >= max_pending {
                false
            } else {
                sqlx::query("INSERT INTO upload_queue (user_id, url, raw, attempts, next_attempt, created) VALUES ($1,$2,$3,0,$4,$4)")
                    .bind(user.as_str())
                    .bind(url)
                    .bind(raw)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                true
            }
        });
        Ok(ok)
    }

    /// Claims up to `limit` due uploads: each gets its next attempt moved to `lease_until`
    /// (so that another worker, or this one after a crash, retries it only then) and its
    /// attempt count raised.
    pub async fn claim_uploads(&self, limit: i64, lease_until: i64) -> Result<Vec<UploadJob>> {
        let now = crate::now_ms();
        let due: Vec<i64> = read!(self, db => {
            sqlx::query("SELECT id FROM upload_queue WHERE next_attempt <= $1 ORDER BY next_attempt, id LIMIT $2")
                .bind(now)
                .bind(limit)
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| r.i64("id"))
                .collect::<Result<_>>()?
        });
        let mut jobs = Vec::with_capacity(due.len());
        for id in due {
            let job = write_tx!(self, tx => {
                let row = sqlx::query(
                    "UPDATE upload_queue SET next_attempt = $2, attempts = attempts + 1 \
                     WHERE id = $1 AND next_attempt <= $3 RETURNING user_id, url, raw, attempts",
                )
                .bind(id)
                .bind(lease_until)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                match row {
                    None => None,
                    Some(r) => Some(UploadJob {
                        id,
                        user: rows::id(&r, "user_id")?,
                        url: r.string("url")?,
                        raw: r.try_get::<Vec<u8>, _>("raw")?,
                        attempts: r.i64("attempts")? - 1,
                    }),
                }
            });
            jobs.extend(job);
        }
        Ok(jobs)
    }

    /// The upload is done (or given up): removes it.
    pub async fn finish_upload(&self, id: i64) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("DELETE FROM upload_queue WHERE id = $1").bind(id).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The upload failed: retry at `next_attempt`.
    pub async fn retry_upload(&self, id: i64, next_attempt: i64, error: &str) -> Result<()> {
        write_tx!(self, tx => {
            sqlx::query("UPDATE upload_queue SET next_attempt = $2, last_error = $3 WHERE id = $1")
                .bind(id)
                .bind(next_attempt)
                .bind(error)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Uploads waiting (due or not).
    pub async fn pending_uploads(&self) -> Result<i64> {
        read!(self, db => {
            sqlx::query("SELECT COUNT(*) AS n FROM upload_queue").fetch_one(db).await?.i64("n")
        })
    }
}
