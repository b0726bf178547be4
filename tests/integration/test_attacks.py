"""The gate holds against a partner who queries without limit: each attack, run as an attacker
would, on both engines, wins nothing beyond a coin (and the same attacks on the gate as it
was before releases win, so they are real attacks).

The case and the attacks are those of ``bench/attacks.py`` (``python -m bench.attacks`` prints
the README's table): one woman with 45 incidents in one cell, alone in its hexagon on her
nights; others around her; a ward boundary through her hexagon; a woman named three ways.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date

import numpy as np
import pytest

from bench.attacks import (
    ATTACKS,
    CLOCK,
    PAIRS,
    Case,
    Outcome,
    doors,
    load_case,
)
from geo.export import view_geojson, view_table
from geo.wards import Areas
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import Store, open_store
from streetsafe.boundaries import load_areas
from streetsafe.filters import ReleaseRequest
from streetsafe.policies import load_policies
from streetsafe.settings import Settings
from streetsafe.views import release_area_view, release_view
from tests.conftest import ENGINES, _store_url

ROLES = ("police_npt", "community_safety")
COIN = 0.6  # the attacker may be right this often at most (a coin: 0.5)
EXACT = 0.2  # and recover a group's exact count this often at most


@pytest.fixture(scope="module")
def areas() -> Areas:
    return load_areas(Settings.from_env().wards)


@pytest.fixture(params=ENGINES)
def attacked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, areas: Areas
) -> Iterator[tuple[Store, Case]]:
    """The constructed case in a store of each engine in turn."""
    tmp = tmp_path_factory.mktemp("attacked")
    ctx = _ctx()
    for url in _store_url(request.param, request, tmp):
        with open_store(url, storage_res=10) as store:
            yield store, load_case(store, ctx, areas)


def _ctx() -> SealContext:
    from streetsafe.deployment import seal_context

    return seal_context(Settings.from_env({}, pseudonym_key="a7" * 32))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_attack_on_the_releases_wins_no_more_than_a_coin(
    attacked: tuple[Store, Case], areas: Areas, role: str, attack: str
) -> None:
    store, case = attacked
    _, released = doors(store, role, areas)
    outcome = ATTACKS[attack](released, case, role, True)
    assert outcome.targets >= 10
    assert outcome.positives * 2 == outcome.targets  # half with records: a coin's base rate
    assert outcome.success <= COIN, outcome
    assert outcome.exact_rate <= EXACT, outcome


def test_averaging_asks_at_least_300_pairs_over_the_roles_whole_query_space(
    attacked: tuple[Store, Case], areas: Areas
) -> None:
    store, case = attacked
    _, released = doors(store, "police_npt", areas)
    targets = [*case.her_nights, *case.empty_nights]
    pairs = [pair for night in targets for pair in released.pairs(night, PAIRS)]
    assert len(pairs) >= 300
    questions = {q for pair in pairs for q in pair if q is not None}
    # every kind of padding the role has: months, layers, category groups, resolutions
    assert {q.res for q in questions} == {7, 8}
    assert len({q.layers for q in questions}) == 3
    assert len({q.groups for q in questions}) == 3
    assert len({(q.first, q.last) for q in questions}) >= 6


@pytest.fixture(scope="module")
def before(
    tmp_path_factory: pytest.TempPathFactory, areas: Areas
) -> Iterator[tuple[Store, Store, Case]]:
    """The case in the stores the gate before releases is attacked on (embedded engine): the
    references as they are folded now, and as they were counted (as written)."""
    tmp = tmp_path_factory.mktemp("before")
    ctx = _ctx()
    with (
        open_store(str(tmp / "case.duckdb"), storage_res=10) as store,
        open_store(str(tmp / "written.duckdb"), storage_res=10) as written,
    ):
        case = load_case(store, ctx, areas)
        load_case(written, ctx, areas, as_written=True)
        yield store, written, case


@pytest.mark.parametrize(
    ("attack", "at_least"),
    [("averaging", 0.75), ("bisection", 0.95), ("wards", 0.6), ("spellings", 0.95)],
)
def test_the_same_attack_on_the_gate_before_releases_wins(
    before: tuple[Store, Store, Case], areas: Areas, attack: str, at_least: float
) -> None:
    """The attacks are real: on live views (any filter, exact held-back figures, wards by the
    stored cell, references counted as written) they beat a coin by far."""
    store, written, case = before
    live, _ = doors(written if attack == "spellings" else store, "police_npt", areas)
    outcome: Outcome = ATTACKS[attack](live, case, "police_npt", False)
    assert outcome.success >= at_least, outcome


def test_nothing_a_partner_gets_says_how_much_was_held_back(
    attacked: tuple[Store, Case], areas: Areas
) -> None:
    store, _ = attacked
    policy = load_policies()["police_npt"]
    request = ReleaseRequest("police_npt", 8, policy.layers, date(2026, 6, 1), date(2026, 8, 1))
    view = release_view(store, policy, request, CLOCK)
    assert view.suppressed_groups == 0
    assert view.suppressed_records == 0
    exported = json.dumps(view_geojson(view)) + view_table(view).to_csv()
    assert "suppress" not in exported
    assert "held back" not in exported
    assert view.notes == ["released figures for the whole months 2026-06 to 2026-08"]


def test_ward_figures_are_sums_of_the_hexagons_the_role_is_shown(
    attacked: tuple[Store, Case], areas: Areas
) -> None:
    """A record reaches a ward only through its hexagon at the role's resolution: her cell in
    the sliver counts where its hexagon's centre lies, never finer."""
    store, case = attacked
    policy = load_policies()["police_npt"]
    request = ReleaseRequest("police_npt", 8, ("incident",), date(2026, 6, 1), date(2026, 8, 1))
    cells = release_view(store, policy, request, CLOCK).cells
    wards = release_area_view(store, policy, request, areas, CLOCK).cells
    by_ward = cells.assign(area=areas.of_cells(cells["cell"].to_numpy(dtype=np.int64)))
    expected = by_ward.dropna(subset=["area"]).groupby("area")["value"].sum()
    got = wards.set_index("area")["value"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    x8_ward = areas.of_cells([case.x8])[0]
    assert x8_ward != case.sliver_ward  # her records are counted in x8's ward, not the sliver's


@pytest.mark.postgis
def test_both_engines_release_the_same_values(
    tmp_path_factory: pytest.TempPathFactory, areas: Areas, request: pytest.FixtureRequest
) -> None:
    ctx = _ctx()
    tables = []
    policy = load_policies()["community_safety"]
    req = ReleaseRequest("community_safety", 8, policy.layers, date(2026, 6, 1), date(2026, 8, 1))
    for engine in ("embedded", "postgis"):
        tmp = tmp_path_factory.mktemp(engine)
        for url in _store_url(engine, request, tmp):
            with open_store(url, storage_res=10) as store:
                load_case(store, ctx, areas)
                release_view(store, policy, req, CLOCK)  # makes the releases
                ids = list(store.release_ids("partners+public/asb+incident+policeuk/r8").values())
                values = store.release_values(ids)
                tables.append(values.sort_values(list(values.columns)).reset_index(drop=True))
    assert len(tables[0]) > 0
    assert tables[0].equals(tables[1])


def test_a_release_is_final_however_much_arrives_later(
    attacked: tuple[Store, Case], areas: Areas
) -> None:
    """Made once, never again: a late report for a released month changes no partner figure
    (a second release of the month would be a second, differently perturbed look)."""
    store, _ = attacked
    policy = load_policies()["police_npt"]
    request = ReleaseRequest("police_npt", 8, ("incident",), date(2026, 7, 1), date(2026, 7, 1))
    first = release_view(store, policy, request, CLOCK).cells
    row = "2026-07-04 23:30,50.9052,-1.3962,violence,high,Police NPT,LATE-1,partners"
    header = "occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing"
    data = io.BytesIO(f"{header}\n{row}\n{row}\n{row}\n".encode())
    assert ingest_file(store, "incidents", data, ctx=_ctx(), source="late.csv").accepted == 3
    again = release_view(store, policy, request, CLOCK).cells
    assert again.equals(first)
