"""The night map: pydeck layers built from published views (cell ids, never polygons)."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from geo.area import MapView, fit_view
from geo.errors import FilterError
from geo.hexes import cell_boundary, cell_resolutions, cells_to_str, str_to_cell
from geo.layers import CATEGORY_GROUPS
from geo.wards import Areas

LAYER_TITLES = {
    "incident": "Incidents (harm to women)",
    "outreach": "Outreach contacts",
    "asb": "Community ASB reports",
    "policeuk": "police.uk street crime (public)",
}
# One hue per layer, the same on the map, in the legend and in every chart; lighter tints of it
# for smaller values (binned, opaque: no blend of layers makes a colour the legend lacks).
# Chosen (from Okabe & Ito's palette) to stay apart, tint for tint, under deuteranopia,
# protanopia and tritanopia: tests/unit/test_palette.py checks it with a simulation.
LAYER_COLOURS = {
    "incident": (204, 51, 17),
    "outreach": (0, 114, 178),
    "asb": (230, 159, 0),
    "policeuk": (140, 140, 140),
}
LAYER_UNITS = {
    "incident": "incidents",
    "outreach": "contacts",
    "asb": "reports",
    "policeuk": "crimes",
}
LIGHT_BACKGROUND = (255, 255, 255)
DARK_BACKGROUND = (14, 17, 23)  # the low-light theme's page, which shows through the map
TINTS = {1: (1.0,), 2: (0.55, 1.0), 3: (0.35, 0.65, 1.0)}  # per number of classes
MERGED_TINT = 0.5  # a merged (rolled-up) hexagon: its class's tint, this much paler
PROTECTION_TEXT = {
    "released": "from the month's release, fixed once",
    "public data": "public police.uk data, exact",
    "perturbed": "small random adjustment (cell-key)",
    "rolled up": "merged into a larger hex",
    "rounded": "rounded to 5",
    "exact": "exact",
}


def group_title(layer: str, group: str) -> str:
    """Return the words for a layer's category group (``buyers`` -> "Dangerous buyers ...")."""
    return CATEGORY_GROUPS.get(layer, {}).get(group, (group, ()))[0]


def protection_text(label: str) -> str:
    """Return the plain-words explanation of a protection label (``"rolled up, perturbed"``)."""
    return "; ".join(PROTECTION_TEXT.get(p.strip(), p.strip()) for p in label.split(","))


def tint(colour: tuple[int, int, int], t: float, *, dark: bool) -> tuple[int, int, int]:
    """Return ``colour`` at strength ``t`` (0: the page's background, 1: the colour itself)."""
    bg = DARK_BACKGROUND if dark else LIGHT_BACKGROUND
    r, g, b = (round(back + (c - back) * t) for c, back in zip(colour, bg, strict=True))
    return r, g, b


def value_classes(values: pd.Series | np.ndarray) -> list[tuple[int, int]]:
    """Return up to three classes (low, high) of the whole values shown, each holding about a
    third of them; a value always falls in one class."""
    v = np.sort(np.asarray(values, dtype=np.int64))
    if v.size == 0:
        return []
    cuts = sorted({int(np.quantile(v, q, method="higher")) for q in (1 / 3, 2 / 3)})
    lows = [int(v[0]), *(c for c in cuts if c > v[0])]
    classes = []
    for i, low in enumerate(lows):
        below = v[v < lows[i + 1]] if i + 1 < len(lows) else v
        classes.append((low, int(below.max())))
    return classes


def class_of(values: np.ndarray, classes: list[tuple[int, int]]) -> np.ndarray:
    """Return each value's class index in ``classes``."""
    lows = np.array([low for low, _ in classes])
    return np.clip(np.searchsorted(lows, values, side="right") - 1, 0, len(classes) - 1)


