"""Hotspots for a role: Gi* bins, emerging categories and newly active hexagons of one layer,
computed from what the role is published and nothing else.

A partner role's figures are sums of monthly releases, an outreach lead's are live views
through the gate (:mod:`streetsafe.views`); the statistics (:mod:`geo.hotspots`) see only those
published values, so a hotspot says no more than the map it is drawn on. Hexagons merged into a
coarser one by the gate (the map's pale hexagons) are not on the grid and are left out.

- **Gi\\*** over the period the request selects (a partner's default: the latest released
  months);
- **emerging** categories over the ``trend_months`` months up to the period's last, one Gi*
  per month, with the request's other filters;
- **newly active**: hexagons shown in the period's last month and in none of the
  ``new_area_months`` months before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from geo.area import StudyArea
from geo.errors import FilterError
from geo.hexes import cell_resolutions
from geo.hotspots import (
    DEFAULT_PERMUTATIONS,
    MIN_PERMUTATIONS,
    MIN_TREND_STEPS,
    NO_PATTERN,
    Grid,
    emerging,
    hotspots,
    newly_active,
)
from geo.places import PlaceIndex
from geo.privacy import RolePolicy
from store import Store
from streetsafe.filters import ReleaseRequest, ViewRequest
from streetsafe.releases import next_month
from streetsafe.settings import Settings
from streetsafe.views import published_view, release_months, release_view

SEED = 2026  # the permutations' seed: the same published figures always give the same map


@dataclass(frozen=True)
class HotspotParams:
    """How hotspots are computed (settings ``STREETSAFE_HOTSPOT_*``, ``..._MONTHS``)."""

    rings: int = 1
    permutations: int = DEFAULT_PERMUTATIONS
    seed: int = SEED
    trend_months: int = 12
    new_area_months: int = 3
    p_method: str = "permutation"

    @property
    def trend_permutations(self) -> int:
        """Permutations per month of the trend: a tenth of the map's, at least 999. A month
        is judged at 95 % only, and cells near the floor get ten times as many anyway."""
        return max(MIN_PERMUTATIONS, self.permutations // 10)

    @classmethod
    def of(cls, settings: Settings, **overrides: Any) -> HotspotParams:
        """Return the deployment's parameters, with ``overrides`` (those not None)."""
        base = cls(
            rings=settings.hotspot_rings,
            permutations=settings.hotspot_permutations,
            trend_months=settings.trend_months,
            new_area_months=settings.new_area_months,
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class HotspotReport:
    """One layer's hotspots as a role may see them."""

    role: str
    layer: str
    res: int
    months: list[date]  # the period's months, in order
    cells: pd.DataFrame  # see COLUMNS; sorted by significance
    trend: list[date] = field(default_factory=list)  # the months judged for emerging patterns
    compared: list[date] = field(default_factory=list)  # the months before, for newly active
    notes: list[str] = field(default_factory=list)
    release: str | None = None

    @property
    def period(self) -> str:
        """The period in words: "2026-08 to 2026-10"."""
        return _span(self.months)


COLUMNS = (
    "cell",
    "value",  # the figure the role is shown for the period
    "z",
    "p_norm",
    "p_sim",
    "bin",  # -3..3
    "confidence",
    "category",  # the emerging category; "" when the trend could not be judged
    "trend_z",
    "trend_p",
    "newly_active",
)


def hotspot_report(
    store: Store,
    policy: RolePolicy,
    request: ViewRequest | ReleaseRequest,
    area: StudyArea,
    *,
    layer: str,
    params: HotspotParams,
) -> HotspotReport:
    """Return ``layer``'s hotspots as ``policy``'s role may see them, for ``request``."""
    policy.check_layers((layer,))
    if layer not in request.layers:
        raise FilterError(f"the {layer!r} layer is not among the chosen layers")
    lookback = max(params.trend_months, params.new_area_months + 1)
    if isinstance(request, ReleaseRequest):
        series = _released(store, policy, request, layer, lookback)
    else:
        series = _live(store, policy, request, layer, lookback)
    res = request.res
    grid_cells = np.union1d(area.cells(res), series.period["cell"].to_numpy(dtype=np.int64))
    grid_cells = np.union1d(grid_cells, series.monthly["cell"].to_numpy(dtype=np.int64))
    grid = Grid.of(grid_cells, k=params.rings)
    values = grid.align(series.period["cell"], series.period["value"])
    table = hotspots(
        grid, values, permutations=params.permutations, seed=params.seed, p_method=params.p_method
    )
    report = HotspotReport(
        role=policy.name,
        layer=layer,
        res=res,
        months=series.months,
        cells=table,
        release=series.release,
        notes=list(series.notes),
    )
    _add_trend(report, grid, series, params)
    _add_newly_active(report, series, params)
    shown = (
        (table["value"] > 0)
        | (table["bin"] != 0)
        | ~table["category"].isin(("", NO_PATTERN))
        | table["newly_active"]
    )
    report.cells = table[shown].reset_index(drop=True).loc[:, list(COLUMNS)]
    return report


@dataclass(frozen=True)
class _Series:
    """What a role is published of one layer: the period's values per cell, and per month."""

    months: list[date]  # the period's
    period: pd.DataFrame  # cell, value
    monthly: pd.DataFrame  # month, cell, value: from `steps[0]` to the period's end
    steps: list[date]  # every month that may be judged, shown figures or not, in order
    notes: list[str]
    release: str | None = None


def _released(
    store: Store, policy: RolePolicy, request: ReleaseRequest, layer: str, lookback: int
) -> _Series:
    """A partner role's series: sums of its releases."""
    months, notes = release_months(store, request)
    if not months:
        raise FilterError(notes[0] if notes else "no released month in the chosen period")
    released = [m for m in sorted(store.release_ids()) if m <= months[-1]]
    steps = released[-lookback:]
    first = min(months[0], steps[0])
    wanted = replace(request, layers=(layer,), first=first, last=months[-1])
    view = release_view(store, policy, wanted, by=("month",))
    monthly = _monthly(view.cells, request.res)
    in_period = monthly[monthly["month"].isin(months)]
    period = in_period.groupby("cell", as_index=False).agg(value=("value", "sum"))
    return _Series(months, period, monthly, steps, notes, view.release)


def _live(
    store: Store, policy: RolePolicy, request: ViewRequest, layer: str, lookback: int
) -> _Series:
    """An outreach lead's series: live views through the gate, with the request's filters."""
    f = request.cube_filter().with_layers((layer,))
    held = store.months(layers=(layer,), sharing=policy.sharing)
    if not held:
        raise FilterError(f"no {layer} records in the store yet")
    start = request.date_from.replace(day=1) if request.date_from else held[0]
    end = request.date_to.replace(day=1) if request.date_to else held[-1]
    months = _calendar(max(start, held[0]), min(end, held[-1]))
    if not months:
        raise FilterError(
            f"no {layer} records in the chosen dates: the store holds them from "
            f"{held[0]:%Y-%m} to {held[-1]:%Y-%m}"
        )
    period_view = published_view(store, policy, f, res=request.res)
    notes = list(period_view.notes)
    merged = period_view.cells["resolution"] != request.res
    if merged.any():
        notes.append(
            "figures merged into larger hexagons (pale on the map) are not part of these statistics"
        )
    period = period_view.cells.loc[~merged, ["cell", "value"]]
    steps = _calendar(held[0], months[-1])[-lookback:]
    last_day = next_month(months[-1]) - timedelta(days=1)
    if request.date_to is not None:
        last_day = min(last_day, request.date_to)
    by_month = replace(f, date_from=steps[0], date_to=last_day)
    view = published_view(store, policy, by_month, res=request.res, by=("month",))
    return _Series(months, period, _monthly(view.cells, request.res), steps, notes)


def _monthly(cells: pd.DataFrame, res: int) -> pd.DataFrame:
    """Return month, cell, value of a view by month, at ``res`` only."""
    if cells.empty:
        return pd.DataFrame({"month": [], "cell": np.empty(0, np.int64), "value": []})
    at_res = cell_resolutions(cells["cell"].to_numpy(dtype=np.int64)) == res
    out = cells.loc[at_res, ["month", "cell", "value"]].copy()
    out["month"] = pd.to_datetime(out["month"]).dt.date
    return pd.DataFrame(out)


def _add_trend(report: HotspotReport, grid: Grid, series: _Series, params: HotspotParams) -> None:
    table = report.cells
    table["category"] = ""
    table["trend_z"] = np.nan
    table["trend_p"] = np.nan
    end = report.months[-1]
    steps = [m for m in series.steps if m <= end][-params.trend_months :]
    if len(steps) < MIN_TREND_STEPS:
        report.notes.append(
            f"emerging hot and cold spots need at least {MIN_TREND_STEPS} months up to "
            f"{end:%Y-%m}; there {'is' if len(steps) == 1 else 'are'} {len(steps)}, so no "
            "trend is judged"
        )
        return
    values = [grid.align(*_month_values(series.monthly, month)) for month in steps]
    trend = emerging(
        grid,
        values,
        permutations=params.trend_permutations,
        seed=params.seed,
        p_method=params.p_method,
    ).set_index("cell")
    row = trend.loc[table["cell"].to_numpy()]
    table["category"] = row["category"].to_numpy()
    table["trend_z"] = row["trend_z"].to_numpy()
    table["trend_p"] = row["trend_p"].to_numpy()
    report.trend = steps


def _add_newly_active(report: HotspotReport, series: _Series, params: HotspotParams) -> None:
    table = report.cells
    end = report.months[-1]
    before = [m for m in series.steps if m < end][-params.new_area_months :]
    shown = series.monthly[series.monthly["value"] > 0]
    current = shown.loc[shown["month"] == end, "cell"].to_numpy(dtype=np.int64)
    previous = [shown.loc[shown["month"] == m, "cell"].to_numpy(dtype=np.int64) for m in before]
    new = newly_active(current, previous) if before else np.empty(0, dtype=np.int64)
    table["newly_active"] = np.isin(table["cell"].to_numpy(dtype=np.int64), new)
    report.compared = before
    if not before:
        report.notes.append(
            f"no month before {end:%Y-%m} to compare with: no hexagon is marked newly active"
        )
    elif len(before) < params.new_area_months:
        report.notes.append(
            f"newly active hexagons are compared with {len(before)} earlier "
            f"month{'s' if len(before) > 1 else ''}, not {params.new_area_months}: the data "
            f"begin {before[0]:%Y-%m}"
        )


def _month_values(monthly: pd.DataFrame, month: date) -> tuple[Any, Any]:
    rows = monthly[monthly["month"] == month]
    return rows["cell"].to_numpy(dtype=np.int64), rows["value"].to_numpy(dtype=np.float64)


def _calendar(first: date, last: date) -> list[date]:
    """Return the first days of the months from ``first``'s to ``last``'s."""
    out = []
    month = first.replace(day=1)
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


def _span(months: Sequence[date]) -> str:
    if not months:
        return "no month"
    if len(months) == 1:
        return f"{months[0]:%Y-%m}"
    return f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}"


