"""The binary COPY encoder, and the PostGIS writer that loads records through it."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import psycopg
import pyarrow as pa
import pytest

from geo.errors import StoreError
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import RECORD_COLUMNS, BatchInfo, open_store
from store._pgcopy import copy_chunks
from store._postgis import PostGISStore
from streetsafe.demo import generate_demo
from tests.integration.test_store_postgis_smoke import make_records

pytestmark = pytest.mark.postgis

COLUMNS = (
    ("big", pa.int64(), "BIGINT"),
    ("int", pa.int32(), "INTEGER"),
    ("small", pa.int16(), "SMALLINT"),
    ("tiny", pa.int8(), "SMALLINT"),
    ("words", pa.string(), "TEXT"),
    ("day", pa.date32(), "DATE"),
    ("moment", pa.timestamp("us"), "TIMESTAMP"),
)
ROWS = [
    (
        -(2**63),
        -(2**31),
        -32768,
        -128,
        "café",
        dt.date(1999, 12, 31),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999_999),
    ),
    (2**63 - 1, 2**31 - 1, 32767, 127, "日本語 🌃", dt.date(2000, 1, 1), dt.datetime(2000, 1, 1)),
    (0, 0, 0, 0, "", dt.date(2000, 1, 2), dt.datetime(2000, 1, 1, 0, 0, 0, 1)),
    (-1, -7, -1, -1, "plain", dt.date(1970, 1, 1), dt.datetime(1970, 1, 1, 0, 1)),
    (None, None, None, None, None, None, None),
    (42, 1, 5, 3, "x" * 300, dt.date(2026, 10, 31), dt.datetime(2026, 3, 29, 1, 30, 15, 250)),
]


def _table(rows: Sequence[tuple[object, ...]]) -> pa.Table:
    return pa.table(
        {
            name: pa.array([row[i] for row in rows], kind)
            for i, (name, kind, _) in enumerate(COLUMNS)
        }
    )


def _round_trip(url: str, table: pa.Table) -> list[tuple[object, ...]]:
    names = ", ".join(name for name, _, _ in COLUMNS)
    with psycopg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE TABLE t (i SERIAL, {', '.join(f'{n} {s}' for n, _, s in COLUMNS)})")
        with cur.copy(f"COPY t ({names}) FROM STDIN (FORMAT binary)") as copy:
            for chunk in copy_chunks(table):
                copy.write(chunk)
        cur.execute(f"SELECT {names} FROM t ORDER BY i")
        return cur.fetchall()


def test_every_column_type_round_trips_with_nulls_and_extremes(pg_url: str) -> None:
    assert _round_trip(pg_url, _table(ROWS)) == ROWS


def test_columns_without_nulls_round_trip_packed(pg_url: str) -> None:
    # NULL-free number columns take the packed path; the table above takes the other one
    rows = [row for row in ROWS if row[0] is not None]
    assert _round_trip(pg_url, _table(rows)) == rows


def test_an_empty_table_is_a_valid_copy(pg_url: str) -> None:
    assert _round_trip(pg_url, _table([])) == []


def test_a_column_of_another_type_is_refused() -> None:
    table = pa.table({"ratio": pa.array([0.5])})
    with pytest.raises(StoreError, match="ratio of type double"):
        list(copy_chunks(table))


def _rows(store: PostGISStore) -> pd.DataFrame:
    frame = store.query(f"SELECT {', '.join(RECORD_COLUMNS)} FROM records")
    return frame.sort_values(["key_hi", "key_lo"]).reset_index(drop=True)


def test_ingest_stores_exactly_the_rows_the_embedded_engine_does(
    pg_url: str, ctx: SealContext, tmp_path: Path
) -> None:
    demo = generate_demo(end=dt.date(2026, 10, 31), scale=0.5)
    with (
        open_store(pg_url, storage_res=ctx.storage_res) as pg,
        open_store(str(tmp_path / "e.duckdb"), storage_res=ctx.storage_res) as embedded,
    ):
        for store in (pg, embedded):
            for kind in ("incidents", "outreach", "asb"):
                data = getattr(demo, kind)
                ingest_file(store, kind, io.BytesIO(data), ctx=ctx, source=f"{kind}.csv")
        assert isinstance(pg, PostGISStore)
        got = _rows(pg)
        want = embedded.query(f"SELECT {', '.join(RECORD_COLUMNS)} FROM records")
        want = want.sort_values(["key_hi", "key_lo"]).reset_index(drop=True)
        assert len(got) > 1000
        pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_a_batch_with_stored_and_repeated_keys_adds_each_new_identity_once(pg_url: str) -> None:
    records = make_records(200)
    info = BatchInfo(layer="incidents", file_sha256="0" * 64)
    with open_store(pg_url, storage_res=10) as store:
        assert isinstance(store, PostGISStore)
        with store.writing(info, key_fingerprint="k") as writer:
            assert writer.add(records.slice(0, 100)) == 100
        # half stored already, and every new row twice: the exact (slow) path
        mixed = pa.concat_tables([records.slice(50, 150), records.slice(100, 100)])
        with store.writing(info, key_fingerprint="k") as writer:
            assert writer.add(mixed) == 100
            assert writer.add(records) == 0
        stored = _rows(store)
        claimed = store.query("SELECT count(*) AS n FROM record_keys")["n"].iloc[0]
    want = records.to_pandas().sort_values(["key_hi", "key_lo"]).reset_index(drop=True)
    assert len(stored) == 200
    pd.testing.assert_series_equal(stored["key_lo"], want["key_lo"], check_dtype=False)
    assert claimed == 200


def test_a_table_longer_than_one_chunk_arrives_whole(pg_url: str) -> None:
    rows = [ROWS[i % len(ROWS)] for i in range(40_000)]  # several encoder chunks
    assert _round_trip(pg_url, _table(rows)) == rows


def test_the_night_index_is_summarised_when_a_file_commits(pg_url: str) -> None:
    records = make_records(5_000)
    info = BatchInfo(layer="incidents", file_sha256="0" * 64)
    with open_store(pg_url, storage_res=10) as store:
        assert isinstance(store, PostGISStore)
        with store.writing(info, key_fingerprint="k") as writer:
            writer.add(records)
        left = store.query(
            "SELECT brin_summarize_new_values(inhrelid) AS n FROM pg_inherits "
            "WHERE inhparent = 'records_night'::regclass"
        )["n"]
        assert len(left) == 2  # March and April
        assert left.sum() == 0  # no pages left unsummarised
        store.query("ANALYZE records")
        plan = "\n".join(
            store.query(
                "EXPLAIN SELECT count(*) FROM records WHERE night BETWEEN ? AND ?",
                [dt.date(2024, 3, 28), dt.date(2024, 3, 31)],
            ).iloc[:, 0]
        )
        assert "records_2024_03_night_idx" in plan
