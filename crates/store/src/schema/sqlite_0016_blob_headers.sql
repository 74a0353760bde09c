-- The part of a message's parsed index that SEARCH on header keys (FROM, TO, CC, BCC,
-- SUBJECT, HEADER, TEXT) compares with: JSON {"subject": decoded subject, "headers":
-- [[lower-case name, decoded value], ...]}, a few hundred bytes where `blobs.parsed` (the
-- whole MIME tree, envelope and attachments) is several KiB. Written with the blob at
-- ingestion; taken out of `parsed` here for the blobs stored before.
--
-- A table of its own, not a column of `blobs`: SQLite reaches a column by walking the
-- record before it, and a column after `parsed` meant reading its overflow pages for
-- every message searched (page-cache fetches and copies led a perf profile of a SEARCH-only
-- bench/imap_compare.sh run, 2026-11-24). The
-- row goes with its `blobs` row, like `blob_data`; WITHOUT ROWID, one b-tree seek per
-- message, since its rows are small.
CREATE TABLE blob_headers (
    hash TEXT PRIMARY KEY REFERENCES blobs(hash) ON DELETE CASCADE,
    header_index TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO blob_headers (hash, header_index)
SELECT hash, json_object(
    'subject', coalesce(json_extract(parsed, '$.subject'), ''),
    'headers', json(coalesce(json_extract(parsed, '$.headers'), '[]'))
) FROM blobs WHERE json_valid(parsed);
