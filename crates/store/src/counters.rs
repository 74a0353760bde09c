//! Per-user rate counters over a time window (the 24 h `forwards` limit of a user).

use crate::db::{read, write_tx};
use crate::model::*;
use crate::rows::Cols;
use crate::{Result, Store};

/// A counter's state: how much was used in the current window and when it ends
/// (`None` when no window is running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterState {
    pub used: i64,
    pub resets: Option<Millis>,
}

/// The result of [`Store::take_counter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterTake {
    /// False when taking `n` would have gone over the limit (nothing was taken).
    pub allowed: bool,
    pub state: CounterState,
}

impl Store {
    /// Adds `n` to the counter `kind` of `user` if that keeps it within `limit` in the
    /// current window of `window_ms` (a window starts at the first use after the last one
    /// ended). Atomic: the row is locked for the transaction on PostgreSQL, SQLite has one
    /// writer.
    pub async fn take_counter(
        &self,
        user: &ObjectId,
        kind: &str,
        n: i64,
        limit: i64,
        window_ms: i64,
        now: Millis,
    ) -> Result<CounterTake> {
        let out = write_tx!(self, tx => {
            // Start (or restart) the window; on PostgreSQL this also locks the row.
            let (start, used): (i64, i64) = sqlx::query_as(
                "INSERT INTO rate_counters (user_id, kind, window_start, used) VALUES ($1, $2, $3, 0) \
                 ON CONFLICT (user_id, kind) DO UPDATE SET \
                 used = CASE WHEN rate_counters.window_start + $4 <= $3 THEN 0 ELSE rate_counters.used END, \
                 window_start = CASE WHEN rate_counters.window_start + $4 <= $3 THEN $3 ELSE rate_counters.window_start END \
                 RETURNING window_start, used")
                .bind(user.as_str())
                .bind(kind)
                .bind(now)
                .bind(window_ms)
                .fetch_one(&mut *tx)
                .await?;
            let allowed = used.saturating_add(n) <= limit;
            let used = if allowed {
                sqlx::query("UPDATE rate_counters SET used = used + $3 WHERE user_id = $1 AND kind = $2")
                    .bind(user.as_str())
                    .bind(kind)
                    .bind(n)
                    .execute(&mut *tx)
                    .await?;
                used + n
            } else {
                used
            };
            CounterTake {
                allowed,
                state: CounterState {
                    used,
                    resets: Some(start + window_ms),
                },
            }
        });
        Ok(out)
    }

    /// The counter's current state (zero when its window has passed).
    pub async fn counter(
        &self,
        user: &ObjectId,
        kind: &str,
        window_ms: i64,
        now: Millis,
    ) -> Result<CounterState> {
        let row = read!(self, db => {
            sqlx::query("SELECT window_start, used FROM rate_counters WHERE user_id = $1 AND kind = $2")
                .bind(user.as_str())
                .bind(kind)
                .fetch_optional(db)
                .await?
                .map(|r| -> Result<(i64, i64)> { Ok((r.i64("window_start")?, r.i64("used")?)) })
        });
        Ok(match row.transpose()? {
            Some((start, used)) if start + window_ms > now => CounterState {
                used,
                resets: Some(start + window_ms),
            },
            _ => CounterState {
                used: 0,
                resets: None,
            },
        })
    }
}
