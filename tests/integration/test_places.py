"""The place index in the store (both engines): police.uk's public streets and the gazetteer's
places, filled as files are ingested, never from the records; and the names it gives."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h3
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.hexes import cell_centres, cells_from_points
from geo.places import GENERIC_PLACES, PLACE_RES
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import Store, open_store
from streetsafe.deployment import load_study_area
from streetsafe.places import place_index
from streetsafe.resources import data_file
from streetsafe.settings import Settings
from tests.conftest import POLICEUK_HAMPSHIRE

SOUTHAMPTON = data_file("policeuk", "2022-02-southampton-street.csv")


def _expected_streets(path: Path) -> pd.DataFrame:
    """The streets of a police.uk file, counted here with h3 itself: rows per res-12 cell and
    street, "On or near " stripped, police.uk's "George'S" mended, rows naming a kind of place
    rather than a street left out."""
    raw = pd.read_csv(path, dtype=str)
    street = raw["Location"].str.removeprefix("On or near ").str.replace("'S ", "'s ")
    keep = ~street.isin(GENERIC_PLACES)
    cells = [
        h3.str_to_int(h3.latlng_to_cell(float(lat), float(lon), PLACE_RES))
        for lat, lon in zip(raw["Latitude"][keep], raw["Longitude"][keep], strict=True)
    ]
    frame = pd.DataFrame({"cell": cells, "street": street[keep].to_numpy()})
    counted = frame.groupby(["cell", "street"], as_index=False).size()
    return _canonical(counted.rename(columns={"size": "n"}))


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.loc[:, ["cell", "street", "n"]].astype({"cell": "int64", "n": "int64"})
    frame["street"] = frame["street"].astype(object)
    return frame.sort_values(["cell", "street"]).reset_index(drop=True)


def _indexed(store: Store, source: str) -> pd.DataFrame:
    return _canonical(store.query("SELECT cell, street, n FROM places WHERE source = ?", [source]))


def test_a_police_uk_file_fills_the_place_index(engine_store: Store, ctx: SealContext) -> None:
    summary = ingest_file(engine_store, "policeuk", str(SOUTHAMPTON), ctx=ctx)
    assert summary.accepted == 3095  # every row is inside Southampton
    streets = _indexed(engine_store, "policeuk")
    pd.testing.assert_frame_equal(streets, _expected_streets(SOUTHAMPTON))
    assert not streets["street"].str.lower().str.startswith("on or near").any()
    assert {"Derby Road", "King George's Avenue", "West Bargate"} <= set(streets["street"])
    assert not set(streets["street"]) & {"Supermarket", "Parking Area", "No Location", ""}


def test_the_gazetteer_places_are_indexed_with_any_file(
    engine_store: Store, ctx: SealContext
) -> None:
    asb = "occurred_at,place,category,agency\n2025-03-13 23:05,Six Dials,noise,Community safety\n"
    ingest_file(engine_store, "asb", io.BytesIO(asb.encode()), ctx=ctx)
    places = _indexed(engine_store, "gazetteer")
    gazetteer = ctx.gazetteer.places.values()
    want = pd.DataFrame(
        {
            "cell": [
                h3.str_to_int(h3.latlng_to_cell(la, lo, PLACE_RES)) for _, la, lo in gazetteer
            ],
            "street": [name for name, _, _ in gazetteer],
            "n": 0,
        }
    )
    pd.testing.assert_frame_equal(places, _canonical(want))
    assert len(_indexed(engine_store, "policeuk")) == 0


def test_ingesting_again_adds_nothing_to_the_place_index(
    engine_store: Store, ctx: SealContext
) -> None:
    ingest_file(engine_store, "policeuk", str(SOUTHAMPTON), ctx=ctx)
    first = engine_store.query("SELECT * FROM places ORDER BY cell, street, source")
    again = ingest_file(engine_store, "policeuk", str(SOUTHAMPTON), ctx=ctx)
    assert again.accepted == 0
    pd.testing.assert_frame_equal(
        engine_store.query("SELECT * FROM places ORDER BY cell, street, source"), first
    )
    # another cut of the same month (a twelfth of the force's rows): fewer rows at each
    # point, so the counts of the fuller file stand
    ingest_file(engine_store, "policeuk", str(POLICEUK_HAMPSHIRE), ctx=ctx)
    merged = engine_store.places()
    both = merged.merge(_expected_streets(SOUTHAMPTON), on=["cell", "street"], suffixes=("", "_s"))
    assert len(both) == len(_expected_streets(SOUTHAMPTON))
    assert (both["n"] >= both["n_s"]).all()


def test_the_places_land_with_the_file_or_not_at_all(
    engine_store: Store, ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import pipeline

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "_finish", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(engine_store, "policeuk", str(SOUTHAMPTON), ctx=ctx)
    assert len(engine_store.places()) == 0


def test_a_file_read_in_small_batches_counts_its_streets_whole(
    tmp_path: Path, ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.csvfile.BLOCK_SIZE", 4096)  # about 30 batches
    with open_store(str(tmp_path / "small.duckdb"), storage_res=10) as store:
        ingest_file(store, "policeuk", str(SOUTHAMPTON), ctx=ctx)
        pd.testing.assert_frame_equal(_indexed(store, "policeuk"), _expected_streets(SOUTHAMPTON))


def test_the_shipped_police_file_names_southampton_city_centre(
    engine_store: Store, ctx: SealContext
) -> None:
    ingest_file(engine_store, "policeuk", str(SOUTHAMPTON), ctx=ctx)
    index = place_index(engine_store)
    bargate = int(cells_from_points([50.9027], [-1.4043], 9)[0])  # the medieval town gate
    derby_road = int(cells_from_points([50.9118], [-1.3929], 9)[0])
    names = index.names([bargate, derby_road])
    assert names[0].startswith("near ")
    assert "Bargate" in names[0]
    assert "Derby Road" in names[1]
    # a hexagon out in the Solent, a kilometre from any street: no name
    assert index.names(cells_from_points([50.855], [-1.395], 9)) == [""]


# Anywhere in Southampton: the centre of any of its resolution-11 hexagons (about 2,000 m²).
_SOUTHAMPTON = load_study_area(Settings.from_env({}).study_area)
_POINTS = list(zip(*cell_centres(_SOUTHAMPTON.cells(11)), strict=True))
_RECORDS = st.lists(
    st.tuples(st.sampled_from(_POINTS), st.sampled_from(["violence", "robbery", "threats"])),
    min_size=1,
    max_size=30,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=_RECORDS)
def test_records_added_anywhere_change_no_name(
    named_store: _Named, records: list[tuple[tuple[float, float], str]]
) -> None:
    """A hexagon's name depends on the public place index and the hexagon alone: records,
    wherever they lie and however many, change no name."""
    store = named_store.store
    rows = ["occurred_at,latitude,longitude,category,severity,agency,person_ref"]
    rows += [
        f"2025-03-{1 + i % 28:02d} 23:{i % 60:02d},{lat:.6f},{lon:.6f},{category},high,"
        f"Night van,P-{i % 5}"
        for i, ((lat, lon), category) in enumerate(records)
    ]
    data = io.BytesIO("\n".join(rows).encode())
    added = ingest_file(store, "incidents", data, ctx=named_store.ctx)
    assert added.accepted + added.duplicates == len(records)  # all of them in the store
    assert place_index(store).names(named_store.cells) == named_store.names


@dataclass(frozen=True, repr=False)
class _Named:
    store: Store
    ctx: SealContext
    cells: list[int]
    names: list[str]

    def __repr__(self) -> str:  # hypothesis shows its arguments: not thousands of names
        return f"<{len(self.cells)} hexagons named>"


@pytest.fixture(scope="module")
def named_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Named]:
    """An embedded store with the shipped police.uk file, and the names of every hexagon of
    resolutions 7 to 9 over Southampton before any record is added."""
    from dataclasses import replace

    from streetsafe.deployment import seal_context
    from tests.conftest import NOW, TEST_KEY

    path = tmp_path_factory.mktemp("places") / "s.duckdb"
    settings_ = Settings.from_env({}, store=str(path), pseudonym_key=TEST_KEY)
    ctx = replace(seal_context(settings_), now=NOW)
    with open_store(str(path), storage_res=10) as store:
        ingest_file(store, "policeuk", str(SOUTHAMPTON), ctx=ctx)
        cells = [int(c) for res in (7, 8, 9) for c in ctx.study_area.cells(res)]
        yield _Named(store, ctx, cells, place_index(store).names(cells))
