//! One operation on one connection, written once for both engines, without a thread
//! hand-off per statement and per row on SQLite.
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement is a message to
//! that thread, every result row a message back, and returning the connection to the pool
//! one more; each message wakes a thread. Under the IMAP load of `bench/` those wake-ups
//! and context switches took a third of the server's CPU (perf, 2026-11-24), more than
//! SQLite itself. On SQLite a [`Tx`] is one of our own connections ([`Readers`], or the one
//! [`Writer`]), opened through rusqlite (the same SQLite library, `libsqlite3-sys`, that sqlx
//! links), and every statement of the operation runs on it in place. On PostgreSQL a [`Tx`]
//! is an sqlx transaction or connection, so the code using it is the same for both engines,
//! `$1`-style placeholders included.
//!
//! On SQLite the statements run on the calling task's thread. They are the short, indexed
//! ones of the hot paths (a mailbox's changes, a page of records, a flag change, a batch of
//! inserts), answered from SQLite's page cache in microseconds, as a read from an in-memory
//! index would be. A durable COMMIT's sync also waits there: running it under
//! `block_in_place` was measured slower (LMTP 1.9-2.0x Dovecot instead of 2.3-3.1x, IMAP
//! mixed 0.92x instead of 0.96x, 2026-11-24), the hand-over of the worker costing more than
//! the short wait it frees.

use crate::db::Engine;
use crate::rows::Cols;
use crate::{Error, Result, Store};
use sqlx::postgres::PgRow;

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg<'a> {
    Int(i64),
    /// A boolean column: an integer to SQLite, a `boolean` to PostgreSQL (which refuses a
    /// `bigint` there).
    Bool(bool),
    Text(std::borrow::Cow<'a, str>),
    Blob(&'a [u8]),
    /// NULL where an integer goes (PostgreSQL wants the type of a NULL too).
    NullInt,
    /// NULL where text goes.
    NullText,
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
        Arg::Text(v.into())
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v.as_str().into())
    }
}
impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(v.into())
    }
}
impl<'a> From<std::borrow::Cow<'a, str>> for Arg<'a> {
    fn from(v: std::borrow::Cow<'a, str>) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Blob(v)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Arg::NullText, Into::into)
    }
}

fn lite_error(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    {
        return Error::Conflict(e.to_string());
    }
    Error::Sqlite(e.to_string())
}

/// A result row of either engine.
pub(crate) enum Row<'a, 'r> {
    /// With the statement's column names, read once per statement: rusqlite's lookup by
    /// name converts and compares every name of the statement again for each value read.
    Lite(&'a rusqlite::Row<'r>, &'a [String]),
    Pg(&'a PgRow),
}

/// A column of an SQLite row: its position among the statement's names, else rusqlite's
/// own (case-insensitive) lookup by name.
fn lite_value<'r>(
    r: &'r rusqlite::Row<'_>,
    names: &[String],
    c: &str,
) -> rusqlite::Result<rusqlite::types::ValueRef<'r>> {
    match names.iter().position(|n| n == c) {
        Some(i) => r.get_ref(i),
        None => r.get_ref(c),
    }
}

macro_rules! col {
    ($self:ident, $c:ident) => {
        match $self {
            Row::Lite(r, names) => lite_value(r, names, $c)
                .and_then(|v| rusqlite::types::FromSql::column_result(v).map_err(Into::into))
                .map_err(lite_error),
            Row::Pg(r) => Ok(sqlx::Row::try_get(*r, $c)?),
        }
    };
}

