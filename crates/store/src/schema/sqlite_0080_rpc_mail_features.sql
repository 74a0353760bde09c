-- JSON-RPC provisioning, what mail users have besides migration 20: their own capability
-- intents (JSON object: capability name -> "on" | "off"; absent: inherit from the domain,
-- then the account), the address of a mail user deleted with a grace period
-- (`deleted_mail`; its `mail` is then '!deleted:<user id>' so that the address is free
-- again; a restore puts it back), and the spam protection settings of a mail user (JSON,
-- read at delivery when the MTA's headers carry a spam score).
-- Keep in step with postgres_0080_rpc_mail_features.sql.
ALTER TABLE rpc_mail ADD COLUMN capabilities TEXT NOT NULL DEFAULT '{}';
ALTER TABLE rpc_mail ADD COLUMN deleted_mail TEXT;
-- A domain's live mail users by address (mail.list's pages) and its deleted ones.
CREATE INDEX rpc_mail_live ON rpc_mail(domain_id, deleted_mail, mail);
CREATE TABLE rpc_spamprotect (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    settings TEXT NOT NULL
);
