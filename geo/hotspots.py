"""Hotspots analysts can defend: Getis-Ord Gi* on the H3 grid, with permutation inference and
false-discovery control, emerging hot and cold spots over monthly steps, and newly active cells.

Everything here works on values already published (a role's view or release): callers pass the
figures a role is shown, never the store's raw counts, so no statistic says more than the map.
Nothing here talks to a database.

**Neighbours.** A cell's neighbours are the cells of its k-ring (``k`` rings of hexagons around
it, itself included: the * of Gi*) among the study area's cells (:class:`Grid`). A cell of the
study area without published reports counts as zero; a cell outside it is nobody's neighbour.
Weights are binary, as in ArcGIS's Hot Spot Analysis and PySAL's ``G_Local(star=True,
transform="B")``.

**Gi\\*.** For values ``x`` over ``n`` cells with mean ``x̄`` and standard deviation ``S``
(population form), cell ``i`` with ``W_i`` neighbours (itself included)::

    z_i = (Σ_j w_ij x_j - x̄ W_i) / (S · sqrt((n W_i - W_i²) / (n - 1)))

``p_norm`` is its two-sided p-value under the normal approximation. ``p_sim`` comes from
conditional permutation: the cell's own value stays, its ``W_i - 1`` neighbours' values are
drawn without replacement from the other ``n - 1`` cells, ``permutations`` times (``seed``
fixed); ``p_sim = min(1, 2 (min(#≥, #≤) + 1) / (permutations + 1))`` (two-sided; ties count
against significance). A pseudo p-value cannot go below ``2 / (permutations + 1)``, hence at
least :data:`MIN_PERMUTATIONS`; and since a grid of hundreds of cells corrected for false
discoveries needs smaller p-values than that for 99 %, a cell with fewer than ten permutations
as extreme as observed gets ten times as many (the idea of Besag and Clifford's sequential
p-values: spend permutations where the answer is close to the floor), its p-value taken over
all of them.

**Bins.** The p-values of one map are corrected for false discoveries with Benjamini-Hochberg
at each confidence level: a cell is in bin ±3 if significant at 99 % after the correction, ±2
at 95 %, ±1 at 90 %, else 0; the sign is the sign of ``z`` (hot +, cold -).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import h3.api.basic_int as h3i
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse, stats

from geo.errors import FilterError

MIN_PERMUTATIONS: Final = 999
MAX_PERMUTATIONS: Final = 99_999
DEFAULT_PERMUTATIONS: Final = 9_999
# (bin, confidence, significance level) from the strongest: the bins ArcGIS users know.
LEVELS: Final = ((3, "99%", 0.01), (2, "95%", 0.05), (1, "90%", 0.10))
P_METHODS: Final = ("permutation", "normal")
MIN_TREND_STEPS: Final = 6  # a Mann-Kendall test of fewer steps can hardly be significant
_PERMUTATION_CHUNK = 1_000  # permutations drawn at a time: memory ~ chunk x cells
# Cells whose pseudo p-value lies near its floor get this many times the permutations
# (fewer than _REFINE_BELOW permutations as extreme as observed): see p_permutation.
_REFINE_FACTOR = 10
_REFINE_BELOW = 10

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Grid:
    """The study area's cells at one resolution and their k-ring neighbours (self included)."""

    cells: npt.NDArray[np.int64]  # sorted, distinct
    weights: sparse.csr_matrix  # binary, n x n, diagonal 1
    k: int

    @classmethod
    def of(cls, cells: npt.ArrayLike, *, k: int = 1) -> Grid:
        """Return the grid of ``cells`` (one resolution) with k-ring neighbourhoods."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise FilterError(f"the neighbourhood is k rings of hexagons, k 1 or more; got {k!r}")
        arr = np.unique(np.asarray(cells, dtype=np.int64))
        if arr.size and np.unique(arr >> 52 & 0xF).size > 1:
            raise FilterError("a hotspot grid holds cells of one resolution")
        index = {int(c): i for i, c in enumerate(arr.tolist())}
        rows: list[int] = []
        cols: list[int] = []
        for i, cell in enumerate(arr.tolist()):
            for other in h3i.grid_disk(cell, k):
                j = index.get(int(other))
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        data = np.ones(len(rows), dtype=np.float64)
        weights = sparse.csr_matrix((data, (rows, cols)), shape=(arr.size, arr.size))
        return cls(cells=arr, weights=weights, k=k)

    def __len__(self) -> int:
        return int(self.cells.size)

    def align(self, cells: npt.ArrayLike, values: npt.ArrayLike) -> FloatArray:
        """Return ``values`` (one per cell of ``cells``) laid on the grid, zero elsewhere.

        Raise :class:`FilterError` if a cell is not on the grid (outside the study area, or at
        another resolution).
        """
        cell_arr = np.asarray(cells, dtype=np.int64)
        value_arr = np.asarray(values, dtype=np.float64)
        where = np.searchsorted(self.cells, cell_arr)
        where = np.minimum(where, max(len(self) - 1, 0))
        on = (self.cells[where] == cell_arr) if len(self) else np.zeros(cell_arr.size, bool)
        if not on.all():
            raise FilterError(f"{int((~on).sum())} published cells are not on the hotspot grid")
        out = np.zeros(len(self), dtype=np.float64)
        np.add.at(out, where, value_arr)
        return out


def gi_star(values: npt.ArrayLike, grid: Grid) -> FloatArray:
    """Return the Gi* z-score of every cell of ``grid`` for ``values`` (one per cell).

    Values all equal (nothing to cluster, e.g. no reports at all) give z = 0 everywhere.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n != len(grid):
        raise FilterError(f"{n} values for a grid of {len(grid)} cells")
    if n < 2:
        return np.zeros(n)
    mean = x.mean()
    spread = np.sqrt(max((x * x).mean() - mean * mean, 0.0))
    if spread <= 1e-12 * max(1.0, abs(mean)):
        return np.zeros(n)
    w_i = np.asarray(grid.weights.sum(axis=1)).ravel()
    local = grid.weights @ x
    denominator = spread * np.sqrt(np.maximum(n * w_i - w_i * w_i, 0.0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (local - mean * w_i) / denominator
    return np.where(denominator > 0, z, 0.0)


def p_normal(z: npt.ArrayLike) -> FloatArray:
    """Return the two-sided p-value of each z-score under the normal approximation."""
    return np.asarray(2.0 * stats.norm.sf(np.abs(np.asarray(z, dtype=np.float64))))


def p_permutation(
    values: npt.ArrayLike,
    grid: Grid,
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int,
    refine_for: float | None = 0.01,
) -> FloatArray:
    """Return each cell's two-sided pseudo p-value by conditional permutation (see the module).

    The same ``values``, ``grid``, ``permutations`` and ``seed`` always give the same answer.
    Cells near the floor get ten times the permutations when the false-discovery correction
    at ``refine_for`` (the strictest level the caller bins at) could not pass them otherwise;
    None never spends them.
    """
    if isinstance(permutations, bool) or not isinstance(permutations, int):
        raise FilterError(f"permutations must be a whole number, got {permutations!r}")
    if permutations < MIN_PERMUTATIONS:
        raise FilterError(
            f"at least {MIN_PERMUTATIONS} permutations, got {permutations}: a pseudo p-value "
            f"cannot go below 2/(permutations + 1)"
        )
    if permutations > MAX_PERMUTATIONS:
        raise FilterError(f"at most {MAX_PERMUTATIONS:,} permutations, got {permutations:,}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise FilterError(f"the seed is a whole number, 0 or more; got {seed!r}")
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n != len(grid):
        raise FilterError(f"{n} values for a grid of {len(grid)} cells")
    if n < 2 or np.ptp(x) == 0:
        return np.ones(n)
    neighbours = np.diff(grid.weights.indptr) - 1  # besides the cell itself
    if int(neighbours.max()) == 0:  # no cell has a neighbour: nothing can be told from chance
        return np.ones(n)
    rng = np.random.default_rng(seed)
    observed = grid.weights @ x
    at_least, at_most = _extremes(rng, x, observed, neighbours, permutations)
    runs = np.full(n, permutations, dtype=np.int64)
    near_floor = np.flatnonzero((np.minimum(at_least, at_most) < _REFINE_BELOW) & (neighbours > 0))
    # the floor is too coarse when a lone cell at it cannot pass Benjamini-Hochberg
    if refine_for is not None and near_floor.size and n * 2.0 / (permutations + 1) > refine_for:
        more = (_REFINE_FACTOR - 1) * permutations
        draws = _distinct_draws(rng, n - 1, int(neighbours[near_floor].max()), more)
        for i in near_floor.tolist():
            idx = draws[:, : neighbours[i]]
            sums = x[idx + (idx >= i)].sum(axis=1) + x[i]
            at_least[i] += int((sums >= observed[i] - 1e-9).sum())
            at_most[i] += int((sums <= observed[i] + 1e-9).sum())
            runs[i] += more
    p = 2.0 * (np.minimum(at_least, at_most) + 1) / (runs + 1)
    return np.where(neighbours > 0, np.minimum(p, 1.0), 1.0)


def _extremes(
    rng: np.random.Generator,
    x: FloatArray,
    observed: FloatArray,
    neighbours: npt.NDArray[np.intp],
    permutations: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Count, per cell, the permutations whose local sum is at least / at most the observed."""
    n = x.size
    most = int(neighbours.max())
    at_least = np.zeros(n, dtype=np.int64)
    at_most = np.zeros(n, dtype=np.int64)
    done = 0
    while done < permutations:
        size = min(_PERMUTATION_CHUNK, permutations - done)
        # the first `most` places of a random permutation of the other n-1 cells, in order:
        # any prefix of them is a uniform draw without replacement
        keys = rng.random((size, n - 1))
        if most < n - 1:
            pick = np.argpartition(keys, most - 1, axis=1)[:, :most]
            order = np.argsort(np.take_along_axis(keys, pick, axis=1), axis=1)
            draws = np.take_along_axis(pick, order, axis=1)
        else:
            draws = np.argsort(keys, axis=1)
        for m in np.unique(neighbours[neighbours > 0]).tolist():
            group = np.flatnonzero(neighbours == m)
            for part in np.array_split(group, max(1, group.size * size * m // 4_000_000)):
                idx = draws[None, :, :m]
                idx = idx + (idx >= part[:, None, None])  # skip the cell itself
                sums = x[idx].sum(axis=2) + x[part, None]  # cells x permutations
                obs = observed[part, None]
                at_least[part] += (sums >= obs - 1e-9).sum(axis=1)
                at_most[part] += (sums <= obs + 1e-9).sum(axis=1)
        done += size
    return at_least, at_most


def _distinct_draws(rng: np.random.Generator, size: int, m: int, count: int) -> Any:
    """Return ``count`` rows of ``m`` distinct indices below ``size``, each row uniform over
    ordered distinct tuples (so any prefix of a row is a uniform draw without replacement).

    Few from many (the usual k-ring): draw with replacement and redraw the rows that repeat;
    else the first ``m`` places of random permutations, a chunk at a time.
    """
    m = min(m, size)
    if m * m <= size:  # a row repeats an index with chance below about a half
        draws = rng.integers(0, size, size=(count, m))
        while True:
            same = np.zeros(count, dtype=bool)
            for a in range(m):
                for b in range(a + 1, m):
                    same |= draws[:, a] == draws[:, b]
            twice = np.flatnonzero(same)
            if twice.size == 0:
                return draws
            draws[twice] = rng.integers(0, size, size=(twice.size, m))
    parts = []
    for start in range(0, count, _PERMUTATION_CHUNK):
        keys = rng.random((min(_PERMUTATION_CHUNK, count - start), size))
        parts.append(np.argsort(keys, axis=1)[:, :m])
    return np.concatenate(parts)


def fdr_significant(p: npt.ArrayLike, alpha: float) -> npt.NDArray[np.bool_]:
    """Return which p-values Benjamini-Hochberg declares significant at false-discovery rate
    ``alpha``: all those at or below the largest ``p_(i)`` with ``p_(i) <= i alpha / m``."""
    arr = np.asarray(p, dtype=np.float64)
    m = arr.size
    if m == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(arr, kind="stable")
    passed = arr[order] <= alpha * np.arange(1, m + 1) / m
    out = np.zeros(m, dtype=bool)
    if passed.any():
        last = int(np.flatnonzero(passed).max())
        out[order[: last + 1]] = True
    return out


def bins(z: npt.ArrayLike, p: npt.ArrayLike, *, fdr: bool = True) -> npt.NDArray[np.int8]:
    """Return each cell's bin: ±3 (99 %), ±2 (95 %), ±1 (90 %) or 0, signed as ``z``, with the
    Benjamini-Hochberg correction across the cells unless ``fdr`` is False."""
    z_arr = np.asarray(z, dtype=np.float64)
    p_arr = np.asarray(p, dtype=np.float64)
    out = np.zeros(z_arr.size, dtype=np.int8)
    for level, _, alpha in reversed(LEVELS):  # weakest first; stronger levels overwrite
        significant = fdr_significant(p_arr, alpha) if fdr else p_arr <= alpha
        out[significant] = level
    return (out * np.sign(z_arr)).astype(np.int8)


def confidence(bin_: int) -> str:
    """Return a bin as analysts read it: "Hot spot, 99 % confidence", "Not significant"."""
    if bin_ == 0:
        return "Not significant"
    level = next(c for b, c, _ in LEVELS if b == abs(int(bin_)))
    return f"{'Hot' if bin_ > 0 else 'Cold'} spot, {level} confidence"


def hotspots(
    grid: Grid,
    values: npt.ArrayLike,
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int,
    p_method: str = "permutation",
    fdr: bool = True,
    refine_for: float | None = LEVELS[0][2],
) -> pd.DataFrame:
    """Return Gi* for ``values`` (one per cell of ``grid``): a frame of ``cell``, ``value``,
    ``z``, ``p_norm``, ``p_sim``, ``bin`` (from ``p_method``'s p-values) and ``confidence``,
    sorted by significance (strongest hot spots first, then by |z|)."""
    if p_method not in P_METHODS:
        raise FilterError(f"p-values by {', '.join(P_METHODS)}, not {p_method!r}")
    x = np.asarray(values, dtype=np.float64)
    z = gi_star(x, grid)
    p_norm = p_normal(z)
    p_sim = p_permutation(x, grid, permutations=permutations, seed=seed, refine_for=refine_for)
    b = bins(z, p_sim if p_method == "permutation" else p_norm, fdr=fdr)
    frame = pd.DataFrame(
        {
            "cell": grid.cells,
            "value": x,
            "z": z,
            "p_norm": p_norm,
            "p_sim": p_sim,
            "bin": b,
            "confidence": [confidence(int(v)) for v in b],
        }
    )
    order = np.lexsort((-np.abs(z), -np.abs(b.astype(np.int64)), -(b > 0).astype(np.int64)))
    return frame.iloc[order].reset_index(drop=True)


# --- trends: Mann-Kendall -------------------------------------------------------------------


def mann_kendall(series: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return the Mann-Kendall trend z and two-sided p of each row of ``series`` (rows x steps).

    ``S = Σ_{i<j} sign(x_j - x_i)``; ``Var S = [n(n-1)(2n+5) - Σ_t t(t-1)(2t+5)] / 18`` over the
    groups of ``t`` tied values; ``z = (S - sign S) / sqrt(Var S)`` (continuity correction),
    0 when S is 0; p by the normal approximation (as ``pymannkendall.original_test``).
    """
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    rows, n = x.shape
    if n < 2:
        return np.zeros(rows), np.ones(rows)
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    diff = x[:, None, :] - x[:, :, None]  # [r, i, j] = x_j - x_i
    s = np.sign(diff)[:, upper].sum(axis=1)
    ties = np.zeros(rows)
    for r in range(rows):
        _, counts = np.unique(x[r], return_counts=True)
        t = counts[counts > 1].astype(np.float64)
        ties[r] = float((t * (t - 1) * (2 * t + 5)).sum())
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    return z, p_normal(z)


# --- emerging hot and cold spots -------------------------------------------------------------

NO_PATTERN = "No pattern detected"
CATEGORIES: Final = (
    "New",
    "Consecutive",
    "Intensifying",
    "Persistent",
    "Diminishing",
    "Sporadic",
    "Oscillating",
    "Historical",
)


def classify(
    hot: npt.ArrayLike, cold: npt.ArrayLike, trend_z: float, trend_p: float, *, alpha: float = 0.05
) -> str:
    """Return the emerging category of one cell, from its steps (oldest first).

    ``hot`` and ``cold`` say, per step, whether the cell was a significant hot or cold spot;
    ``trend_z`` and ``trend_p`` are the Mann-Kendall test of its Gi* z-scores over the steps,
    significant when ``trend_p < alpha``. The rules (ArcGIS Pro's Emerging Hot Spot Analysis,
    with R ``sfdep``'s reading of its ties: any earlier significant step of either kind
    rules out *new* and *consecutive*). For hot spots, with ``n`` steps, "90 %" meaning at least
    ``0.9 n`` of them:

    - **New**: hot in the final step, and significant (hot or cold) in no earlier step.
    - **Consecutive**: the final steps form one uninterrupted run of at least two hot steps,
      the cell was significant in no step before that run, and fewer than 90 % of the steps
      are hot.
    - **Intensifying**: hot in at least 90 % of the steps, the final one included, and the
      z-scores rise: a significant positive trend.
    - **Persistent**: hot in at least 90 % of the steps, the final one included, with no
      significant trend.
    - **Diminishing**: hot in at least 90 % of the steps, the final one included, and the
      z-scores fall: a significant negative trend.
    - **Sporadic**: hot in the final step, on and off before it (none of the above), fewer than
      90 % of the steps hot, and never a cold spot.
    - **Oscillating**: hot in the final step, a cold spot in some earlier step, fewer than 90 %
      of the steps hot.
    - **Historical**: not hot in the final step, but hot in at least 90 % of the steps.

    Cold spots mirror each rule (cold for hot; for intensifying a falling trend, for diminishing
    a rising one: the cold spot grows colder, or less cold). Anything else: no pattern.
    """
    h = np.asarray(hot, dtype=bool)
    c = np.asarray(cold, dtype=bool)
    if h.shape != c.shape or h.ndim != 1 or h.size == 0:
        raise FilterError("hot and cold steps must be two series of the same length")
    if (h & c).any():
        raise FilterError("a step cannot be both a hot and a cold spot")
    for kind, mine, theirs, rising in (("Hot", h, c, 1.0), ("Cold", c, h, -1.0)):
        category = _pattern(mine, theirs, rising * trend_z, trend_p, alpha)
        if category:
            return f"{category} {kind.lower()} spot"
    return NO_PATTERN


def _pattern(
    mine: npt.NDArray[np.bool_],
    theirs: npt.NDArray[np.bool_],
    trend: float,
    trend_p: float,
    alpha: float,
) -> str | None:
    n = mine.size
    share = mine.sum() / n
    significant = mine | theirs
    if not mine[-1]:
        return "Historical" if share >= 0.9 else None
    if not significant[:-1].any():
        return "New"
    if share >= 0.9:
        if trend_p < alpha and trend > 0:
            return "Intensifying"
        if trend_p < alpha and trend < 0:
            return "Diminishing"
        return "Persistent"
    run = n - int(np.flatnonzero(~mine)[-1]) - 1  # the final uninterrupted run of `mine`
    if run >= 2 and not significant[: n - run].any():
        return "Consecutive"
    if theirs[:-1].any():
        return "Oscillating"
    return "Sporadic"


def emerging(
    grid: Grid,
    steps: Sequence[npt.ArrayLike],
    *,
    alpha: float = 0.05,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int,
    p_method: str = "permutation",
) -> pd.DataFrame:
    """Return each cell's emerging category over ``steps`` (oldest first; one value per cell of
    ``grid`` each): Gi* per step with its bins (a step is hot or cold where the bin reaches
    ``1 - alpha`` confidence after the false-discovery correction), then a Mann-Kendall test of
    the cell's z-scores and :func:`classify`.

    Columns: ``cell``, ``category``, ``trend_z``, ``trend_p``, ``hot_steps``, ``cold_steps``.
    Raise :class:`FilterError` for fewer than :data:`MIN_TREND_STEPS` steps.
    """
    if len(steps) < MIN_TREND_STEPS:
        raise FilterError(
            f"a trend needs at least {MIN_TREND_STEPS} monthly steps; this period has {len(steps)}"
        )
    level = next((b for b, _, a in LEVELS if abs(a - alpha) < 1e-12), None)
    if level is None:
        raise FilterError(f"alpha is one of {', '.join(str(a) for *_, a in LEVELS)}")
    zs, hot, cold = [], [], []
    for t, values in enumerate(steps):
        frame = hotspots(
            grid,
            values,
            permutations=permutations,
            seed=seed + t,
            p_method=p_method,
            refine_for=alpha,
        ).sort_values("cell")
        zs.append(frame["z"].to_numpy())
        b = frame["bin"].to_numpy()
        hot.append(b >= level)
        cold.append(b <= -level)
    z_steps = np.column_stack(zs)
    hot_steps, cold_steps = np.column_stack(hot), np.column_stack(cold)
    trend_z, trend_p = mann_kendall(z_steps)
    category = [
        classify(hot_steps[i], cold_steps[i], float(trend_z[i]), float(trend_p[i]), alpha=alpha)
        for i in range(len(grid))
    ]
    return pd.DataFrame(
        {
            "cell": grid.cells,
            "category": category,
            "trend_z": trend_z,
            "trend_p": trend_p,
            "hot_steps": hot_steps.sum(axis=1),
            "cold_steps": cold_steps.sum(axis=1),
        }
    )


def newly_active(
    current: npt.ArrayLike, previous: Sequence[npt.ArrayLike]
) -> npt.NDArray[np.int64]:
    """Return the cells published in ``current`` (cells with a value) that were published in
    none of the ``previous`` periods: "new cases observed on the street"."""
    now = np.unique(np.asarray(current, dtype=np.int64))
    before = [np.asarray(p, dtype=np.int64) for p in previous]
    seen = np.unique(np.concatenate(before)) if before else np.empty(0, dtype=np.int64)
    return np.setdiff1d(now, seen, assume_unique=True)
