-- The last UIDVALIDITY given to a mailbox of the user: a mailbox deleted and created again
-- within the same second still gets a new one (its UIDs start again at 1).
ALTER TABLE users ADD COLUMN last_uid_validity BIGINT NOT NULL DEFAULT 0;
