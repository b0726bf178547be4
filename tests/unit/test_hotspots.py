"""Hotspots an analyst can defend: Gi* as PySAL computes it, honest p-values, the false-discovery
correction, the emerging categories rule by rule, and newly active hexagons."""

from __future__ import annotations

import warnings

import h3.api.basic_int as h3i
import numpy as np
import pymannkendall
import pytest
from esda.getisord import G_Local
from hypothesis import given, settings
from hypothesis import strategies as st
from libpysal.weights import W

from geo.errors import FilterError
from geo.hotspots import (
    MIN_PERMUTATIONS,
    MIN_TREND_STEPS,
    NO_PATTERN,
    Grid,
    bins,
    classify,
    emerging,
    fdr_significant,
    gi_star,
    hotspots,
    mann_kendall,
    newly_active,
    p_permutation,
)

CENTRE = h3i.latlng_to_cell(50.91, -1.39, 9)


def _grid(radius: int = 6, k: int = 1) -> Grid:
    return Grid.of(list(h3i.grid_disk(CENTRE, radius)), k=k)


def _esda_z(values: np.ndarray, grid: Grid) -> np.ndarray:
    neighbours = {i: grid.weights[i].indices.tolist() for i in range(len(grid))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = G_Local(
            values, W(neighbours, silence_warnings=True), transform="B", star=True, permutations=0
        )
    return np.asarray(local.Zs)


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gi_star_equals_pysal(k: int, seed: int) -> None:
    grid = _grid(7, k=k)
    rng = np.random.default_rng(seed)
    values = rng.poisson(0.6, len(grid)).astype(float)
    values[rng.choice(len(grid), 6, replace=False)] += 9  # a few busy hexagons
    assert np.abs(gi_star(values, grid) - _esda_z(values, grid)).max() < 1e-6


def test_gi_star_equals_pysal_on_a_study_area_with_holes_and_edges() -> None:
    # cells outside the area are nobody's neighbours: a ragged area, edge cells have fewer
    disk = list(h3i.grid_disk(CENTRE, 8))
    rng = np.random.default_rng(5)
    area = [c for c in disk if rng.random() < 0.7]
    grid = Grid.of(area)
    counts = np.diff(grid.weights.indptr)
    assert counts.min() < 7
    assert counts.max() == 7
    values = rng.poisson(1.0, len(grid)).astype(float)
    assert np.abs(gi_star(values, grid) - _esda_z(values, grid)).max() < 1e-6


def test_only_the_grids_cells_are_neighbours() -> None:
    grid = _grid(3)
    for i, cell in enumerate(grid.cells.tolist()):
        ring = set(h3i.grid_disk(cell, 1)) & set(grid.cells.tolist())
        assert set(grid.cells[grid.weights[i].indices].tolist()) == ring


def test_a_published_cell_off_the_grid_is_refused() -> None:
    grid = _grid(2)
    far = h3i.latlng_to_cell(51.5, -0.1, 9)
    with pytest.raises(FilterError, match="not on the hotspot grid"):
        grid.align([far], [3.0])


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(0, 40), min_size=37, max_size=37),
    scale=st.integers(1, 9),
    shift=st.integers(0, 20),
)
def test_gi_star_does_not_change_with_the_unit_or_a_constant(
    values: list[int], scale: int, shift: int
) -> None:
    # rounding to 5 or lifting every figure by the same amount says nothing new about clusters
    grid = _grid(3)
    x = np.array(values, dtype=float)
    z = gi_star(x, grid)
    assert np.allclose(gi_star(x * scale + shift, grid), z, atol=1e-9)


def test_nothing_to_cluster_gives_zero_and_p_one() -> None:
    grid = _grid(3)
    flat = np.full(len(grid), 4.0)
    assert not gi_star(flat, grid).any()
    assert (p_permutation(flat, grid, permutations=999, seed=1) == 1).all()
    table = hotspots(grid, np.zeros(len(grid)), permutations=999, seed=1)
    assert (table["bin"] == 0).all()


def _cluster(grid: Grid) -> np.ndarray:
    values = np.zeros(len(grid))
    centre = int(np.searchsorted(grid.cells, CENTRE))
    for j in grid.weights[centre].indices:
        values[j] = 12.0
    values[np.random.default_rng(0).choice(len(grid), 10, replace=False)] += 1
    return values


