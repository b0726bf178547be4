"""The outline of a set of wards: their union, slivers between neighbours closed, nothing lost.

Areas are checked on the ellipsoid (pyproj's geodesic area), not with the module's own
projection, so the test does not grade its own arithmetic.
"""

from __future__ import annotations

import json

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

from geo.outline import area_m2, outline
from tests.conftest import ROOT

GEOD = Geod(ellps="WGS84")
LON0, LAT0 = -1.88, 50.72  # Bournemouth
M_PER_DEG_LAT = 111_200.0
M_PER_DEG_LON = M_PER_DEG_LAT * 0.6327  # cos(50.72°)
SOUTHAMPTON = ROOT / "data" / "boundaries" / "southampton_wards_WD13_E06000045.geojson"


def geodesic_m2(geom: BaseGeometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def square(x: float, y: float, side: float) -> Polygon:
    """A square ``side`` metres wide, its south-west corner ``x``, ``y`` metres from LON0, LAT0."""
    return box(
        LON0 + x / M_PER_DEG_LON,
        LAT0 + y / M_PER_DEG_LAT,
        LON0 + (x + side) / M_PER_DEG_LON,
        LAT0 + (y + side) / M_PER_DEG_LAT,
    )


def southampton_wards() -> list[BaseGeometry]:
    doc = json.loads(SOUTHAMPTON.read_text(encoding="utf-8"))
    return [shape(f["geometry"]) for f in doc["features"]]


def holes(geom: BaseGeometry) -> int:
    return sum(len(p.interiors) for p in shapely.get_parts(geom))


def test_neighbouring_wards_make_one_polygon_of_their_summed_area() -> None:
    wards = southampton_wards()
    area = outline(wards)
    assert area.geom_type == "Polygon"
    assert holes(area) == 0
    summed = sum(geodesic_m2(w) for w in wards)
    assert geodesic_m2(area) == pytest.approx(summed, rel=1e-3)
    assert all(w.difference(area).area < 1e-12 for w in wards)  # nothing of a ward left out


def test_a_sliver_between_neighbours_is_closed_and_a_real_gap_kept() -> None:
    west = square(0, 0, 500)
    sliver = outline([west, square(501, 0, 500)])  # a 1 m gap, as two surveys leave
    assert isinstance(sliver, Polygon)
    assert geodesic_m2(sliver) > 2 * geodesic_m2(west) + 400  # the 1 m x 500 m gap filled
    apart = outline([west, square(520, 0, 500)])  # 20 m: a river between two districts
    assert isinstance(apart, MultiPolygon)
    assert len(apart.geoms) == 2


def test_a_small_hole_between_wards_is_filled_and_a_large_one_kept() -> None:
    def frame(side: float, hole: float) -> list[Polygon]:
        """Four wards (west, east, south, north strips) round a square hole ``hole`` metres wide."""
        edge = (side - hole) / 2
        whole = square(0, 0, side)
        inner = square(edge, edge, hole)
        minx, miny, maxx, maxy = whole.bounds
        ix0, iy0, ix1, iy1 = inner.bounds
        return [
            box(minx, miny, ix0, maxy),
            box(ix1, miny, maxx, maxy),
            box(ix0, miny, ix1, iy0),
            box(ix0, iy1, ix1, maxy),
        ]

    small = outline(frame(300, 50))  # 0.25 ha: what a sliver between wards may leave
    assert holes(small) == 0
    assert geodesic_m2(small) == pytest.approx(geodesic_m2(square(0, 0, 300)), rel=1e-3)
    large = outline(frame(3000, 1000))  # 100 ha: a district the wards surround
    assert holes(large) == 1
    assert holes(outline(frame(300, 50), hole_m2=0)) == 1


def test_invalid_and_stray_geometries_are_repaired_or_ignored() -> None:
    bow_tie = Polygon([(-1.88, 50.72), (-1.87, 50.73), (-1.87, 50.72), (-1.88, 50.73)])
    stray = shapely.LineString([(-1.9, 50.7), (-1.89, 50.71)])
    area = outline([bow_tie, stray, square(2000, 0, 100)])
    assert area.is_valid
    assert isinstance(area, MultiPolygon)
    assert len(area.geoms) == 3  # the bow tie's two triangles and the square
    with pytest.raises(ValueError, match="no polygons"):
        outline([stray])
    with pytest.raises(ValueError, match="must not be negative"):
        outline([bow_tie], gap_m=-1)


def test_the_area_in_square_metres_agrees_with_the_ellipsoid() -> None:
    wards = southampton_wards()
    assert area_m2(outline(wards)) == pytest.approx(geodesic_m2(outline(wards)), rel=0.01)


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(16)))
def test_the_outline_does_not_depend_on_the_order_of_the_wards(order: list[int]) -> None:
    wards = southampton_wards()
    once = outline(wards)
    again = outline([wards[i] for i in order])
    assert once.symmetric_difference(again).area < 1e-12
