-- Filters (run at delivery in creation order), message events (the timeline of one stored
-- message) and the queue of action_targetUrl uploads (survives restarts).
CREATE TABLE filters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT,
    query_from TEXT,
    query_to TEXT,
    query_subject TEXT,
    query_text TEXT,
    query_ha BOOLEAN,
    query_size BIGINT,
    action_seen BOOLEAN,
    action_flag BOOLEAN,
    action_delete BOOLEAN,
    action_spam BOOLEAN,
    action_mailbox TEXT,
    action_forward TEXT,
    action_target_url TEXT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL
);
CREATE INDEX filters_user ON filters(user_id, seq);

CREATE TABLE message_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    data TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX message_events_message ON message_events(message_id, id);

CREATE TABLE upload_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    raw BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL,
    last_error TEXT,
    created BIGINT NOT NULL
);
CREATE INDEX upload_queue_due ON upload_queue(next_attempt);
