"""Published views as files: GeoJSON (hexagon polygons) or CSV (H3 cell ids)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geo.hexes import cell_boundary, cells_to_str
from geo.places import PlaceIndex
from geo.privacy import PublishedView

EXPORT_COLUMNS = ("cell", "resolution", "layer", "value", "protection")


def view_table(view: PublishedView, *, places: PlaceIndex | None = None) -> pd.DataFrame:
    """Return the view as a table with H3 strings: the CSV export and the dashboard's table.

    A partner's view also names the releases it sums, in a ``release`` column; with
    ``places``, a last column ``near`` names each hexagon's streets (see geo/places.py).
    """
    cells = view.cells
    out = cells.loc[:, [c for c in cells.columns if c != "cell"]].copy()
    out.insert(0, "cell", cells_to_str(cells["cell"].tolist()) if len(cells) else [])
    if view.release is not None:
        out["release"] = view.release
    first = [c for c in EXPORT_COLUMNS if c in out.columns]
    out = out.loc[:, first + [c for c in out.columns if c not in first]]
    return with_names(out, cells["cell"], places)


def view_geojson(view: PublishedView, *, places: PlaceIndex | None = None) -> dict[str, Any]:
    """Return the view as a GeoJSON FeatureCollection of hexagon polygons (with ``places``,
    each hexagon's streets as its ``near`` property)."""
    # nothing about what was held back: an exact count of it is a disclosure
    properties = {"role": view.role, "release": view.release, "notes": view.notes}
    table = view_table(view, places=places)
    return cells_geojson(view.cells["cell"].tolist(), table, properties)


def with_names(table: pd.DataFrame, cells: pd.Series, places: PlaceIndex | None) -> pd.DataFrame:
    """Return ``table`` with a last column ``near``: the streets of each of ``cells`` (int64,
    in the table's order), "" where none is near; ``table`` unchanged without ``places``.

    A name depends on its hexagon and the public place index alone, never on the figures.
    """
    if places is None:
        return table
    return table.assign(near=places.names(cells.to_numpy(dtype="int64"), prefix=""))


def cells_geojson(
    cells: list[int], table: pd.DataFrame, properties: dict[str, Any]
) -> dict[str, Any]:
    """Return a FeatureCollection of the hexagons ``cells``, each with its row of ``table``
    as properties, and ``properties`` for the collection."""
    features = []
    for cell, row in zip(cells, table.to_dict("records"), strict=True):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [list(cell_boundary(cell))]},
                "properties": {k: _plain(v) for k, v in row.items()},
            }
        )
    return {"type": "FeatureCollection", "features": features, "properties": properties}


def with_cell_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with its int64 ``cell`` column as H3 strings (the export edge)."""
    out = frame.copy()
    out["cell"] = cells_to_str(frame["cell"].tolist()) if len(frame) else []
    return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
