"""Tonight's route on a real store of each engine: stops only where the outreach map shows a
hexagon (never finer), windows and shift kept, services open on the right night, the GPX valid
GPX 1.1, the printable sheet a page per team, and every bad request a message."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from lxml import etree
from typer.testing import CliRunner

from geo.errors import FilterError, PolicyError
from geo.hexes import cell_resolutions, cell_to_str, cells_from_points, str_to_cell
from geo.routing import violations
from ingest.gazetteer import Gazetteer
from ingest.pipeline import ingest_file
from store import Store
from streetsafe.cli import app
from streetsafe.deployment import load_study_area, seal_context
from streetsafe.forecast import ForecastView
from streetsafe.places import place_index
from streetsafe.policies import load_policies
from streetsafe.resources import data_file
from streetsafe.route import NightRoute, RouteRequest, candidate_stops, night_route
from streetsafe.runsheet import route_csv, route_gpx, route_html, run_sheet
from streetsafe.services import load_services, open_services, services_frame
from streetsafe.settings import Settings
from tests.conftest import ENGINES, TEST_KEY, fresh_store, load_demo

END = date(2026, 10, 31)
FRIDAY = date(2026, 11, 6)  # in the forecast's week after the data's last night
SUNDAY = date(2026, 11, 1)
POLICIES = load_policies()
OUTREACH = POLICIES["outreach"]
SETTINGS = Settings.from_env({}, route_seconds=1)
AREA = load_study_area(SETTINGS.study_area)
GAZETTEER = Gazetteer.load(SETTINGS.gazetteer)
XSD = Path(__file__).parents[1] / "fixtures" / "gpx11_subset.xsd"
CTX = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))


@pytest.fixture(scope="module", params=ENGINES)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A small demo store of each engine, with the demo services."""
    tmp = tmp_path_factory.mktemp(f"route-{request.param}")
    for store in fresh_store(request.param, request, tmp):
        load_demo(store, CTX, end=END, scale=0.3, kinds=("incidents", "outreach"))
        load_services(store, data_file("services_demo.csv"), AREA)
        yield store


def _route(store: Store, **kwargs: Any) -> NightRoute:
    args: dict[str, Any] = {"night": FRIDAY, "teams": 2, **kwargs}
    request = RouteRequest(**args)
    return night_route(
        store, OUTREACH, AREA, SETTINGS, request, gazetteer=GAZETTEER, names=place_index(store)
    )


def test_a_night_is_planned_inside_the_outreach_map_and_its_rules(demo: Store) -> None:
    route = _route(demo, via=("Women's night shelter (demo)",))
    plan, problem = route.plan, route.problem
    assert violations(problem, plan) == []
    assert plan.visits > 5
    assert plan.value >= plan.baseline
    shown = {(row.cell, row.band) for row in route.forecast.cells.itertuples()}
    for team in plan.routes:
        assert team.depart >= 0
        assert team.back <= 360  # 20:00-02:00
        for v in team.visits:
            assert v.leave - v.arrive == problem.dwell
            if v.stop.required:
                assert v.stop.label == "Women's night shelter (demo)"
                assert v.arrive >= 60  # opens at 21:00
                continue
            cell, band = str_to_cell(v.stop.place), v.stop.key.split(":")[1]
            assert cell_resolutions([cell])[0] == OUTREACH.finest_res  # never finer
            assert (cell, band) in shown  # only where the gated forecast shows it
            opens = {"evening": 0, "late": 120}[band]  # 18-22 and 22-02 within 20:00-02:00
            assert opens <= v.arrive
            assert v.leave <= opens + (120 if band == "evening" else 240)
    calls = [v for r in plan.routes for v in r.visits if v.stop.required]
    assert len(calls) == 1


def test_the_stops_are_the_forecast_and_nothing_else(demo: Store) -> None:
    """The planner's only input from the records is the gated forecast: rebuilt from the
    forecast view alone, the candidate stops are the same."""
    route = _route(demo)
    again = candidate_stops(
        route.forecast,
        route.start,
        route.end,
        dwell=15,
        names=place_index(demo),
    )
    assert tuple(again) == route.problem.stops


def test_a_planted_small_group_draws_no_stop(demo: Store, tmp_path: Path) -> None:
    """The attack: upload contacts of k - 1 women at a quiet street on the nights before and
    see whether tonight's route goes there. It cannot: the forecast, and so the route, shows
    only hexagons the map shows for such nights (at least k people)."""
    lat, lon = 50.9290, -1.3720  # Bitterne Park: far from the demo's hotspots
    nights = pd.date_range("2026-08-07", "2026-10-30", freq="7D").date  # Fridays
    header = "record_id,occurred_at,latitude,longitude,place,category,agency,person_ref,sharing"
    rows = [
        f"PLANT-{n}-{w},{night} 22:30,{lat},{lon},,welfare_check,Night van,PL-{w},outreach_only"
        for n, night in enumerate(nights)
        for w in range(OUTREACH.k - 1)
    ]
    text = "\n".join([header, *rows]) + "\n"
    target = cell_to_str(int(cells_from_points([lat], [lon], OUTREACH.finest_res)[0]))
    before = _route(demo)
    result = ingest_file(demo, "outreach", io.BytesIO(text.encode()), ctx=CTX, source="plant.csv")
    assert result.accepted == len(rows)
    after = _route(demo)
    for route in (before, after):
        assert target not in {s.place for s in route.problem.stops}


