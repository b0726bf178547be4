"""Smoke tests of the PostGIS store engine against a throwaway cluster (see pg_cluster.py).

The session's ``pg_server`` fixture (the cluster) lives in conftest.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from geo.errors import StoreError
from geo.hexes import cell_centres, cells_from_points
from store import RECORD_COLUMNS, BatchInfo, open_store, to_arrow
from store._base import _migrations
from store._postgis import PostGISStore
from tests.pg_cluster import PgCluster

pytestmark = pytest.mark.postgis

STORAGE_RES = 10
KEY = "fingerprint-a"
LATEST = str(_migrations("postgis")[-1][0])  # the latest migration's version
INFO = BatchInfo(layer="incidents", file_sha256="0" * 64)


@pytest.fixture
def pg_url(pg_server: PgCluster) -> Iterator[str]:
    """The URL of a fresh, empty database (not the migrated template), dropped after the test:
    these tests watch the migrations run."""
    with pg_server.fresh_database(empty=True) as url:
        yield url


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[PostGISStore]:
    opened = PostGISStore(pg_url, storage_res=STORAGE_RES)
    try:
        yield opened
    finally:
        opened.close()


def make_records(n: int, *, seed: int = 0) -> pa.Table:
    """Return ``n`` sealed records in Southampton with distinct keys."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(50.88, 50.95, n)
    lon = rng.uniform(-1.45, -1.35, n)
    nights = [dt.date(2024, 3, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 60, n)]
    frame = pd.DataFrame(
        {
            "key_hi": rng.integers(-(2**62), 2**62, n, dtype=np.int64),
            "key_lo": np.arange(n, dtype=np.int64),
            "layer": "incidents",
            "category": rng.choice(["assault", "harassment", "theft"], n),
            "agency": "police",
            "sharing": "aggregate",
            "severity": pd.array(rng.integers(1, 4, n), dtype="Int16"),
            "person": pd.array(rng.integers(1, 2**40, n), dtype="Int64"),
            "occurred_utc": [dt.datetime(d.year, d.month, d.day, 23, 15) for d in nights],
            "night": nights,
            "local_minute": pd.array(np.full(n, 23 * 60 + 15), dtype="Int16"),
            "weekday": pd.array([d.weekday() for d in nights], dtype="Int8"),
            "month": [d.replace(day=1) for d in nights],
            "time_flag": None,
            "cell": cells_from_points(lat, lon, STORAGE_RES),
            "record_key": rng.integers(0, 256, n).astype(np.int16),
        }
    )
    return to_arrow(frame)


def batch_rows(pg_store: PostGISStore) -> pd.DataFrame:
    return pg_store.query("SELECT * FROM batches ORDER BY id")


def test_migrations_create_tables_and_reopening_is_idempotent(pg_url: str) -> None:
    with open_store(pg_url, storage_res=STORAGE_RES) as first:
        assert first.engine == "postgis"
        tables = set(
            first.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )["table_name"]
        )
        assert {"meta", "batches", "records"} <= tables
        version = first.query("SELECT value FROM meta WHERE key = 'schema_version'")
        assert list(version["value"]) == [LATEST]
        assert first.query("SELECT 1 AS x FROM pg_extension WHERE extname = 'postgis'").shape[0]
    with open_store(pg_url, storage_res=STORAGE_RES) as again:
        assert list(again.query("SELECT key, value FROM meta ORDER BY key")["key"]) == [
            "schema_version",
            "storage_res",
        ]
        assert again.record_count() == 0


def test_a_store_made_before_the_brin_night_index_gets_it_on_open(pg_url: str) -> None:
    index_kind = (
        "SELECT am.amname AS kind FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
        "WHERE c.relname = 'records_night'"
    )
    with open_store(pg_url, storage_res=STORAGE_RES) as store:
        # as migration 0001 left it
        store._execute("DROP INDEX records_night")
        store._execute("CREATE INDEX records_night ON records (night)")
        store._execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        assert list(store.query(index_kind)["kind"]) == ["btree"]
    with open_store(pg_url, storage_res=STORAGE_RES) as store:
        assert list(store.query(index_kind)["kind"]) == ["brin"]
        version = store.query("SELECT value FROM meta WHERE key = 'schema_version'")
        assert list(version["value"]) == [LATEST]


