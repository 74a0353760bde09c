-- The password vault (passbolt API, "v4 mode"): vault users (each a mail user), their public
-- OpenPGP keys, single-use tokens (setup, recovery, GPGAuth), sessions, resources with one
-- encrypted secret per user with access, permissions, groups, folders, favorites, comments.
-- Ids are UUIDs. Tokens and sessions are stored as SHA-256 hashes only. Secrets are
-- OpenPGP messages encrypted on the client: the server never holds their plaintext.
-- Keep in step with postgres_0030_vault.sql (the same statements).
CREATE TABLE vault_users (
    id TEXT PRIMARY KEY,
    mail_user_id TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    username TEXT NOT NULL UNIQUE,
    -- 'admin' or 'user'
    role TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    created_by TEXT,
    last_logged_in BIGINT
);
CREATE TABLE vault_gpgkeys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE REFERENCES vault_users(id) ON DELETE CASCADE,
    armored_key TEXT NOT NULL,
    -- upper-case hex
    fingerprint TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL,
    bits BIGINT NOT NULL,
    key_type TEXT NOT NULL,
    uid TEXT NOT NULL,
    key_created BIGINT NOT NULL,
    expires BIGINT,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL
);
CREATE TABLE vault_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES vault_users(id) ON DELETE CASCADE,
    -- 'register', 'recover', 'login', 'refresh'
    kind TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX vault_tokens_user ON vault_tokens(user_id);
CREATE TABLE vault_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES vault_users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    mfa_ok BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX vault_sessions_user ON vault_sessions(user_id);
CREATE TABLE vault_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE TABLE vault_groups_users (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES vault_groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES vault_users(id) ON DELETE CASCADE,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL,
    UNIQUE (group_id, user_id)
);
CREATE INDEX vault_groups_users_user ON vault_groups_users(user_id);
CREATE TABLE vault_folders (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    folder_parent_id TEXT,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE TABLE vault_resources (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    username TEXT,
    uri TEXT,
    description TEXT,
    resource_type_id TEXT NOT NULL,
    folder_parent_id TEXT,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE TABLE vault_secrets (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES vault_resources(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES vault_users(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    UNIQUE (resource_id, user_id)
);
CREATE INDEX vault_secrets_user ON vault_secrets(user_id);
-- aco: 'Resource' (resource_id set) or 'Folder' (folder_id set); aro: 'User' (user_id set)
-- or 'Group' (group_id set). type: 1 read, 7 update, 15 owner.
CREATE TABLE vault_permissions (
    id TEXT PRIMARY KEY,
    aco TEXT NOT NULL,
    resource_id TEXT REFERENCES vault_resources(id) ON DELETE CASCADE,
    folder_id TEXT REFERENCES vault_folders(id) ON DELETE CASCADE,
    aro TEXT NOT NULL,
    user_id TEXT REFERENCES vault_users(id) ON DELETE CASCADE,
    group_id TEXT REFERENCES vault_groups(id) ON DELETE CASCADE,
    type BIGINT NOT NULL,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL
);
CREATE INDEX vault_permissions_resource ON vault_permissions(resource_id);
CREATE INDEX vault_permissions_folder ON vault_permissions(folder_id);
CREATE INDEX vault_permissions_user ON vault_permissions(user_id);
CREATE INDEX vault_permissions_group ON vault_permissions(group_id);
CREATE TABLE vault_favorites (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES vault_users(id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL REFERENCES vault_resources(id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    UNIQUE (user_id, resource_id)
);
CREATE TABLE vault_comments (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES vault_resources(id) ON DELETE CASCADE,
    parent_id TEXT,
    content TEXT NOT NULL,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE INDEX vault_comments_resource ON vault_comments(resource_id);