def test_services_open_on_the_right_night(demo: Store) -> None:
    services = services_frame(demo)
    # the drop-in: Saturday 20:00-04:00, Sunday closed
    saturday = open_services(services, date(2026, 10, 31), 1200, 1560)
    sunday = open_services(services, SUNDAY, 1200, 1560)
    assert "Night drop-in (demo)" in set(saturday["name"])
    assert "Night drop-in (demo)" not in set(sunday["name"])
    shelter = str(saturday.set_index("name").loc["Women's night shelter (demo)", "open_text"])
    assert "21:00" in shelter
    route = _route(demo, night=SUNDAY, base="SARC (demo)")
    names = set(route.services["name"])
    assert "SARC (demo)" in names
    assert "Night drop-in (demo)" not in names
    assert "Refuge office (demo)" not in names  # office hours only


def test_the_gpx_is_valid_gpx_1_1(demo: Store) -> None:
    route = _route(demo)
    text = route_gpx(route)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.fromstring(text.encode())
    assert schema.validate(doc), schema.error_log
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    routes = doc.findall("g:rte", ns)
    assert len(routes) == 2
    for rte, team in zip(routes, route.plan.routes, strict=True):
        points = rte.findall("g:rtept", ns)
        assert len(points) == len(team.visits) + 2  # base, stops, base
        first = points[1]
        assert float(first.get("lat")) == pytest.approx(team.visits[0].stop.lat, abs=1e-6)
    services = [w for w in doc.findall("g:wpt", ns) if w.findtext("g:type", None, ns) == "service"]
    assert len(services) == len(route.services)


def test_the_printable_sheet_is_a_page_per_team_and_the_csv_a_run_sheet(demo: Store) -> None:
    route = _route(demo)
    page = route_html(route)
    assert page.count('<section class="page">') == 2
    assert "size: A4" in page
    assert "estimate" in page
    csv = route_csv(route)
    head = [line for line in csv.splitlines() if line.startswith("#")]
    assert any("greedy baseline" in line for line in head)
    assert any("estimate" in line for line in head)
    table = pd.read_csv(io.StringIO(csv), comment="#")
    sheet = run_sheet(route)
    assert len(table) == len(sheet)
    assert set(table["team"]) == {1, 2}
    assert all(re.fullmatch(r"\d\d:\d\d", t) for t in table["time"])


def test_bad_requests_are_messages(demo: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"shift": "20:00-20:00"}, "starts where it ends"),
        ({"shift": "8pm-2am"}, "HH:MM-HH:MM"),
        ({"shift": "08:00-12:00"}, "outside the forecast's night"),
        ({"teams": 0}, "1 to 10 teams"),
        ({"base": "Nowhere Special"}, "unknown base"),
        ({"base": "51.5,-0.1"}, "outside the study area"),
        ({"mode": "bike"}, "foot or van"),
        ({"via": ("Refuge office (demo)",)}, "not open during the shift"),
        ({"via": ("Shelterr",)}, "not a service"),
        ({"night": date(2026, 12, 25)}, "no forecast for the night"),
        ({"shift": "05:00-04:00"}, "runs past noon"),  # a night runs from noon to noon
        ({"shift": "10:00-06:00"}, "runs past noon"),
        ({"dwell": 100_000}, "time at each stop"),
        ({"shift": "23:59-00:00"}, "less than the 15 minutes at a stop"),
        (  # the needle exchange shuts at 23:00: ten minutes of this shift
            {"shift": "22:50-02:00", "via": ("Needle exchange, St Mary's (demo)",)},
            "open for only 10 minutes",
        ),
    ]
    for change, message in cases:
        with pytest.raises(FilterError, match=message):
            _route(demo, **change)
    with pytest.raises(PolicyError):
        night_route(
            demo,
            POLICIES["police_npt"],
            AREA,
            SETTINGS,
            RouteRequest(night=FRIDAY),
            gazetteer=GAZETTEER,
        )
    empty = ForecastView(
        night=FRIDAY, res=9, cells=pd.DataFrame(columns=["layer", "band", "cell", "chance"])
    )
    monkeypatch.setattr("streetsafe.route.forecast_view", lambda *a, **k: empty)
    with pytest.raises(FilterError, match="no hexagon on the outreach map is forecast"):
        _route(demo)


