"""H3 hexagon binning: the one place where cells change representation.

Inside the product a cell is a 64-bit integer (``int64`` in frames and stores); strings
appear only at the UI and export edge, converted by :func:`cell_to_str` and
:func:`str_to_cell`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import h3
import numpy as np
import numpy.typing as npt
from h3ronpy import vector as h3v

from geo.errors import FilterError

CellArray = npt.NDArray[np.int64]

MIN_RES = 0
MAX_RES = 15

# The H3 index layout (the one statement of it): bits 52-55 hold the resolution, bits 45-51 the
# base cell, then 3 bits a digit per resolution from the top, unused digits (finer than the
# cell's resolution) set to 7. Below CELL_BITS a cell's base cell and digits name it among the
# cells of one resolution, so a key can sit above them in the same int64.
CELL_BITS = 52
CELL_MASK = (1 << CELL_BITS) - 1
_RES_SHIFT = CELL_BITS
_RES_MASK = 0xF << _RES_SHIFT


def check_resolution(res: int, *, finest: int = MAX_RES, coarsest: int = MIN_RES) -> int:
    """Return ``res`` if it is a whole H3 resolution in ``[coarsest, finest]``; raise otherwise."""
    if isinstance(res, bool) or not isinstance(res, int | np.integer):
        raise FilterError(f"resolution must be a whole number, got {type(res).__name__} {res!r}")
    if not coarsest <= int(res) <= finest:
        raise FilterError(f"resolution must be between {coarsest} and {finest}, got {res}")
    return int(res)


def cells_from_points(lat: npt.ArrayLike, lon: npt.ArrayLike, res: int) -> CellArray:
    """Return the H3 cell (int64) at ``res`` of each point, vectorised.

    Points must be valid WGS84 coordinates; callers validate ranges first.
    """
    check_resolution(res)
    lat_a = np.ascontiguousarray(lat, dtype=np.float64)
    lon_a = np.ascontiguousarray(lon, dtype=np.float64)
    if lat_a.size == 0:
        return np.empty(0, dtype=np.int64)
    cells = np.asarray(h3v.coordinates_to_cells(lat_a, lon_a, res))
    return cells.astype(np.int64, copy=False)


def parent_cells(cells: npt.ArrayLike, res: int) -> CellArray:
    """Return each cell's parent at ``res`` (which must not be finer than the cells)."""
    check_resolution(res)
    arr = np.asarray(cells, dtype=np.int64)
    return (arr & np.int64(~_RES_MASK)) | np.int64(res << _RES_SHIFT) | np.int64(_digit_mask(res))


def parent_sql(column: str, res: int) -> str:
    """Return a SQL expression (DuckDB and PostgreSQL alike) for ``column``'s parent at ``res``.

    The same bit arithmetic as :func:`parent_cells`, so both engines group identically without
    an H3 extension in the database.
    """
    check_resolution(res)
    clear = ~_RES_MASK  # a negative int64: keeps every bit but the resolution nibble
    return f"(({column} & ({clear})) | {res << _RES_SHIFT} | {_digit_mask(res)})"


def descendant_range(cell: int, res: int) -> tuple[int, int]:
    """Return (lowest, highest) ids that ``cell``'s descendants at ``res`` can have.

    The range is inclusive and exact for valid cells: every descendant lies in it, and no
    valid cell at ``res`` outside ``cell`` does (digits below the parent's level run 0-6), so a
    B-tree on the cell column answers "inside this hexagon" with one range scan.
    """
    parent_res = int(cell_resolutions([cell])[0])
    check_resolution(res, coarsest=parent_res)
    shift = 3 * (MAX_RES - res)
    levels = res - parent_res
    base = (int(cell) & ~_RES_MASK) | (res << _RES_SHIFT)
    low = base & ~(((1 << (3 * levels)) - 1) << shift)
    high = low | sum(6 << (shift + 3 * i) for i in range(levels))
    return low, high


def _digit_mask(res: int) -> int:
    return (1 << (3 * (MAX_RES - res))) - 1


def cell_resolutions(cells: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Return the resolution of each cell."""
    arr = np.asarray(cells, dtype=np.int64)
    return ((arr >> _RES_SHIFT) & 0xF).astype(np.int8)


def cell_centres(cells: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return (lat, lon) of each cell's centre; computed once per distinct cell."""
    arr = np.asarray(cells, dtype=np.int64)
    uniq, inverse = np.unique(arr, return_inverse=True)
    lat = np.empty(uniq.size, dtype=np.float64)
    lon = np.empty(uniq.size, dtype=np.float64)
    for i, cell in enumerate(uniq.tolist()):
        lat[i], lon[i] = h3.cell_to_latlng(h3.int_to_str(cell))
    return lat[inverse], lon[inverse]


def cell_to_str(cell: int) -> str:
    """Return the H3 string form of an int64 cell (the UI and export edge)."""
    return str(h3.int_to_str(int(cell)))


def cells_to_str(cells: Iterable[int]) -> list[str]:
    """Return the H3 string form of each int64 cell."""
    return [cell_to_str(c) for c in cells]


def str_to_cell(text: str) -> int:
    """Return the int64 form of an H3 cell string; raise :class:`FilterError` if it is not one."""
    text = text.strip().lower()
    try:
        valid = bool(h3.is_valid_cell(text))
    except (ValueError, TypeError, h3.H3BaseException):
        valid = False
    if not valid:
        raise FilterError(f"{text!r} is not an H3 cell id")
    return int(h3.str_to_int(text))


def cell_boundary(cell: int) -> Sequence[tuple[float, float]]:
    """Return the cell's polygon ring as (lon, lat) pairs, closed, for GeoJSON."""
    ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(int(cell)))]
    ring.append(ring[0])
    return ring
