"""The study area: points inside it, outside it, with latitude and longitude swapped, or invalid."""

from __future__ import annotations

from geo.area import POINT_INVALID, POINT_OK, POINT_OUTSIDE, POINT_SWAPPED
from ingest.context import load_study_area
from ingest.settings import DATA_DIR

BOUNDARY = DATA_DIR / "boundaries" / "southampton_lad20_E06000045.geojsonl"


def test_points_are_classified_inside_outside_swapped_or_invalid() -> None:
    area = load_study_area(BOUNDARY)
    codes = area.classify([50.9097, 51.5074, -1.4044, 95.0], [-1.4044, -0.1278, 50.9097, 0.0])
    assert codes.tolist() == [POINT_OK, POINT_OUTSIDE, POINT_SWAPPED, POINT_INVALID]
