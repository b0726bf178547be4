"""Night map: where women are met and harmed, by hour of the night, as the role may see it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.charts import NIGHT_ORDER, bar_chart, low_light, show
from dashboard.controls import category_title, controls
from dashboard.mapping import (
    BAND_TITLES,
    LAYER_COLOURS,
    LAYER_TITLES,
    LAYER_UNITS,
    forecast_legend_html,
    group_title,
    legend_html,
    protection_text,
    selected_hexagons,
    swatch_html,
)
from dashboard.state import (
    audit_read,
    cached_forecast,
    cached_night_deck,
    cached_release_view,
    cached_services,
    cached_view,
    data_version,
    deployment,
    display_table,
    forecast_nights,
    hexagon_names,
    map_view_of,
    require_page,
    view_csv,
)
from dashboard.summary import describe, download_header, empty_reason, show_filters
from geo.errors import StreetsafeError
from geo.hexes import cells_to_str, str_to_cell
from streetsafe.filters import ReleaseRequest, ViewRequest
from streetsafe.messages import user_message
from streetsafe.route import clock_span, night_window, tonight


def _forecast_choice() -> tuple[date, str] | None:
    """The outreach lead's "expected" layer: off, or the night and band chosen (sidebar)."""
    side = st.sidebar
    side.subheader("Expected on a night")
    if not side.toggle(
        "Show the forecast",
        key="forecast",
        help="Where outreach contacts and incidents are likely, from the weeks before: "
        "learned from this role's records, shown only where its map shows the hexagon.",
    ):
        return None
    try:
        first, last = forecast_nights(settings.store, version, role)
    except StreetsafeError as exc:
        side.info(user_message(exc))
        return None
    default = min(max(date.today(), first), last)
    night = side.date_input(
        "Night (named for its evening)",
        value=default,
        min_value=first,
        max_value=last,
        key="forecast-night",
        format="YYYY-MM-DD",
    )
    band = side.radio(
        "Band",
        list(BAND_TITLES),
        index=1,
        format_func=lambda b: BAND_TITLES[b].capitalize(),
        key="forecast-band",
    )
    return (night, band)


def _services_choice(forecast: tuple[date, str] | None) -> tuple[date, int, int] | None:
    """The services layer: off, or the night (the forecast's, else tonight) and the map's
    hours (the whole night, 18:00 to 06:00, when the map shows every hour)."""
    if cached_services(settings.store, version).empty:
        return None
    night = forecast[0] if forecast else tonight()
    if not st.sidebar.toggle(
        "Services open",
        value=True,
        key="services",
        help="Drop-ins, shelters, the SARC, A&E… open on the night during the map's hours "
        "(from the services file: public places, not counts).",
    ):
        return None
    hours = request.hours if isinstance(request, ViewRequest) else None
    start, end = (18 * 60, 30 * 60) if hours is None else night_window(hours.start, hours.end)
    st.sidebar.caption(f"Services open on the night of {night:%a %d %b}, {clock_span(start, end)}")
    return (night, start, end)


def _chance(value: float) -> str:
    """A chance as the table shows it; "not shown" where the gate or rounding left none."""
    return "not shown" if pd.isna(value) else f"{value:.0%}"


def _likeliest(night: date, band: str) -> None:
    """The forecast's likeliest hexagons as a short table: where to go first."""
    expected = cached_forecast(settings.store, version, role, night, band)
    cells = expected.cells
    audit_read(f"night_map/forecast {night:%Y-%m-%d} {band}", request, cells=len(cells))
    if cells.empty:
        st.caption("No hexagon has enough people behind it on such nights to show a forecast.")
        return
    wide = cells.pivot_table(index="cell", columns="layer", values="chance", aggfunc="max")
    wide = wide.reindex(columns=["outreach", "incident"])
    wide = wide.assign(top=wide.max(axis=1)).sort_values("top", ascending=False).head(10)
    st.markdown(f"**Likeliest on the night of {night:%a %d %b}, {BAND_TITLES[band]}**")
    names = hexagon_names(settings.store, version, pd.Series(wide.index, dtype="int64"))
    st.dataframe(
        pd.DataFrame(
            {
                "Where": [names[int(c)] or "no street named nearby" for c in wide.index],
                "Hexagon": cells_to_str(wide.index.tolist()),
                "Outreach contact": [_chance(c) for c in wide["outreach"]],
                "Incident": [_chance(c) for c in wide["incident"]],
            }
        ),
        hide_index=True,
    )
    for note in expected.notes:
        st.caption(note)


role = require_page("night_map")
request = controls(role)
settings = deployment().settings
policy = deployment().policies[role]
version = data_version()
view = map_view_of(settings.store, version, request)
audit_read("night_map", request, cells=len(view.cells))

st.header("Night map")
show_filters(request)
if isinstance(request, ReleaseRequest):
    st.caption(
        f"{policy.title} view · hexagons at resolution {request.res} · every figure a sum of "
        f"released values (at least {policy.k} people behind each)"
    )
else:
    st.caption(f"{policy.title} view · hexagons at resolution {request.res} or coarser")
if view.cells.empty:
    st.info(empty_reason(request), icon="🔎")
