-- Per-mailbox counters kept by a trigger, so that every path that inserts, deletes, moves or
-- (un)sees a message keeps them right, and listings need not count rows.
ALTER TABLE mailboxes
    ADD COLUMN total BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN unseen BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE mailboxes SET
    total = (SELECT COUNT(*) FROM messages WHERE mailbox_id = mailboxes.id),
    unseen = (SELECT COUNT(*) FROM messages WHERE mailbox_id = mailboxes.id AND NOT seen),
    size = (SELECT COALESCE(SUM(size), 0) FROM messages WHERE mailbox_id = mailboxes.id);
CREATE FUNCTION messages_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.mailbox_id = NEW.mailbox_id AND OLD.seen = NEW.seen AND OLD.size = NEW.size THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE mailboxes SET total = total - 1, unseen = unseen - (CASE WHEN OLD.seen THEN 0 ELSE 1 END),
            size = size - OLD.size WHERE id = OLD.mailbox_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE mailboxes SET total = total + 1, unseen = unseen + (CASE WHEN NEW.seen THEN 0 ELSE 1 END),
            size = size + NEW.size WHERE id = NEW.mailbox_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_counters AFTER INSERT OR DELETE OR UPDATE OF mailbox_id, seen, size ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_counters();
