"""Route planner: where tonight's outreach teams go and when, over the forecast, with the
services open; a run sheet per team to print, or to take as CSV or GPX."""

from __future__ import annotations

from datetime import date, time

import pandas as pd
import streamlit as st

from dashboard.charts import low_light
from dashboard.mapping import ward_layers
from dashboard.route_map import route_deck, team_colour
from dashboard.state import (
    areas,
    areas_geojson,
    audit_read,
    cached_route,
    cached_services,
    data_version,
    deployment,
    forecast_nights,
    gazetteer,
    require_page,
)
from dashboard.theme import is_phone
from geo.errors import StreetsafeError
from ingest.services import SERVICE_KINDS
from streetsafe.messages import user_message
from streetsafe.route import RouteRequest, describe_request
from streetsafe.runsheet import left_out_table, route_csv, route_gpx, route_html, run_sheet

COORDINATES = "Coordinates…"

role = require_page("route")
settings = deployment().settings
version = data_version()

st.header("Route planner")
st.caption(
    "Where the van or foot team goes tonight, and when: stops from the forecast of contacts "
    "and incidents (only hexagons your map shows on such nights), the services open, and "
    "a run sheet per team. Travel times are an estimate from straight-line distance."
)
try:
    first, last = forecast_nights(settings.store, version, role)
except StreetsafeError as exc:
    st.info(user_message(exc), icon="🕑")
    st.stop()
services = cached_services(settings.store, version)
places = sorted(p[0] for p in gazetteer().places.values())
drop_ins = [
    str(n) for n, k in zip(services["name"], services["kind"], strict=True) if k == "drop_in"
]
bases = [*map(str, services["name"]), *places, COORDINATES]


def _time(text: str) -> time:
    return time(int(text[:2]), int(text[3:5]))


asked: RouteRequest | None = st.session_state.get("route-request")
# on a phone the form folds away once a plan is shown, so the plan is what the lead sees first
holder = (
    (
        st.expander("Night, shift, teams and base", expanded=True)
        if asked is None
        else st.expander("Change the night, shift or teams")  # another element: folded
    )
    if is_phone()
    else st.container()
)
with holder, st.form("route-form"):
    left, middle, right = st.columns(3)
    night: date = left.date_input(
        "Night (named for its evening)",
        value=min(max(date.today(), first), last),
        min_value=first,
        max_value=last,
        format="YYYY-MM-DD",
        help=f"The forecast covers the week after the data's last night: {first} to {last}.",
    )
    starts = middle.time_input("Shift starts", value=_time("20:00"), step=900)
    ends = right.time_input("Shift ends (may be after midnight)", value=_time("02:00"), step=900)
    left, middle, right = st.columns(3)
    teams = left.number_input("Teams", min_value=1, max_value=6, value=1, step=1)
    mode = middle.radio("Travel", ["foot", "van"], horizontal=True, format_func=str.capitalize)
    base_index = bases.index(drop_ins[0]) if drop_ins else 0
    base = right.selectbox("Base (start and end)", bases, index=base_index)
    coordinates = ""
    if base == COORDINATES or not bases[:-1]:
        coordinates = right.text_input("Base coordinates", placeholder="50.9097, -1.4044")
    left, middle, right = st.columns(3)
    dwell = left.slider("Minutes at each stop", 5, 60, 15, step=5, help="Patrol evidence: 10-15.")
    gap = middle.slider("Least minutes before a revisit", 0, 180, 60, step=15, help="0: no limit.")
    via = right.multiselect(
        "Call at (services)",
        [str(n) for n in services["name"]],
        help="Services a team must call at while they are open (e.g. to drop off supplies).",
    )
    submitted = st.form_submit_button("Plan the route", type="primary")

shift = f"{starts:%H:%M}-{ends:%H:%M}"
request = RouteRequest(
    night=night,
    shift=shift,
    teams=int(teams),
    base=coordinates if base == COORDINATES else base,
    mode=mode,
    dwell=int(dwell),
    gap=int(gap),
    via=tuple(via),
)
if submitted:
    unplanned = asked is None
    st.session_state["route-request"] = asked = request
    if unplanned and is_phone():
        st.rerun()  # fold the form away before the plan is drawn
if asked is None:
    st.info("Choose the night and the shift, then **Plan the route**.", icon="🧭")
    st.stop()
if asked != request:
    st.caption("The form has changed since this plan: **Plan the route** to plan again.")
try:
    route = cached_route(settings.store, version, role, asked)
except StreetsafeError as exc:
    st.warning(user_message(exc), icon="🧭")
    st.stop()
plan = route.plan
audit_read(f"route {asked.night:%Y-%m-%d} {asked.shift}", None, cells=plan.visits)

st.markdown(f"**{describe_request(asked)}** · base: {route.problem.base.name}")
for missed in route.missed_calls:
    st.warning(missed.capitalize(), icon="⚠️")
