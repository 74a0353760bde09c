-- The part of a message's parsed index that SEARCH on header keys (FROM, TO, CC, BCC,
-- SUBJECT, HEADER, TEXT) compares with: JSON {"subject": decoded subject, "headers":
-- [[lower-case name, decoded value], ...]}, a few hundred bytes where `blobs.parsed` (the
-- whole MIME tree, envelope and attachments) is several KiB. Written with the blob at
-- ingestion; taken out of `parsed` here for the blobs stored before (`json`, not `jsonb`,
-- which refuses the \u0000 escapes a decoded header value may hold). A table of its own,
-- as on SQLite (see sqlite_0016_blob_headers.sql); the row goes with its `blobs` row.
CREATE TABLE blob_headers (
    hash TEXT PRIMARY KEY REFERENCES blobs(hash) ON DELETE CASCADE,
    header_index TEXT NOT NULL
);
INSERT INTO blob_headers (hash, header_index)
SELECT hash, json_build_object(
    'subject', coalesce(parsed::json -> 'subject', '""'::json),
    'headers', coalesce(parsed::json -> 'headers', '[]'::json)
)::text FROM blobs;
