"""The study area: points inside it, outside it, with latitude and longitude swapped, or invalid."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.area import POINT_INVALID, POINT_OK, POINT_OUTSIDE, POINT_SWAPPED, fit_view
from streetsafe.deployment import load_study_area
from streetsafe.resources import data_file
from streetsafe.settings import Settings

BOUNDARY = data_file("boundaries", "southampton_lad20_E06000045.geojsonl")


def test_points_are_classified_inside_outside_swapped_or_invalid() -> None:
    area = load_study_area(BOUNDARY)
    codes = area.classify([50.9097, 51.5074, -1.4044, 95.0], [-1.4044, -0.1278, 50.9097, 0.0])
    assert codes.tolist() == [POINT_OK, POINT_OUTSIDE, POINT_SWAPPED, POINT_INVALID]


def _pixels(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel coordinates of a point at ``zoom``."""
    scale = 256 * 2**zoom / (2 * math.pi)
    return scale * math.radians(lon), scale * math.log(
        math.tan(math.pi / 4 + math.radians(lat) / 2)
    )


@given(
    west=st.floats(-10, 10),
    south=st.floats(40, 60),
    width=st.floats(0.001, 3),
    height=st.floats(0.001, 2),
)
def test_a_map_view_shows_the_whole_area_and_not_much_more(
    west: float, south: float, width: float, height: float
) -> None:
    bounds = (west, south, west + width, south + height)
    view = fit_view(bounds, width=900, height=600)
    cx, cy = _pixels(view.longitude, view.latitude, view.zoom)
    corners = [_pixels(lon, lat, view.zoom) for lon in bounds[::2] for lat in bounds[1::2]]
    # every corner inside the 900 x 600 map centred on the view
    assert all(abs(x - cx) <= 450 + 1e-6 and abs(y - cy) <= 300 + 1e-6 for x, y in corners)
    if view.zoom < 16:  # and the area fills most of one side
        spread = max(
            max(abs(x - cx) for x, _ in corners) / 450, max(abs(y - cy) for _, y in corners) / 300
        )
        assert spread > 0.8


def test_a_map_view_of_southampton_and_of_a_point() -> None:
    view = fit_view(load_study_area(Settings.from_env({}).study_area).geometry.bounds)
    assert (round(view.latitude, 2), round(view.longitude, 2)) == (50.92, -1.4)
    assert 12 <= view.zoom <= 13
    assert fit_view((-1.4, 50.9, -1.4, 50.9)).zoom == 16
    with pytest.raises(ValueError, match="bounding box"):
        fit_view((1.0, 50.0, 0.0, 51.0))
