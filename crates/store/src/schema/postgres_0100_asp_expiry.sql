-- Temporary application passwords (WildDuck's `ttl`): `expires` moves `ttl` seconds past
-- each use; an expired password no longer logs in. `last_event` is the authentication log
-- entry of the last login with it (`lastUse.event`).
ALTER TABLE asps ADD COLUMN ttl BIGINT;
ALTER TABLE asps ADD COLUMN expires BIGINT;
ALTER TABLE asps ADD COLUMN last_event TEXT;
CREATE INDEX asps_expires ON asps(expires) WHERE expires IS NOT NULL;
-- GET /users/{user}/authlog/{event}
CREATE INDEX authlog_id ON authlog(id);
