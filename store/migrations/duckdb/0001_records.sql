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
    {record_columns},
    batch_id INTEGER NOT NULL
);
