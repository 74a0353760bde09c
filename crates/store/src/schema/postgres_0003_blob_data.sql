-- Small raw messages live in the database, written in the transaction that references them:
-- durable with its commit, no file (and no inode) per message. Large ones stay files. The
-- row goes with its `blobs` row (the reference count and garbage collection stay there).
-- A separate table keeps the bytes out of the `blobs` rows that reference-count updates rewrite.
CREATE TABLE blob_data (
    hash TEXT PRIMARY KEY REFERENCES blobs(hash) ON DELETE CASCADE,
    data BYTEA NOT NULL
);
