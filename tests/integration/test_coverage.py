"""The data's coverage, which every page states: what each role is told of when its data starts
and ends, and that it tells a partner nothing of records its view holds back."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from geo.errors import ConfigError
from ingest.pipeline import ingest_file
from store import Store, open_store
from streetsafe.deployment import seal_context
from streetsafe.policies import load_policies
from streetsafe.releases import ReleaseRules, first_release_month, make_releases
from streetsafe.resources import data_file
from streetsafe.settings import Settings
from streetsafe.views import coverage
from tests.conftest import ENGINES, TEST_KEY, _store_url, fresh_store, load_demo

END = date(2026, 10, 31)
TODAY = date(2026, 11, 23)
POLICIES = load_policies()
TARGET = (50.9301, -1.4322)  # a hexagon in Shirley


def _target_rows() -> str:
    """One woman, alone: four incidents in June 2024, when no other incident was recorded,
    shared with partners (fewer than k people: no partner figure may show them)."""
    rows = ["occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing"]
    rows += [
        f"2024-06-{d:02d} 23:10,{TARGET[0]},{TARGET[1]},violence,high,Police NPT,T-1,partners"
        for d in (3, 10, 17, 24)
    ]
    return "\n".join(rows)


@pytest.fixture(scope="module", params=ENGINES)
def twins(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, Store]]:
    """Two stores of each engine with the same months released (police.uk's February 2022
    opens both): the demo, and the demo with the target."""
    tmp = tmp_path_factory.mktemp(f"coverage-{request.param}")
    ctx = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))
    places, stores = [], []
    for name in ("without", "with"):
        (tmp / name).mkdir()
        places.append(_store_url(request.param, request, tmp / name))
    try:
        for i, place in enumerate(places):
            store = open_store(next(place), storage_res=10)
            stores.append(store)
            load_demo(store, ctx, end=END, scale=0.2)
            police = str(data_file("policeuk", "2022-02-southampton-street.csv"))
            ingest_file(store, "policeuk", police, ctx=ctx)
            if i:
                stream = io.BytesIO(_target_rows().encode())
                ingest_file(store, "incidents", stream, ctx=ctx, source="target.csv")
            make_releases(store, ReleaseRules.of(Settings.from_env({}), TODAY))
        yield stores[0], stores[1]
    finally:
        for store in stores:
            store.close()
        for place in places:
            place.close()  # drops a PostGIS test database


@pytest.mark.parametrize("role", ["police_npt", "community_safety"])
def test_a_partners_coverage_says_nothing_of_a_month_held_back(
    twins: tuple[Store, Store], role: str
) -> None:
    """The month a layer's figures start in is the first month the role's view shows one: a
    woman's incidents in a month of their own, under k, move nothing (the released months are
    the same, from police.uk's first)."""
    without, with_target = twins
    a, b = coverage(without, POLICIES[role]), coverage(with_target, POLICIES[role])
    assert a.released == b.released
    assert a.released[0] == date(2022, 2, 1)
    assert a.months == b.months
    assert all(
        first > date(2024, 6, 1) for layer, (first, _) in b.months.items() if layer != "policeuk"
    )
    assert a.text({}) == b.text({})


def test_the_outreach_lead_is_told_the_nights_of_every_layer(twins: tuple[Store, Store]) -> None:
    """A role with case knowledge: the first and last night of its layers' records (the target
    is its own team's knowledge), and police.uk's months, which have no nights."""
    without, with_target = twins
    a, b = coverage(without, POLICIES["outreach"]), coverage(with_target, POLICIES["outreach"])
    assert a.last_night == date(2026, 10, 30) or a.last_night == date(2026, 10, 31)
    assert "policeuk" not in a.nights
    assert a.months["policeuk"] == (date(2022, 2, 1), date(2022, 2, 1))
    assert b.nights["incident"][0] == date(2024, 6, 3)
    assert "policeuk: 2022-02 (month only)" in a.text({})


