"""Local impact (community safety): protected ASB and incident counts per ward, by month."""

from __future__ import annotations

import pandas as pd
import pydeck as pdk
import streamlit as st

from dashboard.controls import controls
from dashboard.mapping import LAYER_TITLES, offline_deck
from dashboard.state import (
    areas,
    areas_geojson,
    audit_read,
    cached_area_view,
    cached_release_area_view,
    data_version,
    deployment,
    map_view,
    require_page,
)
from geo.privacy import PublishedView
from streetsafe.filters import ReleaseRequest

role = require_page("local_impact")
request = controls(role, with_resolution=False)
settings = deployment().settings
wards = areas()
st.header("Local impact, ward by ward")
st.caption(
    "Protected counts (perturbed, rounded to 5, nothing under 10 shown): safe to publish. A "
    "record counts in the ward its hexagon's centre lies in."
)

version = data_version()


def _ward_view(by: tuple[str, ...]) -> PublishedView:
    if isinstance(request, ReleaseRequest):
        return cached_release_area_view(settings.store, version, request, by)
    return cached_area_view(settings.store, version, request, by)


view = _ward_view(("month",))
audit_read("local_impact", request, cells=len(view.cells))
cells = view.cells.assign(
    ward=lambda d: d["area"].map(wards.name_of),
    month=lambda d: pd.to_datetime(d["month"]).dt.strftime("%Y-%m"),
    layer=lambda d: d["layer"].map(LAYER_TITLES),
)
totals = _ward_view(()).cells
layer_names = sorted(totals["layer"].unique()) if len(totals) else []
chosen = (
    st.radio(
        "Colour the wards by",
        layer_names,
        horizontal=True,
        format_func=lambda layer: LAYER_TITLES[layer],
    )
    if layer_names
    else None
)

geo = areas_geojson()
by_ward = totals[totals["layer"] == chosen].set_index("area")["value"] if chosen else pd.Series()
top = float(by_ward.max()) if len(by_ward) else 1.0
for feature in geo["features"]:
    code = feature["properties"]["code"]
    value = int(by_ward.get(code, 0))
    feature["properties"]["value"] = value if value else "fewer than shown"
    feature["properties"]["fill"] = (
        [213, 62, 79, int(30 + 200 * (value / top))] if value else [120, 120, 120, 40]
    )
st.pydeck_chart(
    offline_deck(
        [
            pdk.Layer(
                "GeoJsonLayer",
                id="ward-choropleth",
                data=geo,
                filled=True,
                stroked=True,
                get_fill_color="properties.fill",
                get_line_color=[60, 60, 60, 200],
                line_width_min_pixels=1,
                pickable=True,
            )
        ],
        view=map_view(),
        tooltip={"html": "<b>{name}</b><br/>{value}"},
    ),
    key="ward-map",
    height=460,
)
table = cells.pivot_table(
    index=["ward", "layer"], columns="month", values="value", aggfunc="sum"
).reset_index()
st.dataframe(table, hide_index=True, width="stretch")
st.download_button(
    "Download the ward table (CSV)",
    table.to_csv(index=False),
    file_name="local-impact-by-ward.csv",
    mime="text/csv",
    on_click=lambda: audit_read("local_impact", request, cells=len(view.cells), export="csv"),
)
for note in view.notes:
    st.info(note)
