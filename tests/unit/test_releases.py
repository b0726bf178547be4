"""Partner releases: each value fixed once, and every partner figure a sum of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import FilterError, PolicyError
from geo.hexes import cells_from_points, parent_cells
from geo.privacy import PERTURBATION_TABLE, RolePolicy
from geo.releases import DIMENSIONS, PLACES, PROVENANCE, TIMES, release_rows, release_view
from streetsafe.policies import load_policies

POLICE = load_policies()["police_npt"]
COUNCIL = load_policies()["community_safety"]


@st.composite
def months_of_records(draw: st.DrawFn) -> pd.DataFrame:
    """A month's records: people, anonymous reports, ASB reports and public police.uk rows."""
    n = draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    layer = rng.choice(["incident", "asb", "policeuk"], n, p=[0.5, 0.3, 0.2])
    spread = draw(st.sampled_from([0.002, 0.01]))
    person = pd.array(rng.integers(0, draw(st.integers(1, 30)), n), dtype="Int64")
    person[(rng.random(n) < 0.2) | (layer != "incident")] = pd.NA
    group = np.where(
        layer == "incident",
        rng.choice(["harm", "buyers"], n),
        np.where(layer == "asb", rng.choice(["litter", "nuisance"], n), "Drugs"),
    )
    return pd.DataFrame(
        {
            "layer": layer,
            "cell": cells_from_points(
                50.91 + rng.normal(0, spread, n), -1.395 + rng.normal(0, spread, n), 8
            ),
            "category_group": group,
            "band": rng.choice(["evening", "late", "small_hours", "day"], n),
            "weekday_group": rng.choice(["weeknights", "weekend"], n),
            "person": person,
            "record_key": rng.integers(0, 256, n),
            "agency": rng.choice(["Outreach team", "Police NPT"], n),
            "pool": np.where(rng.random(n) < 0.9, "", "community_safety"),
        }
    )


def _cube(records: pd.DataFrame, table: str) -> pd.DataFrame:
    """The count cube as the store's SQL gives it for a release's table."""
    for column, value in _PROVENANCE.items():
        if column not in records:
            records = records.assign(**{column: value})
    dims = list(DIMENSIONS[table])
    keys = ["layer", *(["cell"] if table == PLACES else []), *dims, *PROVENANCE, "person"]
    return records.groupby(keys, dropna=False, as_index=False).agg(
        n=("record_key", "size"), keysum=("record_key", "sum")
    )


_PROVENANCE: dict[str, str] = {"agency": "Outreach team", "pool": ""}


def _release(records: pd.DataFrame, references: dict[str, str] | None = None) -> pd.DataFrame:
    rows = release_rows(_cube(records, PLACES), _cube(records, TIMES), references)
    return rows.assign(release="2026-10/test/v1", month=pd.Timestamp("2026-10-01").date())


@settings(max_examples=50, deadline=None)
@given(records=months_of_records(), policy=st.sampled_from([POLICE, COUNCIL]))
def test_every_value_a_partner_sees_has_k_people_and_is_a_sum_of_stored_values(
    records: pd.DataFrame, policy: RolePolicy
) -> None:
    release = _release(records)
    layers = policy.layers
    view = release_view(release, policy, res=8, layers=layers)
    private = view.cells[view.cells["protection"] != "public data"]
    assert (private["value"] >= max(policy.k, policy.min_shown)).all()
    # every hexagon shown holds a released group of k people
    places = release[(release["table"] == PLACES) & ~release["public"]]
    enough = set(places.loc[places["people"] >= policy.k, "cell"])
    assert set(private["cell"]) <= enough
    # the same question again, or a coarser map, adds up the same stored values
    again = release_view(release, policy, res=8, layers=layers)
    pd.testing.assert_frame_equal(view.cells, again.cells)
    coarse = release_view(release, policy, res=7, layers=layers)
    summed = view.cells.assign(cell=parent_cells(view.cells["cell"].to_numpy(), 7))
    by_parent = summed.groupby(["layer", "cell"])["value"].sum()
    assert coarse.cells.set_index(["layer", "cell"])["value"].to_dict() == by_parent.to_dict()
    # and the area's totals by group add up to its totals, whatever the split
    by_group = release_view(release, policy, res=None, by=("category_group",), layers=layers)
    total = release_view(release, policy, res=None, layers=layers)
    assert by_group.cells.groupby("layer")["value"].sum().to_dict() == (
        total.cells.set_index("layer")["value"].to_dict()
    )


def test_public_rows_are_exact_and_anonymous_reports_count_once() -> None:
    cell = int(cells_from_points([50.91], [-1.395], 8)[0])
    rows = []
    for i in range(6):  # six anonymous reports: one person at most
        rows.append(("incident", cell, "harm", "late", "weekend", pd.NA, i))
    for i in range(2):  # two public rows: exact, whatever k
        rows.append(("policeuk", cell, "Drugs", "unknown", "unknown", pd.NA, i))
    records = pd.DataFrame(
        rows,
        columns=[
            "layer",
            "cell",
            "category_group",
            "band",
            "weekday_group",
            "person",
            "record_key",
        ],
    ).astype({"person": "Int64"})
    release = _release(records)
    view = release_view(release, POLICE, res=8, layers=("incident", "policeuk"))
    assert view.cells[["layer", "value", "protection"]].values.tolist() == [
        ["policeuk", 2, "public data"]
    ]
    assert release.loc[release["layer"] == "incident", "people"].max() == 1


