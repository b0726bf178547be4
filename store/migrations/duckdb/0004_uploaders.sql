-- Who supplied each file: the operator or a dashboard role, and whether its records count
-- towards k in partner releases (a partner's own uploads do not: see ingest/pipeline.py).
-- (DuckDB adds no NOT NULL column: the writers always give both.)
ALTER TABLE batches ADD COLUMN IF NOT EXISTS uploaded_by TEXT DEFAULT 'operator';
ALTER TABLE batches ADD COLUMN IF NOT EXISTS trusted BOOLEAN DEFAULT TRUE;
