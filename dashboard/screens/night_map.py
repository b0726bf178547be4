"""Night map: where women are met and harmed, by hour of the night, as the role may see it."""

from __future__ import annotations

import streamlit as st

from dashboard.controls import view_controls
from dashboard.mapping import legend_html, selected_hexagons
from dashboard.state import (
    cached_night_deck,
    cached_view,
    data_version,
    deployment,
    display_table,
    require_page,
    view_csv,
)
from geo.hexes import str_to_cell

role = require_page("night_map")
request = view_controls(role)
settings = deployment().settings
version = data_version()
view = cached_view(settings.store, version, request)

st.header("Night map")
st.caption(
    f"{deployment().policies[role].title} view · hexagons at resolution {request.res} or "
    f"coarser · hours {request.hours or 'whole day'}"
)
deck = cached_night_deck(
    settings.store,
    version,
    request,
    dark=bool(st.session_state.get("dark")),
    basemap=settings.basemap,
)
event = st.pydeck_chart(
    deck, on_select="rerun", selection_mode="single-object", key="night-map", height=560
)
st.markdown(legend_html(view.cells, request.layers), unsafe_allow_html=True)

held_back = view.suppressed_groups
st.caption(
    f"{len(view.cells):,} hexagons shown · {held_back:,} groups of fewer than "
    f"{deployment().policies[role].k} people held back · values are protected counts"
)
for note in view.notes:
    st.info(note, icon="🕑")

selected = selected_hexagons(event, published=view.cells["cell"])
if selected:
    hexagon = selected[0]
    st.subheader(f"Hexagon {hexagon['hex']}")
    st.write(f"{hexagon['layer']}: {hexagon['value']} ({hexagon['protection']})")
    cell = str_to_cell(hexagon["hex"])
    left, right = st.columns(2)
    by_hour = cached_view(
        settings.store, version, request, ("hour",), within=(cell,), with_cells=False
    )
    by_category = cached_view(
        settings.store, version, request, ("category",), within=(cell,), with_cells=False
    )
    with left:
        st.markdown("**By hour of the night**")
        if by_hour.cells.empty:
            st.write("Too few people behind this hexagon's hours to show them.")
        else:
            st.bar_chart(by_hour.cells, x="hour", y="value", color="layer")
    with right:
        st.markdown("**By category**")
        if by_category.cells.empty:
            st.write("Too few people behind this hexagon's categories to show them.")
        else:
            st.dataframe(
                by_category.cells[["layer", "category", "value", "protection"]], hide_index=True
            )

# The table is built only when asked for: a filter change should redraw the map, nothing more.
if st.toggle("Show the map's values as a table", key="show-table"):
    st.dataframe(display_table(settings.store, version, request), hide_index=True)
st.download_button(
    "Download CSV (as streetsafe map writes it)",
    # Built only when clicked, on its own thread: the map's rerun does not wait for it.
    lambda: view_csv(settings.store, version, request),
    file_name="night-map.csv",
    mime="text/csv",
)
