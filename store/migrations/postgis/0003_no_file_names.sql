-- A file's name can say whose file it was ("AB-17 March.csv"): ingest no longer stores it (the
-- file's hash and the batch's number identify it), and the names stored before are forgotten.
UPDATE batches SET source = '';
