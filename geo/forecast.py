"""A forecast of need: expected records per hexagon and night band for a chosen night, and the
rolling-origin backtest that says whether to trust it.

**Data.** A panel of counts ``Y[night, band, cell]`` of one layer (outreach contacts or
incidents) over consecutive nights, the three night bands (evening 18-22, late 22-02, small
hours 02-06) and the study area's cells at one resolution (:class:`Panel`).

**Features** of (night ``t``, band, cell) use only nights at least :data:`LEAD_NIGHTS` before
``t``, so that a forecast can be made a week ahead and reports entered a few days late do not
change it: the weekday, band and month; the cell's counts on the same weekday and band 1-4 weeks
before (and their mean, the seasonal-naive forecast); the cell's mean per night over the 4 and
12 weeks before, in the band and in all bands; the same for the cell's neighbours (its first
ring of hexagons) and for the whole town.

**Model.** ``HistGradientBoostingRegressor(loss="poisson")``, seeded; rows whose features are
all zero (quiet hexagons far from anything) are sampled one in :data:`QUIET_SAMPLE` with
matching weight, which leaves the fit unbiased and the training fast.

**Baseline.** Seasonal naive: the mean of the same weekday and band over the previous four
weeks (at the same lead). Its zero forecasts make Poisson deviance infinite, so it is floored
at the value that serves it best on the test nights: the comparison is generous to it.

**Measures** (:func:`backtest`): mean Poisson deviance; the hit rate (share of the test nights'
records that fall in the top ``x`` % of cells, ranked per night and band) and the Predictive
Accuracy Index (hit rate divided by the share of the area, ``x`` %) at 5 and 10 %. Cells tied
at the cut count in proportion (the expected hit rate of breaking ties at random).

Nothing here talks to a database or knows who anyone is: counts in, expectations out. Whoever
shows a forecast passes it through the privacy gate (see :mod:`streetsafe.forecast`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from geo.errors import FilterError
from geo.hotspots import Grid

NIGHT_BANDS: Final = ("evening", "late", "small_hours")
LEAD_NIGHTS: Final = 7  # features use nights at least this long before the forecast night
HISTORY_NIGHTS: Final = 4 * 7 + LEAD_NIGHTS - 1  # the least history a forecast needs
QUIET_SAMPLE: Final = 10
TOP_SHARES: Final = (0.05, 0.10)
SEED: Final = 2026
FEATURES: Final = (
    "weekday",
    "band",
    "month",
    "same_1",
    "same_2",
    "same_3",
    "same_4",
    "same_mean",
    "band_4w",
    "band_12w",
    "all_4w",
    "near_same",
    "near_4w",
    "town_same",
)
_CATEGORICAL = ("weekday", "band", "month")
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Panel:
    """Counts of one layer per night, night band and cell: ``counts[night, band, cell]``."""

    first: date  # the first night
    cells: npt.NDArray[np.int64]  # the grid's cells, sorted
    counts: npt.NDArray[np.float64]
    neighbours: sparse.csr_matrix  # ring 1, without the cell itself

    @classmethod
    def of(
        cls,
        records: pd.DataFrame,
        grid: Grid,
        *,
        first: date,
        last: date,
    ) -> Panel:
        """Build a panel from ``records`` (columns night, band, cell, n) from ``first`` to
        ``last`` (inclusive); bands outside :data:`NIGHT_BANDS` and cells off the grid are
        left out."""
        nights = (last - first).days + 1
        if nights < 1:
            raise FilterError(f"the panel ends ({last}) before it starts ({first})")
        counts = np.zeros((nights, len(NIGHT_BANDS), len(grid)), dtype=np.float64)
        if len(records):
            t = (pd.to_datetime(records["night"]) - pd.Timestamp(first)).dt.days.to_numpy()
            band = pd.Series(records["band"]).map({b: i for i, b in enumerate(NIGHT_BANDS)})
            b = band.to_numpy(dtype=np.float64, na_value=np.nan)
            cell = records["cell"].to_numpy(dtype=np.int64)
            where = np.searchsorted(grid.cells, cell)
            where = np.minimum(where, len(grid) - 1)
            keep = ~np.isnan(b) & (t >= 0) & (t < nights) & (grid.cells[where] == cell)
            np.add.at(
                counts,
                (t[keep], b[keep].astype(np.intp), where[keep]),
                records["n"].to_numpy(dtype=np.float64)[keep],
            )
        ring = grid.weights.copy().tolil()
        ring.setdiag(0)
        return cls(first=first, cells=grid.cells, counts=counts, neighbours=ring.tocsr())

    @property
    def nights(self) -> int:
        return int(self.counts.shape[0])

    @property
    def last(self) -> date:
        return self.first + timedelta(days=self.nights - 1)

    def index(self, night: date) -> int:
        """Return the position of ``night`` (may lie past the panel's end)."""
        return (night - self.first).days


class _Windows:
    """Sums of the panel over windows of nights, by cumulative sums (cheap for any window)."""

    def __init__(self, panel: Panel) -> None:
        counts = panel.counts
        near = (
            counts.reshape(-1, counts.shape[2]) @ panel.neighbours.T.toarray()
            if counts.shape[2]
            else counts.reshape(-1, 0)
        ).reshape(counts.shape)
        self.y = counts
        self.near = near
        zero = np.zeros((1, *counts.shape[1:]))
        self.cum = np.concatenate([zero, counts.cumsum(axis=0)])
        self.near_cum = np.concatenate([zero, near.cumsum(axis=0)])

    def mean(self, cum: FloatArray, t: int, length: int) -> FloatArray:
        """Mean per night of ``length`` nights ending LEAD_NIGHTS before ``t`` (clipped at the
        panel's start); zero when none."""
        end = t - LEAD_NIGHTS + 1  # exclusive
        start = max(end - length, 0)
        end = min(max(end, 0), cum.shape[0] - 1)
        if end <= start:
            return np.zeros(cum.shape[1:])
        return np.asarray((cum[end] - cum[start]) / (end - start))

    def at(self, values: FloatArray, t: int) -> FloatArray:
        return values[t] if 0 <= t < values.shape[0] else np.zeros(values.shape[1:])


def features(panel: Panel, nights: Sequence[date]) -> pd.DataFrame:
    """Return the feature rows of every (night, band, cell) of ``nights``, with ``night``,
    ``band_name``, ``cell`` beside :data:`FEATURES` (see the module)."""
    w = _Windows(panel)
    parts = []
    bands, cells = len(NIGHT_BANDS), panel.cells.size
    for night in nights:
        t = panel.index(night)
        same = [w.at(w.y, t - 7 * k) for k in range(1, 5)]
        same_mean: FloatArray = np.mean(same, axis=0)
        near_same = np.mean([w.at(w.near, t - 7 * k) for k in range(1, 5)], axis=0)
        frame = {
            "same_1": same[0],
            "same_2": same[1],
            "same_3": same[2],
            "same_4": same[3],
            "same_mean": same_mean,
            "band_4w": w.mean(w.cum, t, 28),
            "band_12w": w.mean(w.cum, t, 84),
            "all_4w": np.broadcast_to(w.mean(w.cum, t, 28).sum(axis=0), (bands, cells)),
            "near_same": near_same,
            "near_4w": w.mean(w.near_cum, t, 28),
            "town_same": np.broadcast_to(same_mean.sum(axis=1, keepdims=True), (bands, cells)),
        }
        block = pd.DataFrame({k: np.asarray(v).ravel() for k, v in frame.items()})
        block.insert(0, "cell", np.tile(panel.cells, bands))
        block.insert(0, "band_name", np.repeat(np.array(NIGHT_BANDS, dtype=object), cells))
        block.insert(0, "night", night)
        block["weekday"] = night.weekday()
        block["band"] = np.repeat(np.arange(bands), cells)
        block["month"] = night.month
        parts.append(block)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FEATURES)


