"""Hotspots and the forecast on a real store of each engine: made from what the role is
published and nothing else, through the gate, and every bad request a message."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from geo.aggregate import CubeFilter
from geo.errors import FilterError, PolicyError
from geo.hexes import cell_resolutions
from geo.nights import NIGHT_BANDS
from ingest.pipeline import ingest_file
from store import Store, open_store
from streetsafe.cli import app
from streetsafe.deployment import load_study_area, seal_context
from streetsafe.filters import ReleaseRequest, ViewRequest, parse_request
from streetsafe.forecast import GATE_WEEKS, forecast_view
from streetsafe.hotspots import HotspotParams, hotspot_report
from streetsafe.policies import load_policies
from streetsafe.releases import ReleaseRules, make_releases
from streetsafe.resources import data_file
from streetsafe.settings import Settings
from streetsafe.views import published_view, release_view
from tests.conftest import ENGINES, TEST_KEY, _store_url, fresh_store, load_demo

END = date(2026, 10, 31)
TODAY = date(2026, 11, 23)
PARAMS = HotspotParams(permutations=999, seed=5)
POLICIES = load_policies()
AREA = load_study_area(Settings.from_env({}).study_area)


def _fill(store: Store) -> None:
    load_demo(
        store, seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY)), end=END, scale=0.3
    )
    make_releases(store, ReleaseRules.of(Settings.from_env({}), TODAY))


@pytest.fixture(scope="module", params=ENGINES)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A small demo store of each engine, released to October 2026."""
    tmp = tmp_path_factory.mktemp(f"hot-{request.param}")
    for store in fresh_store(request.param, request, tmp):
        _fill(store)
        yield store


