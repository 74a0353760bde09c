-- The archive: messages deleted by a user (REST delete, IMAP EXPUNGE, POP3 DELE) are kept
-- here, out of every mailbox and out of the quota, until `expires`, and can be restored.
-- A row keeps its blob reference (blobs.refcount counts it) and so the parsed index.
-- `mailbox_id` and `uid` are where the message was; the mailbox may be gone since.
CREATE TABLE archived (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mailbox_id TEXT NOT NULL,
    uid BIGINT NOT NULL,
    modseq BIGINT NOT NULL,
    thread_id TEXT NOT NULL,
    blob TEXT NOT NULL REFERENCES blobs(hash),
    size BIGINT NOT NULL,
    idate BIGINT NOT NULL,
    hdate BIGINT NOT NULL,
    subject TEXT NOT NULL,
    from_name TEXT NOT NULL,
    from_address TEXT NOT NULL,
    message_id TEXT NOT NULL,
    intro TEXT NOT NULL,
    has_attachments BOOLEAN NOT NULL,
    seen BOOLEAN NOT NULL,
    answered BOOLEAN NOT NULL,
    flagged BOOLEAN NOT NULL,
    deleted BOOLEAN NOT NULL,
    draft BOOLEAN NOT NULL,
    keywords TEXT NOT NULL DEFAULT '',
    archived BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX archived_user ON archived(user_id, id);
CREATE INDEX archived_expires ON archived(expires);
