"""Hotspots: where a layer is significantly hot or cold (Gi*), how each place is changing
(emerging hot and cold spots), and what is new on the street, from the role's published view."""

from __future__ import annotations

import streamlit as st

from dashboard.charts import low_light
from dashboard.controls import controls
from dashboard.mapping import (
    LAYER_TITLES,
    hotspot_deck,
    hotspot_legend_html,
    hotspot_view,
    ward_layers,
)
from dashboard.state import (
    areas,
    areas_geojson,
    audit_read,
    cached_hotspots,
    data_version,
    deployment,
    hexagon_names,
    map_view,
    places,
    require_page,
)
from dashboard.summary import download_header, show_filters
from geo.errors import StreetsafeError
from geo.hotspots import MIN_TREND_STEPS, NO_PATTERN
from ingest.files import spreadsheet_csv
from streetsafe.filters import ReleaseRequest
from streetsafe.hotspots import report_table
from streetsafe.messages import user_message

role = require_page("hotspots")
request = controls(role)
settings = deployment().settings
policy = deployment().policies[role]
version = data_version()

st.header("Hotspots")
show_filters(request)
st.caption(
    "Where figures cluster more (hot) or less (cold) than chance would give, tested hexagon by "
    "hexagon with its neighbours (Getis-Ord Gi*, permutation p-values, false-discovery "
    "correction). Made only from the figures this role is shown on the night map."
)
choices = list(request.layers)
layer = st.selectbox(
    "Layer tested",
    choices,
    index=0,
    format_func=lambda name: LAYER_TITLES[name],
    key="hotspot-layer",
    help="Hotspots are tested one layer at a time: the layers on the night map's filters.",
)
try:
    report = cached_hotspots(settings.store, version, request, layer)
except StreetsafeError as exc:
    st.info(user_message(exc), icon="🕑")
    st.stop()
audit_read("hotspots", request, cells=len(report.cells))

period = report.period
kind = "released months" if isinstance(request, ReleaseRequest) else "months"
st.caption(
    f"{LAYER_TITLES[layer]} · {kind} {period} · hexagons at resolution {report.res} · "
    f"trend over {len(report.trend)} months"
    + (f" ({report.trend[0]:%Y-%m} to {report.trend[-1]:%Y-%m})" if report.trend else "")
)
deck = hotspot_deck(
    report.cells,
    names=hexagon_names(settings.store, version, report.cells["cell"]),
    view=hotspot_view(report.cells) or map_view(),
    wards=ward_layers(areas(), areas_geojson(), dark=low_light()),
    basemap=settings.basemap,
    dark=low_light(),
)
st.pydeck_chart(deck, key="hotspot-map", height=520)
st.markdown(hotspot_legend_html(len(report.compared)), unsafe_allow_html=True)
for note in report.notes:
    st.info(note, icon="🕑")

table = report_table(report, places=places(settings.store, version))
hot = int((table["bin"] > 0).sum())
cold = int((table["bin"] < 0).sum())
new = int(table["newly_active"].sum())
left, middle, right = st.columns(3)
left.metric("Hot spots (90 % or more)", hot)
middle.metric("Cold spots (90 % or more)", cold)
right.metric(
    "Newly active hexagons",
    new,
    help=f"Shown in the last month, in none of the {len(report.compared)} before it.",
)

st.subheader("Hexagons by significance")
emerging = ~table["emerging"].isin(["", NO_PATTERN])
shown = table[(table["bin"] != 0) | table["newly_active"] | emerging]
if shown.empty:
    st.write("No hexagon is significantly hot or cold, emerging or newly active.")
else:
    st.dataframe(
        shown.loc[
            :,
            [
                "near",
                "confidence",
                "emerging",
                "newly_active",
                "value",
                "z",
                "p_sim",
                "trend_z",
                "cell",
            ],
        ].rename(
            columns={
                "near": "Near",
                "cell": "Hexagon",
                "confidence": "Gi* bin",
                "emerging": "Emerging pattern",
                "newly_active": "Newly active",
                "value": f"Figure shown, {period}",
                "z": "z-score",
                "p_sim": "p (permutation)",
                "trend_z": "Trend z (Mann-Kendall)",
            }
        ),
        hide_index=True,
        column_config={"Gi* bin": st.column_config.TextColumn(width="medium")},
    )
with st.expander("How to read this"):
    st.markdown(
        f"""
- **Gi\\* bins.** A hexagon is compared with its ring of neighbours; red hexagons are hot
  spots at 99, 95 or 90 % confidence, blue ones cold spots. p-values come from
  {settings.hotspot_permutations:,} random rearrangements of the other hexagons' figures
  (more where a result is close to the limit), corrected for testing many hexagons at once
  (Benjamini-Hochberg). A busy hexagon is not always a hot spot: it must stand out together
  with its neighbours.
- **Emerging patterns** (ArcGIS Pro's categories) judge each month's Gi\\* over the trend
  months: *new*, *consecutive*, *intensifying*, *persistent*, *diminishing*, *sporadic*,
  *oscillating* and *historical* hot or cold spots. They need at least {MIN_TREND_STEPS}
  months.
- **Newly active** hexagons have figures in the period's last month and none in the months
  before it: the map's answer to "new on the street".
- Only figures this role is shown go in: the hotspots say no more than the night map.
"""
    )
st.download_button(
    "Download CSV (as streetsafe hotspots writes it)",
    download_header(f"hotspots of {LAYER_TITLES[layer]}", request) + spreadsheet_csv(table),
    file_name=f"hotspots-{layer}.csv",
    mime="text/csv",
    on_click=lambda: audit_read("hotspots", request, cells=len(report.cells), export="csv"),
)
