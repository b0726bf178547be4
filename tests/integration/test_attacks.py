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
from dataclasses import replace
from datetime import date
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest

from bench.attacks import (
    ATTACKS,
    PAIRS,
    RULES,
    UPLOAD_ATTACKS,
    Case,
    Outcome,
    doors,
    load_case,
    partner_uploader,
    planted_values,
    town_cells,
)
from geo.export import view_geojson, view_table
from geo.hexes import cell_centres, parent_cells
from geo.wards import Areas
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import Store, open_store
from streetsafe.boundaries import load_areas
from streetsafe.filters import ReleaseRequest
from streetsafe.policies import load_policies
from streetsafe.releases import make_releases
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
    view = release_view(store, policy, request)
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
    cells = release_view(store, policy, request).cells
    wards = release_area_view(store, policy, request, areas).cells
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
    for engine in ("embedded", "postgis"):
        tmp = tmp_path_factory.mktemp(engine)
        for url in _store_url(engine, request, tmp):
            with open_store(url, storage_res=10) as store:
                load_case(store, ctx, areas)  # and releases its months
                ids = list(store.release_ids().values())
                values = store.release_values(ids)
                tables.append(values.sort_values(list(values.columns)).reset_index(drop=True))
    assert len(tables[0]) > 0
    assert tables[0].equals(tables[1])


def test_a_release_is_final_however_much_arrives_later(
    attacked: tuple[Store, Case], areas: Areas
) -> None:
    """Made once, never again: a late report for a released month changes no partner figure,
    however often the operator releases again, nor does a new way of releasing (a second
    release of the month would be a second, differently perturbed look)."""
    store, _ = attacked
    policy = load_policies()["police_npt"]
    request = ReleaseRequest("police_npt", 8, ("incident",), date(2026, 7, 1), date(2026, 7, 1))
    first = release_view(store, policy, request).cells
    made = store.release_ids()
    row = "2026-07-04 23:30,50.9052,-1.3962,violence,high,Police NPT,LATE-1,partners"
    header = "occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing"
    data = io.BytesIO(f"{header}\n{row}\n{row}\n{row}\n".encode())
    assert ingest_file(store, "incidents", data, ctx=_ctx(), source="late.csv").accepted == 3
    assert make_releases(store, RULES) == []
    july = date(2026, 7, 1)
    assert not store.add_release(
        "2026-07/partners/r8/v2", month=july, scope="partners/r8", version=2, rows=pd.DataFrame()
    )
    assert store.release_ids() == made
    again = release_view(store, policy, request).cells
    assert again.equals(first)


# --- the red team's attacks: planting, re-scoping, the duplicate count, one woman many ways --


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("attack", list(UPLOAD_ATTACKS))
def test_a_partners_upload_wins_no_more_than_a_coin(
    engine_store: Store, ctx: SealContext, areas: Areas, role: str, attack: str
) -> None:
    """Planted women lift no hexagon over ``k`` and, published on their own, carry no one
    else's records; guesses learn nothing from 'already stored'."""
    outcome = UPLOAD_ATTACKS[attack](engine_store, ctx, areas, role, True)
    assert outcome.targets >= 20
    assert outcome.positives * 2 == outcome.targets
    assert outcome.success <= COIN, outcome
    assert outcome.exact_rate <= EXACT, outcome


@pytest.mark.parametrize("attack", list(UPLOAD_ATTACKS))
def test_the_same_upload_counted_and_deduplicated_as_the_operators_wins(
    store: Store, ctx: SealContext, areas: Areas, attack: str
) -> None:
    """Why a partner's uploads are a pool of their own and out of others' duplicates: treated
    as the operator's, the planted women betray the real ones and each guess is answered."""
    outcome = UPLOAD_ATTACKS[attack](store, ctx, areas, "police_npt", False)
    assert outcome.success >= 0.9, outcome


@pytest.mark.parametrize("role", ROLES)
def test_what_a_partner_publishes_of_its_own_is_the_same_whoever_else_is_there(
    engine_store: Store, ctx: SealContext, areas: Areas, tmp_path: Path, role: str
) -> None:
    """Planting k women publishes every hexagon, but each figure is the partner's own pool:
    the same, value for value, with the real woman in half the hexagons or in none."""
    with_her = planted_values(engine_store, ctx, areas, role, real=True)
    with open_store(str(tmp_path / "without.duckdb"), storage_res=10) as other:
        without_her = planted_values(other, ctx, areas, role, real=False)
    assert all(value > 0 for _, value in with_her)  # every hexagon is published...
    assert with_her == without_her  # ...and says nothing of her


def test_a_partners_own_records_are_still_found_as_duplicates(
    store: Store, ctx: SealContext
) -> None:
    rows = "2026-06-06 22:00,50.909000,-1.396000,robbery,high,,,partners"
    partner = partner_uploader("police_npt", defence=True)
    for expected in ((1, 0), (0, 1)):
        summary = ingest_file(
            store, "incidents", _incidents([rows]), ctx=ctx, source="g.csv", uploader=partner
        )
        assert (summary.accepted, summary.duplicates) == expected


def _incidents(rows: list[str]) -> io.BytesIO:
    header = "occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing"
    return io.BytesIO("\n".join([header, *rows]).encode())


def test_a_tightened_role_sees_sums_of_the_same_release_not_a_new_one(
    attacked: tuple[Store, Case],
) -> None:
    """Tightening a role (coarser hexagons, fewer layers) must not make a second, differently
    perturbed release of months a partner has already seen."""
    store, _ = attacked
    police = load_policies()["police_npt"]
    months = (date(2026, 6, 1), date(2026, 8, 1))
    fine = release_view(store, police, ReleaseRequest("police_npt", 8, ("incident",), *months))
    made = store.release_ids()
    tight = replace(police, finest_res=7, layers=("incident", "asb"))
    coarse = release_view(store, tight, ReleaseRequest("police_npt", 7, ("incident",), *months))
    assert store.release_ids() == made  # no new release
    summed = fine.cells.assign(cell=parent_cells(fine.cells["cell"].to_numpy(), 7))
    assert coarse.cells.set_index("cell")["value"].to_dict() == (
        summed.groupby("cell")["value"].sum().to_dict()
    )


def test_one_woman_referenced_three_ways_by_agencies_is_one_person(
    engine_store: Store, ctx: SealContext, areas: Areas
) -> None:
    """Agencies reference her by their own numbers, and a report names no one: she is one
    person, not three (at most: the largest number any one agency names). Counted as before
    (two references and the anonymous report as one more), she would reach police's k of 3."""
    x8 = h3.int_to_str(town_cells(areas, ctx, 1)[0])
    children = np.array([h3.str_to_int(c) for c in sorted(h3.cell_to_children(x8, 10))[:3]])
    at = [f"{lat:.6f},{lon:.6f}" for lat, lon in zip(*cell_centres(children), strict=True)]
    rows = [
        f"2026-06-04 23:10,{at[0]},violence,high,Outreach team,AB-17,partners",
        f"2026-06-05 23:10,{at[1]},violence,high,Police NPT,P-99881,partners",
        f"2026-06-06 23:10,{at[2]},violence,high,Ugly Mugs report,,partners",
    ]
    ingest_file(engine_store, "incidents", _incidents(rows), ctx=ctx, source="i.csv")
    make_releases(engine_store, RULES)
    police = load_policies()["police_npt"]
    request = ReleaseRequest("police_npt", 8, ("incident",), date(2026, 6, 1), date(2026, 6, 1))
    assert release_view(engine_store, police, request).cells.empty
