-- The Guard key-management API: user session tokens (`POST /authenticate` with `token: true`),
-- Guard `auth` tokens, OpenPGP key rings and per-user Guard settings.
-- Keep in step with postgres_0011_guard.sql.
CREATE TABLE user_tokens (
    -- SHA-256 (hex) of the token: the token itself is never stored.
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX user_tokens_user ON user_tokens(user_id);
CREATE INDEX user_tokens_expires ON user_tokens(expires);
CREATE TABLE guard_auth (
    -- SHA-256 (hex) of the token's id half.
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The key password sealed (ChaCha20-Poly1305) under the token's key half, which only
    -- the client holds.
    sealed TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX guard_auth_user ON guard_auth(user_id);
CREATE INDEX guard_auth_expires ON guard_auth(expires);
CREATE TABLE guard_keyrings (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The primary key's 64-bit key ID as a signed integer (Guard's `keyid`).
    key_id BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- ASCII-armored public key ring.
    public_ring TEXT NOT NULL,
    -- ASCII-armored secret key ring, protected by the user's key password; NULL: public only.
    private_ring TEXT,
    -- The same secret keys protected by a passphrase derived from the server master key
    -- (kept outside the database); NULL when recovery is off.
    recovery TEXT,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX guard_keyrings_fingerprint ON guard_keyrings(user_id, fingerprint);
CREATE UNIQUE INDEX guard_keyrings_key_id ON guard_keyrings(user_id, key_id);
CREATE TABLE guard_users (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secondary_email TEXT,
    language TEXT,
    updated BIGINT NOT NULL
);
