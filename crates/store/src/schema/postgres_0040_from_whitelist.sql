-- WildDuck's fromWhitelist: more addresses (`*` wildcards allowed) a user may send mail as
-- over submission, comma separated as `tags` (entries never contain a comma).
ALTER TABLE users ADD COLUMN from_whitelist TEXT NOT NULL DEFAULT '';