def test_a_strong_cluster_is_a_99_percent_hot_spot_and_chance_is_not() -> None:
    grid = _grid(7)
    values = _cluster(grid)
    table = hotspots(grid, values, seed=7)
    hot = table[table["bin"] == 3]
    assert CENTRE in set(hot["cell"].tolist())
    assert (hot["z"] > 0).all()
    assert table.iloc[0]["bin"] == 3  # sorted by significance
    # the same figures scattered at random: nothing survives the false-discovery correction
    scattered = np.random.default_rng(3).permutation(values)
    assert (hotspots(grid, scattered, seed=7)["bin"].abs() < 3).all()


def test_permutation_p_values_are_seeded_and_never_below_their_floor() -> None:
    grid = _grid(5)
    values = _cluster(grid)
    first = p_permutation(values, grid, permutations=999, seed=11)
    assert np.array_equal(first, p_permutation(values, grid, permutations=999, seed=11))
    assert first.min() >= 2 / (10 * 999 + 1)  # refined near the floor: ten times as many
    unrefined = p_permutation(values, grid, permutations=999, seed=11, refine_for=None)
    assert unrefined.min() >= 2 / 1000
    assert (first <= 1).all()


def test_fewer_than_999_permutations_are_refused() -> None:
    grid = _grid(2)
    with pytest.raises(FilterError, match=f"at least {MIN_PERMUTATIONS}"):
        p_permutation(np.arange(len(grid), dtype=float), grid, permutations=99, seed=1)


def test_permutation_p_values_agree_with_pysal() -> None:
    # esda's p_sim is one-sided (the more extreme tail); ours is two-sided: twice it
    grid = _grid(7)
    values = np.random.default_rng(2).normal(10, 2, len(grid))
    values[:5] += 8
    neighbours = {i: grid.weights[i].indices.tolist() for i in range(len(grid))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = G_Local(
            values,
            W(neighbours, silence_warnings=True),
            transform="B",
            star=True,
            permutations=9999,
            seed=1,
        )
    ours = p_permutation(values, grid, permutations=9999, seed=2, refine_for=None)
    assert np.abs(ours - np.minimum(1, 2 * local.p_sim)).max() < 0.04  # Monte Carlo error


def test_benjamini_hochberg_on_a_worked_example() -> None:
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    # m = 10, alpha = 0.05: thresholds 0.005, 0.01, 0.015, 0.02, ... the largest passing is #2
    assert fdr_significant(p, 0.05).tolist() == [True, True] + [False] * 8
    assert fdr_significant(p, 0.5).sum() == 10  # 0.216 <= 0.5


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=60), st.sampled_from([0.01, 0.05, 0.1]))
def test_benjamini_hochberg_sits_between_bonferroni_and_no_correction(
    p: list[float], alpha: float
) -> None:
    arr = np.array(p)
    significant = fdr_significant(arr, alpha)
    assert significant[arr <= alpha / arr.size].all()  # Bonferroni's are always in
    assert (arr[significant] <= alpha).all()  # never more than uncorrected
    if significant.any():  # and it is a prefix of the sorted p-values
        assert (arr[~significant] > arr[significant].max()).all() or (arr[~significant].size == 0)


def test_bins_follow_the_sign_of_z_and_the_levels() -> None:
    z = np.array([4.0, -4.0, 2.2, -1.8, 0.3])
    p = np.array([0.001, 0.001, 0.03, 0.08, 0.7])
    assert bins(z, p, fdr=False).tolist() == [3, -3, 2, -1, 0]
    assert (np.abs(bins(z, p)) <= np.abs(bins(z, p, fdr=False))).all()


# --- trends -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_mann_kendall_equals_pymannkendall(seed: int) -> None:
    rng = np.random.default_rng(seed)
    series = rng.normal(size=12).round(1)  # rounding makes ties
    series[3:6] = series[2]
    z, p = mann_kendall(series[None, :])
    expected = pymannkendall.original_test(series)
    assert z[0] == pytest.approx(expected.z, abs=1e-9)
    assert p[0] == pytest.approx(expected.p, abs=1e-9)


H, C, O = True, "cold", False  # noqa: E741 -- a step: hot, cold or neither


