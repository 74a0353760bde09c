-- Sealpost schema, SQLite dialect. Keep in step with postgres_0001.sql.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    username_norm TEXT NOT NULL UNIQUE,
    name TEXT,
    password TEXT,
    address TEXT,
    language TEXT,
    quota_allowed BIGINT NOT NULL,
    storage_used BIGINT NOT NULL DEFAULT 0,
    retention BIGINT NOT NULL DEFAULT 0,
    recipients BIGINT NOT NULL,
    forwards BIGINT NOT NULL,
    tags TEXT NOT NULL DEFAULT '',
    encrypt_messages BOOLEAN NOT NULL DEFAULT FALSE,
    encrypt_forwarded BOOLEAN NOT NULL DEFAULT FALSE,
    pub_key TEXT NOT NULL DEFAULT '',
    activated BOOLEAN NOT NULL DEFAULT TRUE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    suspended BOOLEAN NOT NULL DEFAULT FALSE,
    require_password_change BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL
);
CREATE TABLE user_tags (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (user_id, tag)
);
CREATE INDEX user_tags_tag ON user_tags(tag);
CREATE TABLE addresses (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    address_norm TEXT NOT NULL UNIQUE,
    main BOOLEAN NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX addresses_user ON addresses(user_id);
CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    special_use TEXT,
    subscribed BOOLEAN NOT NULL,
    uid_validity BIGINT NOT NULL,
    uid_next BIGINT NOT NULL,
    modseq BIGINT NOT NULL,
    retention BIGINT NOT NULL,
    created BIGINT NOT NULL,
    UNIQUE (user_id, path)
);
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    refcount BIGINT NOT NULL,
    parsed TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX blobs_unreferenced ON blobs(refcount) WHERE refcount = 0;
CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX threads_subject ON threads(user_id, subject);
CREATE TABLE thread_refs (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
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
    expires BIGINT,
    UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_mailbox_seen ON messages(mailbox_id, seen);
CREATE INDEX messages_mailbox_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_user_flagged ON messages(user_id, id) WHERE flagged;
CREATE INDEX messages_user ON messages(user_id, id);
CREATE INDEX messages_blob ON messages(blob);
CREATE INDEX messages_expires ON messages(expires) WHERE expires IS NOT NULL;
-- Full-text index: one row per message (rowid = messages.id). `owner` holds one token
-- (u + user id) so that a search is intersected with the user inside the index.
CREATE VIRTUAL TABLE messages_fts USING fts5(owner, body, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2');
CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mailbox_id TEXT,
    command TEXT NOT NULL,
    uid BIGINT,
    modseq BIGINT,
    data TEXT,
    created BIGINT NOT NULL
);
CREATE INDEX journal_user ON journal(user_id, id);
CREATE INDEX journal_mailbox ON journal(mailbox_id, modseq);
