"""The services in the store (both engines): replaced whole in one transaction, read back by
name, and what loading a services file leaves there."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest

from geo.errors import SchemaError, StoreError
from geo.opening import WeeklyHours
from ingest.services import FILE_COLUMNS
from store import SERVICE_COLUMNS, Store
from streetsafe.deployment import load_study_area
from streetsafe.resources import data_file
from streetsafe.services import load_services, open_services, services_frame
from streetsafe.settings import Settings

DEMO = data_file("services_demo.csv")
_TEXT = {c: "str" for c in SERVICE_COLUMNS if c not in ("lat", "lon")}


def _services(*names: str) -> pd.DataFrame:
    """Services named ``names``: drop-ins on Derby Road, open 20:00-02:00 every night."""
    return pd.DataFrame(
        [
            {
                "name": name,
                "kind": "drop_in",
                "address": "Derby Road",
                "lat": 50.9110 + i / 1000,
                "lon": -1.3927,
                **dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "20:00-02:00"),
                "phone": "01632 960100",
                "notes": "",
            }
            for i, name in enumerate(names)
        ],
        columns=list(SERVICE_COLUMNS),
    ).astype(_TEXT)


def _stored(store: Store) -> pd.DataFrame:
    return store.services().drop(columns="loaded_at")


def test_services_round_trip_sorted_by_name(engine_store: Store) -> None:
    given = _services("Night van stop", "drop-in, Northam", "A&E", "Café")
    assert engine_store.replace_services(given) == 4
    stored = engine_store.services()
    assert list(stored.columns) == [*SERVICE_COLUMNS, "loaded_at"]
    assert list(stored["name"]) == ["A&E", "Café", "drop-in, Northam", "Night van stop"]
    want = given.sort_values("name", key=lambda n: n.str.casefold()).reset_index(drop=True)
    pd.testing.assert_frame_equal(_stored(engine_store), want)
    assert stored["loaded_at"].nunique() == 1
    assert str(stored["loaded_at"].dtype) == "datetime64[us]"


def test_no_services_is_an_empty_frame_with_the_columns(engine_store: Store) -> None:
    empty = engine_store.services()
    assert empty.empty
    assert list(empty.columns) == [*SERVICE_COLUMNS, "loaded_at"]
    assert engine_store.replace_services(_services()) == 0
    assert engine_store.services().empty


def test_replacing_again_replaces_the_whole_set(engine_store: Store) -> None:
    engine_store.replace_services(_services("Drop-in", "Shelter", "SARC"))
    engine_store.replace_services(_services("Shelter", "Pharmacy"))
    assert list(engine_store.services()["name"]) == ["Pharmacy", "Shelter"]
    engine_store.replace_services(_services())
    assert engine_store.services().empty


def test_a_failing_replace_leaves_the_services_as_they_were(engine_store: Store) -> None:
    engine_store.replace_services(_services("Drop-in", "Shelter"))
    before = engine_store.services()
    broken = _services("Pharmacy", "Police station").astype({"kind": object})
    broken.loc[1, "kind"] = None  # violates NOT NULL, after the old rows were deleted
    with pytest.raises(StoreError):
        engine_store.replace_services(broken)
    pd.testing.assert_frame_equal(engine_store.services(), before)
    with pytest.raises(StoreError, match="lack the columns phone"):
        engine_store.replace_services(_services("Pharmacy").drop(columns="phone"))
    pd.testing.assert_frame_equal(engine_store.services(), before)
    # the store is still usable after the failure
    assert engine_store.replace_services(_services("Pharmacy")) == 1


def test_a_failure_inside_the_transaction_rolls_the_delete_back(
    engine_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_store.replace_services(_services("Drop-in"))

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine_store, "_insert_services", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        engine_store.replace_services(_services("Shelter"))
    assert list(engine_store.services()["name"]) == ["Drop-in"]


def test_the_demo_file_loads_and_says_what_is_open_tonight(engine_store: Store) -> None:
    area = load_study_area(Settings.from_env({}).study_area)
    summary = load_services(engine_store, DEMO, area)
    assert (summary.rejected, summary.replaced) == (0, True)
    assert summary.rows == summary.accepted == len(pd.read_csv(DEMO))
    frame = services_frame(engine_store)
    assert all(isinstance(w, WeeklyHours) for w in frame["weekly"])
    assert frame["lat"].between(50.88, 50.96).all()
    friday = open_services(engine_store, date(2025, 3, 14), 20 * 60, 28 * 60)
    assert {"SARC (demo)", "Night drop-in (demo)"} <= set(friday["name"])
    assert "Refuge office (demo)" not in set(friday["name"])
    assert friday["open_text"].str.startswith("open ").all()


def test_rejected_rows_are_reported_and_the_good_ones_stored(engine_store: Store) -> None:
    engine_store.replace_services(_services("Old drop-in"))
    week = ",".join(["20:00-02:00"] * 7)
    data = "\n".join(
        [
            ",".join(FILE_COLUMNS),
            f"Drop-in,Drop-in,Derby Road,50.9110,-1.3927,{week},,",
            f"Shelter,shop,Northam Road,50.9121,-1.3878,{week},,",
        ]
    )
    summary = load_services(engine_store, io.BytesIO(data.encode()), source="services.csv")
    assert (summary.rows, summary.accepted, summary.rejected) == (3 - 1, 1, 1)
    assert summary.rejects[0].reason.startswith("line 3: kind 'shop'")
    assert list(engine_store.services()["name"]) == ["Drop-in"]


def test_a_file_whose_every_row_is_rejected_changes_nothing(engine_store: Store) -> None:
    engine_store.replace_services(_services("Drop-in"))
    summary = load_services(engine_store, data_file("templates", "services.csv"))
    assert (summary.rows, summary.accepted, summary.rejected) == (2, 0, 2)
    assert not summary.replaced
    assert list(engine_store.services()["name"]) == ["Drop-in"]
    # a header alone is the list emptied, on purpose
    header = ",".join(FILE_COLUMNS).encode()
    summary = load_services(engine_store, io.BytesIO(header))
    assert summary.replaced
    assert engine_store.services().empty


def test_a_file_that_is_no_services_file_leaves_the_store_alone(engine_store: Store) -> None:
    engine_store.replace_services(_services("Drop-in"))
    with pytest.raises(SchemaError, match="missing column"):
        load_services(engine_store, data_file("templates", "asb.csv"))
    assert list(engine_store.services()["name"]) == ["Drop-in"]


def test_hours_spoilt_in_the_store_are_reported_with_the_service(engine_store: Store) -> None:
    engine_store.replace_services(_services("Drop-in"))
    engine_store._execute("UPDATE services SET fri = '8pm-2am'")
    with pytest.raises(StoreError, match="the stored service 'Drop-in' has opening hours"):
        services_frame(engine_store)
