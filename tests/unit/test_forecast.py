"""The forecast of need on constructed nights: it learns a weekly rhythm and a place the naive
baseline cannot, it is scored honestly, and it refuses nights it cannot forecast."""

from __future__ import annotations

from datetime import date, timedelta

import h3.api.basic_int as h3i
import numpy as np
import pandas as pd
import pytest

from geo.errors import FilterError
from geo.forecast import (
    HISTORY_NIGHTS,
    LEAD_NIGHTS,
    Panel,
    backtest,
    check_night,
    features,
    fit,
    hit_rate,
    poisson_deviance,
    seasonal_naive,
    targets,
)
from geo.hotspots import Grid

FIRST = date(2025, 1, 1)
CENTRE = h3i.latlng_to_cell(50.91, -1.39, 9)


def _panel(nights: int = 364, seed: int = 0) -> Panel:
    """A town where a few hexagons are busy late on Fridays and Saturdays, at random."""
    grid = Grid.of(list(h3i.grid_disk(CENTRE, 5)))
    rng = np.random.default_rng(seed)
    busy = rng.choice(len(grid), 6, replace=False)
    rows = []
    for t in range(nights):
        night = FIRST + timedelta(days=t)
        weekend = night.weekday() in (4, 5)
        for i in busy:
            n = rng.poisson(1.2 if weekend else 0.15)
            if n:
                rows.append((night, "late", int(grid.cells[i]), n))
        for i in rng.choice(len(grid), 2):
            rows.append((night, "evening", int(grid.cells[i]), 1))
    frame = pd.DataFrame(rows, columns=["night", "band", "cell", "n"])
    return Panel.of(frame, grid, first=FIRST, last=FIRST + timedelta(days=nights - 1))


def test_the_panel_holds_every_count_once() -> None:
    grid = Grid.of(list(h3i.grid_disk(CENTRE, 1)))
    frame = pd.DataFrame(
        {
            "night": [FIRST, FIRST, FIRST + timedelta(days=2)],
            "band": ["late", "late", "day"],  # the day band is not a night band: left out
            "cell": [CENTRE, CENTRE, CENTRE],
            "n": [2, 3, 4],
        }
    )
    panel = Panel.of(frame, grid, first=FIRST, last=FIRST + timedelta(days=2))
    assert panel.counts.sum() == 5
    assert panel.nights == 3


def test_features_never_look_at_the_week_before_the_night() -> None:
    panel = _panel(120)
    night = FIRST + timedelta(days=100)
    before = features(panel, [night])
    for t in range(100 - LEAD_NIGHTS + 1, 120):  # change everything a week before and after
        panel.counts[t] += 5
    assert features(panel, [night]).equals(before)


def test_the_seasonal_naive_baseline_is_the_mean_of_the_same_weekday() -> None:
    panel = _panel(120)
    night = FIRST + timedelta(days=90)
    rows = features(panel, [night])
    expected = np.mean([panel.counts[90 - 7 * k].ravel() for k in range(1, 5)], axis=0)
    assert np.allclose(seasonal_naive(rows), expected)


def test_the_model_beats_seasonal_naive_on_a_weekly_rhythm() -> None:
    result = backtest(_panel(), origins=2, horizon=28)
    assert result.beats_baseline(), result.table()
    assert result.model.deviance < result.baseline.deviance
    table = result.table()
    assert list(table.columns) == ["measure", "model", "seasonal naive"]


def test_fitting_is_seeded() -> None:
    panel = _panel(200)
    rows = features(panel, [panel.last])
    first = fit(panel, seed=3).predict(rows)
    assert np.array_equal(first, fit(panel, seed=3).predict(rows))
    assert (first > 0).all()


def test_nights_without_history_or_too_far_ahead_are_refused_with_the_range() -> None:
    panel = _panel(120)
    with pytest.raises(FilterError, match="forecasts are for the nights from"):
        check_night(panel, FIRST + timedelta(days=HISTORY_NIGHTS - 1))
    check_night(panel, FIRST + timedelta(days=HISTORY_NIGHTS))
    check_night(panel, panel.last + timedelta(days=LEAD_NIGHTS))
    with pytest.raises(FilterError, match=f"to {panel.last + timedelta(days=LEAD_NIGHTS)}"):
        check_night(panel, panel.last + timedelta(days=LEAD_NIGHTS + 1))
    # what people are shown: only the week after the data
    with pytest.raises(FilterError, match="the week after the data's last night"):
        check_night(panel, panel.last, ahead_only=True)
    check_night(panel, panel.last + timedelta(days=1), ahead_only=True)
    with pytest.raises(FilterError, match="needs four weeks of history"):
        check_night(_panel(20), FIRST + timedelta(days=21), ahead_only=True)


def test_too_little_history_to_fit_is_a_clear_error() -> None:
    with pytest.raises(FilterError, match="nights of history"):
        fit(_panel(40))


def test_poisson_deviance_of_a_perfect_and_a_poor_forecast() -> None:
    y = np.array([0.0, 1.0, 3.0])
    assert poisson_deviance(y, np.maximum(y, 1e-12)) == pytest.approx(0, abs=1e-9)
    # 2 * [0 - (0 - 1)] / 3 for a single zero forecast as 1
    assert poisson_deviance(np.array([0.0]), np.array([1.0])) == pytest.approx(2.0)


def test_hit_rate_counts_ties_at_the_cut_in_proportion() -> None:
    y = np.array([4.0, 0.0, 2.0, 2.0] + [0.0] * 16)  # 20 cells, 8 records
    groups = np.zeros(20, dtype=np.int64)
    ranked = np.array([9.0, 0, 0, 0] + [0.0] * 16)
    # top 5 % is one cell: the first, with 4 of the 8 records
    assert hit_rate(y, ranked, groups, 0.05) == pytest.approx(0.5)
    # top 10 % is two cells: the first, then 1 of the 19 tied cells holding 4 records
    assert hit_rate(y, ranked, groups, 0.10) == pytest.approx((4 + 4 / 19) / 8)


def test_targets_line_up_with_feature_rows() -> None:
    panel = _panel(60)
    nights = [FIRST + timedelta(days=40), FIRST + timedelta(days=45)]
    rows = features(panel, nights)
    y = targets(panel, nights)
    assert len(rows) == y.size
    t = 45
    late = rows[(rows["night"] == nights[1]) & (rows["band_name"] == "late")]
    cells = late["cell"].to_numpy()
    expected = panel.counts[t, 1, np.searchsorted(panel.cells, cells)]
    assert np.array_equal(y[late.index.to_numpy()], expected)
