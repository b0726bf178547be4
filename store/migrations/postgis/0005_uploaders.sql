-- Who supplied each file: the operator or a dashboard role, and whether its records count
-- towards k in partner releases (a partner's own uploads do not: see ingest/pipeline.py).
ALTER TABLE batches ADD COLUMN IF NOT EXISTS uploaded_by TEXT NOT NULL DEFAULT 'operator';
ALTER TABLE batches ADD COLUMN IF NOT EXISTS trusted BOOLEAN NOT NULL DEFAULT TRUE;