impl Row<'_, '_> {
    /// A text column borrowed from the row, without a copy (SQLite: from its own buffer).
    pub(crate) fn str(&self, c: &str) -> Result<&str> {
        match self {
            Row::Lite(r, names) => lite_value(r, names, c)
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

impl Row<'_, '_> {
    pub(crate) fn bytes(&self, c: &str) -> Result<Vec<u8>> {
        col!(self, c)
    }
}

/// An SQLite connection: one of ours ([`Readers`]) or sqlx's writer, borrowed.
pub(crate) struct Lite(rusqlite::Connection);

// SAFETY: a `Lite` lives inside one `Tx`, used through `&mut` by one task at a time, while
// sqlx's thread for that connection waits on the locked handle; SQLite connections may be
// used from any thread as long as not from two at once.
unsafe impl Send for Lite {}
unsafe impl Sync for Lite {}

impl Lite {
    fn open(path: &std::path::Path, read_only: bool) -> Result<Lite> {
        use rusqlite::OpenFlags;
        let access = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let c = rusqlite::Connection::open_with_flags(
            path,
            access | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(lite_error)?;
        c.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(lite_error)?;
        // Pages through a memory map: in WAL mode a connection drops its page cache whenever
        // another one has committed, which under a steady trickle of writes is at nearly every
        // read, and refilling it by read(2) copied every page again (perf: a third of the
        // CPU of a FETCH-heavy IMAP load went to pread and page-cache refills).
        c.execute_batch(&format!(
            "PRAGMA cache_size = -16384; PRAGMA temp_store = memory; PRAGMA mmap_size = {MMAP_SIZE};",
        ))
        .map_err(lite_error)?;
        c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Lite(c))
    }

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
            let bound = match arg {
                Arg::Int(v) => stmt.raw_bind_parameter(i, v),
                Arg::Bool(v) => stmt.raw_bind_parameter(i, v),
                Arg::Text(v) => stmt.raw_bind_parameter(i, v.as_ref()),
                Arg::Blob(v) => stmt.raw_bind_parameter(i, v),
                Arg::NullInt | Arg::NullText => stmt.raw_bind_parameter(i, rusqlite::types::Null),
            };
            bound.map_err(lite_error)?;
        }
        Ok(stmt)
    }
}

fn column_names(stmt: &rusqlite::Statement<'_>) -> Vec<String> {
    stmt.column_names().into_iter().map(str::to_owned).collect()
}

fn pg_query<'q>(
    sql: &'q str,
    args: &'q [Arg<'q>],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(*v),
            Arg::Bool(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_ref()),
            Arg::Blob(v) => q.bind(*v),
            Arg::NullInt => q.bind(None::<i64>),
            Arg::NullText => q.bind(None::<&str>),
        };
    }
    q
}

/// One connection for the length of an operation: a transaction ([`Store::write`]) or a
/// run of reads ([`Store::read`]).
pub(crate) enum Tx<'c> {
    Lite(&'c Lite),
    Pg(&'c mut sqlx::PgConnection),
}

impl Tx<'_> {
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
                let names = column_names(&stmt);
                let mut rows = stmt.raw_query();
                let mut out = Vec::new();
                while let Some(r) = rows.next().map_err(lite_error)? {
                    out.push(map(&Row::Lite(r, &names))?);
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
                let names = column_names(&stmt);
                let mut rows = stmt.raw_query();
                match rows.next().map_err(lite_error)? {
                    Some(r) => Ok(Some(map(&Row::Lite(r, &names))?)),
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

/// How a write transaction on SQLite is committed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// On stable storage when the commit returns (`synchronous = FULL`): messages.
    Durable,
    /// Written to the WAL but not synced (`synchronous = NORMAL`): safe from a crash of the
    /// process, lost only with the last moments before a power loss, and synced with the next
    /// durable commit, which syncs the whole WAL up to it. For flag changes, as Dovecot's
    /// default `mail_fsync = optimized` does not sync them either: a sync per flag change
    /// made every STORE wait for the disk (and for the STOREs queued before it).
    Relaxed,
}

/// The one writing connection of our own. sqlx's writer connection (the writes not written
/// with [`Tx`]) takes the same lock for each of its transactions (`write_tx!`), so the two
/// never wait on each other inside SQLite.
pub struct Writer {
    conn: tokio::sync::Mutex<Lite>,
}

impl Writer {
    pub(crate) fn open(path: &std::path::Path) -> Result<Writer> {
        let c = Lite::open(path, false)?;
        // As sqlx's writer: foreign keys (cascades) on, and checkpoints left to the
        // checkpointer unless it falls far behind.
        c.0.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = {};",
            crate::db::WRITER_CHECKPOINT_PAGES
        ))
        .map_err(lite_error)?;
        Ok(Writer {
            conn: tokio::sync::Mutex::new(c),
        })
    }

    /// Waits for the turn to write (held by `write_tx!` around sqlx's transactions).
    pub(crate) async fn turn(&self) -> tokio::sync::MutexGuard<'_, Lite> {
        self.conn.lock().await
    }

    /// Runs `f` in one transaction, committed as `sync` says when `f` returns `Ok`.
    async fn run<T>(
        &self,
        sync: Commit,
        f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let c = self.turn().await;
        // A transaction left open by a failed ROLLBACK would make every BEGIN fail.
        if !c.0.is_autocommit() {
            c.0.execute_batch("ROLLBACK").map_err(lite_error)?;
        }
        let mut tx = Tx::Lite(&c);
        // Each transaction sets its own level: nothing left over from the previous one.
        let level = match sync {
            Commit::Durable => "PRAGMA synchronous = FULL",
            Commit::Relaxed => "PRAGMA synchronous = NORMAL",
        };
        tx.execute(level, &[]).await?;
        tx.execute("BEGIN IMMEDIATE", &[]).await?;
        match f(&mut tx).await {
            Ok(out) => match tx.execute("COMMIT", &[]).await {
                Ok(_) => Ok(out),
                Err(e) => {
                    // A failed COMMIT (a full disk, say) leaves the transaction open.
                    let _ = tx.execute("ROLLBACK", &[]).await;
                    Err(e)
                }
            },
            Err(e) => {
                let _ = tx.execute("ROLLBACK", &[]).await;
                Err(e)
            }
        }
    }
}

