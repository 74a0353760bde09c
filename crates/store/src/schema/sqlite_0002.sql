-- Per-mailbox counters kept by triggers, so that every path that inserts, deletes, moves or
-- (un)sees a message keeps them right, and listings need not count rows.
ALTER TABLE mailboxes ADD COLUMN total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN unseen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE mailboxes SET
    total = (SELECT COUNT(*) FROM messages WHERE mailbox_id = mailboxes.id),
    unseen = (SELECT COUNT(*) FROM messages WHERE mailbox_id = mailboxes.id AND NOT seen),
    size = (SELECT COALESCE(SUM(size), 0) FROM messages WHERE mailbox_id = mailboxes.id);
CREATE TRIGGER messages_counters_insert AFTER INSERT ON messages BEGIN
    UPDATE mailboxes SET total = total + 1, unseen = unseen + (CASE WHEN NEW.seen THEN 0 ELSE 1 END),
        size = size + NEW.size WHERE id = NEW.mailbox_id;
END;
CREATE TRIGGER messages_counters_delete AFTER DELETE ON messages BEGIN
    UPDATE mailboxes SET total = total - 1, unseen = unseen - (CASE WHEN OLD.seen THEN 0 ELSE 1 END),
        size = size - OLD.size WHERE id = OLD.mailbox_id;
END;
CREATE TRIGGER messages_counters_update AFTER UPDATE OF mailbox_id, seen, size ON messages
WHEN OLD.mailbox_id IS NOT NEW.mailbox_id OR OLD.seen IS NOT NEW.seen OR OLD.size IS NOT NEW.size BEGIN
    UPDATE mailboxes SET total = total - 1, unseen = unseen - (CASE WHEN OLD.seen THEN 0 ELSE 1 END),
        size = size - OLD.size WHERE id = OLD.mailbox_id;
    UPDATE mailboxes SET total = total + 1, unseen = unseen + (CASE WHEN NEW.seen THEN 0 ELSE 1 END),
        size = size + NEW.size WHERE id = NEW.mailbox_id;
END;
