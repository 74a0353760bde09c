-- Domain aliases (WildDuck's /domainaliases): mail to any address at `alias` is mail to the
-- same local part at `domain`. Both are stored lower-case in their Unicode form.
CREATE TABLE domain_aliases (
    id TEXT PRIMARY KEY,
    alias TEXT NOT NULL UNIQUE,
    domain TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX domain_aliases_domain ON domain_aliases (domain);

-- Domain access lists (WildDuck's /domainaccess): for users with `tag`, mail from `domain`
-- is never spam (`allow`) or always spam (`block`). One entry per tag and domain.
CREATE TABLE domain_access (
    id TEXT PRIMARY KEY,
    tag TEXT NOT NULL,
    domain TEXT NOT NULL,
    action TEXT NOT NULL,
    created BIGINT NOT NULL,
    UNIQUE (tag, domain)
);
