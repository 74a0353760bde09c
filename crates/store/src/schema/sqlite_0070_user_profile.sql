-- Today's WildDuck user settings without a rule in the schema (targets, spamLevel, the
-- IMAP/POP3/receiving limits, metaData, internalData, ...): one JSON object (UserProfile).
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
-- Users deleted with a grace period (DELETE /users/{user}?deleteAfter=): when, until when
-- they can be restored, and the addresses they had (JSON [[address, main], ...]). Their
-- username_norm is set to '!deleted:' || id so the name is free meanwhile.
ALTER TABLE users ADD COLUMN deleted BIGINT;
ALTER TABLE users ADD COLUMN delete_after BIGINT;
ALTER TABLE users ADD COLUMN deleted_addresses TEXT NOT NULL DEFAULT '[]';
