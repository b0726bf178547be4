"""Map layers for the route planner and the services open: routes, numbered stops, services.

Services are public places, drawn as points with their names; they are not counts and do not
pass the privacy gate. A route is drawn over the forecast's hexagons (already gated).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import pydeck as pdk

from dashboard.mapping import deck_of, forecast_layer
from geo.area import MapView, fit_view
from geo.routing import TeamRoute
from ingest.services import SERVICE_KINDS
from streetsafe.route import NightRoute

# Teams by Okabe & Ito's colours not used for layers: bluish green, reddish purple, sky blue
TEAM_COLOURS = [(0, 158, 115), (204, 121, 167), (86, 180, 233), (240, 228, 66)]


def team_colour(team: int) -> tuple[int, int, int]:
    """The colour team ``team`` (1, 2, ...) is drawn in, on the map and in the run sheet."""
    return TEAM_COLOURS[(team - 1) % len(TEAM_COLOURS)]


def services_layers(services: pd.DataFrame, *, dark: bool) -> list[pdk.Layer]:
    """The services open: white points ringed in black (black ringed in white in low light),
    and their names beside them."""
    if services.empty:
        return []
    data = [
        {
            "position": [float(r["lon"]), float(r["lat"])],
            "name": str(r["name"]),  # drawn as text, not HTML
            # the tooltip is HTML: a services file's words are escaped
            "near": html.escape(str(r["name"])),
            "all": html.escape(
                f"{SERVICE_KINDS.get(str(r['kind']), str(r['kind']))} · {r['open_text']}"
                + (f" · {r['phone']}" if str(r["phone"]) else "")
            ),
            "res": "",
            "protection": "a public service (not a count)",
        }
        for r in services.to_dict("records")
    ]
    ink, paper = ([240, 240, 240], [14, 17, 23]) if dark else ([17, 17, 17], [255, 255, 255])
    return [
        pdk.Layer(
            "ScatterplotLayer",
            id="services",
            data=data,
            get_position="position",
            get_radius=8,
            radius_units='"pixels"',
            get_fill_color=[*paper, 255],
            get_line_color=[*ink, 255],
            line_width_min_pixels=3,
            stroked=True,
            pickable=True,
        ),
        pdk.Layer(
            "TextLayer",
            id="service-names",
            data=data,
            get_position="position",
            get_text="name",
            get_size=13,
            get_color=[*ink, 255],
            get_pixel_offset=[12, 0],
            get_text_anchor='"start"',
            outline_width=3,
            outline_color=[*paper, 220],
            font_settings={"sdf": True},
            character_set='"auto"',
            pickable=False,
        ),
    ]


def route_layers(routes: tuple[TeamRoute, ...], base: tuple[float, float]) -> list[pdk.Layer]:
    """Each team's path (base, stops, base) in its colour, and its stops numbered in order."""
    paths: list[dict[str, Any]] = []
    marks: dict[tuple[float, float], dict[str, Any]] = {}  # one circle a place: "3/8" if twice
    for route in routes:
        if not route.visits:
            continue
        colour = [*team_colour(route.team), 255]
        points = [[base[1], base[0]]] + [[v.stop.lon, v.stop.lat] for v in route.visits]
        paths.append({"path": [*points, points[0]], "color": colour, "team": route.team})
        for step, v in enumerate(route.visits, start=1):
            where = (round(v.stop.lon, 7), round(v.stop.lat, 7))
            text = html.escape(f"Team {route.team}, stop {step} ({v.stop.detail})")
            if where in marks:  # a repeat visit (this team's or another's)
                mark = marks[where]
                mark["label"] += f"/{step}"
                mark["radius"] = 11 + 4 * mark["label"].count("/")
                mark["all"] += f"<br/>{text}"
                continue
            marks[where] = {
                "position": [v.stop.lon, v.stop.lat],
                "label": str(step),
                "radius": 11,
                "color": colour,
                "near": html.escape(v.stop.label),
                "all": text,
                "res": "",
                "protection": "a stop of the plan",
            }
    data = list(marks.values())
    return [
        pdk.Layer(
            "PathLayer",
            id="routes",
            data=paths,
            get_path="path",
            get_color="color",
            get_width=4,
            width_units='"pixels"',
            joint_rounded=True,
            cap_rounded=True,
            pickable=False,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="stops",
            data=data,
            get_position="position",
            get_radius="radius",
            radius_units='"pixels"',
            get_fill_color="color",
            get_line_color=[17, 17, 17, 255],
            line_width_min_pixels=1,
            stroked=True,
            pickable=True,
        ),
        pdk.Layer(
            "TextLayer",
            id="stop-numbers",
            data=data,
            get_position="position",
            get_text="label",
            get_size=13,
            get_color=[17, 17, 17, 255],
            font_weight=700,
            pickable=False,
        ),
    ]


def route_view(route: NightRoute, *, margin: float = 0.004) -> MapView:
    """A view that opens on the base, the stops and the services open."""
    lat = [route.problem.base.lat] + [s.lat for s in route.problem.stops]
    lon = [route.problem.base.lon] + [s.lon for s in route.problem.stops]
    bounds = (min(lon) - margin, min(lat) - margin, max(lon) + margin, max(lat) + margin)
    return fit_view(bounds, width=420, height=420)


def route_deck(
    route: NightRoute, *, dark: bool, basemap: str | None, wards: list[pdk.Layer]
) -> pdk.Deck:
    """The planned night: the forecast's hexagons (beneath), the services open, each team's
    path and numbered stops, the base."""
    base = route.problem.base
    layers: list[Any] = [forecast_layer(route.forecast.cells, dark=dark)]
    layers += services_layers(route.services, dark=dark)
    layers += route_layers(route.plan.routes, (base.lat, base.lon))
    layers.append(_base_layer(base.name, base.lat, base.lon, dark=dark))
    layers += wards
    tooltip = "<b>{near}</b><br/>{all}<br/><span style='opacity:.8'>{protection}</span>"
    return deck_of(layers, view=route_view(route), tooltip=tooltip, dark=dark, basemap=basemap)


def _base_layer(name: str, lat: float, lon: float, *, dark: bool) -> pdk.Layer:
    ink = [240, 240, 240, 255] if dark else [17, 17, 17, 255]
    return pdk.Layer(
        "TextLayer",
        id="base",
        data=[{"position": [lon, lat], "label": "⌂ base", "near": html.escape(name)}],
        get_position="position",
        get_text="label",
        get_size=15,
        get_color=ink,
        get_pixel_offset=[0, -18],
        outline_width=3,
        outline_color=[14, 17, 23, 220] if dark else [255, 255, 255, 220],
        font_settings={"sdf": True},
        character_set='"auto"',
        pickable=False,
    )