cols = st.columns(4)
cols[0].metric("Stops", plan.visits, help=f"of {len(route.problem.stops)} candidate stops")
gain = (plan.value / plan.baseline - 1) if plan.baseline > 0 else 0.0
cols[1].metric(
    "Value covered",
    f"{plan.value:.2f}",
    delta=f"{gain:+.0%} on next-best-per-minute" if plan.baseline > 0 else None,
    help="The sum of each stop's chance of a contact plus its chance of an incident in its "
    f"band. Planning stop by stop (the next best value per minute) covers {plan.baseline:.2f}.",
)
cols[2].metric("Distance", f"{sum(r.metres for r in plan.routes) / 1000:.1f} km")
cols[3].metric(
    "Back at base by", max((route.clock(r.back) for r in plan.routes if r.visits), default="—")
)

deck = route_deck(
    route,
    dark=low_light(),
    basemap=settings.basemap,
    wards=ward_layers(areas(), areas_geojson(), dark=low_light()),
)
st.pydeck_chart(deck, key="route-map", height=520)
legend = " · ".join(
    f"<span style='color:rgb{team_colour(r.team)}'>━━</span> Team {r.team}" for r in plan.routes
)
st.markdown(
    f"<div style='font-size:0.85em'>{legend} · numbered circles: stops in order · "
    "ringed points: services open during the shift · outlined hexagons: the forecast "
    "(more solid: likelier)</div>",
    unsafe_allow_html=True,
)

st.subheader("Run sheet")
sheet = run_sheet(route)
tabs = (
    st.tabs([f"Team {r.team}" for r in plan.routes]) if len(plan.routes) > 1 else [st.container()]
)
for tab, team in zip(tabs, plan.routes, strict=True):
    rows = sheet[sheet["team"] == team.team]
    tab.caption(
        f"Team {team.team}: leave {route.clock(team.depart)}, {len(team.visits)} stops, back "
        f"{route.clock(team.back)} · {team.metres / 1000:.1f} km · value {team.value:.2f}"
    )
    tab.dataframe(
        pd.DataFrame(
            {
                "#": rows["step"],
                "Arrive": rows["time"],
                "Leave": rows["leave"],
                "Where": rows["where"],
                "Why go (chance in the band)": rows["worth"],
                "Hexagon": rows["hexagon"],
            }
        ),
        hide_index=True,
    )

opened = route.services
st.subheader("Services open during the shift")
if opened.empty:
    if services.empty:
        st.caption("No services file is loaded (streetsafe ingest services FILE).")
    else:
        st.caption("None of the services is open during this shift.")
else:
    st.dataframe(
        pd.DataFrame(
            {
                "Service": opened["name"],
                "Kind": opened["kind"].map(lambda k: SERVICE_KINDS.get(k, k)),
                "Open": opened["open_text"],
                "Phone": opened["phone"],
                "Address": opened["address"],
            }
        ),
        hide_index=True,
    )

left_out = left_out_table(plan)
with st.expander(f"Stops left out ({len(left_out)}) and why"):
    if left_out.empty:
        st.write("None: every candidate stop is on a route.")
    else:
        st.dataframe(
            left_out.rename(
                columns={"where": "Where", "hexagon": "Hexagon", "value": "Value", "why": "Why"}
            ),
            hide_index=True,
        )
with st.expander("How the plan is made"):
    st.markdown(
        "- **Stops** are hexagons of the outreach map, one per band of the night (evening "
        "18:00-22:00, late 22:00-02:00, small hours 02:00-06:00) the shift covers; a stop's "
        "value is the forecast's chance of a contact plus its chance of an incident there.\n"
        "- **The planner** (OR-Tools, a prize-collecting vehicle-routing problem with time "
        "windows) chooses the stops and their order to cover the most value, visiting each "
        "in its band, staying the minutes chosen, keeping revisits apart and getting every "
        "team back by the shift's end. It starts from, and never does worse than, planning "
        "stop by stop (the next best value per minute).\n"
        + "".join(f"- {note}\n" for note in route.notes if note not in route.missed_calls)
    )

night_text = f"{asked.night:%Y-%m-%d}"
left, middle, right = st.columns(3)
for column, label, text, name, mime in (
    (left, "Printable run sheet", route_html(route), f"route-{night_text}.html", "text/html"),
    (middle, "CSV", route_csv(route), f"route-{night_text}.csv", "text/csv"),
    (
        right,
        "GPX (for a phone's map)",
        route_gpx(route),
        f"route-{night_text}.gpx",
        "application/gpx+xml",
    ),
):
    column.download_button(
        f"Download {label}",
        text,
        file_name=name,
        mime=mime,
        on_click=audit_read,
        args=(f"route {night_text}", None),
        kwargs={"cells": plan.visits, "export": name.rsplit(".", 1)[1]},
    )
