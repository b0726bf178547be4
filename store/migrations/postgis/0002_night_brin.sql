-- The night index becomes BRIN (stores made with 0001 had a B-tree). The writer stores each
-- batch sorted by month, night and cell, so a few pages hold each night: BRIN finds a date
-- range's partial first or last month (whole months are pruned by partition) almost as well as
-- a B-tree, and costs next to nothing to keep up, where the B-tree on a column of ~30 values a
-- month cost a third of the ingest time. The writer summarises new pages before it commits
-- (pages not yet summarised are always read, so a query is never wrong, only slower).
DROP INDEX IF EXISTS records_night;
CREATE INDEX records_night ON records USING brin (night) WITH (pages_per_range = 8);