def test_concurrent_first_opens_migrate_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            PostGISStore(pg_url, storage_res=STORAGE_RES).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_failed_write_leaves_the_store_unchanged(pg_store: PostGISStore) -> None:
    def write_then_fail() -> None:
        with pg_store.writing(INFO, key_fingerprint=KEY) as w:
            assert w.add(make_records(50)) == 50
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail()
    assert pg_store.record_count() == 0
    assert batch_rows(pg_store).empty
    assert pg_store.query("SELECT * FROM meta WHERE key = 'key_fingerprint'").empty
    # the connection is usable afterwards, and a later write still lands
    with pg_store.writing(INFO, key_fingerprint=KEY) as w:
        assert w.add(make_records(5)) == 5
    assert pg_store.record_count() == 5


def test_a_swallowed_statement_error_is_not_committed(pg_store: PostGISStore) -> None:
    records = make_records(10)
    others = make_records(10, seed=1)  # new identities, so the rows reach the NOT NULL check
    no_layer = others.set_column(2, "layer", pa.array([None] * 10, pa.string()))

    def write_ignoring_an_error() -> None:
        with pg_store.writing(INFO, key_fingerprint=KEY) as w:
            w.add(records)
            with pytest.raises(StoreError, match="layer"):
                w.add(no_layer)  # a NOT NULL violation, which the caller ignores

    with pytest.raises(StoreError):
        write_ignoring_an_error()
    assert pg_store.record_count() == 0
    assert batch_rows(pg_store).empty


def test_adding_the_same_records_twice_adds_none(pg_store: PostGISStore) -> None:
    records = make_records(200)
    with pg_store.writing(INFO, key_fingerprint=KEY) as w:
        assert w.add(records) == 200
        assert w.add(records) == 0  # again in the same transaction
        assert w.add(records.slice(0, 0)) == 0
    with pg_store.writing(INFO, key_fingerprint=KEY) as w:
        assert w.add(records) == 0
        assert w.add(make_records(3, seed=1).set_column(1, "key_lo", pa.array([-1, -2, -3]))) == 3
    assert pg_store.record_count() == 203
    assert list(batch_rows(pg_store)["accepted"]) == [200, 3]


def test_records_hold_cell_centres_and_no_coordinates(pg_store: PostGISStore) -> None:
    records = make_records(40)
    with pg_store.writing(INFO, key_fingerprint=KEY) as w:
        w.add(records)
    columns = pg_store.record_columns()
    assert columns == [*RECORD_COLUMNS, "batch_id"]
    assert not {"lat", "lon", "latitude", "longitude", "x", "y"} & {c.lower() for c in columns}
    stored = pg_store.query(
        "SELECT r.cell, ST_X(c.geom) AS x, ST_Y(c.geom) AS y, ST_SRID(c.geom) AS srid "
        "FROM records r JOIN cells c USING (cell)"
    )
    assert len(stored) == 40  # every record's cell has its centre
    lat, lon = cell_centres(stored["cell"].to_numpy())
    np.testing.assert_allclose(stored["x"], lon, rtol=0, atol=1e-12)
    np.testing.assert_allclose(stored["y"], lat, rtol=0, atol=1e-12)
    assert set(stored["srid"]) == {4326}


def test_values_survive_the_copy_round_trip(pg_store: PostGISStore) -> None:
    records = make_records(6).to_pandas()
    records["category"] = ["", 'quote " comma ,', "new\nline\r\n\\.", "ünï ☂", "%s ? %%", "x"]
    records["time_flag"] = [None, "", "dst_fold", None, "dst_fold", None]
    records["severity"] = pd.array([None, 1, 2, None, 3, 1], dtype="Int16")
    records["person"] = pd.array([None, 2**62, -(2**62), 0, None, 1], dtype="Int64")
    records.loc[[0, 3], "occurred_utc"] = pd.NaT
    records.loc[1, "occurred_utc"] = pd.Timestamp("2024-10-27 01:30:59.123456")
    with pg_store.writing(INFO, key_fingerprint=KEY) as w:
        assert w.add(to_arrow(records)) == 6
    back = pg_store.query(f"SELECT {', '.join(RECORD_COLUMNS)} FROM records ORDER BY key_lo")
    expected = to_arrow(records).to_pandas()
    for name in RECORD_COLUMNS:
        got, want = back[name].tolist(), expected[name].tolist()
        if name in {"night", "month"}:
            got = [d.date() for d in back[name]]
        assert [None if pd.isna(v) else v for v in got] == [
            None if pd.isna(v) else v for v in want
        ], name


