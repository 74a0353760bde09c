-- Forwarded addresses (WildDuck's /addresses/forwarded): an address with no mailbox whose
-- mail is forwarded to `targets` (a JSON array), at most `forwards` per 24 hours
-- (`forward_used` since `forward_window_start`), with its own autoreply (JSON). An address
-- is either a user's (`addresses`) or forwarded, never both: core checks both tables in the
-- writing transaction.
CREATE TABLE forwarded_addresses (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    address_norm TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    targets TEXT NOT NULL DEFAULT '[]',
    forwards BIGINT NOT NULL DEFAULT 0,
    forwarded_disabled BOOLEAN NOT NULL DEFAULT FALSE,
    autoreply TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '',
    meta_data TEXT NOT NULL DEFAULT '{}',
    internal_data TEXT NOT NULL DEFAULT '{}',
    forward_window_start BIGINT NOT NULL DEFAULT 0,
    forward_used BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL
);

-- When a forwarded address's autoreply last answered a sender.
CREATE TABLE forwarded_autoreply_sent (
    address_id TEXT NOT NULL REFERENCES forwarded_addresses(id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    sent BIGINT NOT NULL,
    PRIMARY KEY (address_id, sender)
);
