//! One operation on one connection, written once for both engines, without a thread
//! hand-off per statement and per row on SQLite.
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement is a message to
//! that thread, every result row a message back, and returning the connection to the pool
//! one more; each message wakes a thread. Under the IMAP load of `bench/` those wake-ups
//! and context switches took a third of the server's CPU (perf, 2026-11-24), more than
//! SQLite itself. A [`Tx`] borrows the SQLite connection's handle once (`lock_handle`) and
//! runs every statement of the operation on it in place, through rusqlite (the same SQLite
//! library, `libsqlite3-sys`, that sqlx links). On PostgreSQL a [`Tx`] is an sqlx
//! transaction, so the code using it is the same for both engines, `$1`-style placeholders
//! included.
//!
//! On SQLite the statements run on the calling task's thread. They are the short, indexed
//! ones of the hot paths (a mailbox's changes, a page of records, a flag change, a batch of
//! inserts), answered from SQLite's page cache in microseconds, as a read from an in-memory
//! index would be.

use crate::db::Engine;
use crate::rows::Cols;
use crate::{Error, Result, Store};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqlitePool;

/// One bound value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Int(i64),
    /// A boolean column: an integer to SQLite, a `boolean` to PostgreSQL (which refuses a
    /// `bigint` there).
    Bool(bool),
    Text(&'a str),
    Blob(&'a [u8]),
    Null,
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Blob(v)
    }
}
impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

fn lite_error(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    {
        return Error::Conflict(e.to_string());
    }
    Error::Corrupt(format!("sqlite: {e}"))
}

/// A result row of either engine.
pub(crate) enum Row<'a, 'r> {
    Lite(&'a rusqlite::Row<'r>),
    Pg(&'a PgRow),
}

macro_rules! col {
    ($self:ident, $c:ident) => {
        match $self {
            Row::Lite(r) => r.get($c).map_err(lite_error),
            Row::Pg(r) => Ok(sqlx::Row::try_get(*r, $c)?),
        }
    };
}

impl Row<'_, '_> {
    /// A text column borrowed from the row, without a copy (SQLite: from its own buffer).
    pub(crate) fn str(&self, c: &str) -> Result<&str> {
        match self {
            Row::Lite(r) => r
                .get_ref(c)
                .map_err(lite_error)?
                .as_str()
                .map_err(|e| Error::Corrupt(format!("sqlite: column {c}: {e}"))),
            Row::Pg(r) => Ok(sqlx::Row::try_get(*r, c)?),
        }
    }
}

impl Cols for Row<'_, '_> {
    fn i64(&self, c: &str) -> Result<i64> {
        col!(self, c)
    }
    fn opt_i64(&self, c: &str) -> Result<Option<i64>> {
        col!(self, c)
    }
    fn string(&self, c: &str) -> Result<String> {
        col!(self, c)
    }
    fn opt_string(&self, c: &str) -> Result<Option<String>> {
        col!(self, c)
    }
    fn boolean(&self, c: &str) -> Result<bool> {
        col!(self, c)
    }
}

/// A borrowed SQLite connection.
pub(crate) struct Lite(rusqlite::Connection);

// SAFETY: a `Lite` lives inside one `Tx`, used through `&mut` by one task at a time, while
// sqlx's thread for that connection waits on the locked handle; SQLite connections may be
// used from any thread as long as not from two at once.
unsafe impl Send for Lite {}
unsafe impl Sync for Lite {}

impl Lite {
    fn prepare(&self, sql: &str, args: &[Arg<'_>]) -> Result<rusqlite::CachedStatement<'_>> {
        let mut stmt = self.0.prepare_cached(sql).map_err(lite_error)?;
        // `$n` is a named parameter to SQLite, numbered in order of first appearance: bind
        // each by its name, so that a statement may use `$2` before `$1`, or `$1` twice.
        for i in 1..=stmt.parameter_count() {
            let n = stmt
                .parameter_name(i)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| Error::Corrupt(format!("parameter {i} of {sql:?} is not $n")))?;
            let arg = args
                .get(n.wrapping_sub(1))
                .ok_or_else(|| Error::Corrupt(format!("no value for ${n} in {sql:?}")))?;
            let bound = match *arg {
                Arg::Int(v) => stmt.raw_bind_parameter(i, v),
                Arg::Bool(v) => stmt.raw_bind_parameter(i, i64::from(v)),
                Arg::Text(v) => stmt.raw_bind_parameter(i, v),
                Arg::Blob(v) => stmt.raw_bind_parameter(i, v),
                Arg::Null => stmt.raw_bind_parameter(i, rusqlite::types::Null),
            };
            bound.map_err(lite_error)?;
        }
        Ok(stmt)
    }
}

fn pg_query<'q>(
    sql: &'q str,
    args: &[Arg<'q>],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match *a {
            Arg::Int(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Blob(v) => q.bind(v),
            Arg::Null => q.bind(None::<i64>),
        };
    }
    q
}

/// One connection for the length of an operation: a transaction ([`Store::write`]) or a
/// run of reads ([`Store::read`]).
pub(crate) enum Tx<'c> {
    Lite(Lite),
    Pg(&'c mut sqlx::PgConnection),
}

impl Tx<'_> {
    /// Runs SQL text without parameters (SQLite only: transaction control).
    fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Tx::Lite(c) => c.0.execute_batch(sql).map_err(lite_error),
            Tx::Pg(_) => Ok(()),
        }
    }

    /// Every row of `sql`, each mapped by `map`.
    pub(crate) async fn all<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        mut map: impl FnMut(&Row<'_, '_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Tx::Lite(c) => {
                let mut stmt = c.prepare(sql, args)?;
                let mut rows = stmt.raw_query();
                let mut out = Vec::new();
                while let Some(r) = rows.next().map_err(lite_error)? {
                    out.push(map(&Row::Lite(r))?);
                }
                Ok(out)
            }
            Tx::Pg(c) => pg_query(sql, args)
                .fetch_all(&mut **c)
                .await?
                .iter()
                .map(|r| map(&Row::Pg(r)))
                .collect(),
        }
    }

    /// The first row of `sql`, if any.
    pub(crate) async fn optional<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnOnce(&Row<'_, '_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Tx::Lite(c) => {
                let mut stmt = c.prepare(sql, args)?;
                let mut rows = stmt.raw_query();
                match rows.next().map_err(lite_error)? {
                    Some(r) => Ok(Some(map(&Row::Lite(r))?)),
                    None => Ok(None),
                }
            }
            Tx::Pg(c) => match pg_query(sql, args).fetch_optional(&mut **c).await? {
                Some(r) => Ok(Some(map(&Row::Pg(&r))?)),
                None => Ok(None),
            },
        }
    }

    /// The first row of `sql`; none is an error (the statement always returns one).
    pub(crate) async fn one<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnOnce(&Row<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        self.optional(sql, args, map)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("no row from {sql:?}")))
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub(crate) async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        match self {
            Tx::Lite(c) => {
                let mut stmt = c.prepare(sql, args)?;
                Ok(stmt.raw_execute().map_err(lite_error)? as u64)
            }
            Tx::Pg(c) => Ok(pg_query(sql, args).execute(&mut **c).await?.rows_affected()),
        }
    }
}

