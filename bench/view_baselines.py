"""What a GIS user would write instead of the count cube, timed against it in the same run.

1. **geopandas**: fetch the filtered points, ``sjoin`` them into H3 hexagon polygons covering the
   study area, ``groupby`` the hexagon (no privacy protection at all).
2. **PostGIS**: ``ST_HexagonGrid`` over the study area and ``ST_Contains`` against the points'
   GiST index, grouped by hexagon (PostGIS engine only).

Both count the same records as the product's published view for the typical filter (22-04,
Friday and Saturday nights, last 3 months, resolution 8); the product's time includes the
privacy gate. The geopandas baseline is given the filtered points by the store's own indexed
night and time-of-night columns, so it spends its time on the join, not on finding them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import geopandas as gpd
import h3
import pandas as pd
import shapely

from bench.view_bench import typical_filters
from geo.aggregate import CubeFilter
from geo.hexes import cell_centres, cells_to_str, parent_sql
from store import ResidentViews, Store
from store._queries import where
from streetsafe.policies import load_policies
from streetsafe.settings import DEFAULT_RESIDENT_ROWS
from streetsafe.views import published_view, restrict


def _hexagons(store: Store, res: int) -> gpd.GeoDataFrame:
    """H3 hexagon polygons covering every cell that holds a record (built once, not timed)."""
    cells = store.query(f"SELECT DISTINCT {parent_sql('cell', res)} AS c FROM records")["c"]
    strings = cells_to_str(cells.tolist())
    polygons = [
        shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(s)]) for s in strings
    ]
    return gpd.GeoDataFrame({"hex": strings}, geometry=polygons, crs=4326)


def geopandas_sjoin(store: Store, f: CubeFilter, hexagons: gpd.GeoDataFrame) -> pd.DataFrame:
    """Fetch the filtered points, join them into the hexagons, count per hexagon and layer."""
    clause, params = where(f, storage_res=store.storage_res)
    rows = store.query(f"SELECT layer, cell FROM records WHERE {clause}", params)
    lat, lon = cell_centres(rows["cell"].to_numpy())
    points = gpd.GeoDataFrame(rows[["layer"]], geometry=gpd.points_from_xy(lon, lat), crs=4326)
    joined = gpd.sjoin(points, hexagons, predicate="within")
    counts: pd.DataFrame = joined.groupby(["hex", "layer"]).size().reset_index(name="n")
    return counts


HEXAGON_GRID_SQL = """
WITH area AS (SELECT ST_Transform(ST_Envelope(ST_Collect(geom)), 27700) AS g FROM cells),
grid AS (
  SELECT h.i, h.j, ST_Transform(h.geom, 4326) AS geom
  FROM area, ST_HexagonGrid(%(size)s, area.g) AS h
)
SELECT grid.i, grid.j, r.layer, count(*) AS n
FROM grid JOIN cells c ON ST_Contains(grid.geom, c.geom) JOIN records r ON r.cell = c.cell
WHERE {where}
GROUP BY grid.i, grid.j, r.layer
"""


def hexagon_grid(store: Store, f: CubeFilter) -> pd.DataFrame:
    """PostGIS: ST_HexagonGrid (about H3 resolution 8's size) with ST_Contains."""
    clause, params = where(f, storage_res=store.storage_res)
    # H3 res 8 hexagons have ~461 m edges; ST_HexagonGrid's size is the edge length in metres.
    # The filter's columns exist only in records, so they need no table prefix in the join.
    return store.query(HEXAGON_GRID_SQL.replace("%(size)s", "461").format(where=clause), params)


def _median_ms(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def compare(store: Store, *, repeats: int = 7) -> dict[str, float]:
    """Return median milliseconds of the product's view and of each baseline.

    The product's view is timed as a user meets it: the first view after new data (which loads
    the records into memory, see ``Store.cube``), then views answered from memory; and, for
    comparison, the same view answered by the store's SQL alone.
    """
    policy = load_policies()["police_npt"]
    last = date.fromisoformat(
        str(store.query("SELECT max(night) AS d FROM records")["d"].iloc[0])[:10]
    )
    f = restrict(typical_filters(last)[0], policy)
    hexagons = _hexagons(store, 8)

    with ResidentViews(store, max_rows=DEFAULT_RESIDENT_ROWS) as resident:

        def view() -> None:
            published_view(resident, policy, f, res=8)

        first = _median_ms(view, 1)
        out = {
            "first_view_ms": first,
            "published_view_ms": _median_ms(view, repeats),
            "geopandas_sjoin_ms": _median_ms(lambda: geopandas_sjoin(store, f, hexagons), repeats),
        }
    # the store's SQL alone
    out["sql_view_ms"] = _median_ms(lambda: published_view(store, policy, f, res=8), repeats)
    if store.engine == "postgis":
        out["st_hexagongrid_ms"] = _median_ms(lambda: hexagon_grid(store, f), repeats)
    return out
