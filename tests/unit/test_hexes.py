"""H3 arithmetic the stores rely on: parents by bit arithmetic, descendants as id ranges."""

from __future__ import annotations

import duckdb
import h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import FilterError
from geo.hexes import (
    cell_to_str,
    cells_from_points,
    descendant_range,
    parent_cells,
    parent_sql,
    str_to_cell,
)

points = st.tuples(st.floats(50.85, 50.97), st.floats(-1.48, -1.33))


@settings(max_examples=200, deadline=None)
@given(point=points, res=st.integers(0, 10))
def test_parent_by_bits_equals_h3(point: tuple[float, float], res: int) -> None:
    cell = int(cells_from_points([point[0]], [point[1]], 10)[0])
    expected = h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), res))
    assert int(parent_cells([cell], res)[0]) == expected
    sql = duckdb.execute(f"SELECT {parent_sql(str(cell) + '::BIGINT', res)}").fetchall()
    assert sql == [(expected,)]


@settings(max_examples=100, deadline=None)
@given(point=points, other=points, res=st.integers(5, 10))
def test_descendant_range_holds_exactly_the_descendants(
    point: tuple[float, float], other: tuple[float, float], res: int
) -> None:
    cells = cells_from_points([point[0], other[0]], [point[1], other[1]], 10)
    parent = int(parent_cells(cells[:1], res)[0])
    low, high = descendant_range(parent, 10)
    inside = (cells >= low) & (cells <= high)
    assert inside.tolist() == (parent_cells(cells, res) == parent).tolist()


def test_cell_strings_round_trip_and_bad_ids_are_refused() -> None:
    cell = int(cells_from_points([50.9112], [-1.3931], 9)[0])
    assert str_to_cell(cell_to_str(cell)) == cell
    for bad in ("", "not-a-cell", "8a195910e027ffe"):
        with pytest.raises(FilterError, match="not an H3 cell"):
            str_to_cell(bad)
    assert np.array_equal(cells_from_points([], [], 9), np.empty(0, dtype=np.int64))
