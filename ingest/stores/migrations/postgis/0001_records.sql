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
CREATE TABLE records (
    {record_columns},
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    -- centre of the storage cell (never the raw point), for spatial joins
    geom geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (key_hi, key_lo)
);
CREATE INDEX records_cell ON records (cell);
CREATE INDEX records_month ON records (month);
CREATE INDEX records_night ON records (night);
CREATE INDEX records_layer_month ON records (layer, month);
CREATE INDEX records_geom ON records USING gist (geom);
