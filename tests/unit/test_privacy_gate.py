"""The privacy gate's promises, checked on random data against a plain reference implementation."""

from __future__ import annotations

from collections import defaultdict

import h3
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import PolicyError
from geo.hexes import cells_from_points, parent_cells
from geo.privacy import PERTURBATION_TABLE, RolePolicy, perturb, publish

RES = 9


def _policy(**overrides: object) -> RolePolicy:
    base: dict[str, object] = {
        "name": "test",
        "title": "Test",
        "layers": ("incident", "outreach", "asb", "policeuk"),
        "finest_res": RES,
        "k": 3,
        "sharing": ("partners",),
        "perturb": False,
    }
    return RolePolicy(**{**base, **overrides})  # type: ignore[arg-type]


@st.composite
def datasets(draw: st.DrawFn) -> pd.DataFrame:
    """Random records around a few Southampton streets, some without a person reference."""
    n = draw(st.integers(1, 250))
    seed = draw(st.integers(0, 2**32 - 1))
    spread = draw(st.sampled_from([0.001, 0.004, 0.02]))
    people = draw(st.integers(1, 60))
    rng = np.random.default_rng(seed)
    lat = 50.91 + rng.normal(0, spread, n)
    lon = -1.395 + rng.normal(0, spread, n)
    person = pd.array(rng.integers(0, people, n), dtype="Int64")
    person[rng.random(n) < draw(st.sampled_from([0.0, 0.3, 1.0]))] = pd.NA
    return pd.DataFrame(
        {
            "layer": rng.choice(["incident", "outreach", "asb"], n),
            "cell": cells_from_points(lat, lon, 10),
            "person": person,
            "record_key": rng.integers(0, 256, n),
        }
    )


def _contributions(records: pd.DataFrame, res: int) -> pd.DataFrame:
    """What the store's SQL returns: grouped by layer, cell at ``res`` and person."""
    grouped = records.assign(cell=parent_cells(records["cell"].to_numpy(), res)).groupby(
        ["layer", "cell", "person"], dropna=False, as_index=False
    )
    return grouped.agg(n=("record_key", "size"), keysum=("record_key", "sum"))


def _people(layer: str, refs: pd.Series) -> int:
    """Who counts towards k: each report about a place (ASB); else the people named, or, where
    no one is named, all the reports naming nobody together as one."""
    if layer == "asb":
        return len(refs)
    named = int(refs.dropna().nunique())
    return named or int(refs.isna().any())


def _reference(
    records: pd.DataFrame, *, k: int, res: int, max_rollup: int
) -> dict[tuple[str, int, int], set[int]]:
    """The gate written record by record: {(layer, res, cell): set of record indexes}."""
    published: dict[tuple[str, int, int], set[int]] = {}
    pending = set(records.index)
    for level in range(res, res - max_rollup - 1, -1):
        members: dict[tuple[str, int], set[int]] = defaultdict(set)
        for i in pending:
            row = records.loc[i]
            cell = h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(row["cell"])), level))
            members[(str(row["layer"]), cell)].add(i)
        for (layer, cell), idx in members.items():
            refs = records.loc[list(idx), "person"]
            contributors = _people(layer, refs)
            if contributors >= k:
                published[(layer, level, cell)] = idx
                pending -= idx
    return published


@settings(max_examples=60, deadline=None)
@given(records=datasets(), k=st.integers(2, 6), max_rollup=st.integers(0, 3))
def test_gate_matches_the_reference_and_never_publishes_under_k(
    records: pd.DataFrame, k: int, max_rollup: int
) -> None:
    policy = _policy(k=k, max_rollup=max_rollup)
    contributions = _contributions(records, RES)
    view = publish(contributions, policy, res=RES)
    expected = _reference(records, k=k, res=RES, max_rollup=max_rollup)
    got = {(r.layer, r.resolution, r.cell): r.value for r in view.cells.itertuples()}
    assert got == {key: len(idx) for key, idx in expected.items()}
    for (layer, _, _), idx in expected.items():
        refs = records.loc[list(idx), "person"]
        assert _people(layer, refs) >= k
    # Every record is counted at most once in the view.
    counted = [i for idx in expected.values() for i in idx]
    assert len(counted) == len(set(counted))
    assert view.total + view.suppressed_records == len(records)
    # the rows the gate says it showed are exactly those of the published groups
    assert view.shown_rows is not None
    assert contributions["n"].to_numpy()[view.shown_rows].sum() == len(counted)


@settings(max_examples=60, deadline=None)
@given(records=datasets(), k=st.integers(2, 6))
def test_perturbed_values_are_repeatable_and_never_small(records: pd.DataFrame, k: int) -> None:
    policy = _policy(k=k, perturb=True)
    contributions = _contributions(records, RES)
    first = publish(contributions, policy, res=RES).cells
    again = publish(contributions.sample(frac=1, random_state=1), policy, res=RES).cells
    pd.testing.assert_frame_equal(first, again)
    assert (first["value"] >= k).all()


