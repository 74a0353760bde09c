-- DKIM signing keys (WildDuck's /dkim API): one per domain ("*" is the key of local domains
-- without one of their own). `private_key` is the PKCS#8 DER of the key sealed with the
-- server's DKIM secret (never stored in the clear); `dns_key` is the p= value published.
CREATE TABLE dkim_keys (
    id TEXT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    selector TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    algorithm TEXT NOT NULL,
    private_key BLOB NOT NULL,
    public_key TEXT NOT NULL,
    dns_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created BIGINT NOT NULL
);

-- Outbound queue: whether the sender was told that a message is delayed (RFC 3464
-- "delayed" notification after [outbound] delayWarning), so that it is told once.
ALTER TABLE outbound_queue ADD COLUMN warned BOOLEAN NOT NULL DEFAULT FALSE;
