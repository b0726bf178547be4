-- Sealed records and the audit of what was ingested (embedded engine).
CREATE SEQUENCE batch_ids START 1;
CREATE TABLE batches (
    id INTEGER PRIMARY KEY DEFAULT nextval('batch_ids'),
    layer TEXT NOT NULL,
    source TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0,
    synthetic BOOLEAN NOT NULL DEFAULT FALSE
);
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
);