def test_a_call_no_team_can_make_is_said_loudly(demo: Store) -> None:
    # the A&E is 3.5 km from the drop-in: on foot there and back takes longer than the shift
    route = _route(demo, shift="22:00-23:00", teams=1, via=("A&E, General Hospital (demo)",))
    assert route.missed_calls
    assert "A&E, General Hospital (demo) is NOT on any route" in route.missed_calls[0]
    assert route.missed_calls[0] in route_csv(route)
    made = _route(demo, via=("SARC (demo)", "sarc (DEMO)"))  # named twice: one call
    assert [s.label for s in made.problem.stops if s.required] == ["SARC (demo)"]
    assert not made.missed_calls


def test_service_words_are_text_in_the_map_tooltips(demo: Store) -> None:
    from dashboard.route_map import services_layers

    services = open_services(services_frame(demo), FRIDAY, 1200, 1560)
    services.loc[0, "name"] = "<img src=x onerror=alert(1)>"
    (points, _) = services_layers(services, dark=False)
    assert points.data[0]["near"] == "&lt;img src=x onerror=alert(1)&gt;"


def test_the_cli_plans_a_route_and_loads_services(demo: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"STREETSAFE_STORE": demo.url, "STREETSAFE_ROUTE_SECONDS": "1"}
    out = tmp_path / "night.gpx"
    result = runner.invoke(
        app,
        ["route", "--night", "2026-11-06", "--teams", "2", "--format", "gpx", "--out", str(out)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "greedy baseline" in result.output
    assert out.read_text().startswith("<?xml")
    comma = ["--via", "Needle exchange, St Mary's (demo)", "--via", "SARC (demo)"]
    result = runner.invoke(app, ["route", "--night", "2026-11-06", *comma], env=env)
    assert result.exit_code == 0, result.output  # a name may hold a comma
    assert "Needle exchange, St Mary's (demo)" in result.stdout
    for args, message in [
        (["--shift", "22:00-22:00"], "starts where it ends"),
        (["--teams", "0"], "--teams is 1 or more"),
        (["--base", "Nowhere"], "unknown base"),
        (["--night", "2027-01-01"], "no forecast for the night"),
    ]:
        argv = ["route", "--night", "2026-11-06", *args]
        result = runner.invoke(app, argv, env=env)
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output
    bad = tmp_path / "services.csv"
    bad.write_text(
        data_file("services_demo.csv").read_text().replace("50.9075,-1.4012", "north,-1.4012")
    )
    rejects = tmp_path / "rejects.csv"
    result = runner.invoke(
        app, ["ingest", "services", str(bad), "--rejects", str(rejects)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "7 services, 1 rejected" in result.output
    assert "north" in rejects.read_text()
    assert len(services_frame(demo)) == 7
    template = data_file("templates", "services.csv")
    result = runner.invoke(app, ["ingest", "services", str(template)], env=env)
    assert result.exit_code == 1
    assert "NOT loaded" in result.output
    assert len(services_frame(demo)) == 7  # the example rows replaced nothing
    load_services(demo, data_file("services_demo.csv"), AREA)


class ServicesOnly:
    """A store that answers only the services list: reading anything else fails."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def services(self) -> pd.DataFrame:
        return self._store.services()

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the services layer read {name!r}, not only the services")


@pytest.mark.parametrize("role", ["police_npt", "community_safety"])
def test_a_partner_with_unlimited_questions_learns_nothing_from_services_or_routes(
    demo: Store, role: str
) -> None:
    """The partner's new surface is the services layer on its night map (and a refused route).
    Asked every night of a week in every hour window, before and after k - 1 women are planted
    at a service's own door (placing records through a label), it answers the same, to the
    letter: it reads nothing but the services list, so there is no noise to average away and no
    held-back figure to bisect."""
    windows = [(h * 60, (h + w) * 60) for h in range(12, 36) for w in (1, 4) if h + w <= 48]
    nights = [FRIDAY - timedelta(days=n) for n in range(7)]

    def answers() -> list[list[tuple[str, str]]]:
        frame = services_frame(ServicesOnly(demo))  # type: ignore[arg-type]
        return [
            sorted(zip(o["name"], o["open_text"], strict=True))
            for night in nights
            for start, end in windows
            for o in [open_services(frame, night, start, end)]
        ]

    before = answers()
    drop_in = services_frame(demo).set_index("name").loc["Night drop-in (demo)"]
    header = "record_id,occurred_at,latitude,longitude,place,category,agency,person_ref,sharing"
    rows = [
        f"DOOR-{role}-{w},2026-10-23 23:{w:02d},{drop_in['lat']},{drop_in['lon']},,"
        f"welfare_check,Night van,DOOR-{w},partners"
        for w in range(OUTREACH.k - 1)
    ]
    planted = ingest_file(
        demo, "outreach", io.BytesIO("\n".join([header, *rows]).encode()), ctx=CTX, source="d"
    )
    assert planted.accepted == len(rows)
    assert answers() == before
    with pytest.raises(PolicyError):
        night_route(
            demo, POLICIES[role], AREA, SETTINGS, RouteRequest(night=FRIDAY), gazetteer=GAZETTEER
        )