forecast = _forecast_choice() if isinstance(request, ViewRequest) else None
services = _services_choice(forecast)
deck = cached_night_deck(
    settings.store,
    version,
    request,
    dark=low_light(),
    basemap=settings.basemap,
    forecast=forecast,
    services=services,
)
event = st.pydeck_chart(
    deck, on_select="rerun", selection_mode="single-object", key="night-map", height=560
)
st.markdown(
    legend_html(
        view.cells,
        request.layers,
        res=request.res,
        period=f"Figures for: {describe(request)}",
        k=policy.k,
        dark=low_light(),
    ),
    unsafe_allow_html=True,
)
if forecast is not None:
    night_name = f"{forecast[0]:%a %d %b %Y}"
    st.markdown(forecast_legend_html(night_name, forecast[1]), unsafe_allow_html=True)
    _likeliest(*forecast)
st.caption(
    f"{len(view.cells):,} hexagons shown · groups of fewer than {policy.k} people are not shown"
    " · values are protected counts"
)
for note in view.notes[1:] if isinstance(request, ReleaseRequest) else view.notes:
    st.info(note, icon="🕑")
if isinstance(request, ReleaseRequest) and view.release:
    st.caption(f"Releases: {view.release}")


def _live_detail(request: ViewRequest, cell: int) -> None:
    by_hour = cached_view(
        settings.store, version, request, ("hour",), within=(cell,), with_cells=False
    )
    by_category = cached_view(
        settings.store, version, request, ("category",), within=(cell,), with_cells=False
    )
    st.markdown("**By hour of the night**")
    hours = by_hour.cells.dropna(subset=["hour"])
    if hours.empty:
        st.caption("Too few people behind this hexagon's hours to show them.")
    else:
        hours = hours.assign(hour=hours["hour"].astype(int))
        show(bar_chart(hours, "hour", "", [h for h in NIGHT_ORDER if h in set(hours["hour"])]))
    st.markdown("**By category**")
    if by_category.cells.empty:
        st.caption("Too few people behind this hexagon's categories to show them.")
    else:
        rows = by_category.cells
        st.dataframe(
            pd.DataFrame(
                {
                    "Layer": rows["layer"].map(LAYER_TITLES),
                    "Category": rows["category"].map(category_title),
                    "Figure": rows["value"].astype(int),
                    "Protection": rows["protection"].map(protection_text),
                }
            ),
            hide_index=True,
        )


def _released_detail(request: ReleaseRequest, cell: int) -> None:
    for by, title in ((("category_group",), "By category group"), (("month",), "By month")):
        view = cached_release_view(settings.store, version, request, by)
        rows = view.cells[view.cells["cell"] == cell]
        st.markdown(f"**{title}**")
        if rows.empty:
            st.caption("No released figure of this hexagon breaks down so.")
            continue
        table = pd.DataFrame({"Layer": rows["layer"].map(LAYER_TITLES)})
        if "category_group" in rows:
            table["Category group"] = [
                group_title(layer, group)
                for layer, group in zip(rows["layer"], rows["category_group"], strict=True)
            ]
        if "month" in rows:
            table["Month"] = pd.to_datetime(rows["month"]).dt.strftime("%Y-%m")
        table["Figure"] = rows["value"].astype(int)
        st.dataframe(table, hide_index=True)


def _detail(hexagon: dict[str, Any]) -> None:
    """A clicked hexagon's profile, in a dialog over the map (in view wherever the map is)."""
    cell = str_to_cell(hexagon["hex"])
    st.caption(describe(request))
    rows = view.cells[view.cells["cell"] == cell]
    for layer, value, label in zip(rows["layer"], rows["value"], rows["protection"], strict=True):
        st.markdown(
            f"{swatch_html(LAYER_COLOURS[layer])}**{LAYER_TITLES[layer]}**: {int(value)} "
            f"{LAYER_UNITS[layer]} · {protection_text(label)}",
            unsafe_allow_html=True,
        )
    if isinstance(request, ReleaseRequest):
        _released_detail(request, cell)
    else:
        _live_detail(request, cell)
    st.caption(f"Hexagon {hexagon['hex']} (H3 resolution {hexagon.get('res', request.res)})")


selected = selected_hexagons(event, published=view.cells["cell"])
if selected:
    hexagon = selected[0]
    near = str(hexagon.get("near", ""))
    title = "N" + near[1:] if near.startswith("near ") else f"Hexagon {hexagon['hex']}"
    if st.session_state.get("_opened_hexagon") != hexagon["hex"]:
        st.session_state["_opened_hexagon"] = hexagon["hex"]
        st.dialog(title, width="large")(_detail)(hexagon)
else:
    st.session_state.pop("_opened_hexagon", None)

# The table is built only when asked for: a filter change should redraw the map, nothing more.
if st.toggle("Show the map's values as a table", key="show-table"):
    st.dataframe(display_table(settings.store, version, request), hide_index=True)
st.download_button(
    "Download CSV (as streetsafe map writes it)",
    # Built only when clicked, on its own thread: the map's rerun does not wait for it.
    lambda: download_header("night map", request) + view_csv(settings.store, version, request),
    file_name="night-map.csv",
    mime="text/csv",
    on_click=lambda: audit_read("night_map", request, cells=len(view.cells), export="csv"),
)
