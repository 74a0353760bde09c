-- The JSON-RPC provisioning API (mailbox.org's): API logins (admin, reseller), customer
-- accounts, their domains, the mail users of each domain (a row beside the Sealpost user it
-- describes) and sessions. Passwords are Argon2id PHC strings; session Auth-IDs are stored
-- as SHA-256 hashes. Keep in step with postgres_0020_provisioning.sql.
CREATE TABLE rpc_logins (
    id TEXT PRIMARY KEY,
    -- Lower-cased login name.
    name TEXT NOT NULL UNIQUE,
    -- "admin" or "reseller".
    level TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE TABLE rpc_accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- The reseller login that owns the account; NULL: made by an admin.
    reseller_id TEXT REFERENCES rpc_logins(id) ON DELETE SET NULL,
    plan TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- JSON object: contact, address, company and memo fields as mailbox.org names them.
    fields TEXT NOT NULL DEFAULT '{}',
    -- JSON object: capability name -> "on" | "off".
    capabilities TEXT NOT NULL DEFAULT '{}',
    created BIGINT NOT NULL
);
CREATE INDEX rpc_accounts_reseller ON rpc_accounts(reseller_id, name);
CREATE TABLE rpc_domains (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES rpc_accounts(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    memo TEXT NOT NULL DEFAULT '',
    capabilities TEXT NOT NULL DEFAULT '{}',
    created BIGINT NOT NULL
);
CREATE INDEX rpc_domains_account ON rpc_domains(account_id, name);
CREATE TABLE rpc_mail (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    -- A domain with mail users cannot go before them (account.del deletes the users first).
    domain_id TEXT NOT NULL REFERENCES rpc_domains(id) ON DELETE RESTRICT,
    -- The main address, lower-cased (also the user's username).
    mail TEXT NOT NULL UNIQUE,
    plan TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    uid_extern TEXT,
    -- JSON object: the other mailbox.org fields (memo, title, phone, ...).
    fields TEXT NOT NULL DEFAULT '{}',
    created BIGINT NOT NULL
);
CREATE INDEX rpc_mail_domain ON rpc_mail(domain_id, mail);
CREATE INDEX rpc_mail_uid_extern ON rpc_mail(uid_extern);
CREATE TABLE rpc_sessions (
    -- SHA-256 (hex) of the Auth-ID: the Auth-ID itself is never stored.
    token_hash TEXT PRIMARY KEY,
    level TEXT NOT NULL,
    -- Id of the login, account, domain or user the session is.
    principal TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX rpc_sessions_expires ON rpc_sessions(expires);