def hex_records(
    cells: pd.DataFrame,
    layer: str,
    *,
    res: int,
    dark: bool = False,
    dim: float = 1.0,
    summary: dict[int, str] | None = None,
    names: dict[int, str] | None = None,
) -> list[dict[str, Any]]:
    """Return one small record per published cell of ``layer`` for the H3HexagonLayer,
    coloured by its value's class (``value_classes``); ``summary`` gives each cell's figures of
    every layer for the tooltip, ``names`` its streets.

    Merged (rolled-up) hexagons are larger and cover finer ones: they come first, so they are
    drawn underneath, and paler, so the finer detail stays readable.
    """
    rows = cells[cells["layer"] == layer].sort_values("resolution", kind="stable")
    if rows.empty:
        return []
    values = rows["value"].to_numpy(dtype=np.int64)
    classes = value_classes(values)
    strength = np.array(TINTS[len(classes)])[class_of(values, classes)]
    strength = strength * np.where(rows["resolution"].to_numpy() < res, MERGED_TINT, 1.0) * dim
    colour = LAYER_COLOURS[layer]
    texts = {label: protection_text(label) for label in rows["protection"].unique()}
    ids = rows["cell"].to_numpy(dtype=np.int64)
    return [
        {
            "hex": h,
            "value": int(v),
            "layer": LAYER_TITLES[layer],
            "res": int(r),
            "protection": texts[p],
            "all": (summary or {}).get(int(c), ""),
            "near": html.escape((names or {}).get(int(c)) or "no street named nearby"),
            "color": [*tint(colour, float(t), dark=dark), 235],
        }
        for h, c, v, r, p, t in zip(
            cells_to_str(ids.tolist()),
            ids,
            values,
            rows["resolution"],
            rows["protection"],
            strength,
            strict=True,
        )
    ]


def cell_summaries(cells: pd.DataFrame) -> dict[int, str]:
    """Return, per published cell, its figures of every layer ("Incidents 15 · Outreach
    contacts 30"), so the tooltip of any layer's hexagon lists them all."""
    out: dict[int, list[str]] = {}
    order = {layer: i for i, layer in enumerate(DRAW_ORDER[::-1])}
    rows = cells.assign(_o=cells["layer"].map(order)).sort_values("_o", kind="stable")
    for cell, layer, value in zip(rows["cell"], rows["layer"], rows["value"], strict=True):
        title = LAYER_TITLES[layer].split(" (")[0]
        out.setdefault(int(cell), []).append(f"{title}: {int(value)} {LAYER_UNITS[layer]}")
    return {cell: "<br/>".join(parts) for cell, parts in out.items()}


def ward_layers(areas: Areas, outlines: dict[str, Any], *, dark: bool) -> list[pdk.Layer]:
    """Ward outlines (``outlines``: the areas as GeoJSON) and the wards' names."""
    labels = [
        {"name": name, "position": [geom.centroid.x, geom.centroid.y]}
        for name, geom in zip(areas.names, areas.geometries, strict=True)
    ]
    line = [200, 200, 200, 140] if dark else [60, 60, 60, 160]
    return [
        pdk.Layer(
            "GeoJsonLayer",
            id="wards",
            data=outlines,
            stroked=True,
            filled=False,
            get_line_color=line,
            line_width_min_pixels=1,
            pickable=False,
        ),
        pdk.Layer(
            "TextLayer",
            id="ward-names",
            data=labels,
            get_position="position",
            get_text="name",
            get_size=12,
            get_color=[*line[:3], 200],
            pickable=False,
        ),
    ]


DRAW_ORDER = ("policeuk", "asb", "outreach", "incident")  # the harm layer on top


def street_layer(labels: pd.DataFrame, *, dark: bool) -> pdk.Layer:
    """The main streets' names (public place index: ``street``, ``lon``, ``lat``), sized in
    metres: unreadably small over the whole town, legible from street zoom (about 15) on."""
    colour = [235, 235, 235, 230] if dark else [25, 25, 25, 230]
    halo = [14, 17, 23, 200] if dark else [255, 255, 255, 200]
    data = [
        {"name": name, "position": [float(lon), float(lat)]}
        for name, lon, lat in zip(labels["street"], labels["lon"], labels["lat"], strict=True)
    ]
    return pdk.Layer(
        "TextLayer",
        id="street-names",
        data=data,
        get_position="position",
        get_text="name",
        get_size=28,
        size_units='"meters"',  # quoted: pydeck reads a bare string as an expression
        size_min_pixels=0,
        size_max_pixels=15,
        get_color=colour,
        outline_width=2,
        outline_color=halo,
        font_settings={"sdf": True},
        character_set='"auto"',
        pickable=False,
    )


