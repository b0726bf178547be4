"""The sealed record as both engines store it: no coordinates, no names, no free text."""

from __future__ import annotations

import pyarrow as pa

from geo.releases import COLUMNS as RELEASE_ROW_COLUMNS

# name, Arrow type (the interchange format), SQL type (same spelling in DuckDB and PostgreSQL)
RECORD_FIELDS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("key_hi", pa.int64(), "BIGINT NOT NULL"),  # keyed hash of the record's identity
    ("key_lo", pa.int64(), "BIGINT NOT NULL"),
    ("layer", pa.string(), "TEXT NOT NULL"),
    ("category", pa.string(), "TEXT NOT NULL"),
    ("agency", pa.string(), "TEXT NOT NULL"),
    ("sharing", pa.string(), "TEXT NOT NULL"),
    ("severity", pa.int16(), "SMALLINT"),
    ("person", pa.int64(), "BIGINT"),  # keyed pseudonym; NULL when no reference
    ("occurred_utc", pa.timestamp("us"), "TIMESTAMP"),  # to the minute; NULL when month-only
    ("night", pa.date32(), "DATE"),  # the evening the night started
    ("local_minute", pa.int16(), "SMALLINT"),  # wall-clock minute of the day, Europe/London
    ("weekday", pa.int8(), "SMALLINT"),  # weekday of the night, Monday = 0
    ("month", pa.date32(), "DATE NOT NULL"),
    ("time_flag", pa.string(), "TEXT"),  # 'dst_fold' when the local time happened twice
    ("cell", pa.int64(), "BIGINT NOT NULL"),  # H3 cell at the storage resolution
    ("record_key", pa.int16(), "SMALLINT NOT NULL"),  # 0-255, for cell-key perturbation
)
RECORD_COLUMNS = tuple(name for name, _, _ in RECORD_FIELDS)
# A partner release's rows, as stored (see geo/releases.py).
RELEASE_COLUMNS = RELEASE_ROW_COLUMNS
ARROW_SCHEMA = pa.schema([(name, typ) for name, typ, _ in RECORD_FIELDS])
