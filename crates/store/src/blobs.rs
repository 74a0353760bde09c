//! The content-addressed store of raw messages on the filesystem.
//!
//! A blob is named by the SHA-256 of its bytes and never changes. It is written to a temporary
//! file, fsynced, renamed into `<dir>/<first two hex>/<hash>` and the directory fsynced, so a
//! blob visible under its name is always complete. Which blobs are referenced is recorded in
//! the database (`blobs.refcount`); the database is authoritative.
//!
//! Durability is batched: deliveries write and rename their blobs without fsync
//! ([`BlobStore::write`]), and the group-commit writer calls [`BlobStore::sync`] (one `syncfs`
//! of the blob filesystem) before it commits the rows that reference them. A blob file left
//! torn by a crash is never referenced: an unreferenced blob is always written again.

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
        fs::create_dir_all(root.join("tmp"))?;
        Ok(BlobStore {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, hash: &str) -> io::Result<PathBuf> {
        if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad blob hash"));
        }
        Ok(self.root.join(&hash[..2]).join(hash))
    }

    pub fn exists(&self, hash: &str) -> bool {
        self.path(hash).map(|p| p.is_file()).unwrap_or(false)
    }

    /// Writes `bytes` under `hash` (blocking: call from a blocking thread). With `durable`
    /// the file and its directory are fsynced; without, the caller must [`Self::sync`] before
    /// committing a reference to the blob.
    pub fn write_blocking(&self, hash: &str, bytes: &[u8], durable: bool) -> io::Result<()> {
        let dest = self.path(hash)?;
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir)?;
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{hash}.{:016x}", rand::random::<u64>()));
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            if durable {
                f.sync_all()?;
            }
            fs::rename(&tmp, &dest)?;
            if durable {
                File::open(&dir)?.sync_all()?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    pub async fn write(
        &self,
        hash: &str,
        bytes: std::sync::Arc<Vec<u8>>,
        durable: bool,
    ) -> io::Result<()> {
        let this = self.clone();
        let hash = hash.to_string();
        tokio::task::spawn_blocking(move || this.write_blocking(&hash, &bytes, durable))
            .await
            .map_err(io::Error::other)?
    }

    /// Makes every blob written so far durable: one `syncfs(2)` of the filesystem that holds
    /// the blob directory (file data, and the renames that named them).
    pub fn sync_blocking(&self) -> io::Result<()> {
        let dir = File::open(&self.root)?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: syncfs only reads the descriptor, which `dir` keeps open for the call.
            if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            // SAFETY: sync(2) takes no arguments and cannot fail.
            unsafe { libc::sync() };
            dir.sync_all()
        }
    }

    pub async fn sync(&self) -> io::Result<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.sync_blocking())
            .await
            .map_err(io::Error::other)?
    }

    pub async fn read(&self, hash: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.path(hash)?).await
    }

    /// Removes a blob; a missing one is not an error.
    pub fn remove_blocking(&self, hash: &str) -> io::Result<()> {
        match fs::remove_file(self.path(hash)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
