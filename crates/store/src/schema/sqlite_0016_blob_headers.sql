-- The part of a message's parsed index that SEARCH on header keys (FROM, TO, CC, BCC,
-- SUBJECT, HEADER, TEXT) compares with: JSON {"subject": decoded subject, "headers":
-- [[lower-case name, decoded value], ...]}, a few hundred bytes where `parsed` (the whole
-- MIME tree, envelope and attachments) is several KiB. Written with `parsed` at ingestion;
-- here taken out of `parsed` for the blobs stored before.
ALTER TABLE blobs ADD COLUMN header_index TEXT NOT NULL DEFAULT '{}';
UPDATE blobs SET header_index = json_object(
    'subject', coalesce(json_extract(parsed, '$.subject'), ''),
    'headers', json(coalesce(json_extract(parsed, '$.headers'), '[]'))
) WHERE json_valid(parsed);
