-- A saved copy of a mailbox's view (UID, flags, modseq, size and internal date of every
-- message, packed; see view_saved.rs) reflecting at least every change up to `modseq`, so
-- that the first SELECT of a big mailbox after a start reads one value and the journal
-- above `modseq` instead of every message row. Only a cache: the journal is the truth, and
-- a missing or unreadable copy means a full read.
CREATE TABLE mailbox_views (
    mailbox_id TEXT PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    modseq BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    data BYTEA NOT NULL,
    saved BIGINT NOT NULL
);
