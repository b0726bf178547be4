-- Sealed records and the audit of what was ingested (PostGIS engine).
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE batches (
    id SERIAL PRIMARY KEY,
    layer TEXT NOT NULL,
    source TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0,
    synthetic BOOLEAN NOT NULL DEFAULT FALSE
);
-- Every record's identity, once: what makes ingesting a file twice add nothing. Kept apart from
-- the records because a primary key on a partitioned table must include the partition key.
CREATE TABLE record_keys (
    key_hi BIGINT NOT NULL,
    key_lo BIGINT NOT NULL,
    PRIMARY KEY (key_hi, key_lo)
);
-- Partitioned by month (created as data arrives): a date filter reads only its months, and old
-- months can be detached or dropped whole under a retention policy. No foreign key to batches:
-- the per-row check cost more than the whole COPY; batch and records share one transaction.
CREATE TABLE records (
    key_hi BIGINT NOT NULL,
    key_lo BIGINT NOT NULL,
    layer TEXT NOT NULL,
    category TEXT NOT NULL,
    agency TEXT NOT NULL,
    sharing TEXT NOT NULL,
    severity SMALLINT,
    person BIGINT,
    occurred_utc TIMESTAMP,
    night DATE,
    local_minute SMALLINT,
    weekday SMALLINT,
    month DATE NOT NULL,
    time_flag TEXT,
    cell BIGINT NOT NULL,
    record_key SMALLINT NOT NULL,
    batch_id INTEGER NOT NULL
) PARTITION BY RANGE (month);
CREATE INDEX records_cell ON records (cell);
CREATE INDEX records_night ON records (night);
-- Month-only records (police.uk) are few; the "left out by the hour filter" count reads just them.
CREATE INDEX records_untimed ON records (month) WHERE local_minute IS NULL;
-- The centre of each storage cell (never a raw point), once per cell rather than once per
-- record: a town has thousands of cells and millions of records. Join on cell for spatial work.
CREATE TABLE cells (
    cell BIGINT PRIMARY KEY,
    geom geometry(Point, 4326) NOT NULL
);
CREATE INDEX cells_geom ON cells USING gist (geom);