class ReleasesOnly:
    """A store that answers only what a partner's release view reads: anything else fails."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def release_ids(self) -> Any:
        return self._store.release_ids()

    def release_values(self, ids: Any) -> Any:
        return self._store.release_values(ids)

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a partner's hotspots read {name!r}, not only releases")


@pytest.mark.parametrize("role", ["police_npt", "community_safety"])
def test_partner_hotspots_read_releases_and_nothing_else(demo: Store, role: str) -> None:
    request = parse_request(POLICIES, role=role, date_from="2026-05", date_to="2026-10")
    assert isinstance(request, ReleaseRequest)
    layer = POLICIES[role].default_layers[0]
    report = hotspot_report(
        ReleasesOnly(demo),  # type: ignore[arg-type]
        POLICIES[role],
        request,
        AREA,
        layer=layer,
        params=PARAMS,
    )
    # its figures are exactly the released view's, hexagon by hexagon
    view = release_view(demo, POLICIES[role], replace(request, layers=(layer,)))
    shown = dict(zip(view.cells["cell"], view.cells["value"], strict=True))
    figures = report.cells[report.cells["value"] > 0]
    assert dict(zip(figures["cell"], figures["value"].astype(int), strict=True)) == shown
    assert report.release is not None
    assert "2026-10" in report.release
    assert len(report.trend) == 12
    assert report.months[-1] == date(2026, 10, 1)


def test_records_arriving_after_a_release_change_no_partner_hotspot(demo: Store) -> None:
    request = parse_request(POLICIES, role="police_npt", date_from="2026-08", date_to="2026-10")
    assert isinstance(request, ReleaseRequest)
    before = hotspot_report(
        demo, POLICIES["police_npt"], request, AREA, layer="incident", params=PARAMS
    )
    rows = ["occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing"]
    rows += [
        f"2026-10-{d:02d} 23:30,50.9052,-1.3962,violence,high,Police NPT,L-{d},partners"
        for d in range(1, 29)
    ]
    ctx = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))
    ingest_file(demo, "incidents", io.BytesIO("\n".join(rows).encode()), ctx=ctx, source="late.csv")
    after = hotspot_report(
        demo, POLICIES["police_npt"], request, AREA, layer="incident", params=PARAMS
    )
    pd.testing.assert_frame_equal(before.cells, after.cells)


def test_an_outreach_leads_hotspots_are_made_of_its_published_view(demo: Store) -> None:
    policy = POLICIES["outreach"]
    request = parse_request(POLICIES, role="outreach", date_from="2026-07-01", hours="20-02")
    assert isinstance(request, ViewRequest)
    report = hotspot_report(demo, policy, request, AREA, layer="outreach", params=PARAMS)
    f = request.cube_filter().with_layers(("outreach",))
    view = published_view(demo, policy, f, res=request.res)
    at_res = view.cells[view.cells["resolution"] == request.res]
    published = dict(zip(at_res["cell"], at_res["value"], strict=True))
    figures = report.cells[report.cells["value"] > 0]
    assert dict(zip(figures["cell"], figures["value"].astype(int), strict=True)) == published
    # nothing finer than the role's map, and the merged hexagons said to be left out
    assert set(cell_resolutions(report.cells["cell"].to_numpy())) <= {request.res}
    if (view.cells["resolution"] != request.res).any():
        assert any("merged into larger hexagons" in n for n in report.notes)


def test_hotspots_find_the_demos_busiest_place(demo: Store) -> None:
    request = parse_request(POLICIES, role="police_npt", date_from="2026-05", date_to="2026-10")
    report = hotspot_report(
        demo, POLICIES["police_npt"], request, AREA, layer="incident", params=PARAMS
    )
    top = report.cells.iloc[0]
    assert top["bin"] >= 2
    assert top["z"] > 3
    assert report.cells["bin"].is_monotonic_decreasing or top["bin"] == report.cells["bin"].max()


def test_a_period_too_short_for_a_trend_says_so(demo: Store) -> None:
    request = parse_request(POLICIES, role="outreach", date_from="2025-05-01", date_to="2025-07-31")
    report = hotspot_report(
        demo, POLICIES["outreach"], request, AREA, layer="outreach", params=PARAMS
    )
    assert (report.cells["category"] == "").all()
    assert any("need at least 6 months" in n for n in report.notes)
    assert any("compared with 2 earlier months" in n for n in report.notes)


def test_a_period_before_any_data_is_a_clear_error(demo: Store) -> None:
    request = parse_request(POLICIES, role="outreach", date_from="2020-01-01", date_to="2020-02-01")
    with pytest.raises(FilterError, match="the store holds them from 2025-05"):
        hotspot_report(demo, POLICIES["outreach"], request, AREA, layer="outreach", params=PARAMS)


def test_the_forecast_shows_only_hexagons_the_roles_map_shows(demo: Store) -> None:
    policy = POLICIES["outreach"]
    night = date(2026, 11, 6)  # a Friday, a week after the data's last night
    forecast = forecast_view(demo, policy, AREA, night=night)
    cells = forecast.cells
    assert not cells.empty
    assert set(cells["band"]) <= {"evening", "late", "small_hours"}
    # never a value between 1 and k - 1: a chance, below one
    assert ((cells["chance"] >= 0) & (cells["chance"] < 1)).all()
    assert set(cell_resolutions(cells["cell"].to_numpy())) == {policy.finest_res}
    # a chance to the nearest 5 %, too coarse to decode a record from
    assert np.allclose(cells["chance"] * 20, np.round(cells["chance"] * 20))
    # only hexagons the role's map of such nights (same weekday and band) shows
    end = night - timedelta(days=7)
    bands = {b.name: b.hours for b in NIGHT_BANDS}
    for (layer, band), rows in cells.groupby(["layer", "band"]):
        f = CubeFilter(
            layers=(str(layer),),
            date_from=end - timedelta(weeks=GATE_WEEKS) + timedelta(days=1),
            date_to=end,
            weekdays=(night.weekday(),),
            hours=bands[str(band)],
        )
        view = published_view(demo, policy, f, res=policy.finest_res)
        shown = set(view.cells.loc[view.cells["resolution"] == policy.finest_res, "cell"])
        assert set(rows["cell"]) <= shown
    assert list(cells.columns) == ["layer", "band", "cell", "chance"]  # no rank: see the docs


def test_the_forecast_is_an_outreach_view_only(demo: Store) -> None:
    with pytest.raises(PolicyError, match="monthly releases only"):
        forecast_view(demo, POLICIES["police_npt"], AREA, night=date(2026, 11, 6))
    # only the nights to come: a past night could be asked again and again
    for past in (date(2025, 5, 10), date(2026, 10, 16)):
        with pytest.raises(FilterError, match="forecasts are for the nights from 2026-10-31"):
            forecast_view(demo, POLICIES["outreach"], AREA, night=past)
    with pytest.raises(FilterError, match="unknown night band"):
        forecast_view(demo, POLICIES["outreach"], AREA, night=date(2026, 11, 6), bands=("dawn",))


# --- the command line --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = str(tmp_path_factory.mktemp("hot-cli") / "s.duckdb")
    with open_store(url, storage_res=10) as store:
        _fill(store)
        ctx = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))
        ingest_file(
            store, "policeuk", str(data_file("policeuk", "2022-02-southampton-street.csv")), ctx=ctx
        )
    return url


def _run(url: str, *args: str) -> Any:
    env = {
        "STREETSAFE_STORE": url,
        "STREETSAFE_PSEUDONYM_KEY": TEST_KEY,
        "STREETSAFE_HOTSPOT_PERMUTATIONS": "999",
    }
    return CliRunner().invoke(app, list(args), env=env)


def test_cli_hotspots_as_csv_and_geojson(cli_store: str, tmp_path: Path) -> None:
    result = _run(cli_store, "hotspots", "--role", "police_npt", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert {"cell", "bin", "confidence", "emerging", "newly_active", "release"} <= set(table)
    assert table["bin"].between(-3, 3).all()
    assert table.columns[-1] == "near"  # each hexagon's streets, from the police.uk file
    assert table["near"].notna().mean() > 0.9
    out = tmp_path / "hot.geojson"
    result = _run(
        cli_store,
        "hotspots",
        "--role",
        "community_safety",
        "--format",
        "geojson",
        "--layer",
        "asb",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["properties"]["layer"] == "asb"
    assert doc["features"]
    values = [f["properties"]["value"] for f in doc["features"]]
    assert all(v == 0 or v >= 10 for v in values)  # the council's rounding, as its map
    assert any(f["properties"]["near"] for f in doc["features"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "police_npt", "--hours", "22-04"), "sees monthly releases"),
        (("--role", "outreach", "--permutations", "99"), "at least 999"),
        (("--role", "outreach", "--permutations", "10000000"), "at most 99,999"),
        (("--role", "police_npt", "--seed", "-1"), "0 or more"),
        (("--role", "police_npt", "--from", "2019-01", "--to", "2019-03"), "no released month"),
        (("--role", "police_npt", "--store", "/nonexistent/x.duckdb"), "there is no store at"),
        (
            (
                "--role",
                "outreach",
                "--layer",
                "policeuk",
                "--from",
                "2019-01-01",
                "--to",
                "2019-02-01",
            ),
            "no policeuk records in the chosen dates",
        ),
        (("--role", "police_npt", "--layer", "outreach"), "may not see the 'outreach' layer"),
    ],
)
def test_cli_hotspots_bad_requests_are_messages(
    cli_store: str, args: tuple[str, ...], message: str
) -> None:
    result = _run(cli_store, "hotspots", "--format", "csv", *args)
    assert result.exit_code == (1 if "no store" in message else 2), result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_cli_forecast_and_its_refusals(cli_store: str) -> None:
    result = _run(cli_store, "forecast", "--night", "2026-11-06", "--band", "late")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert set(table["band"]) == {"late"}
    assert table["chance"].between(0, 1).all()
    for args, message in (
        (("--night", "2027-03-01"), "forecasts are for the nights from 2026-10-31 to 2026-11-06"),
        (("--night", "2026-10-30"), "(the week after the data's last night)"),
        (("--night", "2026-11-06", "--role", "police_npt"), "monthly releases only"),
        (("--night", "2026-11-06", "--layers", ","), "--layers names no layer"),
        (("--night", "30/10/2026"), "YYYY-MM-DD"),
        ((), "--night YYYY-MM-DD is needed"),
    ):
        result = _run(cli_store, "forecast", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), result.output
        assert "Traceback" not in result.output
    assert np.isfinite(table["chance"]).all()


def test_the_forecast_is_fitted_once_per_data_version(demo: Store) -> None:
    from streetsafe import forecast as service

    policy = POLICIES["outreach"]
    service._cache.clear()
    _, first = service.fitted(demo, policy, "outreach", AREA)
    forecast_view(demo, policy, AREA, night=date(2026, 11, 3), layers=("outreach",))
    _, again = service.fitted(demo, policy, "outreach", AREA)
    assert again is first  # a rerun or another night: the same fit
    rows = ["occurred_at,latitude,longitude,category,agency,person_ref,sharing"]
    rows += ["2026-10-30 22:10,50.9052,-1.3962,welfare_check,Night van,N-1,outreach_only"]
    ctx = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))
    ingest_file(demo, "outreach", io.BytesIO("\n".join(rows).encode()), ctx=ctx, source="n.csv")
    _, refitted = service.fitted(demo, policy, "outreach", AREA)
    assert refitted is not first  # new data: a new fit


# --- a partner who queries without limit -------------------------------------------------------

TARGET = (50.9301, -1.4322)  # a hexagon in Shirley, away from the demo's hotspots


def _target_rows(month: int) -> str:
    """One woman, alone in her hexagon: 12 incidents a night of the month, shared with partners
    (fewer than k people, so no partner figure may show her)."""
    rows = ["occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing"]
    rows += [
        f"2026-{month:02d}-{d:02d} 23:{m:02d},{TARGET[0]},{TARGET[1]},violence,high,"
        "Police NPT,T-1,partners"
        for d in range(2, 26, 2)
        for m in (5, 35)
    ]
    return "\n".join(rows)


@pytest.fixture(scope="module", params=ENGINES)
def twins(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, Store]]:
    """Two stores of each engine, released alike: the demo, and the demo with the target."""
    tmp = tmp_path_factory.mktemp(f"twins-{request.param}")
    ctx = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))
    places = []
    for name in ("without", "with"):
        (tmp / name).mkdir()
        places.append(_store_url(request.param, request, tmp / name))
    stores = []
    try:
        for i, place in enumerate(places):
            store = open_store(next(place), storage_res=10)
            stores.append(store)
            load_demo(store, ctx, end=END, scale=0.2)
            for month in (8, 9, 10) if i else ():
                stream = io.BytesIO(_target_rows(month).encode())
                ingest_file(store, "incidents", stream, ctx=ctx, source=f"t{month}.csv")
            make_releases(store, ReleaseRules.of(Settings.from_env({}), TODAY))
        yield stores[0], stores[1]
    finally:
        for store in stores:
            store.close()
        for place in places:
            place.close()  # drops a PostGIS test database


@pytest.mark.parametrize("role", ["police_npt", "community_safety"])
def test_unlimited_resliced_hotspot_queries_say_nothing_of_a_group_under_k(
    twins: tuple[Store, Store], role: str
) -> None:
    """Every question a partner can put to the hotspots (periods, category groups, resolutions,
    rings, seeds, p-values) answers alike whether or not a woman alone in her hexagon had 72
    incidents there: nothing to average, no held-back figure to bisect, no label that places her
    (bins, emerging patterns, newly active, notes, release names). A coin is all that is left."""
    without, with_target = twins
    policy = POLICIES[role]
    questions = []
    periods = [("2026-08", "2026-10"), ("2026-09", "2026-09"), ("2026-10", "2026-10")]
    for first, last in [*periods, ("2026-05", "2026-10"), (None, None)]:
        for groups in (None, "harm", "buyers"):
            for res in (8, 7):
                questions.append((first, last, groups, res))
    asked = 0
    for first, last, groups, res in questions:
        request = parse_request(
            POLICIES,
            role=role,
            layers="incident",
            res=res,
            date_from=first,
            date_to=last,
            categories=groups,
        )
        for params in (PARAMS, replace(PARAMS, rings=2, seed=9, p_method="normal")):
            a = hotspot_report(without, policy, request, AREA, layer="incident", params=params)
            b = hotspot_report(with_target, policy, request, AREA, layer="incident", params=params)
            pd.testing.assert_frame_equal(a.cells, b.cells)
            assert (a.notes, a.release, a.trend, a.compared) == (
                b.notes,
                b.release,
                b.trend,
                b.compared,
            )
            asked += 1
    assert asked == 60
    # and the target is real: her records are in the store the partner asks
    every = CubeFilter(layers=("incident",))
    added = [int(st.contributions(every, res=10)["n"].sum()) for st in (without, with_target)]
    assert added[1] - added[0] == 72
