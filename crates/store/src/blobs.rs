//! The content-addressed store of raw messages on the filesystem.
//!
//! A blob is named by the SHA-256 of its bytes and never changes. A small one lives in the
//! database (`blob_data`, written in the transaction that first references it, so durable
//! with that commit, and collected with its `blobs` row); a large one at
//! `<dir>/<first two hex>/<hash>`. [`Store::read_blob`] reads either. Which blobs are referenced is recorded in the database
//! (`blobs.refcount`); the database is authoritative: a blob file is trusted only once a
//! committed row references it.
//!
//! Durability: a delivery creates its blob under its final name and syncs it (file and
//! directory, [`BlobStore::create_blocking`]) before its row is queued for the group-commit
//! writer, so a committed row never references bytes that are not on stable storage. A blob
//! file left torn by a crash is never referenced: an unreferenced blob is always written
//! again.

use crate::Store;
use crate::direct::Arg;
use crate::rows::Cols;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl BlobStore {
    pub fn open(root: &Path) -> io::Result<BlobStore> {
        // The 256 fan-out directories exist from the start: writes never mkdir.
        for i in 0..=255u8 {
            fs::create_dir_all(root.join(format!("{i:02x}")))?;
        }
        Ok(BlobStore {
            root: root.to_path_buf(),
        })
    }

    /// The store's directory is there and readable (a fan-out directory is listed), without
    /// blocking the runtime: load balancers call it often.
    pub async fn check(&self) -> io::Result<()> {
        tokio::fs::read_dir(self.root.join("00"))
            .await?
            .next_entry()
            .await?;
        Ok(())
    }

    fn path(&self, hash: &str) -> io::Result<PathBuf> {
        if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad blob hash"));
        }
        Ok(self.root.join(&hash[..2]).join(hash))
    }

    /// Creates the file of a new blob (blocking: call from a blocking thread) and makes it
    /// durable: the bytes and the directory entry are synced before this returns. False when
    /// a file of that name already exists (nothing is written then): it may be a leftover
    /// torn by a crash or another writer's file not yet synced, so the store rewrites with
    /// [`Self::write_blocking`] every newly referenced blob that its batch did not create.
    ///
    /// Each delivery syncs its own file (from its own blocking thread, so concurrent ones
    /// overlap) rather than the writer syncing the whole filesystem per batch: `syncfs`
    /// also waits for every other program's dirty pages on a shared disk.
    pub fn create_blocking(&self, hash: &str, bytes: &[u8]) -> io::Result<bool> {
        let dest = self.path(hash)?;
        let mut f = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&dest)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(e),
        };
        let dir = dest.parent().unwrap_or(&self.root);
        let result = f
            .write_all(bytes)
            .and_then(|()| f.sync_data())
            .and_then(|()| File::open(dir)?.sync_all());
        if let Err(e) = result {
            let _ = fs::remove_file(&dest);
            return Err(e);
        }
        Ok(true)
    }

    /// Writes `bytes` under `hash` durably (blocking), replacing a file of that name: the
    /// bytes go to a temporary file that is fsynced and renamed over the name (replacing a
    /// torn file atomically), then the directory is fsynced.
    pub fn write_blocking(&self, hash: &str, bytes: &[u8]) -> io::Result<()> {
        let dest = self.path(hash)?;
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        let tmp = dir.join(format!(".{hash}.{:016x}.tmp", rand::random::<u64>()));
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &dest)?;
            File::open(&dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    pub async fn write(&self, hash: &str, bytes: std::sync::Arc<Vec<u8>>) -> io::Result<()> {
        let this = self.clone();
        let hash = hash.to_string();
        tokio::task::spawn_blocking(move || this.write_blocking(&hash, &bytes))
            .await
            .map_err(io::Error::other)?
    }

    pub async fn read(&self, hash: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.path(hash)?).await
    }

    /// A blob file opened for reading in pieces.
    pub async fn open_file(&self, hash: &str) -> io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.path(hash)?).await
    }

    /// At most the first `max` bytes of a blob file, and whether that is all of it.
    pub async fn read_prefix(&self, hash: &str, max: usize) -> io::Result<(Vec<u8>, bool)> {
        use tokio::io::AsyncReadExt;
        let file = tokio::fs::File::open(self.path(hash)?).await?;
        let mut out = Vec::with_capacity(max.min(64 * 1024));
        // One byte more than asked tells whether the file goes on.
        let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
        file.take(limit).read_to_end(&mut out).await?;
        let complete = out.len() <= max;
        out.truncate(max);
        Ok((out, complete))
    }

    /// Removes a blob; a missing one is not an error.
    pub fn remove_blocking(&self, hash: &str) -> io::Result<()> {
        match fs::remove_file(self.path(hash)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// The first bytes of a blob ([`Store::read_blob_prefixes`]).
#[derive(Debug, Clone)]
pub struct BlobPrefix {
    pub bytes: Vec<u8>,
    /// Whether `bytes` is the whole blob.
    pub complete: bool,
}

/// A blob being read ([`Store::open_blob`]).
pub type BlobReader = Box<dyn tokio::io::AsyncRead + Send + Sync + Unpin>;

/// Hashes per query of [`Store::read_blob_prefixes`].
const PREFIX_CHUNK: usize = 100;

impl Store {
    /// At most the first `max` bytes of each blob in `hashes` (one query for those held in
    /// the database, a bounded read for files): what a FETCH of header fields needs, without
    /// loading whole messages one query each. Missing blobs are left out.
    pub async fn read_blob_prefixes(
        &self,
        hashes: &[&str],
        max: usize,
    ) -> crate::Result<std::collections::HashMap<String, BlobPrefix>> {
        let mut out = std::collections::HashMap::with_capacity(hashes.len());
        let max_i32 = i32::try_from(max).unwrap_or(i32::MAX);
        for chunk in hashes.chunks(PREFIX_CHUNK) {
            let sql = format!(
                "SELECT hash, substr(data, 1, CAST($1 AS INTEGER)) AS head, \
                 CAST(length(data) AS BIGINT) AS len FROM blob_data WHERE hash IN ({})",
                crate::insert::list(2, chunk.len())
            );
            let mut args: Vec<Arg<'_>> = vec![i64::from(max_i32).into()];
            args.extend(chunk.iter().map(|h| Arg::from(*h)));
            let rows = self
                .read(async |tx| {
                    tx.all(&sql, &args, |r| {
                        Ok((r.string("hash")?, r.bytes("head")?, r.i64("len")?))
                    })
                    .await
                })
                .await?;
            for (hash, bytes, len) in rows {
                let complete = usize::try_from(len).is_ok_and(|l| l <= bytes.len());
                out.insert(hash, BlobPrefix { bytes, complete });
            }
        }
        for hash in hashes {
            if out.contains_key(*hash) {
                continue;
            }
            match self.blobs.read_prefix(hash, max).await {
                Ok((bytes, complete)) => {
                    out.insert((*hash).to_string(), BlobPrefix { bytes, complete });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// The database row of a small blob, if it has one.
    async fn blob_row(&self, hash: &str) -> crate::Result<Option<Vec<u8>>> {
        self.read(async |tx| {
            tx.optional(
                "SELECT data FROM blob_data WHERE hash = $1",
                &[hash.into()],
                |r| r.bytes("data"),
            )
            .await
        })
        .await
    }

    /// A blob opened for reading in pieces (POP3 RETR of a large message): its database row
    /// (small, read whole) when it has one, else its file, read as the caller goes.
    pub async fn open_blob(&self, hash: &str) -> crate::Result<BlobReader> {
        let row = self.blob_row(hash).await?;
        Ok(match row {
            Some(data) => Box::new(io::Cursor::new(data)),
            None => Box::new(self.blobs.open_file(hash).await?),
        })
    }

    /// The bytes of a blob, by hash: its database row when it has one, else its file.
    pub async fn read_blob(&self, hash: &str) -> crate::Result<Vec<u8>> {
        let row = self.blob_row(hash).await?;
        match row {
            Some(data) => Ok(data),
            None => Ok(self.blobs.read(hash).await?),
        }
    }
}
