"""Published views as files: GeoJSON (hexagon polygons) or CSV (H3 cell ids)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geo.hexes import cell_boundary, cells_to_str
from geo.privacy import PublishedView

EXPORT_COLUMNS = ("cell", "resolution", "layer", "value", "protection")


def view_table(view: PublishedView) -> pd.DataFrame:
    """Return the view as a table with H3 strings: the CSV export and the dashboard's table.

    A partner's view also names the releases it sums, in a ``release`` column.
    """
    cells = view.cells
    out = cells.loc[:, [c for c in cells.columns if c != "cell"]].copy()
    out.insert(0, "cell", cells_to_str(cells["cell"].tolist()) if len(cells) else [])
    if view.release is not None:
        out["release"] = view.release
    first = [c for c in EXPORT_COLUMNS if c in out.columns]
    return out.loc[:, first + [c for c in out.columns if c not in first]]


def view_geojson(view: PublishedView) -> dict[str, Any]:
    """Return the view as a GeoJSON FeatureCollection of hexagon polygons."""
    table = view_table(view)
    features = []
    for cell, row in zip(view.cells["cell"].tolist(), table.to_dict("records"), strict=True):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [list(cell_boundary(cell))]},
                "properties": {k: _plain(v) for k, v in row.items()},
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        # nothing about what was held back: an exact count of it is a disclosure
        "properties": {"role": view.role, "release": view.release, "notes": view.notes},
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