def test_the_same_records_get_the_same_noise_however_the_query_is_sliced() -> None:
    # A cell's value depends only on its records: asking for one layer or two changes nothing.
    rng = np.random.default_rng(3)
    n = 300
    records = pd.DataFrame(
        {
            "layer": rng.choice(["incident", "outreach", "asb"], n),
            "cell": cells_from_points(
                50.91 + rng.normal(0, 0.002, n), -1.395 + rng.normal(0, 0.002, n), 10
            ),
            "person": pd.array(rng.integers(0, 40, n), dtype="Int64"),
            "record_key": rng.integers(0, 256, n),
        }
    )
    policy = _policy(perturb=True)
    both = publish(_contributions(records, RES), policy, res=RES).cells
    one = publish(_contributions(records[records.layer == "incident"], RES), policy, res=RES).cells
    merged = both[both.layer == "incident"].reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, one.reset_index(drop=True))


def test_perturbation_table_is_zero_mean_and_small() -> None:
    rows = PERTURBATION_TABLE[1:]
    assert (rows.mean(axis=1) == 0).all()
    assert rows.min() == -4
    assert rows.max() == 4
    assert 1.9 < rows.std() < 2.1
    assert (PERTURBATION_TABLE[0] == 0).all()


@pytest.mark.parametrize("k", [2, 3, 5])
def test_perturbation_never_yields_a_value_between_one_and_k_minus_one(k: int) -> None:
    n = np.repeat(np.arange(0, 80), 256)
    key = np.tile(np.arange(256), 80)
    value = perturb(n, key, k=k)
    assert not ((value >= 1) & (value < k)).any()
    assert (value[n >= k] >= k).all()
    assert (value[n < k] == 0).all()


def test_public_rows_are_exempt_from_k_but_not_from_the_resolution() -> None:
    cells = cells_from_points([50.91], [-1.395], 10)
    contributions = pd.DataFrame(
        {
            "layer": ["policeuk"],
            "cell": parent_cells(cells, 8),
            "person": pd.array([pd.NA], "Int64"),
            "n": [1],
            "keysum": [7],
        }
    )
    view = publish(contributions, _policy(finest_res=8, perturb=True), res=8)
    assert view.cells["value"].tolist() == [1]
    assert view.cells["protection"].tolist() == ["public data"]
    with pytest.raises(PolicyError, match="down to resolution 8, not 9"):
        publish(contributions, _policy(finest_res=8), res=9)


def test_a_role_cannot_be_given_a_layer_it_may_not_see() -> None:
    contributions = pd.DataFrame(
        {
            "layer": ["outreach"],
            "cell": [0],
            "person": pd.array([1], "Int64"),
            "n": [5],
            "keysum": [0],
        }
    )
    with pytest.raises(PolicyError, match="may not see the 'outreach' layer"):
        publish(contributions, _policy(layers=("incident",)), res=RES)


def test_rounding_and_minimum_shown_for_public_facing_roles() -> None:
    rng = np.random.default_rng(5)
    n = 400
    records = pd.DataFrame(
        {
            "layer": "incident",
            "cell": cells_from_points(
                50.91 + rng.normal(0, 0.003, n), -1.395 + rng.normal(0, 0.003, n), 10
            ),
            "person": pd.array([pd.NA] * n, dtype="Int64"),
            "record_key": rng.integers(0, 256, n),
        }
    )
    policy = _policy(k=5, perturb=True, round_to=5, min_shown=10, finest_res=8)
    view = publish(_contributions(records, 8), policy, res=8)
    assert (view.cells["value"] % 5 == 0).all()
    assert (view.cells["value"] >= 10).all()
    assert set(view.cells["protection"]) <= {"perturbed, rounded", "rolled up, perturbed, rounded"}


def test_the_gates_quick_frame_is_the_frame_pandas_builds() -> None:
    from datetime import date

    from geo.privacy import _frame_of

    columns = {
        "layer": pd.array(["asb", "incident", "asb"], dtype="str"),
        "month": pd.array([date(2025, 1, 1), date(2025, 2, 1), None], dtype=object),
        "hour": pd.array([22, None, 3], dtype="Int64"),
        "cell": np.array([1, 2, 3], dtype=np.int64),
        "value": np.array([5, 6, 7], dtype=np.int64),
    }
    quick = _frame_of(dict(columns))
    pd.testing.assert_frame_equal(quick, pd.DataFrame(columns))
    quick.loc[0, "value"] = 9  # a frame of its own: changing it changes nothing else
    assert _frame_of(dict(columns))["value"].iloc[0] == 5
