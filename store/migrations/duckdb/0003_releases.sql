-- Partner releases: a closed month's groups, each value perturbed once and never recomputed
-- (geo/releases.py). A release's identifier names its month, scope and version; a month has
-- one release, ever (a second, made another way, would be a second look at its records).
-- Each group is counted within one pool of sources: the trusted ones, or one partner's own.
CREATE TABLE IF NOT EXISTS releases (
    id TEXT PRIMARY KEY,
    month DATE NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    version INTEGER NOT NULL,
    made_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS release_values (
    release_id TEXT NOT NULL,
    "table" TEXT NOT NULL,
    layer TEXT NOT NULL,
    cell BIGINT NOT NULL,
    category_group TEXT NOT NULL,
    band TEXT NOT NULL,
    weekday_group TEXT NOT NULL,
    pool TEXT NOT NULL,
    value INTEGER NOT NULL,
    people INTEGER NOT NULL,
    public BOOLEAN NOT NULL
);
CREATE INDEX IF NOT EXISTS release_values_release ON release_values (release_id);
