-- Who supplied each file (the operator, or a role through the dashboard or `ingest --from`),
-- and whether its records count towards k with the trusted sources' in partner releases (a
-- partner's do not: its records are a pool of their own, see geo/releases.py). Files ingested
-- before this was recorded may have been a partner's: they are not trusted, each a pool of its
-- own.
ALTER TABLE batches ADD COLUMN IF NOT EXISTS uploaded_by TEXT;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS trusted BOOLEAN NOT NULL DEFAULT FALSE;
