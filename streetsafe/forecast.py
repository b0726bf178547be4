"""The forecast of need for an outreach lead: where contacts and incidents are likely on a
chosen night, shown through the privacy gate like any other view.

The model (:mod:`geo.forecast`) learns from the records the role may see (its layers and
sharing levels) at the role's finest resolution; it is fitted once per data version and kept
(:func:`fitted`), so a dashboard rerun or a second night does not refit it.

**What is shown, and why so.** A forecast singles a woman out as surely as a count does if it
rests on her alone ("someone is usually here on Fridays, late"). So a hexagon's forecast for a
band is shown only where the role's own map of the same night of the week and band, over the
weeks the forecast learns from (the 12 weeks ending a week before the night), shows that
hexagon: at least ``k`` people stand behind it on such nights, as the live map with those
filters would demand; never finer than the role's resolution. The figure shown is the *chance*
of at least one record in the band, ``1 - exp(-expected)``, to the nearest 5 %: never an
expected count, which for a busy hexagon would read "1.4 women" and put a value between 1 and
``k - 1`` on the map, and no rank among all hexagons (it would say how many hidden ones rank
higher).

The model reads exact counts, single nights among them (a night a week before may have had one
woman in a hexagon); what keeps that from being read back is that a forecast is only for the
nights to come (from the night after the data's last, up to a week ahead: no night can be asked
again and again once its records are in) and its coarse chance. The red team's attackers, reading
a hexagon week after week or planting a record and reading the refitted forecast, guessed a
small group's presence no better than a coin (50.7 to 55 %).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from geo.aggregate import CubeFilter
from geo.area import StudyArea
from geo.errors import FilterError, PolicyError
from geo.forecast import (
    LEAD_NIGHTS,
    NIGHT_BANDS,
    Backtest,
    Model,
    Panel,
    backtest,
    check_night,
    features,
    fit,
)
from geo.hexes import cell_resolutions
from geo.hotspots import Grid
from geo.layers import INCIDENT, OUTREACH
from geo.nights import NIGHT_BANDS as BANDS
from geo.privacy import RolePolicy
from store import Store
from streetsafe.views import published_view, restrict

FORECAST_LAYERS = (OUTREACH, INCIDENT)
GATE_WEEKS = 12  # the weeks before the night whose map decides which hexagons are shown
CHANCE_STEP = 0.05  # chances are shown to the nearest 5 %: enough to plan, too coarse to decode
_CACHE_SIZE = 4
_cache: OrderedDict[tuple[Any, ...], tuple[Panel, Model]] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass
class ForecastView:
    """An outreach lead's forecast for one night: what may be shown, and notes."""

    night: date
    res: int
    cells: pd.DataFrame  # layer, band, cell, chance (0-1, to the nearest 5 %)
    notes: list[str] = field(default_factory=list)
    trained_to: date | None = None


def check_forecast_role(policy: RolePolicy) -> None:
    """Raise :class:`PolicyError` unless the role may see forecasts (case knowledge)."""
    if not policy.case_knowledge:
        raise PolicyError(
            f"role {policy.name!r} sees monthly releases only: the forecast of need is an "
            "outreach view, made from the records' nights and hours"
        )


def panel_of(store: Store, policy: RolePolicy, layer: str, area: StudyArea) -> Panel:
    """Return the counts of ``layer`` the role may see, per night, band and cell."""
    check_forecast_role(policy)
    policy.check_layers((layer,))
    res = policy.finest_res
    f = restrict(CubeFilter(layers=(layer,)), policy)
    frame = store.contributions(f, res=res, by=("night", "band"))
    frame = frame[frame["night"].notna()]
    if frame.empty:
        raise FilterError(f"no {layer} records with a known night yet: nothing to forecast from")
    counts = frame.groupby(["night", "band", "cell"], as_index=False).agg(n=("n", "sum"))
    grid = Grid.of(np.union1d(area.cells(res), counts["cell"].to_numpy(dtype=np.int64)), k=1)
    return Panel.of(counts, grid, first=min(counts["night"]), last=max(counts["night"]))