def night_deck(
    cells: pd.DataFrame,
    layers: tuple[str, ...],
    *,
    res: int,
    view: MapView,
    wards: list[pdk.Layer],
    basemap: str | None,
    dark: bool,
    period: str = "",
    names: dict[int, str] | None = None,
    above: list[pdk.Layer] | None = None,
) -> pdk.Deck:
    """Return the deck: one H3HexagonLayer per layer (each with an ``id``), then ``above``
    (e.g. a forecast, the layers beneath it dimmed to let it stand out), then ``wards``.

    It opens on ``view`` (the study area); the tooltip names the hexagon's streets
    (``names``), lists every layer's figure there and the ``period`` they cover.
    """
    dim = 0.45 if above else 1.0
    summary = cell_summaries(cells)
    deck_layers = [
        hex_layer(
            f"hex-{layer}",
            hex_records(cells, layer, res=res, dark=dark, dim=dim, summary=summary, names=names),
        )
        for layer in sorted(layers, key=DRAW_ORDER.index)
    ]
    deck_layers += [*(above or []), *wards]
    tooltip = (
        "<b>{near}</b><br/>{all}<br/><span style='opacity:.8'>"
        + period
        + "<br/>hexagon resolution {res} · {protection}</span>"
    )
    return deck_of(deck_layers, view=view, tooltip=tooltip, dark=dark, basemap=basemap)


def deck_of(
    layers: list[pdk.Layer], *, view: MapView, tooltip: str, dark: bool, basemap: str | None
) -> pdk.Deck:
    """Return a deck of ``layers`` opening on ``view``, with an HTML ``tooltip`` styled for the
    theme: on ``basemap`` if one is set, else with no base map (nothing fetched)."""
    style = {"backgroundColor": "#222" if dark else "#fff", "color": "#eee" if dark else "#111"}
    tip = {"html": tooltip, "style": style}
    if basemap:
        return pdk.Deck(
            layers=layers,
            initial_view_state=view_state(view),
            map_provider="carto",
            map_style=basemap,
            tooltip=tip,
        )
    return offline_deck(layers, view=view, tooltip=tip)


def view_state(view: MapView) -> pdk.ViewState:
    """Return pydeck's view state for ``view``, seen from straight above."""
    return pdk.ViewState(latitude=view.latitude, longitude=view.longitude, zoom=view.zoom, pitch=0)


def offline_deck(
    layers: list[pdk.Layer], *, view: MapView, tooltip: dict[str, Any] | Any
) -> pdk.Deck:
    """Return a deck opening on ``view`` with no base map: nothing is fetched from the internet.

    ``map_style`` must be left at pydeck's default: an explicit ``None`` makes Streamlit's
    frontend choose a Carto style on its own and fetch it (the browser test caught this).
    """
    return pdk.Deck(
        layers=layers, initial_view_state=view_state(view), map_provider=None, tooltip=tooltip
    )


def legend_html(
    cells: pd.DataFrame, layers: tuple[str, ...], *, res: int, period: str, k: int, dark: bool
) -> str:
    """Return the map's legend: per layer its unit, the ``period`` and the colour of each class
    of values shown; and, if any are drawn, what a paler, larger (merged) hexagon is."""
    parts = []
    for layer in layers:
        rows = cells[cells["layer"] == layer]
        classes = value_classes(rows["value"]) if len(rows) else []
        head = f"<b>{LAYER_TITLES[layer]}</b>: {LAYER_UNITS[layer]} per hexagon"
        if not classes:
            parts.append(f"<div>{head}: none shown</div>")
            continue
        steps = "".join(
            _swatch(_fill(tint(LAYER_COLOURS[layer], t, dark=dark)))
            + (f"{low}" if low == high else f"{low} to {high}")
            for (low, high), t in zip(classes, TINTS[len(classes)], strict=True)
        )
        parts.append(f"<div>{head}: {steps}</div>")
    if (cells["resolution"] < res).any():
        colour = tint(LAYER_COLOURS[layers[0]], TINTS[3][1] * MERGED_TINT, dark=dark)
        parts.append(
            f"<div>{_swatch(_fill(colour))}paler, larger hexagon: smaller ones merged so that "
            f"at least {k} people stand behind its figure</div>"
        )
    return (
        f"<div style='font-size:0.85em;line-height:1.9'><div>{period}</div>{''.join(parts)}</div>"
    )


