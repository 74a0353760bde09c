//! The two engines and the macros that run one piece of SQL code on either.

use crate::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone)]
pub enum Engine {
    /// SQLite allows one writer: `write` has a single connection, `read` several.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

/// Keyset position for paged listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seek<K> {
    First,
    After(K),
    Before(K),
}

impl Engine {
    pub async fn connect(data_dir: &Path, url: Option<&str>) -> Result<Engine> {
        match url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                let opts = PgConnectOptions::from_str(u)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await?;
                Ok(Engine::Postgres(pool))
            }
            Some(u) if u.starts_with("sqlite:") => {
                Self::sqlite(SqliteConnectOptions::from_str(u)?).await
            }
            Some(u) => Err(Error::BadUrl(u.to_string())),
            None => {
                Self::sqlite(SqliteConnectOptions::new().filename(data_dir.join("sealpost.db")))
                    .await
            }
        }
    }

    async fn sqlite(opts: SqliteConnectOptions) -> Result<Engine> {
        // WAL with synchronous=FULL: a commit is on stable storage when it returns, which is
        // what acknowledging a message requires (NORMAL could lose the last commits on power
        // loss). Group commit in core keeps this from costing one fsync per message.
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-16384")
            .pragma("temp_store", "memory");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts.read_only(true))
            .await?;
        Ok(Engine::Sqlite { write, read })
    }
}

/// Runs `$body` with `$db` bound to a reading executor of either engine.
macro_rules! read {
    ($store:expr, $db:ident => $body:expr) => {
        match &$store.db {
            $crate::db::Engine::Sqlite { read: $db, .. } => $body,
            $crate::db::Engine::Postgres($db) => $body,
        }
    };
}

/// Runs `$body` inside one write transaction of either engine and commits it.
/// `$tx` is the transaction; use `&mut *$tx` as the executor. `?` in the body rolls back.
macro_rules! write_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.db {
            $crate::db::Engine::Sqlite { write, .. } => {
                let mut $tx = write.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::db::Engine::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// Full-text search differs by engine: `$sqlite` or `$pg` is chosen.
macro_rules! by_engine {
    ($store:expr, sqlite => $a:expr, postgres => $b:expr) => {
        match &$store.db {
            $crate::db::Engine::Sqlite { .. } => $a,
            $crate::db::Engine::Postgres(_) => $b,
        }
    };
}

pub(crate) use {by_engine, read, write_tx};