def fitted(store: Store, policy: RolePolicy, layer: str, area: StudyArea) -> tuple[Panel, Model]:
    """Return the panel and model of ``layer``, fitted once per data version and kept."""
    # the data's version, not the connection: a reader of the same store shares the fit
    key = (store.url, store.data_version(), policy.name, layer, policy.finest_res, area.name)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    panel = panel_of(store, policy, layer, area)
    model = fit(panel)
    with _cache_lock:
        _cache[key] = (panel, model)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return panel, model


def forecast_view(
    store: Store,
    policy: RolePolicy,
    area: StudyArea,
    *,
    night: date,
    bands: tuple[str, ...] = NIGHT_BANDS,
    layers: tuple[str, ...] = FORECAST_LAYERS,
) -> ForecastView:
    """Return the role's forecast of ``layers`` for ``night`` and ``bands``, through the gate."""
    check_forecast_role(policy)
    unknown = [b for b in bands if b not in NIGHT_BANDS]
    if unknown:
        raise FilterError(f"unknown night band {unknown[0]!r}; bands are: {', '.join(NIGHT_BANDS)}")
    for layer in layers:
        if layer not in FORECAST_LAYERS:
            raise FilterError(f"forecasts are made of {', '.join(FORECAST_LAYERS)}, not {layer!r}")
    policy.check_layers(layers)
    parts, notes, trained = [], [], None
    for layer in layers:
        panel, model = fitted(store, policy, layer, area)
        check_night(panel, night, ahead_only=True)
        rows = features(panel, [night])
        expected = model.predict(rows)
        frame = pd.DataFrame(
            {"layer": layer, "band": rows["band_name"], "cell": rows["cell"], "expected": expected}
        )
        frame = frame[frame["band"].isin(bands)]
        for band in bands:
            shown = _gate_cells(store, policy, layer, night, band)
            rows = frame[(frame["band"] == band) & frame["cell"].isin(shown)]
            chance = 1.0 - np.exp(-rows["expected"].to_numpy(dtype=np.float64))
            rows = rows.assign(chance=np.round(chance / CHANCE_STEP) * CHANCE_STEP)
            parts.append(rows[rows["chance"] > 0].drop(columns="expected"))
        trained = model.trained_to
    cells = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    cells = cells.loc[:, ["layer", "band", "cell", "chance"]]
    cells = cells.sort_values(["layer", "band", "chance"], ascending=[True, True, False])
    notes.append(
        f"shown only where the map of the same night of the week and band over the {GATE_WEEKS} "
        f"weeks before shows a hexagon (at least {policy.k} people): the chance of at least one "
        f"record in the band, to the nearest {CHANCE_STEP:.0%}"
    )
    return ForecastView(
        night=night,
        res=policy.finest_res,
        cells=cells.reset_index(drop=True),
        notes=notes,
        trained_to=trained,
    )


def _gate_cells(store: Store, policy: RolePolicy, layer: str, night: date, band: str) -> set[int]:
    """The hexagons the role's own map shows for the same night of the week and band over the
    weeks the forecast learns from: at least ``k`` people there on such nights."""
    end = night - timedelta(days=LEAD_NIGHTS)
    start = end - timedelta(weeks=GATE_WEEKS) + timedelta(days=1)
    hours = next(b.hours for b in BANDS if b.name == band)
    f = CubeFilter(
        layers=(layer,), date_from=start, date_to=end, weekdays=(night.weekday(),), hours=hours
    )
    view = published_view(store, policy, f, res=policy.finest_res)
    cells = view.cells
    at_res = cell_resolutions(cells["cell"].to_numpy(dtype=np.int64)) == policy.finest_res
    return set(cells.loc[at_res & (cells["value"].to_numpy() > 0), "cell"].astype(np.int64))


def backtest_layer(
    store: Store, policy: RolePolicy, layer: str, area: StudyArea, **kwargs: Any
) -> Backtest:
    """Return the rolling-origin backtest of ``layer``'s forecast against seasonal naive."""
    return backtest(panel_of(store, policy, layer, area), **kwargs)


def forecast_table(view: ForecastView) -> pd.DataFrame:
    """Return the forecast as its CSV writes it: H3 ids, the chance to three places."""
    from geo.export import with_cell_ids

    cells = with_cell_ids(view.cells)
    return pd.DataFrame(
        {
            "night": view.night.isoformat(),
            "layer": cells["layer"],
            "band": cells["band"],
            "cell": cells["cell"],
            "resolution": view.res,
            "chance": cells["chance"].round(3),
        }
    )
