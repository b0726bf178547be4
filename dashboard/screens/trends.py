"""Trends: protected counts by time of night, night of the week, month and category; change."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard.charts import NIGHT_ORDER, bar_chart, show
from dashboard.controls import WEEKDAY_NAMES, controls
from dashboard.mapping import LAYER_TITLES, group_title
from dashboard.state import (
    audit_read,
    cached_release_view,
    cached_view,
    coverage_of,
    data_version,
    deployment,
    require_page,
)
from dashboard.summary import empty_reason, show_filters
from geo.nights import NIGHT_BANDS, UNKNOWN_TIME, WEEKDAY_GROUPS
from geo.privacy import PublishedView
from geo.sun import AFTER_SUNSET
from streetsafe.filters import ReleaseRequest, ViewRequest

role = require_page("trends")
request = controls(role, with_resolution=False)
url = deployment().settings.store
version = data_version()
st.header("Trends")
show_filters(request)
st.caption("Every figure is a protected count for the whole study area and the filters chosen.")


def _chart(
    frame: pd.DataFrame, x: str, title: str, sort: list[str] | list[int] | None = None
) -> None:
    if frame.empty:
        st.markdown(f"**{title}**")
        st.caption(empty_reason(request))
        return
    show(bar_chart(frame, x, title, sort))


def _live(request: ViewRequest) -> PublishedView:
    hours = cached_view(url, version, request, ("hour",), with_cells=False)
    _chart(hours.cells.dropna(subset=["hour"]), "hour", "By hour of the night", NIGHT_ORDER)
    dusk = cached_view(url, version, request, (AFTER_SUNSET,), with_cells=False).cells
    dusk = dusk.dropna(subset=[AFTER_SUNSET]).astype({AFTER_SUNSET: int})
    dusk["after sunset"] = [f"{h:+d} h" for h in dusk[AFTER_SUNSET]]
    _chart(
        dusk,
        "after sunset",
        "By hours after sunset (each night's sunset at the study area's centre)",
        [f"{h:+d} h" for h in sorted(set(dusk[AFTER_SUNSET]))],
    )
    days = cached_view(url, version, request, ("weekday",), with_cells=False).cells
    days = days.dropna(subset=["weekday"]).assign(
        night=lambda d: d["weekday"].map(lambda w: WEEKDAY_NAMES[int(w)])
    )
    _chart(days, "night", "By night of the week", list(WEEKDAY_NAMES))
    for note in hours.notes:
        st.info(note, icon="🕑")
    return cached_view(url, version, request, ("month",), with_cells=False)


def _released(request: ReleaseRequest) -> PublishedView:

    def figures(*by: str) -> PublishedView:
        return cached_release_view(url, version, request, by, with_cells=False)

    bands = {band.name: band.label for band in NIGHT_BANDS} | {UNKNOWN_TIME: "Time unknown"}
    by_band = figures("band")
    frame = by_band.cells.assign(band=lambda d: d["band"].map(bands))
    _chart(frame, "band", "By time of night", list(bands.values()))
    nights = {name: label for name, (label, _) in WEEKDAY_GROUPS.items()}
    frame = figures("weekday_group").cells
    frame = frame[frame["weekday_group"] != UNKNOWN_TIME]
    _chart(
        frame.assign(nights=frame["weekday_group"].map(nights)),
        "nights",
        "By nights of the week",
        list(nights.values()),
    )
    groups = figures("category_group").cells
    groups = groups.assign(
        group=[
            group_title(layer, group)
            for layer, group in zip(groups["layer"], groups["category_group"], strict=True)
        ]
    )
    _chart(groups, "group", "By category group")
    st.caption(
        "Released per whole month: time of night and nights of the week are figures of their "
        "own, for the whole study area. " + (by_band.notes[0] if by_band.notes else "")
    )
    return figures("month")


def _partial_months() -> set[str]:
    """The months the figures cover only in part: the data's (or the dates chosen) first and
    last, unless they are whole."""
    covered = coverage_of(role)
    if covered.released or not isinstance(request, ViewRequest):
        return set()  # releases are of closed, whole months
    out = set()
    first, last = covered.first_night, covered.last_night
    if request.date_from is not None and (first is None or request.date_from > first):
        first = request.date_from
    if request.date_to is not None and (last is None or request.date_to < last):
        last = request.date_to
    if first is not None and first.day != 1:
        out.add(f"{first:%Y-%m}")
    if last is not None and (last + timedelta(days=1)).month == last.month:
        out.add(f"{last:%Y-%m}")
    return out


def _month_on_month(monthly: pd.DataFrame) -> None:
    """The latest month against the one before, per layer, named; partial months marked and
    left out of the comparison; changes in neutral colours (a rise in outreach contacts is not
    bad news, nor a fall in incidents necessarily good)."""
    if monthly.empty:
        st.caption(empty_reason(request))
        return
    partial = _partial_months()
    wide = monthly.pivot_table(index="month", columns="layer", values="value", aggfunc="sum")
    whole = wide[~wide.index.isin(partial)]
    cols = st.columns(max(len(wide.columns), 1))
    for col, layer in zip(cols, wide.columns, strict=False):
        series = whole[layer].dropna()
        if len(series) < 2:
            col.caption(f"{LAYER_TITLES[layer]}: fewer than two whole months to compare.")
            continue
        now, before = series.index[-1], series.index[-2]
        col.metric(
            f"{LAYER_TITLES[layer]}, {_month_name(now)}",
            int(series.iloc[-1]),
            delta=f"{int(series.iloc[-1] - series.iloc[-2]):+d} on {_month_name(before)}",
            delta_color="off",
        )
    table = wide.rename(columns=LAYER_TITLES).join(
        whole.diff().rename(columns=lambda c: f"change: {LAYER_TITLES[c]}")
    )
    table = table.astype("Int64")
    table.index = [f"{m} (partial)" if m in partial else m for m in table.index]
    table.index.name = "month"
    st.dataframe(table, width="stretch")
    if partial:
        st.caption(
            "Months marked partial hold only part of the month's nights (the data starts or "
            "ends within them): they are not compared."
        )


def _month_name(month: str) -> str:
    return pd.Timestamp(f"{month}-01").strftime("%B %Y")


months = _released(request) if isinstance(request, ReleaseRequest) else _live(request)
audit_read("trends", request, cells=len(months.cells))
monthly = months.cells.assign(month=pd.to_datetime(months.cells["month"]).dt.strftime("%Y-%m"))
_chart(monthly, "month", "By month")

st.subheader("Month on month")
_month_on_month(monthly)