def targets(panel: Panel, nights: Sequence[date]) -> FloatArray:
    """Return the counts of ``nights`` in the order :func:`features` lists their rows."""
    return np.concatenate([panel.counts[panel.index(n)].ravel() for n in nights])


@dataclass
class Model:
    """A fitted forecast: the panel's last night it was trained to, and the regressor."""

    trained_to: date
    regressor: object

    def predict(self, rows: pd.DataFrame) -> FloatArray:
        """Return the expected count of each feature row."""
        return np.asarray(self.regressor.predict(rows.loc[:, list(FEATURES)]))  # type: ignore[attr-defined]


def training_nights(panel: Panel, *, until: date) -> list[date]:
    """Return the nights a model trained up to ``until`` learns from: those with at least four
    weeks of history before them."""
    start = panel.first + timedelta(days=HISTORY_NIGHTS)
    return [start + timedelta(days=i) for i in range((until - start).days + 1)]


def fit(panel: Panel, *, until: date | None = None, seed: int = SEED) -> Model:
    """Fit the model on the panel's nights up to ``until`` (default: its last)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    until = until or panel.last
    nights = training_nights(panel, until=until)
    if len(nights) < 28:
        raise FilterError(
            f"a forecast needs at least {HISTORY_NIGHTS + 28} nights of history; the data "
            f"run {panel.first} to {until}"
        )
    rows = features(panel, nights)
    y = targets(panel, nights)
    quiet = (rows.loc[:, [c for c in FEATURES if c not in _CATEGORICAL]] == 0).all(axis=1)
    rng = np.random.default_rng(seed)
    keep = ~quiet.to_numpy() | (rng.random(len(rows)) < 1 / QUIET_SAMPLE)
    weight = np.where(quiet.to_numpy(), float(QUIET_SAMPLE), 1.0)[keep]
    regressor = HistGradientBoostingRegressor(
        loss="poisson",
        learning_rate=0.1,
        max_iter=100,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=[FEATURES.index(c) for c in _CATEGORICAL],
        early_stopping=False,
        random_state=seed,
    )
    regressor.fit(rows.loc[keep, list(FEATURES)], y[keep], sample_weight=weight)
    return Model(trained_to=until, regressor=regressor)


def seasonal_naive(rows: pd.DataFrame) -> FloatArray:
    """Return the baseline's forecast of each feature row: the same weekday and band, mean of
    the previous four weeks."""
    return rows["same_mean"].to_numpy(dtype=np.float64)


def check_night(panel: Panel, night: date, *, ahead_only: bool = False) -> None:
    """Raise :class:`FilterError` unless ``night`` can be forecast from the panel; with
    ``ahead_only``, only the nights after the panel's last (up to :data:`LEAD_NIGHTS`)."""
    t = panel.index(night)
    first = (
        panel.last + timedelta(days=1)
        if ahead_only
        else panel.first + timedelta(days=HISTORY_NIGHTS)
    )
    last = panel.last + timedelta(days=LEAD_NIGHTS)
    if panel.nights < HISTORY_NIGHTS:
        raise FilterError(
            "no forecast yet: it needs four weeks of history, and the data hold "
            f"{panel.nights} nights"
        )
    if t < panel.index(first) or t > panel.index(last):
        raise FilterError(
            f"no forecast for the night of {night}: forecasts are for the nights from "
            f"{first} to {last}" + (" (the week after the data's last night)" if ahead_only else "")
        )


