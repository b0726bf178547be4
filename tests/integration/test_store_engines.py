"""The same store behaviour on both engines, and identical aggregates from identical files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from geo.hexes import parent_sql
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import RECORD_COLUMNS, Store, open_store
from streetsafe.demo import generate_demo
from streetsafe.settings import Settings
from tests.conftest import POLICEUK_HAMPSHIRE, POLICEUK_HAMPSHIRE_SOUTHAMPTON
from tests.integration.test_ingest import FAULTS, HEADER
from tests.pg_cluster import PgCluster


def _files() -> dict[str, bytes]:
    from datetime import date

    demo = generate_demo(end=date(2026, 10, 31), scale=0.2)
    return {"incidents": demo.incidents, "outreach": demo.outreach, "asb": demo.asb}


def _load(store: Store, ctx: SealContext, files: dict[str, bytes]) -> dict[str, int]:
    accepted = {}
    for kind, data in files.items():
        summary = ingest_file(store, kind, io.BytesIO(data), ctx=ctx, source=f"{kind}.csv")
        accepted[kind] = summary.accepted
    police = ingest_file(store, "policeuk", str(POLICEUK_HAMPSHIRE), ctx=ctx)
    accepted["policeuk"] = police.accepted
    return accepted


def _aggregates(store: Store, res: int) -> pd.DataFrame:
    frame = store.query(
        f"SELECT {parent_sql('cell', res)} AS cell, layer, sharing, month, weekday, "
        "local_minute, count(*) AS n, count(DISTINCT person) AS people, "
        "sum(record_key) AS keys FROM records GROUP BY 1, 2, 3, 4, 5, 6"
    )
    frame["month"] = pd.to_datetime(frame["month"])
    for col in ("n", "people", "keys", "weekday", "local_minute"):
        frame[col] = frame[col].astype("Int64")
    return frame.sort_values(list(frame.columns[:6])).reset_index(drop=True)


def test_faults_and_duplicates_behave_alike(engine_store: Store, ctx: SealContext) -> None:
    data = ("\n".join([HEADER, *FAULTS]) + "\n").encode()
    first = ingest_file(engine_store, "incidents", io.BytesIO(data), ctx=ctx, source="f.csv")
    again = ingest_file(engine_store, "incidents", io.BytesIO(data), ctx=ctx, source="f.csv")
    assert (first.accepted, first.rejected) == (4, 7)
    assert (again.accepted, again.duplicates) == (0, 4)
    assert engine_store.record_count() == 4
    batches = engine_store.query("SELECT accepted FROM batches ORDER BY id")["accepted"].tolist()
    assert batches == [4, 0]


def test_a_failing_file_leaves_the_store_as_it_was(
    engine_store: Store, ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = ("\n".join([HEADER, *FAULTS]) + "\n").encode()
    ingest_file(engine_store, "incidents", io.BytesIO(data), ctx=ctx, source="f.csv")
    from ingest import pipeline

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "to_arrow", broken)
    other = data.replace(b"A1,", b"B1,").replace(b"A2,", b"B2,")
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(engine_store, "incidents", io.BytesIO(other), ctx=ctx, source="g.csv")
    assert engine_store.record_count() == 4
    assert len(engine_store.query("SELECT id FROM batches")) == 1


def test_store_has_no_coordinate_or_reference_columns(engine_store: Store) -> None:
    columns = {c.lower() for c in engine_store.record_columns()}
    assert not columns & {"latitude", "longitude", "lat", "lon", "person_ref", "record_id"}


def test_the_released_migrations_make_the_records_the_writers_send(engine_store: Store) -> None:
    # Migrations are frozen text: a new column needs a new migration, or the writers' records
    # no longer fit the table (and this fails).
    assert engine_store.record_columns() == [*RECORD_COLUMNS, "batch_id"]


@pytest.mark.postgis
def test_both_engines_give_identical_aggregates(
    ctx: SealContext, settings: Settings, tmp_path: Path, pg_server: PgCluster
) -> None:
    files = _files()
    with open_store(str(tmp_path / "e.duckdb"), storage_res=10) as embedded:
        accepted_e = _load(embedded, ctx, files)
        agg_e = {res: _aggregates(embedded, res) for res in (8, 10)}
    with pg_server.fresh_database() as url, open_store(url, storage_res=10) as postgis:
        accepted_p = _load(postgis, ctx, files)
        agg_p = {res: _aggregates(postgis, res) for res in (8, 10)}
        cells = postgis.query(
            "SELECT count(*) AS n FROM records r JOIN cells c USING (cell) "
            "WHERE NOT ST_IsEmpty(c.geom)"
        )
    assert accepted_e == accepted_p
    assert abs(accepted_e["policeuk"] - POLICEUK_HAMPSHIRE_SOUTHAMPTON) <= 3
    assert int(cells["n"].iloc[0]) == sum(accepted_p.values())
    for res in (8, 10):
        pd.testing.assert_frame_equal(agg_e[res], agg_p[res], check_dtype=False)
        assert agg_e[res]["n"].sum() == sum(accepted_e.values())


def test_a_corrected_report_in_another_month_is_still_a_duplicate(
    engine_store: Store, ctx: SealContext
) -> None:
    first = (
        HEADER + "\nA1,2025-03-31 23:40,50.9112,-1.3931,,violence,high,Outreach,AB-17,partners\n"
    )
    moved = (
        HEADER + "\nA1,2025-04-01 00:40,50.9112,-1.3931,,violence,high,Outreach,AB-17,partners\n"
    )
    assert ingest_file(engine_store, "incidents", io.BytesIO(first.encode()), ctx=ctx).accepted == 1
    again = ingest_file(engine_store, "incidents", io.BytesIO(moved.encode()), ctx=ctx)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert engine_store.record_count() == 1


@pytest.mark.postgis
def test_postgis_partitions_records_by_month_and_prunes_them(
    ctx: SealContext, pg_server: PgCluster
) -> None:
    from datetime import date

    from geo.aggregate import CubeFilter
    from geo.nights import parse_hour_range
    from store._queries import contributions

    with pg_server.fresh_database() as url, open_store(url, storage_res=10) as store:
        _load(store, ctx, _files())
        months = store.query("SELECT count(DISTINCT month) AS n FROM records")["n"].iloc[0]
        parts = store.query(
            "SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'records'::regclass"
        )["n"].iloc[0]
        assert parts == months
        f = CubeFilter(
            hours=parse_hour_range("22-04"), date_from=date(2026, 8, 1), date_to=date(2026, 10, 31)
        )
        sql, params = contributions(f, res=8, storage_res=store.storage_res)
        plan = "\n".join(store.query("EXPLAIN " + sql, params).iloc[:, 0])
        scanned = set(re.findall(r"records_\d{4}_\d{2}", plan))
        assert scanned == {"records_2026_08", "records_2026_09", "records_2026_10"}


def test_files_ingested_before_uploaders_were_recorded_are_not_trusted(
    ctx: SealContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file from before migration 4 may have been a partner's upload: its records count
    towards no one else's k, each such file a pool of its own in partner releases."""
    from datetime import date

    from store import _base
    from streetsafe.releases import ReleaseRules, make_releases

    data = HEADER + "\nA1,2025-03-30 23:40,50.9112,-1.3931,,violence,high,Outreach,AB-17,partners\n"
    with open_store(str(tmp_path / "now.duckdb"), storage_res=10) as now:
        ingest_file(now, "incidents", io.BytesIO(data.encode()), ctx=ctx)
        records = now.query("SELECT * EXCLUDE (batch_id) FROM records")
    released = _base._migrations("duckdb")
    old_path = str(tmp_path / "old.duckdb")
    monkeypatch.setattr(_base, "_migrations", lambda dialect: released[:3])
    with open_store(old_path, storage_res=10) as old:  # a store as version 3 left it
        old.query("SELECT 1")
        con = old._con  # type: ignore[attr-defined]
        con.execute(
            "INSERT INTO batches (layer, source, file_sha256, ingested_at, accepted) "
            "VALUES ('incident', '', 'x', now(), 1)"
        )
        con.register("old_records", records.assign(batch_id=1))
        con.execute("INSERT INTO records SELECT * FROM old_records")
    monkeypatch.undo()
    with open_store(old_path, storage_res=10) as upgraded:
        assert upgraded.query("SELECT uploaded_by, trusted FROM batches").values.tolist() == [
            [None, False]
        ]
        make_releases(upgraded, ReleaseRules(date(2025, 5, 1), 7))
        values = upgraded.release_values(list(upgraded.release_ids().values()))
    assert set(values["pool"]) == {"file 1"}


def test_only_new_records_change_the_data_token(engine_store: Store, ctx: SealContext) -> None:
    """The dashboard answers from memory until the token changes: an audit entry, an account
    or a release leaves the records as they were, and must not send views back to SQL."""
    from store import UserRow
    from streetsafe import audit

    before = engine_store.data_token()
    audit.record(engine_store, audit.SENSITIVE_READ, audit.Actor("a@b.org", "outreach"), cells=1)
    engine_store.add_user(UserRow("a@b.org", "outreach", "Night van", "$argon2id$x"))
    engine_store.add_failure("a@b.org")
    assert engine_store.data_token() == before
    ingest_file(engine_store, "policeuk", str(POLICEUK_HAMPSHIRE), ctx=ctx)
    assert engine_store.data_token() != before
