//! Persistence for Sealpost: SQLite (the embedded default) and PostgreSQL behind one
//! [`Store`], and the content-addressed raw messages: small ones in the database
//! (`blob_data`), large ones in the [`blobs::BlobStore`] directory ([`Store::read_blob`]).
//!
//! Both engines run the same SQL where the dialects agree (`$N` placeholders, `RETURNING`,
//! `ON CONFLICT`); the few places where they differ (schema, full-text search) are marked.
//! Every write that changes a mailbox bumps its modseq and writes a journal row in the same
//! transaction.

pub mod blobs;
mod db;
mod direct;
mod migrate;
pub mod model;
mod rows;

mod addresses;
mod archive;
pub mod autoreplies;
pub mod condstore;
pub mod counters;
mod deleted_users;
mod delivery;
pub mod dkim;
pub mod domains;
pub mod events;
pub mod external_keys;
pub mod filters;
pub mod forwarded;
pub mod guard;
mod insert;
pub mod mailboxes;
mod messages;
pub mod outbound;
pub mod provisioning;
pub mod rpc_lists;
pub mod security;
pub mod updates;
mod users;
pub mod vault;
pub mod view;
pub mod view_saved;

pub use archive::{PurgeStats, RestoreOutcome};
pub use db::{Engine, Seek};
pub use deleted_users::RestoredUser;
pub use mailboxes::like_escape;
pub use messages::{Direction, FlagChange, InsertError, Inserted, NewMessage, UidSet, fts5_query};
pub use security::{AspCandidate, AspRecord, AuthLogEntry, AuthLogFilter, NewAsp, TotpState};
pub use updates::JournalEvent;
pub use users::{NewUserRow, UserFilter, UserPatch, mailbox_retention, retention_deadline};

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A unique constraint: the thing named already exists.
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A failure of one of our own SQLite connections (`direct.rs`): busy, I/O, a full disk.
    #[error("database: sqlite: {0}")]
    Sqlite(String),
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database URL: {0}")]
    BadUrl(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The database and the blob store.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Engine,
    pub blobs: blobs::BlobStore,
    /// How long a message deleted by a user (REST delete, EXPUNGE) stays in the archive, ms;
    /// 0 deletes it outright. See `archive.rs`.
    pub(crate) archive_for: model::Millis,
}

impl Store {
    /// Opens the database named by `url` (`sqlite://...`, `postgres://...`; `None` = SQLite file
    /// `sealpost.db` in `data_dir`), applies pending migrations, and opens the blob store.
    pub async fn open(
        data_dir: &Path,
        url: Option<&str>,
        blob_dir: Option<&Path>,
    ) -> Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        let db = Engine::connect(data_dir, url).await?;
        migrate::run(&db).await?;
        let blob_dir = blob_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| data_dir.join("blobs"));
        let blobs = blobs::BlobStore::open(&blob_dir)?;
        Ok(Store {
            db,
            blobs,
            archive_for: 0,
        })
    }

    /// Keeps messages deleted by users in the archive for `ms` milliseconds (0: not at all).
    pub fn set_archive_for(&mut self, ms: model::Millis) {
        self.archive_for = ms.max(0);
    }

    /// Whether the database answers a query and the blob store's directory can be listed:
    /// what `/ready` and `/health` report.
    pub async fn ready(&self) -> Result<()> {
        match &self.db {
            Engine::Sqlite { read, .. } => {
                sqlx::query("SELECT 1").execute(read).await?;
            }
            Engine::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        self.blobs.check().await?;
        Ok(())
    }

    pub fn engine_name(&self) -> &'static str {
        match self.db {
            Engine::Sqlite { .. } => "sqlite",
            Engine::Postgres(_) => "postgres",
        }
    }
}

/// Maps a unique-constraint violation to [`Error::Conflict`] naming `what`.
pub(crate) fn conflict(e: sqlx::Error, what: &str) -> Error {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        return Error::Conflict(what.to_string());
    }
    Error::Db(e)
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
