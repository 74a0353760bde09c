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
        /// Reading connections of our own for [`crate::direct`] (long-lived, so their
        /// prepared statements are kept).
        readers: std::sync::Arc<crate::direct::Readers>,
        /// The writing connection of our own for [`crate::direct`]; its lock is the turn to
        /// write for `write` too.
        writer: std::sync::Arc<crate::direct::Writer>,
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
        // The writer checkpoints only when the checkpointer falls far behind.
        // No ping before each acquire: each would be one more round trip to the connection's
        // thread per query (a broken local file connection shows on the query itself).
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(
                opts.clone()
                    .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES),
            )
            .await?;
        let checkpoint = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(opts.clone())
            .await?;
        spawn_checkpointer(checkpoint);
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(60))
            // Pages through a memory map, as `crate::direct::Readers` (see there).
            .connect_with(
                opts.clone()
                    .read_only(true)
                    .pragma("mmap_size", crate::direct::MMAP_SIZE),
            )
            .await?;
        let readers =
            std::sync::Arc::new(crate::direct::Readers::open(opts.get_filename(), READERS)?);
        let writer = std::sync::Arc::new(crate::direct::Writer::open(opts.get_filename())?);
        Ok(Engine::Sqlite {
            write,
            read,
            readers,
            writer,
        })
    }
}

/// Reading connections of [`crate::direct::Readers`].
const READERS: usize = 8;

/// WAL pages after which the writer connection checkpoints by itself (SQLite's default is
/// 1,000): normally the checkpointer has copied them long before.
pub(crate) const WRITER_CHECKPOINT_PAGES: &str = "16384";
/// How often the checkpointer copies committed WAL pages into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Checkpoints the WAL from a connection of its own (`PASSIVE`: it never waits for readers
/// or the writer). Otherwise the one writer connection copies the pages and syncs the
/// database file every 1,000 pages, inside a commit that every queued delivery waits for.
/// Commits stay durable either way: a commit is synced in the WAL before it returns.
fn spawn_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() {
            tick.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
}

/// Runs `$body` with `$db` bound to a reading executor of either engine.
/// The SQL of one keyset page: rows of `table` matching `conds` (which refer to `binds` by
/// position), ordered by the unique `key`, `limit` rows after or before `seek`, and the count
/// of every row matching `conds`. Every listing paged by a key is built here.
pub(crate) struct KeysetPage {
    pub count_sql: String,
    pub list_sql: String,
    pub binds: Vec<String>,
    /// The first `count_binds` binds are those of the count.
    pub count_binds: usize,
}

impl KeysetPage {
    pub(crate) fn new(
        table: &str,
        cols: &str,
        key: &str,
        mut conds: Vec<String>,
        mut binds: Vec<String>,
        seek: &Seek<String>,
        limit: i64,
    ) -> KeysetPage {
        let count_binds = binds.len();
        let filter = |conds: &[String]| {
            if conds.is_empty() {
                "1=1".to_string()
            } else {
                conds.join(" AND ")
            }
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {}", filter(&conds));
        let dir = match seek {
            Seek::First => "ASC",
            Seek::After(k) => {
                binds.push(k.clone());
                conds.push(format!("{key} > ${}", binds.len()));
                "ASC"
            }
            Seek::Before(k) => {
                binds.push(k.clone());
                conds.push(format!("{key} < ${}", binds.len()));
                "DESC"
            }
        };
        let list_sql = format!(
            "SELECT {cols} FROM {table} WHERE {} ORDER BY {key} {dir} LIMIT {}",
            filter(&conds),
            limit.max(1)
        );
        KeysetPage {
            count_sql,
            list_sql,
            binds,
            count_binds,
        }
    }
}

/// Runs a [`KeysetPage`] on either engine: `Ok((total, rows))`, each row made by `$map`
/// (a function generic over the engine's row type, as the `rows` module's are).
macro_rules! fetch_keyset {
    ($store:expr, $page:expr, $map:expr) => {{
        let page: &$crate::db::KeysetPage = &$page;
        $crate::db::read!($store, db => {
            let mut q = sqlx::query(&page.count_sql);
            for b in &page.binds[..page.count_binds] {
                q = q.bind(b);
            }
            let total = $crate::rows::Cols::i64(&q.fetch_one(db).await?, "n")?;
            let mut q = sqlx::query(&page.list_sql);
            for b in &page.binds {
                q = q.bind(b);
            }
            let list = q
                .fetch_all(db)
                .await?
                .iter()
                .map($map)
                .collect::<$crate::Result<Vec<_>>>()?;
            Ok((total, list))
        })
    }};
}

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
            $crate::db::Engine::Sqlite { write, writer, .. } => {
                // The turn to write, shared with `crate::direct`'s writer connection.
                let _turn = writer.turn().await;
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

/// PostgreSQL (nothing on SQLite): in a `write_tx!` transaction `$tx`, locks the rows of
/// `$table` whose ids `$ids` (`&str`s) names, in id order; see [`pg_lock_sql`].
macro_rules! pg_lock {
    ($store:expr, $tx:ident, $table:expr, $ids:expr) => {
        if let $crate::db::Engine::Postgres(_) = &$store.db {
            let mut ids: Vec<&str> = $ids.into_iter().collect();
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(500) {
                let sql = $crate::db::pg_lock_sql($table, chunk.len());
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(&mut *$tx).await?;
            }
        }
    };
}

pub(crate) use {by_engine, fetch_keyset, pg_lock, read, write_tx};

/// PostgreSQL: locks rows of `table` (`users` or `mailboxes`) by id, in id order.
///
/// Every write transaction takes its row locks in one order: the user rows it will change,
/// then the mailbox rows, each by id, then message rows. Two transactions that lock in
/// opposite orders wait on each other until PostgreSQL's deadlock check (one second) fails
/// one of them: under a mixed IMAP load (APPEND locking the user for its quota, then the
/// mailbox; a flag STORE holding the mailbox while its journal row's foreign key check
/// waited on the user) that was most APPENDs (bench/imap_compare.sh on PostgreSQL, 2026-11-24).
/// `FOR NO KEY UPDATE`, not `FOR UPDATE`: foreign key checks (`FOR KEY SHARE`) of other
/// transactions inserting rows that refer to the locked one need not wait.
pub(crate) fn pg_lock_sql(table: &str, n: usize) -> String {
    format!(
        "SELECT id FROM {table} WHERE id IN ({}) ORDER BY id FOR NO KEY UPDATE",
        crate::insert::list(1, n)
    )
}
