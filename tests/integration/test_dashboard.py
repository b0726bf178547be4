"""The dashboard as each role sees it: one AppTest per page and role, values from the gate."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from time import time
from typing import Any

import pandas as pd
import pytest
import shapely
import streamlit as st
from shapely.geometry import mapping, shape
from streamlit.testing.v1 import AppTest

from dashboard.state import VIEWER_KEY, Viewer
from dashboard.upload import ingest_upload, undo_upload
from geo.area import fit_view
from geo.errors import SchemaError, UndoError
from geo.hexes import cells_from_points, cells_to_str
from ingest.pipeline import ingest_file
from store import open_store
from streetsafe.boundaries import load_areas
from streetsafe.deployment import load_study_area
from streetsafe.filters import ReleaseRequest, parse_request
from streetsafe.policies import load_policies
from streetsafe.releases import ReleaseRules, make_releases
from streetsafe.resources import data_file
from streetsafe.services import load_services
from streetsafe.settings import Settings
from streetsafe.views import published_view, release_view
from tests.conftest import ROOT, TEST_KEY, load_demo
from tests.pages import DATA_PAGES, HEADERS, PAGES

APP = str(ROOT / "dashboard" / "app.py")
SCREENS = ROOT / "dashboard" / "screens"
ROLES = ("outreach", "police_npt", "community_safety")
WARDS = "southampton_wards_WD13_E06000045.geojson"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from streetsafe.deployment import seal_context

    url = str(tmp_path_factory.mktemp("dash") / "demo.duckdb")
    ctx = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))
    with open_store(url, storage_res=10) as store:
        load_demo(store, ctx, end=date(2026, 10, 31), scale=0.5)
        ingest_file(
            store,
            "policeuk",
            str(data_file("policeuk", "2022-02-southampton-street.csv")),
            ctx=ctx,
        )
        make_releases(store, ReleaseRules.of(Settings.from_env({}), date.today()))
        load_services(store, data_file("services_demo.csv"), ctx.study_area)
    return url


@pytest.fixture
def app(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("STREETSAFE_STORE", demo_url)
    monkeypatch.setenv("STREETSAFE_PSEUDONYM_KEY", TEST_KEY)
    st.cache_resource.clear()
    st.cache_data.clear()

    def start(role: str, page: str = "night_map", params: dict[str, str] | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["role"] = role
        for key, value in (params or {}).items():
            at.query_params[key] = value
        at.switch_page(f"screens/{page}.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield start
    st.cache_resource.clear()
    st.cache_data.clear()


def _deck(at: AppTest) -> dict[str, Any]:
    charts = at.get("deck_gl_json_chart")
    assert charts, "no map on the page"
    return dict(json.loads(charts[0].proto.json))


def _published(url: str, role: str, **filters: str) -> dict[tuple[str, str], int]:
    """The view the one door gives ``role`` for ``filters``: live, or sums of releases."""
    policies = load_policies()
    request = parse_request(policies, role=role, **filters)
    with open_store(url, storage_res=10) as store:
        if isinstance(request, ReleaseRequest):
            view = release_view(store, policies[role], request)
        else:
            view = published_view(store, policies[role], request.cube_filter(), res=request.res)
    cells = view.cells
    return dict(
        zip(
            zip(cells["layer"], cells_to_str(cells["cell"].tolist()), strict=True),
            cells["value"].astype(int),
            strict=True,
        )
    )


@pytest.mark.parametrize("role", ROLES)
def test_night_map_draws_exactly_the_published_view(app: Any, demo_url: str, role: str) -> None:
    layers = ",".join(load_policies()[role].layers)
    hours = {"hours": "22-04"} if role == "outreach" else {}  # partners: whole months only
    at = app(role, params={**hours, "layers": layers})
    deck = _deck(at)
    hex_layers = {
        layer["id"]: layer for layer in deck["layers"] if layer["@@type"] == "H3HexagonLayer"
    }
    policy = load_policies()[role]
    assert set(hex_layers) == {f"hex-{layer}" for layer in policy.layers}
    assert "wards" in {layer["id"] for layer in deck["layers"]}
    drawn = {
        (layer_id.removeprefix("hex-"), row["hex"]): row["value"]
        for layer_id, layer in hex_layers.items()
        for row in layer["data"]
    }
    assert drawn == _published(demo_url, role, **hours, layers=layers)
    assert drawn, "the demo data should show some hexagons"
    if role != "outreach":
        assert not any(layer == "outreach" for layer, _ in drawn)
    # No base map: pydeck's sentinel style, which Streamlit reads as "none" (an explicit None
    # would make it fetch a Carto style; the browser test checks no request leaves the machine).
    assert deck.get("mapStyle") in (None, "__MAP_STYLE__")
    assert deck.get("mapProvider") is None


@pytest.mark.parametrize(
    ("role", "first"),
    [
        ("outreach", {"incident", "outreach"}),
        ("police_npt", {"incident"}),
        ("community_safety", {"asb"}),
    ],
)
def test_each_role_starts_on_its_own_layers(app: Any, role: str, first: set[str]) -> None:
    at = app(role)
    shown = {
        layer["id"].removeprefix("hex-")
        for layer in _deck(at)["layers"]
        if layer["@@type"] == "H3HexagonLayer"
    }
    assert shown == first
    assert set(at.multiselect(key="layers").value) == first


def test_the_map_follows_the_link_and_a_single_weekday(app: Any, demo_url: str) -> None:
    at = app(
        "outreach",
        params={
            "hours": "22-04",
            "weekdays": "fri",
            "res": "8",
            "layers": "incident,outreach,asb,policeuk",
        },
    )
    drawn = {
        (layer["id"].removeprefix("hex-"), row["hex"]): row["value"]
        for layer in _deck(at)["layers"]
        if layer["@@type"] == "H3HexagonLayer"
        for row in layer["data"]
    }
    assert drawn == _published(
        demo_url,
        "outreach",
        hours="22-04",
        weekdays="fri",
        res="8",
        layers="incident,outreach,asb,policeuk",
    )
    assert at.query_params["weekdays"] in ("fri", ["fri"])
    assert any("records with no known time of night" in i.value for i in at.info)


def test_a_filter_change_redraws_the_map(app: Any) -> None:
    at = app("outreach")
    before = _deck(at)
    at.toggle(key="whole_day").set_value(True).run()
    after = _deck(at)
    assert before["layers"] != after["layers"]
    assert at.query_params["hours"] in ("00-24", ["00-24"])


def test_a_partner_chooses_whole_released_months_and_category_groups(
    app: Any, demo_url: str
) -> None:
    at = app("police_npt")
    months = at.select_slider(key="months")
    assert months.value == ("2026-08", "2026-10")  # the latest three released
    assert not [w for w in ("hours", "weekdays", "whole_day") if w in at.session_state]
    at.multiselect(key="groups").set_value(["buyers"]).run()
    assert at.query_params["categories"] in ("buyers", ["buyers"])
    drawn = {
        (layer["id"].removeprefix("hex-"), row["hex"]): row["value"]
        for layer in _deck(at)["layers"]
        if layer["@@type"] == "H3HexagonLayer"
        for row in layer["data"]
    }
    assert drawn == _published(
        demo_url,
        "police_npt",
        layers="incident",
        categories="buyers",
        date_from="2026-08",
        date_to="2026-10",
    )
    assert any("months 2026-08 to 2026-10" in c.value and "Showing" in c.value for c in at.caption)


def test_a_partner_link_asking_hours_is_made_whole_months_with_a_note(app: Any) -> None:
    at = app("police_npt", params={"hours": "22-04", "weekdays": "fri,sat", "res": "9"})
    notes = " ".join(c.value for c in at.sidebar.caption)
    assert "Your role sees whole months" in notes
    assert "resolution 8, your role's finest" in notes
    assert not at.sidebar.warning
    assert not at.error
    assert at.query_params.get("res") in ("8", ["8"])
    assert "hours" not in at.query_params
    assert "weekdays" not in at.query_params


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", DATA_PAGES)
def test_each_page_shows_only_to_roles_that_may_see_it(app: Any, role: str, page: str) -> None:
    at = app(role, page)  # as if its address were typed
    shown = HEADERS[page] in [h.value for h in at.header]
    assert shown == (page in PAGES[role])
    assert not any("not available to your role" in e.value for e in at.error)


@pytest.mark.parametrize("page", DATA_PAGES)
def test_a_page_run_outside_the_menu_still_refuses_a_role_that_may_not_see_it(
    page: str, demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page checks the role itself too, should anything ever run it outside the menu."""
    monkeypatch.setenv("STREETSAFE_STORE", demo_url)
    monkeypatch.setenv("STREETSAFE_PSEUDONYM_KEY", TEST_KEY)
    st.cache_resource.clear()
    st.cache_data.clear()
    for role in ROLES:
        at = AppTest.from_file(str(SCREENS / f"{page}.py"), default_timeout=120)
        at.session_state[VIEWER_KEY] = Viewer("x@example.org", role, "Housing", "local", time())
        at.run()
        refused = any("not available to your role" in e.value for e in at.error)
        assert refused == (page not in PAGES[role]), role