# --- the backtest ------------------------------------------------------------------------------


def poisson_deviance(y: FloatArray, mu: FloatArray) -> float:
    """Mean Poisson deviance of expectations ``mu`` (all > 0) for counts ``y``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.mean(2.0 * (term - (y - mu))))


def hit_rate(
    y: FloatArray, score: FloatArray, groups: npt.NDArray[np.int64], share: float
) -> float:
    """Return the share of ``y``'s records in the top ``share`` of cells by ``score``, ranked
    within each group (one night and band), ties at the cut counted in proportion."""
    hits = 0.0
    for g in np.unique(groups):
        at = groups == g
        hits += _top_hits(y[at], score[at], share)
    total = float(y.sum())
    return hits / total if total else 0.0


def _top_hits(y: FloatArray, score: FloatArray, share: float) -> float:
    cells = y.size
    take = share * cells
    order = np.argsort(-score, kind="stable")
    s, v = score[order], y[order]
    hits, taken = 0.0, 0.0
    i = 0
    while i < cells and taken < take:
        j = i
        while j < cells and s[j] == s[i]:
            j += 1
        tie = j - i
        portion = min(1.0, (take - taken) / tie)
        hits += portion * float(v[i:j].sum())
        taken += portion * tie
        i = j
    return hits


@dataclass(frozen=True)
class Scores:
    """One forecaster's measures over a backtest."""

    deviance: float
    hit_rate: dict[float, float]
    pai: dict[float, float]