def test_storage_res_mismatch_on_reopen_raises(pg_url: str) -> None:
    PostGISStore(pg_url, storage_res=STORAGE_RES).close()
    with pytest.raises(StoreError, match=f"resolution {STORAGE_RES}, not {STORAGE_RES + 1}"):
        PostGISStore(pg_url, storage_res=STORAGE_RES + 1)


def test_nested_writing_is_refused(pg_store: PostGISStore) -> None:
    def write_inside_a_write() -> None:
        with pg_store.writing(INFO, key_fingerprint=KEY) as w:
            w.add(make_records(5))
            with pg_store.writing(INFO, key_fingerprint=KEY):
                pass

    with pytest.raises(StoreError, match="already open"):
        write_inside_a_write()
    assert pg_store.record_count() == 0


def test_key_fingerprint_mismatch_raises(pg_store: PostGISStore) -> None:
    with pg_store.writing(INFO, key_fingerprint=KEY) as w:
        w.add(make_records(5))
    with (
        pytest.raises(StoreError, match="another pseudonym key"),
        pg_store.writing(INFO, key_fingerprint="fingerprint-b") as w,
    ):
        w.add(make_records(5, seed=2).set_column(1, "key_lo", pa.array([10, 11, 12, 13, 14])))
    assert pg_store.record_count() == 5
    assert len(batch_rows(pg_store)) == 1


def test_placeholders_and_percent_signs(pg_store: PostGISStore) -> None:
    frame = pg_store.query("SELECT ? AS a, 'x%' AS b, '?' AS c, 5 % 3 AS d", [np.int64(7)])
    assert frame.iloc[0].tolist() == [7, "x%", "?", 2]
    frame = pg_store.query("SELECT 5 % 3 AS d, $$it's ?$$ AS e -- isn't it?\n, 1 AS d")
    assert list(frame.columns) == ["d", "e", "d"]
    assert frame.iloc[0].tolist() == [2, "it's ?", 1]


def test_unreachable_server_names_where_and_hides_the_password() -> None:
    with pytest.raises(StoreError, match=r"host 127\.0\.0\.1 port 1, database nowhere") as caught:
        PostGISStore("postgresql://someone:sekrit@127.0.0.1:1/nowhere", storage_res=STORAGE_RES)
    assert "sekrit" not in str(caught.value)


def test_the_audit_trail_cannot_be_changed_through_the_server(pg_store: PostGISStore) -> None:
    """A trigger refuses UPDATE, DELETE and TRUNCATE of the audit trail whoever asks (even the
    owner, even a superuser): only a superuser dropping the trigger gets round it, and then
    the chain (``audit verify``) still finds the edit."""
    from streetsafe import audit

    for i in range(3):
        audit.record(pg_store, audit.SENSITIVE_READ, audit.Actor(f"p{i}@x.org", "outreach"), n=i)
    for statement in (
        "UPDATE audit SET actor = 'someone else' WHERE seq = 2",
        "DELETE FROM audit WHERE seq = 2",
        "TRUNCATE audit",
    ):
        with pytest.raises(StoreError, match="append-only"):
            pg_store._execute(statement)
    assert audit.verify(pg_store).ok
    assert audit.verify(pg_store).entries == 3
    pg_store._execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
    pg_store._execute("UPDATE audit SET actor = 'someone else' WHERE seq = 2")
    assert audit.verify(pg_store).problems == ["entry 2: changed since it was written"]


def test_accounts_round_trip_on_the_server(pg_store: PostGISStore) -> None:
    from store import UserRow

    pg_store.add_user(UserRow("a@b.org", "outreach", "Night van", "$argon2id$x"))
    pg_store.update_user("a@b.org", failed=2, disabled=True)
    user = pg_store.user("a@b.org")
    assert user is not None
    assert (user.role, user.agency, user.failed, user.disabled) == (
        "outreach",
        "Night van",
        2,
        True,
    )
    assert pg_store.has_users()
    assert pg_store.add_failure("a@b.org") == 3  # counted by the server, in one statement
    assert pg_store.add_failure("nobody@b.org") == 0
