-- Account security: application specific passwords, TOTP 2FA state and the authentication
-- log. Keep in step with postgres_0010_account_security.sql.
CREATE TABLE asps (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    -- Comma separated: imap, pop3, smtp, or * for all of them.
    scopes TEXT NOT NULL,
    -- Two hex digits of the SHA-256 of the password: picks the few rows whose Argon2 hash
    -- is worth verifying (1 in 256), without saying much about the password.
    lookup TEXT NOT NULL,
    password TEXT NOT NULL,
    created BIGINT NOT NULL,
    last_use BIGINT
);
CREATE INDEX asps_user ON asps(user_id, lookup);
CREATE TABLE user_totp (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    -- Base32 seed; enabled once a token made from it was shown.
    seed TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- The newest 30 s step whose token was accepted: tokens are single-use.
    last_step BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL
);
CREATE TABLE authlog (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    result TEXT NOT NULL,
    protocol TEXT,
    sess TEXT,
    ip TEXT,
    asp TEXT,
    scope TEXT,
    created BIGINT NOT NULL
);
CREATE INDEX authlog_user ON authlog(user_id, seq);
CREATE INDEX authlog_created ON authlog(created);
