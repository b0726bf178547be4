"""Local impact (community safety): protected counts per ward, by month, safe to publish."""

from __future__ import annotations

import pandas as pd
import pydeck as pdk
import streamlit as st

from dashboard.charts import low_light
from dashboard.controls import controls
from dashboard.mapping import (
    LAYER_COLOURS,
    LAYER_TITLES,
    LAYER_UNITS,
    TINTS,
    class_of,
    offline_deck,
    swatch_html,
    tint,
    value_classes,
    ward_layers,
)
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
from dashboard.summary import describe, download_header, empty_reason, show_filters
from geo.layers import POLICEUK
from geo.privacy import PublishedView
from ingest.files import spreadsheet_csv
from streetsafe.filters import ReleaseRequest

NOT_SHOWN = "not shown"  # a ward with no figure: too few people, or none


def _ward_view(by: tuple[str, ...]) -> PublishedView:
    if isinstance(request, ReleaseRequest):
        return cached_release_area_view(settings.store, version, request, by)
    return cached_area_view(settings.store, version, request, by)


def _protection_caption() -> str:
    how = (
        "each hexagon's figure fixed once in the month's release"
        if isinstance(request, ReleaseRequest)
        else "each figure protected by the privacy gate"
    )
    rounding = (
        f", rounded to {policy.round_to}, nothing under {policy.min_shown} shown"
        if policy.min_shown or policy.round_to > 1
        else ""
    )
    public = (
        " police.uk street crime is public data, shown exact (so its figures may be small)."
        if POLICEUK in request.layers
        else ""
    )
    return (
        f"Protected counts, safe to publish: {how}{rounding}, then summed per ward.{public} "
        "A record counts in the ward its hexagon's centre lies in."
    )


def _ward_table(monthly: pd.DataFrame) -> pd.DataFrame:
    """Every ward and layer, a column per month and the total: whole numbers, and "not shown"
    where there is no figure (never an empty cell or "None")."""
    months = sorted(monthly["month"].unique())
    index = pd.MultiIndex.from_product(
        [list(wards.names), [LAYER_TITLES[layer] for layer in request.layers]],
        names=["ward", "layer"],
    )
    wide = monthly.pivot_table(
        index=["ward", "layer"], columns="month", values="value", aggfunc="sum"
    ).reindex(index=index, columns=months)
    wide["total"] = wide.sum(axis=1, min_count=1)
    text = wide.astype("Int64").astype("string").fillna(NOT_SHOWN)
    return text.reset_index()


role = require_page("local_impact")
request = controls(role, with_resolution=False, night_hours=False)
settings = deployment().settings
policy = deployment().policies[role]
wards = areas()
version = data_version()
st.header("Local impact, ward by ward")
show_filters(request)
st.caption(_protection_caption())

view = _ward_view(("month",))
audit_read("local_impact", request, cells=len(view.cells))
monthly = view.cells.assign(
    ward=lambda d: d["area"].map(wards.name_of),
    month=lambda d: pd.to_datetime(d["month"]).dt.strftime("%Y-%m"),
    layer=lambda d: d["layer"].map(LAYER_TITLES),
)
table = _ward_table(monthly)
if monthly.empty:
    st.info(empty_reason(request), icon="🔎")

chosen = st.radio(
    "Colour the wards by",
    list(request.layers),
    horizontal=True,
    format_func=lambda layer: LAYER_TITLES[layer],
)
dark = low_light()
totals = table[table["layer"] == LAYER_TITLES[chosen]].set_index("ward")["total"]
shown = pd.to_numeric(totals.where(totals != NOT_SHOWN)).dropna().astype(int)
classes = value_classes(shown.to_numpy())
colour = LAYER_COLOURS[chosen]
geo = areas_geojson()
for feature in geo["features"]:
    name = feature["properties"]["name"]
    value = shown.get(name)
    feature["properties"]["value"] = (
        f"{value} {LAYER_UNITS[chosen]}" if value is not None else NOT_SHOWN
    )
    if value is None:
        fill = [128, 128, 128, 40]
    else:
        t = TINTS[len(classes)][int(class_of(pd.Series([value]).to_numpy(), classes)[0])]
        fill = [*tint(colour, t, dark=dark), 220]
    feature["properties"]["fill"] = fill
outline = [200, 200, 200, 200] if dark else [60, 60, 60, 200]
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
                get_line_color=outline,
                line_width_min_pixels=1,
                pickable=True,
            ),
            ward_layers(wards, areas_geojson(), dark=dark)[1],  # the wards' names
        ],
        view=map_view(),
        tooltip={"html": "<b>{name}</b><br/>{value}<br/>" + describe(request)},
    ),
    key="ward-map",
    height=460,
)
steps = "".join(
    swatch_html(tint(colour, t, dark=dark)) + (f"{low}" if low == high else f"{low} to {high}")
    for (low, high), t in zip(classes, TINTS.get(len(classes), ()), strict=True)
)
st.markdown(
    f"<div style='font-size:0.85em'><b>{LAYER_TITLES[chosen]}</b>: {LAYER_UNITS[chosen]} per "
    f"ward, {describe(request)}: {steps or 'none shown'}"
    f"{swatch_html((128, 128, 128))}{NOT_SHOWN}</div>",
    unsafe_allow_html=True,
)
st.dataframe(table, hide_index=True, width="stretch")
st.download_button(
    "Download the ward table (CSV)",
    download_header("local impact by ward", request) + spreadsheet_csv(table),
    file_name="local-impact-by-ward.csv",
    mime="text/csv",
    on_click=lambda: audit_read("local_impact", request, cells=len(view.cells), export="csv"),
)
for note in view.notes:
    st.info(note)