def swatch_html(colour: tuple[int, int, int]) -> str:
    """Return a legend swatch of ``colour``."""
    return _swatch(_fill(colour))


def _fill(colour: tuple[int, int, int]) -> str:
    return "background:rgb({},{},{});border:1px solid #888".format(*colour)


def _swatch(style: str) -> str:
    """Return a legend's 12-pixel square, drawn with ``style`` (CSS)."""
    return (
        "<span style='display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;"
        f"{style}'></span>"
    )


def _ramp(colour: tuple[int, int, int], faint: float) -> str:
    """Return a swatch fading from ``colour`` at opacity ``faint`` to ``colour`` in full."""
    r, g, b = colour
    return _swatch(
        f"background:linear-gradient(90deg, rgba({r},{g},{b},{faint}), rgb({r},{g},{b}))"
    )


def selected_hexagons(event: Any, *, published: pd.Series) -> list[dict[str, Any]]:
    """Return the clicked hexagons that the view published (the map's selection event).

    The event comes from the browser: a made-up cell id (finer than the role may see, or one
    the gate held back) is dropped here, so it can never open a detail view.
    """
    selection = (event or {}).get("selection") or {}
    objects = selection.get("objects") or {}
    shown = set(published.tolist())
    out = []
    for obj in (o for layer in objects.values() for o in layer):
        try:
            cell = str_to_cell(str(obj.get("hex", "")))
        except FilterError:
            continue
        if cell in shown:
            out.append(obj)
    return out


def compact(deck: pdk.Deck) -> pdk.Deck:
    """Return ``deck`` serialising itself once, without indentation.

    pydeck indents and sorts its JSON, which forces Python's slow pure-Python encoder: for a
    town-wide view that was a third of a rerun's server time and a third of the bytes sent.
    """
    text = json.dumps(deck, default=default_serialize, separators=(",", ":"))
    deck.to_json = lambda: text
    return deck


# Gi* bins in the red-blue diverging palette hot spot maps use (ColorBrewer RdYlBu).
BIN_COLOURS = {
    3: (215, 48, 39),
    2: (252, 141, 89),
    1: (254, 224, 144),
    -1: (224, 243, 248),
    -2: (145, 191, 219),
    -3: (69, 117, 180),
}
BIN_NAMES = {
    3: "Hot spot, 99 %",
    2: "Hot spot, 95 %",
    1: "Hot spot, 90 %",
    -1: "Cold spot, 90 %",
    -2: "Cold spot, 95 %",
    -3: "Cold spot, 99 %",
}


def hex_layer(layer_id: str, data: list[dict[str, Any]], **style: Any) -> pdk.Layer:
    """Return a flat, pickable H3HexagonLayer of records with ``hex`` and ``color``; ``style``
    overrides the defaults (thin white outlines, filled)."""
    props: dict[str, Any] = {
        "get_hexagon": "hex",
        "get_fill_color": "color",
        "get_line_color": [255, 255, 255, 80],
        "line_width_min_pixels": 1,
        "stroked": True,
        "filled": True,
        "extruded": False,
        "pickable": True,
        "auto_highlight": True,
    }
    return pdk.Layer("H3HexagonLayer", id=layer_id, data=data, **(props | style))