def _lone_record_first(month: str) -> str:
    """One welfare check, outreach only, in a month before every other record."""
    return (
        "occurred_at,latitude,longitude,category,agency,person_ref,sharing\n"
        f"{month}-14 23:10,{TARGET[0]},{TARGET[1]},welfare_check,Night van,Z-9,outreach_only\n"
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_which_months_are_released_does_not_follow_the_earliest_record(
    engine: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With no public data, a lone outreach-only contact a year before everything else would
    open the partners' months a year early if releases started at the first record: they
    start at the month the operator chose (STREETSAFE_RELEASE_FROM)."""
    settings = Settings.from_env({"STREETSAFE_RELEASE_FROM": "2025-01"}, pseudonym_key=TEST_KEY)
    ctx = seal_context(settings)
    seen = []
    for lone in (False, True):
        tmp = tmp_path_factory.mktemp(f"release-from-{engine}")
        for store in fresh_store(engine, request, tmp):
            load_demo(store, ctx, end=END, scale=0.1)
            if lone:
                stream = io.BytesIO(_lone_record_first("2024-03").encode())
                ingest_file(store, "outreach", stream, ctx=ctx, source="lone.csv")
            make_releases(store, ReleaseRules.of(settings, TODAY))
            seen.append(
                (
                    sorted(store.release_ids()),
                    coverage(store, POLICIES["police_npt"]).text({}),
                )
            )
    assert seen[0] == seen[1]
    assert seen[0][0][0] == date(2025, 1, 1)


def test_releases_start_at_public_data_or_say_they_follow_the_records(tmp_path: Path) -> None:
    """Unset, releases start at police.uk's first month (public); a store with no public data
    starts at its first record, and the operator is told (``streetsafe release``)."""
    ctx = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))
    with open_store(str(tmp_path / "a.duckdb"), storage_res=10) as store:
        stream = io.BytesIO(_lone_record_first("2024-03").encode())
        ingest_file(store, "outreach", stream, ctx=ctx, source="lone.csv")
        assert first_release_month(store) == (date(2024, 3, 1), True)
        police = str(data_file("policeuk", "2022-02-southampton-street.csv"))
        ingest_file(store, "policeuk", police, ctx=ctx)
        assert first_release_month(store) == (date(2022, 2, 1), False)
        assert first_release_month(store, date(2025, 1, 9)) == (date(2025, 1, 1), False)


def test_a_release_month_that_is_not_a_month_is_refused() -> None:
    with pytest.raises(ConfigError, match="STREETSAFE_RELEASE_FROM must be a month"):
        Settings.from_env({"STREETSAFE_RELEASE_FROM": "2025-13"})


@pytest.mark.parametrize("role", ["police_npt", "community_safety"])
def test_unlimited_resliced_questions_place_no_held_back_record(
    twins: tuple[Store, Store], role: str
) -> None:
    """A partner putting every question it can to what this dashboard now shows (the coverage
    line, each view's figures, the streets naming its hexagons, the ward table) over re-sliced
    months, category groups and resolutions gets the same answers whether or not a woman's
    incidents, alone and under k, are in the store: nothing to average, nothing held back to
    bisect, no ward or street name that places her."""
    from streetsafe.boundaries import load_areas
    from streetsafe.filters import ReleaseRequest, parse_request
    from streetsafe.places import place_index
    from streetsafe.views import release_area_view, release_view

    without, with_target = twins
    policy = POLICIES[role]
    wards = load_areas(Settings.from_env({}).wards)
    assert coverage(without, policy).text({}) == coverage(with_target, policy).text({})
    months: list[tuple[str | None, str | None]] = [
        ("2024-05", "2024-07"),
        ("2024-06", "2024-06"),
        ("2022-02", "2026-10"),
        ("2026-08", "2026-10"),
        (None, None),
    ]
    asked = 0
    for first, last in months:
        for groups in (None, "harm", "buyers"):
            for res in (8, 7, 6):
                request = parse_request(
                    POLICIES,
                    role=role,
                    res=res,
                    layers="incident,asb",
                    date_from=first,
                    date_to=last,
                    categories=groups,
                )
                assert isinstance(request, ReleaseRequest)
                answers = []
                for store in (without, with_target):
                    view = release_view(store, policy, request, by=("month",))
                    names = place_index(store).names(view.cells["cell"].to_numpy())
                    ward = release_area_view(store, policy, request, wards, by=("month",))
                    answers.append((view.cells, view.notes, view.release, names, ward.cells))
                a, b = answers
                pd.testing.assert_frame_equal(a[0], b[0])
                assert a[1:4] == b[1:4]
                pd.testing.assert_frame_equal(a[4], b[4])
                asked += 1
    assert asked == 45
