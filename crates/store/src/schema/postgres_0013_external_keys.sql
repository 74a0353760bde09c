-- External recipients' public keys (OX Guard "external keys"), uploaded by hand or learnt
-- from Autocrypt headers of incoming mail. Keep in step with sqlite_0013_external_keys.sql.
CREATE TABLE external_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Upper-case hex fingerprint and 64-bit key id of the primary key.
    fingerprint TEXT NOT NULL,
    key_id TEXT NOT NULL,
    -- The ASCII-armored transferable public key as validated.
    armored TEXT NOT NULL,
    -- JSON array of the key's user ids.
    user_ids TEXT NOT NULL,
    -- 'upload' (by hand through the API) or 'autocrypt' (from an Autocrypt header).
    source TEXT NOT NULL,
    -- Guard's per-key preference for PGP/Inline instead of PGP/MIME.
    inline BOOLEAN NOT NULL DEFAULT FALSE,
    -- Shared with the other users of the owner's domain: the domain when shared, else NULL.
    share_domain TEXT,
    -- Autocrypt: the address the header named, its prefer-encrypt value and the effective
    -- date (ms) of the message that brought the key; NULL for keys uploaded by hand.
    autocrypt_addr TEXT,
    prefer_encrypt TEXT,
    autocrypt_date BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    UNIQUE (user_id, fingerprint)
);
CREATE INDEX external_keys_user ON external_keys(user_id, created);
CREATE INDEX external_keys_shared ON external_keys(share_domain) WHERE share_domain IS NOT NULL;
-- At most one Autocrypt key per sender address per user.
CREATE UNIQUE INDEX external_keys_autocrypt ON external_keys(user_id, autocrypt_addr) WHERE source = 'autocrypt';
-- The lower-cased e-mail addresses in a key's user ids, for lookups by recipient.
CREATE TABLE external_key_addresses (
    key_id TEXT NOT NULL REFERENCES external_keys(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (key_id, address)
);
CREATE INDEX external_key_addresses_lookup ON external_key_addresses(address, user_id);
