-- The place index: public street names, kept apart from the records (see geo/places.py). A
-- police.uk row's public snap point, as its H3 cell at resolution 12 (never the coordinates),
-- with the street its Location names; or a gazetteer place. n: the police.uk rows snapped there
-- in the file that had the most (0 for a gazetteer place), for ranking. Nothing here comes from
-- the records, and undoing an upload leaves it as it is.
CREATE TABLE IF NOT EXISTS places (
    cell BIGINT NOT NULL,
    street TEXT NOT NULL,
    source TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (cell, street, source)
);
