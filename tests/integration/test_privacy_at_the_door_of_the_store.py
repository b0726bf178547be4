"""What the store refuses or never holds: coordinates, references, another key or resolution."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from geo.errors import StoreError
from ingest.pipeline import ingest_file
from ingest.pseudonyms import Pseudonymiser
from ingest.seal import SealContext
from store import Store, open_store
from streetsafe.settings import Settings

ROWS = (
    "record_id,occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing,notes,name\n"
    "R1,2025-03-14 23:40,50.911234,-1.393187,violence,high,Outreach,Jane Q Example,partners,"
    "hit with bottle behind the chip shop,Jane Example\n"
    "R2,2025-03-15 00:10,50.904871,-1.396512,robbery,medium,Outreach,jane q  example,partners,"
    "phone taken,\n"
)


def test_store_holds_no_coordinates_names_or_free_text(
    store: Store, ctx: SealContext, settings: Settings
) -> None:
    summary = ingest_file(store, "incidents", io.BytesIO(ROWS.encode()), ctx=ctx, source="x.csv")
    assert summary.accepted == 2
    assert summary.dropped_columns == ["notes", "name"]
    columns = {c.lower() for c in store.record_columns()}
    assert not columns & {"latitude", "longitude", "lat", "lon", "person_ref", "notes", "name"}
    # The same woman, written twice with other spacing and case, is one pseudonym.
    people = store.query("SELECT DISTINCT person FROM records")["person"].tolist()
    assert len(people) == 1
    store.close()
    # Nothing of the raw text survives anywhere in the store file.
    raw = Path(settings.store).read_bytes()
    for secret in (
        b"Jane",
        b"jane",
        b"bottle",
        b"chip shop",
        b"50.911234",
        b"-1.393187",
        b"911234",
    ):
        assert secret not in raw, secret


def test_store_refuses_a_different_key(store: Store, ctx: SealContext) -> None:
    ingest_file(store, "incidents", io.BytesIO(ROWS.encode()), ctx=ctx, source="x.csv")
    other = replace(ctx, pseudonymiser=Pseudonymiser(b"another key of 32 bytes........."))
    with pytest.raises(StoreError, match="another pseudonym key"):
        ingest_file(store, "incidents", io.BytesIO(ROWS.encode()), ctx=other, source="x.csv")
    assert store.record_count() == 2


def test_store_refuses_another_storage_resolution(store: Store, ctx: SealContext) -> None:
    url = store.url
    store.close()
    with pytest.raises(StoreError, match="resolution 10, not 9"):
        open_store(url, storage_res=9)


def test_a_store_sealed_under_the_old_pseudonym_scheme_takes_no_new_files(
    engine_store: Store, ctx: SealContext
) -> None:
    # Written before references were folded to letters and digits: its "AB-17" and "AB17" are
    # two people, and adding records folded the new way would mix the two schemes.
    engine_store._execute("INSERT INTO meta (key, value) VALUES ('key_fingerprint', ?)", ("x",))
    with pytest.raises(StoreError, match=r"pseudonym scheme 1.*Make a new store"):
        ingest_file(engine_store, "incidents", io.BytesIO(ROWS.encode()), ctx=ctx, source="x.csv")
    assert engine_store.record_count() == 0


def test_a_new_store_records_its_pseudonym_scheme(engine_store: Store, ctx: SealContext) -> None:
    ingest_file(engine_store, "incidents", io.BytesIO(ROWS.encode()), ctx=ctx, source="x.csv")
    meta = dict(engine_store._execute("SELECT key, value FROM meta"))
    assert meta["pseudonym_scheme"] == "2"
    again = ingest_file(
        engine_store, "incidents", io.BytesIO(ROWS.encode()), ctx=ctx, source="x.csv"
    )
    assert again.accepted == 0


def test_the_store_file_and_its_new_folder_are_private(tmp_path: Path, ctx: SealContext) -> None:
    old = os.umask(0o022)  # a lax umask: the store must not rely on the caller's
    try:
        path = tmp_path / "var" / "deep" / "store.duckdb"
        with open_store(str(path), storage_res=10) as store:
            ingest_file(store, "incidents", io.BytesIO(ROWS.encode()), ctx=ctx, source="x.csv")
            for written in path.parent.iterdir():  # the database and its write-ahead log
                assert stat.S_IMODE(written.stat().st_mode) == 0o600, written.name
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_stored_file_is_known_by_its_hash_not_its_name(
    engine_store: Store, ctx: SealContext
) -> None:
    ingest_file(
        engine_store, "incidents", io.BytesIO(ROWS.encode()), ctx=ctx, source="AB-17 march.csv"
    )
    batches = engine_store.query("SELECT * FROM batches")
    assert "AB-17" not in batches.to_csv()
    assert batches["file_sha256"].tolist() == [hashlib.sha256(ROWS.encode()).hexdigest()]


@pytest.mark.parametrize("engine", ["embedded", pytest.param("postgis", marks=pytest.mark.postgis)])
def test_file_names_stored_before_are_forgotten_on_open(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if engine == "embedded":
        url, before = str(tmp_path / "s.duckdb"), "1"
    else:
        url, before = request.getfixturevalue("pg_url"), "2"
    with open_store(url, storage_res=10) as store:  # as the migrations before left it
        store._execute(
            "INSERT INTO batches (layer, source, file_sha256, ingested_at) "
            "VALUES ('incident', 'AB-17 march.csv', '', now())"
        )
        store._execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (before,))
    with open_store(url, storage_res=10) as store:
        assert store.query("SELECT source FROM batches")["source"].tolist() == [""]