def report_table(report: HotspotReport, *, places: PlaceIndex | None = None) -> pd.DataFrame:
    """Return the report as the CSV, GeoJSON and dashboard tables show it: H3 ids, rounded
    statistics, the period and release named on every row; with ``places``, each hexagon's
    streets in a last column ``near``."""
    from geo.export import with_cell_ids, with_names

    cells = with_cell_ids(report.cells)
    out = pd.DataFrame(
        {
            "cell": cells["cell"],
            "resolution": report.res,
            "layer": report.layer,
            "period": report.period,
            "value": cells["value"].round(0).astype("int64"),
            "z": cells["z"].round(3),
            "p_norm": cells["p_norm"].map(lambda p: float(f"{p:.3g}")),
            "p_sim": cells["p_sim"].map(lambda p: float(f"{p:.3g}")),
            "bin": cells["bin"].astype("int64"),
            "confidence": cells["confidence"],
            "emerging": cells["category"],
            "trend_z": cells["trend_z"].round(3),
            "trend_p": cells["trend_p"].map(lambda p: p if np.isnan(p) else float(f"{p:.3g}")),
            "newly_active": cells["newly_active"].astype(bool),
        }
    )
    if report.release is not None:
        out["release"] = report.release
    return with_names(out, report.cells["cell"], places)
