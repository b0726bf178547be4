"""What never reaches the store: raw coordinates, person references, names, free text."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from geo.errors import ConfigError, StoreError
from ingest.pipeline import ingest_file
from ingest.pseudonyms import Pseudonymiser, load_key
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


def test_pseudonyms_cannot_be_recomputed_without_the_key() -> None:
    import pandas as pd

    refs = pd.Series(["AB-17", "ab-17 ", "CD-04"])
    ours = Pseudonymiser(b"k" * 32).people(refs)
    theirs = Pseudonymiser(b"x" * 32).people(refs)
    assert ours[0] == ours[1] != ours[2]
    assert set(ours).isdisjoint(set(theirs))


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "pseudonym.key"
    key = load_key(env_key=None, key_file=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(env_key=None, key_file=path) == key
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_key(env_key=None, key_file=path)


def test_environment_key_must_be_hex() -> None:
    with pytest.raises(ConfigError, match="64 hexadecimal"):
        load_key(env_key="not-a-key", key_file=Path("/nonexistent"))


def test_store_refuses_a_different_key(store: Store, ctx: SealContext) -> None:
    ingest_file(store, "incidents", io.BytesIO(ROWS.encode()), ctx=ctx, source="x.csv")
    other = SealContext(
        study_area=ctx.study_area,
        gazetteer=ctx.gazetteer,
        pseudonymiser=Pseudonymiser(b"another key of 32 bytes........."),
        storage_res=ctx.storage_res,
        now=ctx.now,
    )
    with pytest.raises(StoreError, match="another pseudonym key"):
        ingest_file(store, "incidents", io.BytesIO(ROWS.encode()), ctx=other, source="x.csv")
    assert store.record_count() == 2


def test_store_refuses_another_storage_resolution(store: Store, ctx: SealContext) -> None:
    url = store.url
    store.close()
    with pytest.raises(StoreError, match="resolution 10, not 9"):
        open_store(url, storage_res=9)


@hypothesis_settings(max_examples=60, deadline=None)
@given(refs=st.lists(st.text(min_size=1, max_size=12).filter(str.strip), min_size=1, max_size=20))
def test_pseudonyms_are_stable_and_never_the_reference(refs: list[str]) -> None:
    import pandas as pd

    p = Pseudonymiser(b"s" * 32)
    first = p.people(pd.Series(refs))
    assert first.equals(p.people(pd.Series(refs)))
    assert first.notna().all()
    assert (first > 0).all()
    assert not set(map(str, first)) & set(refs)


def test_a_pseudonym_is_the_full_keyed_hash_whatever_else_is_in_the_batch() -> None:
    import pandas as pd

    p = Pseudonymiser(b"s" * 32)
    alone = p.people(pd.Series(["AB12"]))[0]
    # beside a missing reference: once turned to floating point and rounded to 53 bits, so
    # two people could share a pseudonym and the same person got two
    beside_missing = p.people(pd.Series(["AB12", "", None]))
    assert beside_missing[0] == alone
    assert beside_missing[1:].isna().all()
    assert beside_missing.dtype == "Int64"