/// Runs `f` with a [`Tx::Lite`] on one connection of `pool`, its handle locked throughout.
/// With `begin`, `f` runs in that transaction, committed when it returns `Ok`.
async fn lite<T>(
    pool: &SqlitePool,
    begin: Option<&str>,
    f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>,
) -> Result<T> {
    let mut conn = pool.acquire().await?;
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked for us: sqlx's thread for this connection waits until
    // `handle` is dropped, after `tx`. `from_handle` does not take ownership: dropping the
    // rusqlite connection finalizes the statements it prepared and leaves the database open.
    let c = unsafe { rusqlite::Connection::from_handle(handle.as_raw_handle().as_ptr()) }
        .map_err(lite_error)?;
    let mut tx = Tx::Lite(Lite(c));
    let out = match begin {
        None => f(&mut tx).await,
        Some(begin) => match tx.batch(begin) {
            Err(e) => Err(e),
            Ok(()) => match f(&mut tx).await {
                Ok(out) => match tx.batch("COMMIT") {
                    Ok(()) => Ok(out),
                    Err(e) => {
                        // A failed COMMIT (a full disk, say) leaves the transaction open.
                        let _ = tx.batch("ROLLBACK");
                        Err(e)
                    }
                },
                Err(e) => {
                    let _ = tx.batch("ROLLBACK");
                    Err(e)
                }
            },
        },
    };
    drop(tx);
    drop(handle);
    out
}

impl Store {
    /// Runs `f` as one write transaction, committed when it returns `Ok`.
    pub(crate) async fn write<T>(
        &self,
        f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        match &self.db {
            Engine::Sqlite { write, .. } => lite(write, Some("BEGIN IMMEDIATE"), f).await,
            Engine::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let out = f(&mut Tx::Pg(&mut tx)).await?;
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    /// Runs `f`'s reads on one connection (each statement sees the latest commit).
    pub(crate) async fn read<T>(&self, f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        match &self.db {
            Engine::Sqlite { read, .. } => lite(read, None, f).await,
            Engine::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                f(&mut Tx::Pg(&mut conn)).await
            }
        }
    }
}
