"""Naming hexagons from the place index: streets inside, else the nearest, else nothing."""

from __future__ import annotations

from time import perf_counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import FilterError
from geo.hexes import cell_centres, cells_from_points, parent_cells
from geo.places import NEAR_M, PLACE_RES, PlaceIndex, street_names

CENTRE = (50.9097, -1.4044)  # Southampton
M_PER_DEGREE_LAT = 111_200.0


def _cell(north_m: float = 0.0, east_m: float = 0.0, res: int = PLACE_RES) -> int:
    """The cell at ``res`` of a point so many metres north and east of CENTRE."""
    lat = CENTRE[0] + north_m / M_PER_DEGREE_LAT
    lon = CENTRE[1] + east_m / (M_PER_DEGREE_LAT * np.cos(np.radians(CENTRE[0])))
    return int(cells_from_points([lat], [lon], res)[0])


def _index(*rows: tuple[int, str, int]) -> PlaceIndex:
    return PlaceIndex(pd.DataFrame(rows, columns=["cell", "street", "n"]))


def test_police_uk_locations_become_street_names() -> None:
    given_ = pd.Series(
        [
            "On or near Derby Road",
            "on or near  St Mary's Street ",
            "Kent Street",
            "On or near Lord'S Hill Centre East",
            "On or near Supermarket",  # a kind of place, not a street
            "No Location",
            "",
            None,
        ]
    )
    assert street_names(given_).tolist() == [
        "Derby Road",
        "St Mary's Street",
        "Kent Street",
        "Lord's Hill Centre East",
        "",
        "",
        "",
        "",
    ]


def test_a_hexagon_is_named_by_the_two_best_ranked_streets_inside_it() -> None:
    hexagon = _cell(res=9)  # about 170 m across
    inside = [_cell(0, 0), _cell(20, 0), _cell(0, 25), _cell(-20, -10)]
    assert len(set(inside)) == 4
    assert set(parent_cells(inside, 9).tolist()) == {hexagon}
    index = _index(
        (inside[0], "Derby Road", 4),
        (inside[1], "Derby Road", 3),  # one street across two cells: 7 in all
        (inside[2], "St Mary's Street", 5),
        (inside[3], "Kent Street", 5),  # as many as St Mary's: the alphabet decides
        (_cell(2000, 0), "Far Road", 99),  # busier, but elsewhere
    )
    assert index.name(hexagon) == "near Derby Road, Kent Street"
    assert index.names([hexagon], prefix="") == ["Derby Road, Kent Street"]
    assert index.name(inside[2]) == "near St Mary's Street"  # the index cell itself


def test_a_hexagon_with_no_street_inside_is_named_by_the_nearest_close_by() -> None:
    index = _index((_cell(0, 0), "Derby Road", 2), (_cell(0, 240), "Kent Street", 9))
    near = _cell(0, 80)  # 80 m from Derby Road, 160 m from Kent Street
    assert index.name(near) == "near Derby Road"
    assert index.name(_cell(0, -NEAR_M + 60)) == "near Derby Road"
    assert index.name(_cell(0, -NEAR_M - 60)) == ""  # too far from any street to be "near"


def test_an_empty_index_names_nothing() -> None:
    index = PlaceIndex(pd.DataFrame({"cell": [], "street": [], "n": []}))
    assert index.names([_cell(res=9), _cell(res=12)]) == ["", ""]
    assert index.labels(5).empty


def test_hexagons_too_coarse_for_a_street_have_no_name() -> None:
    index = _index((_cell(), "Derby Road", 3))
    names = index.names([_cell(res=r) for r in range(4, 13)])
    assert names == ["", ""] + ["near Derby Road"] * 7  # resolutions 6 to 12


def test_the_index_takes_resolution_12_cells_only() -> None:
    with pytest.raises(FilterError, match="resolution 12 only"):
        _index((_cell(res=10), "Derby Road", 3))


def test_labels_are_the_main_streets_each_at_the_middle_of_its_cells() -> None:
    a, b, c = _cell(0, 0), _cell(0, 200), _cell(500, 0)
    index = _index((a, "Derby Road", 4), (b, "Derby Road", 4), (c, "Kent Street", 5))
    labels = index.labels(1)
    assert labels["street"].tolist() == ["Derby Road"]  # 8 rows in all, more than Kent's 5
    lat, lon = cell_centres([a, b])
    assert [labels["lon"][0], labels["lat"][0]] == pytest.approx([lon.mean(), lat.mean()])
    assert index.labels(5)["street"].tolist() == ["Derby Road", "Kent Street"]


_STREETS = ["Derby Road", "Kent Street", "St Mary's Street", "Chapel Road", "Marsh Lane"]
_PLACES = st.lists(
    st.tuples(st.integers(-1500, 1500), st.integers(-1500, 1500), st.sampled_from(_STREETS)).map(
        lambda t: (_cell(t[0], t[1]), t[2], 1 + abs(t[0]) % 7)
    ),
    max_size=40,
)
_ASKED = st.lists(
    st.tuples(st.integers(-2500, 2500), st.integers(-2500, 2500), st.integers(6, 12)).map(
        lambda t: _cell(t[0], t[1], t[2])
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(places=_PLACES, asked=_ASKED)
def test_a_name_depends_on_its_hexagon_alone(
    places: list[tuple[int, str, int]], asked: list[int]
) -> None:
    """Asked alone or among others, in any order, a hexagon gets the same name."""
    index = _index(*places)
    together = index.names(asked)
    assert together == [index.name(cell) for cell in asked]
    assert index.names(asked[::-1]) == together[::-1]
    assert _index(*places).names(asked) == together  # and a fresh index agrees


def test_a_town_of_hexagons_is_named_well_under_a_second() -> None:
    rng = np.random.default_rng(3)
    lat = CENTRE[0] + rng.uniform(-0.04, 0.04, 3000)  # about 9 km by 8 km
    lon = CENTRE[1] + rng.uniform(-0.06, 0.06, 3000)
    index = PlaceIndex(
        pd.DataFrame(
            {
                "cell": cells_from_points(lat, lon, PLACE_RES),
                "street": [f"Street {i % 900}" for i in range(lat.size)],
                "n": 1 + np.arange(lat.size) % 5,
            }
        )
    )
    asked = np.unique(cells_from_points(lat + 0.001, lon, 10))  # a town-wide view's hexagons
    start = perf_counter()
    names = index.names(asked)
    assert perf_counter() - start < 0.5
    assert len(names) == asked.size
    assert all(names)  # each within 300 m of a street