def _steps(pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """``"..HH"``: H hot, C cold, . neither, oldest first."""
    return np.array([c == "H" for c in pattern]), np.array([c == "C" for c in pattern])


RISING, FALLING, FLAT = (3.0, 0.001), (-3.0, 0.001), (0.4, 0.7)

CASES = [
    ("New hot spot", ".........H", FLAT),
    ("Consecutive hot spot", "......HHHH", RISING),
    ("Intensifying hot spot", "HHHHHHHHHH", RISING),
    ("Persistent hot spot", "HHHHHHHHHH", FLAT),
    ("Diminishing hot spot", "H.HHHHHHHH", FALLING),
    ("Sporadic hot spot", "..H..H...H", FLAT),
    ("Oscillating hot spot", "C..H..C..H", FLAT),
    ("Historical hot spot", "HHHHHHHHH.", FALLING),
    ("New cold spot", ".........C", FLAT),
    ("Consecutive cold spot", ".......CCC", FALLING),
    ("Intensifying cold spot", "CCCCCCCCCC", FALLING),
    ("Persistent cold spot", "CCCCCCCCCC", FLAT),
    ("Diminishing cold spot", "CCCCCCCCCC", RISING),
    ("Sporadic cold spot", ".C..C.C..C", FLAT),
    ("Oscillating cold spot", "H...H..C.C", FLAT),
    ("Historical cold spot", "CCCCCCCCC.", RISING),
    (NO_PATTERN, "..H..H....", FLAT),
    (NO_PATTERN, "..........", FLAT),
]


@pytest.mark.parametrize(("category", "pattern", "trend"), CASES, ids=[c[0] for c in CASES])
def test_each_emerging_category_on_a_constructed_series(
    category: str, pattern: str, trend: tuple[float, float]
) -> None:
    hot, cold = _steps(pattern)
    assert classify(hot, cold, *trend) == category


def test_the_90_percent_rules_count_steps() -> None:
    # 9 of 10 hot steps is 90 %: persistent; 8 of 10 with the last two hot is sporadic
    assert classify(*_steps(".HHHHHHHHH"), *FLAT) == "Persistent hot spot"
    assert classify(*_steps("H.H.HHHHHH"), *FLAT) == "Sporadic hot spot"
    # a run of hot steps after a cold one is oscillating, not consecutive
    assert classify(*_steps("C.....HHHH"), *FLAT) == "Oscillating hot spot"


def test_emerging_finds_a_place_that_heats_up_and_one_that_cools() -> None:
    grid = _grid(6)
    centre = int(np.searchsorted(grid.cells, CENTRE))
    far = int(np.searchsorted(grid.cells, next(iter(h3i.grid_ring(CENTRE, 5)))))
    rng = np.random.default_rng(4)
    steps = []
    for t in range(12):
        values = rng.poisson(0.3, len(grid)).astype(float)
        for j in grid.weights[centre].indices:  # warms up from month 8
            values[j] += 14 if t >= 8 else 0
        for j in grid.weights[far].indices:  # hot for ten months, then gone
            values[j] += 14 if t < 11 else 0
        steps.append(values)
    table = emerging(grid, steps, seed=1, permutations=999).set_index("cell")
    assert table.loc[CENTRE, "category"] == "Consecutive hot spot"
    assert table.loc[grid.cells[far], "category"] == "Historical hot spot"


def test_a_trend_needs_enough_months() -> None:
    grid = _grid(2)
    steps = [np.ones(len(grid))] * (MIN_TREND_STEPS - 1)
    with pytest.raises(FilterError, match=f"at least {MIN_TREND_STEPS} monthly steps"):
        emerging(grid, steps, seed=1)


def test_newly_active_cells_were_shown_in_none_of_the_months_before() -> None:
    assert newly_active([1, 2, 3], [[2], [3, 9]]).tolist() == [1]
    assert newly_active([1, 2], []).tolist() == [1, 2]
    assert newly_active([], [[1]]).tolist() == []


def test_wide_rings_on_a_small_grid_answer_and_bad_parameters_are_refused() -> None:
    # three rings on a grid of a few dozen cells: 36 neighbours out of ~60 (once it hung)
    grid = _grid(4, k=3)
    values = _cluster(grid)
    p = p_permutation(values, grid, permutations=999, seed=1)
    assert ((p > 0) & (p <= 1)).all()
    with pytest.raises(FilterError, match="at most"):
        p_permutation(values, grid, permutations=10**7, seed=1)
    with pytest.raises(FilterError, match="0 or more"):
        p_permutation(values, grid, permutations=999, seed=-1)