@dataclass(frozen=True)
class Backtest:
    """The model against the seasonal-naive baseline over rolling origins."""

    origins: list[date]
    test_nights: int
    records: float
    model: Scores
    baseline: Scores
    baseline_floor: float

    def beats_baseline(self) -> bool:
        """Whether the model is better on every measure (lower deviance, higher hit rates)."""
        return self.model.deviance < self.baseline.deviance and all(
            self.model.hit_rate[s] > self.baseline.hit_rate[s] for s in TOP_SHARES
        )

    def table(self) -> pd.DataFrame:
        """Return the measures as a table (rows: measures; columns: model, baseline)."""
        rows: list[tuple[str, str, float | None]] = [
            ("Mean Poisson deviance (lower is better)", "deviance", None)
        ]
        for s in TOP_SHARES:
            rows.append((f"Hit rate, top {s:.0%} of cells", "hit_rate", s))
            rows.append((f"PAI, top {s:.0%} of cells", "pai", s))
        out = []
        for label, name, share in rows:
            values = []
            for scores in (self.model, self.baseline):
                v = getattr(scores, name)
                values.append(v if share is None else v[share])
            out.append({"measure": label, "model": values[0], "seasonal naive": values[1]})
        return pd.DataFrame(out)


def backtest(panel: Panel, *, origins: int = 4, horizon: int = 28, seed: int = SEED) -> Backtest:
    """Fit at each of ``origins`` rolling origins (``horizon`` nights apart, the last one
    ``horizon`` nights before the panel's end) on the nights before it, forecast the next
    ``horizon`` nights, and score the model and the baseline over all of them."""
    starts = [panel.last - timedelta(days=horizon * k - 1) for k in range(origins, 0, -1)]
    if panel.index(starts[0]) < HISTORY_NIGHTS + 28:
        raise FilterError(
            f"a backtest of {origins} x {horizon} nights needs more history: the data run "
            f"{panel.first} to {panel.last}"
        )
    ys, model_mu, naive_mu, groups = [], [], [], []
    group = 0
    for start in starts:
        model = fit(panel, until=start - timedelta(days=1), seed=seed)
        nights = [start + timedelta(days=i) for i in range(horizon)]
        rows = features(panel, nights)
        ys.append(targets(panel, nights))
        model_mu.append(model.predict(rows))
        naive_mu.append(seasonal_naive(rows))
        per_night = len(NIGHT_BANDS) * panel.cells.size
        groups.append(group + np.arange(len(rows)) // panel.cells.size)
        group += len(nights) * len(NIGHT_BANDS)
        assert per_night * len(nights) == len(rows)
    y = np.concatenate(ys)
    mu = np.concatenate(model_mu)
    naive = np.concatenate(naive_mu)
    g = np.concatenate(groups)
    floor = min(
        (10.0**e for e in np.arange(-4, 0.01, 0.25)),
        key=lambda f: poisson_deviance(y, np.maximum(naive, f)),
    )
    return Backtest(
        origins=starts,
        test_nights=origins * horizon,
        records=float(y.sum()),
        model=_scores(y, np.maximum(mu, 1e-9), g),
        baseline=_scores(y, np.maximum(naive, floor), g, rank_by=naive),
        baseline_floor=float(floor),
    )


def _scores(
    y: FloatArray, mu: FloatArray, groups: npt.NDArray[np.int64], rank_by: FloatArray | None = None
) -> Scores:
    score = mu if rank_by is None else rank_by
    hits = {s: hit_rate(y, score, groups, s) for s in TOP_SHARES}
    return Scores(
        deviance=poisson_deviance(y, mu),
        hit_rate=hits,
        pai={s: hits[s] / s for s in TOP_SHARES},
    )
