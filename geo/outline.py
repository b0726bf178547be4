"""The outline of a set of areas (a town's wards): their union as one study area, no slivers.

Ward files are drawn ward by ward; where two files (or two surveys) meet, neighbouring wards
may leave a thin gap or a small hole between them that belongs to no ward. A study area with
such a sliver would refuse the records that fall in it, and those are often on the very street
the boundary follows. The outline closes gaps narrower than ``2 * gap_m`` and fills holes
smaller than ``hole_m2``; a larger hole (a district the wards surround but do not include) is
kept. Nothing of any ward is ever left out.

Distances are measured in an equirectangular projection about the areas' centre: metres to
within 1 % over a county, which is all a gap of a few metres needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

GAP_M = 2.0  # gaps narrower than twice this between areas are closed
HOLE_M2 = 10_000.0  # holes smaller than this (1 ha) left between areas are filled
_EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)
_MITRE_LIMIT = 10.0  # sharp corners keep their shape through the closing

_Coords = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]


def outline(
    areas: Iterable[BaseGeometry], *, gap_m: float = GAP_M, hole_m2: float = HOLE_M2
) -> Polygon | MultiPolygon:
    """Return the union of ``areas`` (WGS84 lon/lat), gaps and small holes between them closed.

    Parameters
    ----------
    areas
        Polygons or multipolygons; invalid ones are repaired first, and any part of them that
        is not a polygon (a stray line or point) is ignored.
    gap_m
        Gaps between areas narrower than twice this many metres are closed (a morphological
        closing with mitred corners, so the outline keeps its vertices). 0: none.
    hole_m2
        Holes smaller than this many square metres are filled. 0: none.

    Returns
    -------
    Polygon or MultiPolygon
        Contains every area whole, and nothing but them, the closed gaps and the filled holes.
    """
    if gap_m < 0 or hole_m2 < 0:
        raise ValueError(f"gap_m and hole_m2 must not be negative, got {gap_m} and {hole_m2}")
    polygons = _polygons(areas)
    if not polygons:
        raise ValueError("no polygons to outline")
    union = shapely.union_all(polygons)
    to_metres, to_degrees = _local_metres(union)
    metric = shapely.transform(union, to_metres)
    if gap_m > 0:
        closed = metric.buffer(gap_m, join_style="mitre", mitre_limit=_MITRE_LIMIT).buffer(
            -gap_m, join_style="mitre", mitre_limit=_MITRE_LIMIT
        )
        # Only what the closing added goes back to degrees: the areas' own vertices stay exact.
        union = shapely.union_all([union, shapely.transform(closed.difference(metric), to_degrees)])
    parts = _parts(union)
    if hole_m2 > 0:
        parts = [_without_small_holes(part, to_metres, hole_m2) for part in parts]
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def area_m2(geom: BaseGeometry) -> float:
    """Return the area of ``geom`` (WGS84 lon/lat) in square metres, to within 1 % over a county."""
    to_metres, _ = _local_metres(geom)
    return float(shapely.transform(geom, to_metres).area)


def _polygons(areas: Iterable[BaseGeometry]) -> list[Polygon]:
    """Return the non-empty polygons that make up ``areas``, each made valid."""
    found: list[Polygon] = []
    for area in areas:
        valid = area if area.is_valid else shapely.make_valid(area)
        for part in shapely.get_parts(valid):
            if isinstance(part, Polygon) and not part.is_empty:
                found.append(part)
            elif isinstance(part, MultiPolygon):  # make_valid may nest them in a collection
                found.extend(p for p in part.geoms if not p.is_empty)
    return found


def _parts(geom: BaseGeometry) -> list[Polygon]:
    """Return ``geom``'s polygons alone (an overlay may add a stray line where edges meet)."""
    return [p for p in shapely.get_parts(geom) if isinstance(p, Polygon)]


def _without_small_holes(polygon: Polygon, to_metres: _Coords, hole_m2: float) -> Polygon:
    """Return ``polygon`` with its holes of less than ``hole_m2`` (in metres) filled."""
    kept = [
        ring
        for ring in polygon.interiors
        if shapely.transform(Polygon(ring), to_metres).area >= hole_m2
    ]
    return polygon if len(kept) == len(polygon.interiors) else Polygon(polygon.exterior, kept)


def _local_metres(geom: BaseGeometry) -> tuple[_Coords, _Coords]:
    """Return functions from lon/lat to metres about ``geom``'s centre, and back."""
    minx, miny, maxx, maxy = geom.bounds
    lon0, lat0 = (minx + maxx) / 2, (miny + maxy) / 2
    per_degree_y = np.radians(1.0) * _EARTH_RADIUS_M
    per_degree_x = per_degree_y * np.cos(np.radians(lat0))

    def to_metres(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.column_stack(((xy[:, 0] - lon0) * per_degree_x, (xy[:, 1] - lat0) * per_degree_y))

    def to_degrees(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.column_stack((xy[:, 0] / per_degree_x + lon0, xy[:, 1] / per_degree_y + lat0))

    return to_metres, to_degrees
