-- The services an outreach team may take a woman to at night (drop-ins, night shelters, A&E,
-- police stations...), as the deployment's services file lists them (see ingest/services.py).
-- Public places, not records: their coordinates are kept as they are (lat, lon: WGS84
-- degrees), unlike a record's point, which reaches the store only as an H3 cell. A service's
-- address is public and names no one. Nothing here comes from the records, and undoing an
-- upload leaves it as it is. The hours: one text per weekday, as geo/opening.py writes them
-- (20:00-02:00, 24h, closed). Each load replaces the whole list.
CREATE TABLE IF NOT EXISTS services (
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    lat DOUBLE NOT NULL,
    lon DOUBLE NOT NULL,
    mon TEXT NOT NULL,
    tue TEXT NOT NULL,
    wed TEXT NOT NULL,
    thu TEXT NOT NULL,
    fri TEXT NOT NULL,
    sat TEXT NOT NULL,
    sun TEXT NOT NULL,
    phone TEXT NOT NULL,
    notes TEXT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