def test_a_role_added_to_the_policies_gets_its_menu_with_no_code_change(
    app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = tmp_path / "policies.toml"
    policies.write_text(
        data_file("policies.toml").read_text()
        + '\n[health]\ntitle = "Health outreach"\nlayers = ["outreach", "incident"]\n'
        'finest_res = 8\nk = 4\nsharing = ["outreach_only", "partners"]\nperturb = true\n'
        "round_to = 1\nmin_shown = 0\nmax_rollup = 1\nuploads = []\n"
        "case_knowledge = true\n"
        'pages = ["night_map", "about"]\ndefault_layers = ["outreach"]\n'
    )
    monkeypatch.setattr("streetsafe.policies.default_policy_file", lambda: policies)
    at = app("health", "about")
    assert "Health outreach" in at.sidebar.selectbox(key="role").options
    assert any("As **Health outreach** you see" in m.value for m in at.markdown)
    at = app("health", "night_map")
    assert "Night map" in [h.value for h in at.header]
    hex_layers = {layer["id"] for layer in _deck(at)["layers"] if layer["id"].startswith("hex-")}
    assert hex_layers == {"hex-outreach"}  # its default layer
    at = app("health", "trends")  # not one of its pages
    assert "Trends" not in [h.value for h in at.header]


@pytest.mark.parametrize("role", ROLES)
def test_demo_mode_and_synthetic_data_are_announced(app: Any, role: str) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["role"] = role
    at.run()
    banner = " ".join(w.value for w in at.warning)
    assert "**Demo, with synthetic demo data.**" in banner
    assert "invented" in banner
    assert at.sidebar.selectbox(key="role").value == role


def test_demo_mode_opens_on_the_least_privileged_role(app: Any) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert at.sidebar.selectbox(key="role").value == "community_safety"
    assert at.query_params["role"] == "community_safety"


@pytest.mark.parametrize(
    ("role", "charts"),
    [
        ("outreach", ["By hour of the night", "By hours after sunset", "By night of the week"]),
        ("police_npt", ["By time of night", "By nights of the week", "By category group"]),
        ("community_safety", ["By time of night", "By nights of the week", "By category group"]),
    ],
)
def test_trends_show_protected_counts(app: Any, role: str, charts: list[str]) -> None:
    at = app(role, "trends")
    assert [h.value for h in at.header] == ["Trends"]
    titles = [json.loads(chart.proto.spec)["title"] for chart in at.get("vega_lite_chart")]
    assert [t.split(" (")[0] for t in titles] == [*charts, "By month"]


def test_local_impact_lists_wards_with_publishable_counts(app: Any) -> None:
    at = app("community_safety", "local_impact")
    table = at.dataframe[0].value
    assert {"ward", "layer", "total"} <= set(table.columns)
    asb = table[table["layer"] == "Community ASB reports"]
    assert len(asb) == len(load_areas(data_file("boundaries", WARDS)).names)  # all wards
    cells = asb.drop(columns=["ward", "layer"]).stack()
    assert not cells.isna().any()
    assert "None" not in set(cells)
    values = pd.to_numeric(cells[cells != "not shown"])
    assert len(values) > 0
    assert (values % 5 == 0).all()
    assert (values >= 10).all()
    assert all(str(v).isdigit() for v in cells[cells != "not shown"])  # whole numbers, no 105.0
    captions = " ".join(c.value for c in at.caption)
    assert "the whole day" in captions
    assert "Coverage" in captions


def test_upload_a_broken_and_a_good_file(
    app: Any, demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a store of its own: real records make it a store that asks for sign-in
    copy = tmp_path / "copy.duckdb"
    shutil.copy(demo_url, copy)
    monkeypatch.setenv("STREETSAFE_STORE", str(copy))
    st.cache_resource.clear()
    # AppTest cannot drive st.file_uploader, so the page's ingest call is exercised directly.
    at = app("community_safety", "data")
    assert "Add data" in [h.value for h in at.header]
    assert any("Uploads need sign-in" in i.value for i in at.info)  # demo mode takes no files
    who = Viewer("asb@council.example.gov.uk", "community_safety", "Community safety", "local", 0)
    with pytest.raises(SchemaError, match="missing column"):
        ingest_upload(who, "asb", "broken.csv", b"when,where\n2025-01-01 22:00,Derby Road\n")
    template = data_file("templates", "asb.csv").read_text()
    as_shipped = ingest_upload(who, "asb", "template.csv", template.encode())
    assert (as_shipped.accepted, as_shipped.rejected) == (0, 3)  # examples never go live
    assert set(as_shipped.rejected_by_reason) == {"example row"}
    good = template.replace("Resident report", "").replace("EXAMPLE-", "CS-")
    good += "X9,2025-03-15 23:00,,,Nowhere,noise,,\n"
    before = _records(copy)
    summary = ingest_upload(who, "asb", "asb.csv", good.encode())
    assert (summary.accepted, summary.rejected) == (3, 1)
    assert "unknown place" in summary.rejects["reject_reasons"].iloc[0]
    assert _records(copy) == before + 3

    # Undone by its uploader: exactly that file's records go, and the audit trail says so.
    assert undo_upload(who, summary) == 3
    assert _records(copy) == before
    with open_store(str(copy), storage_res=10) as store:
        undone = store.audit_entries(events=["upload_undone"])
    assert len(undone) == 1
    assert json.loads(undone["detail"].iloc[0])["removed"] == 3
    with pytest.raises(UndoError):  # once only
        undo_upload(who, summary)


def _records(url: Path) -> int:
    with open_store(str(url), storage_res=10) as store:
        return store.record_count()


def test_about_page_names_the_role_protection(app: Any) -> None:
    at = app("community_safety", "about")
    text = " ".join(m.value for m in at.markdown)
    assert "at least **5 different people**" in text
    assert "rounded to 5" in text


def test_the_table_under_the_map_lists_what_the_map_draws(app: Any) -> None:
    at = app("police_npt")
    assert not at.dataframe  # built only when asked for
    at.toggle(key="show-table").set_value(True).run()
    table = at.dataframe[0].value
    drawn = sum(
        len(layer["data"]) for layer in _deck(at)["layers"] if layer["@@type"] == "H3HexagonLayer"
    )
    assert len(table) == drawn
    assert {"cell", "resolution", "layer", "value", "protection", "release"} <= set(table.columns)


def test_clicking_a_hexagon_opens_its_protected_profile(app: Any) -> None:
    at = app("outreach", params={"hours": "22-04"})
    hexagon = next(
        row
        for layer in _deck(at)["layers"]
        if layer["@@type"] == "H3HexagonLayer"
        for row in layer["data"]
    )
    # The map's click event, as the browser sends it for the first hexagon of the layer.
    at.session_state["night-map"] = {
        "selection": {"indices": {"hex-incident": [0]}, "objects": {"hex-incident": [hexagon]}}
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"Hexagon {hexagon['hex']}" in c.value for c in at.caption)
    assert any("By hour of the night" in m.value for m in at.markdown)


def test_a_made_up_hexagon_id_opens_nothing(app: Any) -> None:
    # A browser can send any cell id; a street-level cell the role may not see must get nothing.
    at = app("police_npt")
    street = cells_to_str(cells_from_points([50.9112], [-1.3931], 10).tolist())[0]
    fake = {"hex": street, "layer": "Incidents", "value": 1, "protection": "", "res": 10}
    at.session_state["night-map"] = {
        "selection": {"indices": {"hex-incident": [0]}, "objects": {"hex-incident": [fake]}}
    }
    at.run()
    assert not at.exception
    assert not [c for c in at.caption if c.value.startswith("Hexagon")]
    assert not any("By hour of the night" in m.value for m in at.markdown)


def test_another_deployment_opens_on_its_own_area_and_draws_its_own_wards(
    app: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Nothing about Southampton is built in: the study area and wards are settings."""
    shipped = json.loads(Settings.from_env({}).wards[0].read_text())
    chosen = shipped["features"][:3]
    wards = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": f["properties"]["WD13CD"], "name": f"Area {i}"},
                "geometry": f["geometry"],
            }
            for i, f in enumerate(chosen)
        ],
    }
    union = shapely.union_all([shape(f["geometry"]) for f in chosen])
    area = {"type": "Feature", "properties": {}, "geometry": mapping(union)}
    (tmp_path / "wards.geojson").write_text(json.dumps(wards))
    (tmp_path / "area.geojson").write_text(json.dumps(area))
    monkeypatch.setenv("STREETSAFE_WARDS", str(tmp_path / "wards.geojson"))
    monkeypatch.setenv("STREETSAFE_STUDY_AREA", str(tmp_path / "area.geojson"))

    deck = _deck(app("community_safety"))
    want = fit_view(union.bounds)
    view = deck["initialViewState"]
    assert (view["latitude"], view["longitude"], view["zoom"]) == (
        want.latitude,
        want.longitude,
        want.zoom,
    )
    assert (
        want.zoom
        > fit_view(
            load_study_area(
                data_file("boundaries", "southampton_lad20_E06000045.geojsonl")
            ).geometry.bounds
        ).zoom
    )
    names = next(layer for layer in deck["layers"] if layer["id"] == "ward-names")["data"]
    assert {n["name"] for n in names} == {"Area 0", "Area 1", "Area 2"}

    at = app("community_safety", "local_impact")
    shown = set(at.dataframe[0].value["ward"])
    assert shown
    assert shown <= {"Area 0", "Area 1", "Area 2"}
    ward_map = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert ward_map["initialViewState"]["latitude"] == want.latitude


@pytest.mark.parametrize("role", ROLES)
def test_the_hotspot_page_shows_the_report_of_the_roles_view(
    app: Any, demo_url: str, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streetsafe.hotspots import HotspotParams, hotspot_report, report_table

    monkeypatch.setenv("STREETSAFE_HOTSPOT_PERMUTATIONS", "999")
    at = app(role, page="hotspots")
    assert at.header[0].value == "Hotspots"
    deck = _deck(at)
    drawn = next(layer for layer in deck["layers"] if layer["id"] == "hex-hotspots")["data"]
    policies = load_policies()
    policy = policies[role]
    hours = {"hours": "22-04"} if role == "outreach" else {}
    request = parse_request(policies, role=role, layers=",".join(policy.default_layers), **hours)
    with open_store(demo_url, storage_res=10) as store:
        report = hotspot_report(
            store,
            policy,
            request,
            load_study_area(Settings.from_env({}).study_area),
            layer=policy.default_layers[0],
            params=HotspotParams(permutations=999),
        )
    table = report_table(report)
    significant = table[(table["bin"] != 0) | table["newly_active"]]
    assert {row["hex"] for row in drawn} == set(significant["cell"])
    assert drawn, "the demo should have hot spots"
    page_table = at.dataframe[0].value
    assert set(page_table["Hexagon"]) >= set(table.loc[table["bin"] != 0, "cell"])
    assert "Hot spot, 99 %" in " ".join(m.value for m in at.markdown)  # the legend


def test_an_outreach_lead_sees_the_forecast_on_the_night_map(app: Any, demo_url: str) -> None:
    at = app("outreach", params={"hours": "22-04"})
    assert "hex-forecast" not in {layer["id"] for layer in _deck(at)["layers"]}
    at.toggle(key="forecast").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    at.date_input(key="forecast-night").set_value(date(2026, 11, 6)).run()
    layers = {layer["id"]: layer for layer in _deck(at)["layers"]}
    forecast = layers["hex-forecast"]["data"]
    assert forecast, "the demo's busy hexagons should have a forecast"
    assert all("chance of at least one" in row["value"] for row in forecast)
    assert any("Expected on the night of Fri 06 Nov 2026" in m.value for m in at.markdown)
    with open_store(demo_url, storage_res=10) as store:  # the forecast seen is audited
        entries = store.audit_entries()["detail"].astype(str)
    assert entries.str.contains("night_map/forecast 2026-11-06 late").any()


def test_an_outreach_lead_plans_a_night(app: Any, demo_url: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("STREETSAFE_ROUTE_SECONDS", "1")
    at = app("outreach", "route")
    assert any("Plan the route" in i.value for i in at.info)
    at.date_input[0].set_value(date(2026, 11, 6))
    at.number_input[0].set_value(2)
    next(b for b in at.button if b.label == "Plan the route").click().run()
    assert not at.exception, [e.value for e in at.exception]
    layers = {layer["id"]: layer for layer in _deck(at)["layers"]}
    assert {"routes", "stops", "services", "hex-forecast"} <= set(layers)
    _no_expressions_but_accessors(layers.values())
    assert len(layers["routes"]["data"]) == 2  # a path per team
    stops = int(next(m for m in at.metric if m.label == "Stops").value)
    numbers = [n for row in layers["stops"]["data"] for n in row["label"].split("/")]
    assert stops == len(numbers) > 0  # a place visited twice is one circle, "3/8"
    assert [t.label for t in at.tabs] == ["Team 1", "Team 2"]
    sheet = at.dataframe[0].value
    assert list(sheet.columns[:4]) == ["#", "Arrive", "Leave", "Where"]
    assert str(sheet["Where"].iloc[0]).startswith("leave Night drop-in (demo)")
    assert any(d.label.startswith("Download GPX") for d in at.get("download_button"))
    with open_store(demo_url, storage_res=10) as store:  # the plan seen is audited
        entries = store.audit_entries()["detail"].astype(str)
    assert entries.str.contains("route 2026-11-06 20:00-02:00").any()


def test_every_role_sees_the_services_open_on_the_night_map(app: Any) -> None:
    for role in ("outreach", "police_npt", "community_safety"):
        at = app(role)
        layers = {layer["id"]: layer for layer in _deck(at)["layers"]}
        _no_expressions_but_accessors(layers.values())
        names = {row["name"] for row in layers["services"]["data"]}
        assert "SARC (demo)" in names  # open all night, every night
        assert any("Services open on the night of" in c.value for c in at.sidebar.caption)
        # the services are drawn over the figures and dim none of them (a forecast does)
        colours = {
            key: [row["color"] for row in layer["data"]]
            for key, layer in layers.items()
            if key.startswith("hex-")
        }
        at.toggle(key="services").set_value(False).run()
        without = {layer["id"]: layer for layer in _deck(at)["layers"]}
        assert "services" not in without
        assert colours == {key: [row["color"] for row in without[key]["data"]] for key in colours}


def _no_expressions_but_accessors(layers: Any) -> None:
    """pydeck reads a bare string as an expression: a unit ("pixels") or a character set given
    so becomes a function deck.gl does not expect, and the layer silently misdraws (a route's
    stops once filled the whole map). Only accessors (get...) may be expressions."""
    for layer in layers:
        odd = {
            key: value
            for key, value in layer.items()
            if not key.startswith("get") and isinstance(value, str) and value.startswith("@@=")
        }
        assert not odd, (layer["id"], odd)


def test_partners_get_no_forecast_switch(app: Any) -> None:
    at = app("police_npt")
    assert not [t for t in at.toggle if t.key == "forecast"]


def _showing(at: AppTest) -> str:
    """The "Showing: … Coverage: …" line under the page's header."""
    found = [c.value for c in at.caption if c.value.startswith("**Showing:**")]
    assert found, [c.value for c in at.caption]
    return found[0]


def _hexagons_shown(at: AppTest) -> int:
    text = next(c.value for c in at.caption if "hexagons shown" in c.value)
    return int(text.split(" hexagons shown")[0].replace(",", ""))


def test_filters_are_one_state_across_pages(app: Any) -> None:
    at = app("outreach")
    at.multiselect(key="weekdays").set_value(["Friday", "Saturday"]).run()
    at.select_slider(key="hours").set_value(("20:00", "04:00")).run()
    at.date_input(key="dates").set_value((date(2026, 6, 1), date(2026, 8, 31))).run()
    on_map = _hexagons_shown(at)
    showing = _showing(at)
    assert "Friday and Saturday nights · 20:00 to 04:00 · nights 2026-06-01 to 2026-08-31" in (
        showing
    )
    assert "Coverage:** data: nights" in showing

    for page in ("trends", "hotspots", "night_map"):
        at.query_params.clear()  # a browser's page change drops the link's parameters
        at.switch_page(f"screens/{page}.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert "Friday and Saturday nights · 20:00 to 04:00 · nights 2026-06-01" in _showing(at)
        assert at.query_params.get("weekdays") in ("fri,sat", ["fri,sat"])
    assert _hexagons_shown(at) == on_map
    assert at.multiselect(key="weekdays").value == ["Friday", "Saturday"]


def test_a_role_switch_keeps_the_filters_it_may_ask_with_a_note(app: Any) -> None:
    at = app("outreach", params={"res": "9", "layers": "incident,outreach,asb"})
    at.sidebar.selectbox(key="role").set_value("police_npt").run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    notes = " ".join(c.value for c in at.sidebar.caption)
    assert "resolution 8" in notes
    assert "Layers your role does not see" in notes
    assert at.slider(key="res").value == 8
    assert set(at.multiselect(key="layers").value) == {"incident", "asb"}


def test_an_empty_view_says_why_with_the_data_coverage(app: Any) -> None:
    at = app("outreach", params={"from": "2020-01-01", "to": "2020-02-01"})
    reason = " ".join(i.value for i in at.info)
    assert "No records in the nights chosen: the data covers nights" in reason
    assert "too few people" not in reason
    at = app("outreach", "trends", params={"from": "2020-01-01", "to": "2020-02-01"})
    assert any("No records in the nights chosen" in c.value for c in at.caption)
    # a partner: months released but before any figure of the layer
    at = app("police_npt", params={"from": "2022-03", "to": "2022-05", "layers": "incident"})
    reason = " ".join(i.value for i in at.info)
    assert "No figures in the months chosen: these layers have figures from" in reason


def test_month_on_month_names_the_months_and_marks_partial_ones(app: Any) -> None:
    at = app("outreach", "trends", params={"hours": "00-24"})
    labels = [m.label for m in at.metric]
    assert labels
    assert all(re.search(r", [A-Z][a-z]+ \d{4}$", label) for label in labels)
    assert all(" on " in m.proto.delta for m in at.metric)  # "+3 on September 2026"
    months = list(at.dataframe[-1].value.index)
    assert any(str(m).endswith("(partial)") for m in months)  # the demo ends mid-month


def test_a_town_with_police_uk_data_only_opens_on_it(
    app: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No outreach, incident or ASB files yet: every role's map still shows something (its
    layers with data, for the whole day, in the months they cover) and says what."""
    from streetsafe.deployment import seal_context

    url = tmp_path / "policeuk.duckdb"
    ctx = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))
    with open_store(str(url), storage_res=10) as store:
        ingest_file(
            store, "policeuk", str(data_file("policeuk", "2022-02-southampton-street.csv")), ctx=ctx
        )
        make_releases(store, ReleaseRules.of(Settings.from_env({}), date.today()))
    monkeypatch.setenv("STREETSAFE_STORE", str(url))
    for role in ROLES:
        at = app(role)
        showing = _showing(at)
        assert _hexagons_shown(at) > 0, (role, showing)
        assert "police.uk street crime" in showing
        assert "the whole day" in showing
