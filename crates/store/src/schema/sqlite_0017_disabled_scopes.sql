-- WildDuck's disabledScopes: services (imap, pop3, smtp) the user may not log in to,
-- comma separated as `tags`.
ALTER TABLE users ADD COLUMN disabled_scopes TEXT NOT NULL DEFAULT '';
