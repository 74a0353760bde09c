-- JSON-RPC provisioning: mailing lists and groups of a customer account (`mailinglist.*`,
-- `group.*`). Both are fan-out addresses: mail to `address` goes to every member (a mailing
-- list with RFC 2369/2919 List-* headers; a group as it is). A group's address is optional
-- and its members are mail users of the account; a list's members are any addresses.
-- Groups are named by their integer id (mailbox.org's `group_id`), lists by their address.
-- Keep in step with postgres_0081_rpc_lists.sql.
CREATE TABLE rpc_lists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- "list" or "group".
    kind TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES rpc_accounts(id) ON DELETE CASCADE,
    -- The address as given and normalised (NULL: a group without one).
    address TEXT,
    address_norm TEXT UNIQUE,
    -- A group's name (unique in the account) and display name; a list's: its address.
    name TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    -- A list's owner address ('' when none).
    adminmail TEXT NOT NULL DEFAULT '',
    -- A list's password (Argon2id; '' for groups).
    password_hash TEXT NOT NULL DEFAULT '',
    created BIGINT NOT NULL,
    UNIQUE (account_id, kind, name)
);
CREATE TABLE rpc_list_members (
    list_id BIGINT NOT NULL REFERENCES rpc_lists(id) ON DELETE CASCADE,
    -- A normalised address.
    member TEXT NOT NULL,
    PRIMARY KEY (list_id, member)
);