/// Bytes of the database file a reading connection maps (`PRAGMA mmap_size`).
pub(crate) const MMAP_SIZE: &str = "268435456";

/// Statements each connection keeps prepared.
const STATEMENT_CACHE: usize = 128;

/// Reading connections of our own, opened read-only on the database file: no thread of
/// their own, no pool round trips, and their prepared statements are kept from one
/// operation to the next.
pub struct Readers {
    conns: Vec<tokio::sync::Mutex<Lite>>,
    /// One permit per connection: a reader waits here when all are busy.
    free: tokio::sync::Semaphore,
    next: std::sync::atomic::AtomicUsize,
}

impl Readers {
    pub(crate) fn open(path: &std::path::Path, n: usize) -> Result<Readers> {
        let mut conns = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            conns.push(tokio::sync::Mutex::new(Lite::open(path, true)?));
        }
        Ok(Readers {
            free: tokio::sync::Semaphore::new(conns.len()),
            conns,
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    async fn run<T>(&self, f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let _permit = self
            .free
            .acquire()
            .await
            .map_err(|_| Error::Sqlite("database readers closed".into()))?;
        // A permit means at least one connection is free; start the search at a different
        // one each time so that all of them stay warm.
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let n = self.conns.len();
        let guard = (0..n)
            .find_map(|i| self.conns[(start + i) % n].try_lock().ok())
            .ok_or_else(|| Error::Sqlite("no free database reader".into()))?;
        f(&mut Tx::Lite(&guard)).await
    }
}

impl Store {
    /// Runs `f` as one write transaction, committed durably when it returns `Ok`.
    pub(crate) async fn write<T>(
        &self,
        f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write_with(Commit::Durable, f).await
    }

    /// Runs `f` as one write transaction committed as `sync` says (PostgreSQL: always
    /// durably).
    pub(crate) async fn write_with<T>(
        &self,
        sync: Commit,
        f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        match &self.db {
            Engine::Sqlite { writer, .. } => writer.run(sync, f).await,
            Engine::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let out = f(&mut Tx::Pg(&mut tx)).await?;
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    /// The first row of one read, if any.
    pub(crate) async fn read_optional<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnOnce(&Row<'_, '_>) -> Result<T>,
    ) -> Result<Option<T>> {
        self.read(async |tx| tx.optional(sql, args, map).await)
            .await
    }

    /// Runs `f`'s reads on one connection (each statement sees the latest commit).
    pub(crate) async fn read<T>(&self, f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        match &self.db {
            Engine::Sqlite { readers, .. } => readers.run(f).await,
            Engine::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                f(&mut Tx::Pg(&mut conn)).await
            }
        }
    }
}
