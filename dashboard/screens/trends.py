"""Trends: protected counts by time of night, night of the week, month and category; change."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.controls import WEEKDAY_NAMES, controls
from dashboard.mapping import LAYER_TITLES, group_title
from dashboard.state import (
    audit_read,
    cached_release_view,
    cached_view,
    data_version,
    deployment,
    require_page,
)
from geo.nights import NIGHT_BANDS, UNKNOWN_TIME, WEEKDAY_GROUPS
from geo.privacy import PublishedView
from geo.sun import AFTER_SUNSET
from streetsafe.filters import ReleaseRequest, ViewRequest

role = require_page("trends")
request = controls(role, with_resolution=False)
url = deployment().settings.store
version = data_version()
st.header("Trends")
st.caption("Every figure is a protected count for the whole study area and the filters chosen.")

NIGHT_ORDER = [*range(12, 24), *range(12)]  # the night runs from noon to noon


def _chart(
    frame: pd.DataFrame, x: str, title: str, sort: list[str] | list[int] | None = None
) -> None:
    if frame.empty:
        st.write(f"{title}: too few people behind these figures to show them.")
        return
    data = frame.assign(layer=frame["layer"].map(LAYER_TITLES))
    chart = (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:O", sort=sort, title=None),
            y=alt.Y("value:Q", title="protected count"),
            color=alt.Color("layer:N", title=None),
            xOffset="layer:N",
            tooltip=["layer", x, "value", "protection"],
        )
    )
    st.altair_chart(chart, width="stretch")


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


months = _released(request) if isinstance(request, ReleaseRequest) else _live(request)
audit_read("trends", request, cells=len(months.cells))
monthly = months.cells.assign(month=pd.to_datetime(months.cells["month"]).dt.strftime("%Y-%m"))
_chart(monthly, "month", "By month")

st.subheader("Month on month")
if monthly.empty:
    st.write("Nothing to compare.")
else:
    wide = monthly.pivot_table(index="month", columns="layer", values="value", aggfunc="sum")
    change = wide.diff().iloc[1:]
    cols = st.columns(max(len(wide.columns), 1))
    for col, layer in zip(cols, wide.columns, strict=False):
        last = wide[layer].dropna()
        if len(last) >= 2:
            col.metric(
                LAYER_TITLES[layer],
                int(last.iloc[-1]),
                delta=int(last.iloc[-1] - last.iloc[-2]),
                delta_color="inverse",
            )
    table = wide.rename(columns=LAYER_TITLES).join(
        change.rename(columns=lambda c: f"change: {LAYER_TITLES[c]}")
    )
    st.dataframe(table, width="stretch")
