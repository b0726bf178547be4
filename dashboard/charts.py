"""Charts of protected counts: one colour per layer (the map's), the night in order, both themes."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.mapping import LAYER_COLOURS, LAYER_TITLES, LAYER_UNITS

# The night runs from noon to noon: 18:00 … 06:00 read left to right, midnight in the middle.
NIGHT_ORDER = [*range(12, 24), *range(12)]
DARK = {"background": "#0e1117", "text": "#e6e8eb", "grid": "#2c313c"}


def low_light() -> bool:
    """Whether the low-light switch is on in this session."""
    return bool(st.session_state.get("dark"))


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def layer_scale(layers: Sequence[str]) -> alt.Scale:
    """The colour of each of ``layers``' titles: the map's colour of that layer."""
    shown = [layer for layer in LAYER_TITLES if layer in set(layers)]
    return alt.Scale(
        domain=[LAYER_TITLES[layer] for layer in shown],
        range=[_hex(LAYER_COLOURS[layer]) for layer in shown],
    )


def bar_chart(
    frame: pd.DataFrame, x: str, title: str, sort: Sequence[str] | Sequence[float] | None = None
) -> alt.Chart:
    """Return bars of ``frame``'s ``value`` by ``x``, side by side per layer, in the layers'
    map colours, styled for the session's theme."""
    data = frame.assign(
        layer=frame["layer"].map(LAYER_TITLES),
        unit=frame["layer"].map(LAYER_UNITS),
    )
    chart = (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:O", sort=sort, title=None),
            y=alt.Y("value:Q", title="protected count"),
            color=alt.Color(
                "layer:N", title=None, scale=layer_scale(frame["layer"].unique().tolist())
            ),
            xOffset="layer:N",
            tooltip=["layer", x, "value", "unit", "protection"],
        )
        .properties(height=260)
    )
    return themed(chart)


def themed(chart: alt.Chart) -> alt.Chart:
    """Return ``chart`` in the low-light theme's colours when the switch is on."""
    if not low_light():
        return chart
    text, grid = DARK["text"], DARK["grid"]
    styled: alt.Chart = (
        chart.configure(background=DARK["background"])
        .configure_axis(labelColor=text, titleColor=text, gridColor=grid, domainColor=grid)
        .configure_legend(labelColor=text, titleColor=text)
        .configure_title(color=text)
        .configure_view(stroke=grid)
    )
    return styled


def show(chart: alt.Chart) -> None:
    """Draw ``chart`` (Streamlit's own styling only in the light theme)."""
    st.altair_chart(chart, width="stretch", theme=None if low_light() else "streamlit")