def test_a_partner_cannot_break_figures_down_finer_than_the_release() -> None:
    release = _release(
        pd.DataFrame(
            {
                "layer": ["incident"],
                "cell": cells_from_points([50.91], [-1.395], 8),
                "category_group": ["harm"],
                "band": ["late"],
                "weekday_group": ["weekend"],
                "person": pd.array([1], dtype="Int64"),
                "record_key": [3],
            }
        )
    )
    with pytest.raises(FilterError, match="not by 'hour'"):
        release_view(release, POLICE, res=None, by=("hour",), layers=("incident",))
    with pytest.raises(FilterError, match="for the whole area"):
        release_view(release, POLICE, res=8, by=("band",), layers=("incident",))
    with pytest.raises(PolicyError, match="resolution 8, not 9"):
        release_view(release, POLICE, res=9, layers=("incident",))
    with pytest.raises(PolicyError, match="may not see the 'outreach' layer"):
        release_view(release, replace(POLICE), res=8, layers=("outreach",))


def _people_of(
    rows: Sequence[tuple[str, int | None, bool]],
    layer: str = "incident",
    references: dict[str, str] | None = None,
) -> int:
    """The people a release counts behind one hexagon's group of ``rows`` (agency, person,
    trusted), with agencies sharing references as ``references`` says."""
    cell = int(cells_from_points([50.91], [-1.395], 8)[0])
    records = pd.DataFrame(
        {
            "layer": layer,
            "cell": cell,
            "category_group": "harm" if layer == "incident" else "litter",
            "band": "late",
            "weekday_group": "weekend",
            "person": pd.array([p for _, p, _ in rows], dtype="Int64"),
            "record_key": 1,
            "agency": [a for a, _, _ in rows],
            "pool": ["" if t else "community_safety" for _, _, t in rows],
        }
    )
    places = _release(records, references)
    trusted = places[(places["table"] == PLACES) & (places["pool"] == "")]
    return int(trusted["people"].iloc[0]) if len(trusted) else 0


@pytest.mark.parametrize(
    ("rows", "people", "why"),
    [
        ([("Outreach team", 1, True), ("Outreach team", 2, True)], 2, "two women named"),
        (
            [("Outreach team", 1, True), ("Police NPT", 7, True), ("Police NPT", 8, True)],
            2,
            "one agency names two, another one: at most two women, maybe the same",
        ),
        ([("Outreach team", None, True)] * 4, 1, "anonymous reports: at most one woman"),
        (
            [("Outreach team", 1, True), ("Ugly Mugs report", None, True)],
            1,
            "an anonymous report beside a named woman may be about her",
        ),
        (
            [("Outreach team", 1, True), *[("Outreach team", 90 + i, False) for i in range(5)]],
            1,
            "a partner's planted people, under any agency, count for no one else's group",
        ),
    ],
)
def test_a_release_counts_people_cautiously(
    rows: list[tuple[str, int | None, bool]], people: int, why: str
) -> None:
    assert _people_of(rows) == people, why


def test_agencies_sharing_a_reference_scheme_count_its_references_together() -> None:
    """The night van and the foot team are one outreach service, referencing a woman by one
    code: their five references are five women. Apart, they might be two or three."""
    rows = [("Night van", 1, True), ("Night van", 2, True), ("Foot team", 3, True)]
    rows += [("Foot team", 4, True), ("Foot team", 5, True), ("Police NPT", 6, True)]
    shared = {"Night van": "outreach service", "Foot team": "outreach service"}
    assert _people_of(rows) == 3
    assert _people_of(rows, references=shared) == 5


def test_a_partners_records_are_a_pool_of_their_own() -> None:
    """A partner's ASB reports count among themselves: four of theirs beside three trusted
    ones make two groups, each kept or dropped on its own, never one of seven."""
    rows = [("Resident report", None, True)] * 3 + [("Community safety", None, False)] * 4
    assert _people_of(rows, layer="asb") == 3
    cell = int(cells_from_points([50.91], [-1.395], 8)[0])
    records = pd.DataFrame(
        {
            "layer": "asb",
            "cell": cell,
            "category_group": "litter",
            "band": "day",
            "weekday_group": "weekend",
            "person": pd.array([None] * 7, dtype="Int64"),
            "record_key": 0,
            "agency": [a for a, _, _ in rows],
            "pool": ["" if t else "community_safety" for _, _, t in rows],
        }
    )
    release = _release(records)
    places = release[release["table"] == PLACES].set_index("pool")
    assert places["people"].to_dict() == {"": 3, "community_safety": 4}
    assert places.loc["", "value"] == 3 + PERTURBATION_TABLE[3, 0]  # their keys sum to 0
    assert places.loc["community_safety", "value"] == 4 + PERTURBATION_TABLE[4, 0]
    council = replace(COUNCIL, min_shown=0, round_to=1)  # k = 5: neither pool has five
    assert release_view(release, council, res=8, layers=("asb",)).cells.empty
    four = replace(council, k=4)  # the partner's pool alone is shown, never lifted by the other
    shown = release_view(release, four, res=8, layers=("asb",)).cells
    assert shown["value"].tolist() == [max(4 + PERTURBATION_TABLE[4, 0], 4)]