def hotspot_deck(
    cells: pd.DataFrame,
    *,
    names: dict[int, str] | None = None,
    view: MapView,
    wards: list[pdk.Layer],
    basemap: str | None,
    dark: bool,
) -> pdk.Deck:
    """Return the hotspot map: significant hexagons by bin, newly active ones outlined, the
    emerging pattern and figures in the tooltip. ``cells`` is a report's (int64 cells)."""
    rows = cells[(cells["bin"] != 0) | cells["newly_active"]]
    ids = cells_to_str(rows["cell"].tolist())
    records = [
        {
            "hex": h,
            "bin": BIN_NAMES.get(int(b), "Not significant"),
            "emerging": e or "not judged",
            "value": round(float(v)),
            "newly": "yes" if n else "no",
            "near": html.escape((names or {}).get(int(c)) or "no street named nearby"),
            "color": [*BIN_COLOURS.get(int(b), (128, 128, 128)), 215 if b else 0],
        }
        for h, c, b, e, v, n in zip(
            ids,
            rows["cell"],
            rows["bin"],
            rows["category"],
            rows["value"],
            rows["newly_active"],
            strict=True,
        )
    ]
    outline = [200, 255, 0, 255] if dark else [20, 20, 20, 255]
    layers = [
        hex_layer("hex-hotspots", records, get_line_color=[255, 255, 255, 90]),
        hex_layer(
            "hex-newly-active",
            [r for r in records if r["newly"] == "yes"],
            get_line_color=outline,
            line_width_min_pixels=3,
            filled=False,
            pickable=False,
            auto_highlight=False,
        ),
        *wards,
    ]
    tooltip = (
        "<b>{bin}</b>, {near}<br/>emerging: {emerging}<br/>figure shown: {value}"
        "<br/>newly active: {newly}"
    )
    return deck_of(layers, view=view, tooltip=tooltip, dark=dark, basemap=basemap)


def hotspot_legend_html(compared_months: int) -> str:
    """Return the hotspot map's legend: the six bins and the newly active outline."""
    parts = [
        _swatch("background:rgb({},{},{});border:1px solid #888".format(*BIN_COLOURS[b]))
        + BIN_NAMES[b]
        for b in (3, 2, 1, -1, -2, -3)
    ]
    parts.append(
        _swatch("border:3px solid currentColor")
        + f"newly active (none of the {compared_months} months before)"
    )
    return "<div style='font-size:0.85em'>" + "".join(parts) + "</div>"


FORECAST_COLOUR = (118, 42, 131)  # purple: apart from every layer's hue
BAND_TITLES = {
    "evening": "evening 18:00-22:00",
    "late": "late 22:00-02:00",
    "small_hours": "small hours 02:00-06:00",
}


def forecast_layer(cells: pd.DataFrame, *, dark: bool) -> pdk.Layer:
    """Return the "expected" layer: each shown hexagon's chance of at least one outreach
    contact or incident in the band, outlined, the likelier the more opaque."""
    r, g, b = FORECAST_COLOUR
    records = []
    for key, rows in cells.groupby("cell", sort=False):
        cell = int(str(key))
        text = ", ".join(
            f"{LAYER_TITLES[layer].split(' (')[0].lower()} {chance:.0%}"
            for layer, chance in zip(rows["layer"], rows["chance"], strict=True)
        )
        top = float(rows["chance"].max())
        records.append(
            {
                "hex": cells_to_str([cell])[0],
                "layer": "Expected (forecast)",
                "value": f"chance of at least one: {text}",
                "res": int(cell_resolutions([cell])[0]),
                "protection": "a forecast, shown where at least k people were seen in the "
                "12 weeks before",
                "color": [r, g, b, int(70 + 170 * min(top * 1.5, 1.0))],
            }
        )
    return hex_layer(
        "hex-forecast",
        records,
        get_line_color=[222, 190, 255, 255] if dark else [84, 20, 110, 255],
        line_width_min_pixels=3,
    )


def forecast_legend_html(night: str, band: str) -> str:
    """Return the legend line of the "expected" layer."""
    return (
        f"<div style='font-size:0.85em'>{_ramp(FORECAST_COLOUR, 0.2)}"
        f"Expected on the night of {night}, "
        f"{BAND_TITLES.get(band, band)}: outlined hexagons, chance of at least one outreach "
        "contact or incident (more solid: likelier); the night's figures dimmed beneath</div>"
    )


def hotspot_view(cells: pd.DataFrame, *, margin: float = 0.015) -> MapView | None:
    """Return a view that opens on the significant and newly active hexagons (with a margin
    of about 1.5 km, for the streets around), or None when there are none."""
    rows = cells[(cells["bin"] != 0) | cells["newly_active"]]
    if rows.empty:
        return None
    lon, lat = np.array(
        [point for cell in rows["cell"].tolist() for point in cell_boundary(int(cell))]
    ).T
    bounds = (lon.min() - margin, lat.min() - margin, lon.max() + margin, lat.max() + margin)
    return fit_view(bounds, width=300, height=300)  # fits a phone's map; context on a desktop
