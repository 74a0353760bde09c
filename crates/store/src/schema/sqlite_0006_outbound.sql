-- Outbound mail, autoreplies and 24 h rate counters. SQLite dialect; keep in step with
-- postgres_0006_outbound.sql.

-- Mail waiting for the outbound relay (forwards, autoreplies). A row is one envelope: sender
-- ('' is the null sender `<>`), the recipients still to be sent to (JSON array) and the raw
-- message. `locked_until` is the lease of the node sending it right now; `status` is 'queued'
-- or 'failed' (given up: kept for a while with its last error, then purged).
CREATE TABLE outbound_queue (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    kind TEXT NOT NULL,
    mail_from TEXT NOT NULL,
    recipients TEXT NOT NULL,
    raw BLOB NOT NULL,
    size BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    next_attempt BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbound_queue_due ON outbound_queue(next_attempt) WHERE status = 'queued';
CREATE INDEX outbound_queue_failed ON outbound_queue(created) WHERE status = 'failed';

-- One autoreply setting per user (`/users/{user}/autoreply`).
CREATE TABLE autoreplies (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    status BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    start_at BIGINT,
    end_at BIGINT,
    updated BIGINT NOT NULL
);

-- When a user's autoreply last answered a sender: one reply per sender per interval.
CREATE TABLE autoreply_sent (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    sent BIGINT NOT NULL,
    PRIMARY KEY (user_id, sender)
);
CREATE INDEX autoreply_sent_time ON autoreply_sent(sent);

-- Per-user counters over a window (the 24 h `forwards` limit): `used` counts since
-- `window_start`; a counter whose window has passed starts again from zero.
CREATE TABLE rate_counters (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
