"""The study area: which raw points a deployment accepts, and why a point is refused."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import h3
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from geo.hexes import check_resolution

# Reasons a point is refused, in the order they are tested.
POINT_OK = 0
POINT_INVALID = 1  # not a WGS84 coordinate at all
POINT_SWAPPED = 2  # outside, but inside once latitude and longitude are exchanged
POINT_OUTSIDE = 3

_GRID = 64  # cells per side of the raster that spares most points the polygon test
_MARGIN = 1e-9  # degrees; far more than the rounding in finding a point's raster cell
_CELL_INSIDE, _CELL_OUTSIDE, _CELL_MIXED = 1, 0, -1


@dataclass(frozen=True)
class StudyArea:
    """A deployment's boundary in WGS84 (lon, lat), e.g. one local authority district."""

    name: str
    geometry: BaseGeometry
    # GEOS builds a prepared geometry's index lazily, on first use, and two threads doing that
    # at once corrupt memory. Ingest seals two batches at once; the raster's predicates (built
    # once, under cached_property's lock) happen to warm the index first, but that is an
    # accident of the order of calls: the polygon tests take turns instead.
    _geos: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        shapely.prepare(self.geometry)

    def cells(self, res: int) -> npt.NDArray[np.int64]:
        """Return the H3 cells at ``res`` whose centre lies in the area, sorted (int64)."""
        check_resolution(res)
        parts = getattr(self.geometry, "geoms", [self.geometry])
        found: set[int] = set()
        for part in parts:
            if part.geom_type != "Polygon" or part.is_empty:
                continue
            found.update(h3.str_to_int(c) for c in h3.geo_to_cells(part, res))
        return np.array(sorted(found), dtype=np.int64)

    def classify(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Return one of the ``POINT_*`` codes for each point (vectorised)."""
        lat_a = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lon_a = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        codes = np.full(lat_a.shape, POINT_OUTSIDE, dtype=np.int8)
        valid = (
            np.isfinite(lat_a) & np.isfinite(lon_a) & (np.abs(lat_a) <= 90) & (np.abs(lon_a) <= 180)
        )
        codes[~valid] = POINT_INVALID
        # Bounding-box pre-filter: most of a force file is far away and needs no polygon test.
        minx, miny, maxx, maxy = self.geometry.bounds
        near = valid & (lon_a >= minx) & (lon_a <= maxx) & (lat_a >= miny) & (lat_a <= maxy)
        idx = np.flatnonzero(near)
        codes[idx[self._inside(lon_a[idx], lat_a[idx])]] = POINT_OK
        # Swapped coordinates: a latitude in the longitude column and vice versa.
        swapped_near = (
            (codes != POINT_OK)
            & np.isfinite(lat_a)
            & np.isfinite(lon_a)
            & (lat_a >= minx)
            & (lat_a <= maxx)
            & (lon_a >= miny)
            & (lon_a <= maxy)
        )
        sidx = np.flatnonzero(swapped_near)
        if sidx.size:
            codes[sidx[self._inside(lat_a[sidx], lon_a[sidx])]] = POINT_SWAPPED
        return codes

    def _inside(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """Return whether each point (within the bounding box) lies inside the area.

        Exactly ``shapely.contains_xy``, but only points in raster cells that straddle the
        boundary are tested against the polygon: the rest are decided by their cell.
        """
        cells = self._raster
        if cells is None or x.size == 0:
            return self._contains(x, y)
        minx, miny, maxx, maxy = self.geometry.bounds
        col = np.clip(((x - minx) / (maxx - minx) * _GRID).astype(np.int64), 0, _GRID - 1)
        row = np.clip(((y - miny) / (maxy - miny) * _GRID).astype(np.int64), 0, _GRID - 1)
        state = cells[row, col]
        inside: npt.NDArray[np.bool_] = state == _CELL_INSIDE
        mixed = np.flatnonzero(state == _CELL_MIXED)
        inside[mixed] = self._contains(x[mixed], y[mixed])
        return inside

    def _contains(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        with self._geos:
            return np.asarray(shapely.contains_xy(self.geometry, x, y), dtype=bool)

    @cached_property
    def _raster(self) -> npt.NDArray[np.int8] | None:
        """Classify a grid over the bounding box: cells wholly inside, wholly outside, or mixed.

        Each cell is widened by a margin before the test, so a point that rounding places in a
        neighbouring cell is still decided correctly. None when the area has no extent.
        """
        minx, miny, maxx, maxy = self.geometry.bounds
        if not (maxx > minx and maxy > miny):
            return None
        xs = np.linspace(minx, maxx, _GRID + 1)
        ys = np.linspace(miny, maxy, _GRID + 1)
        x0, y0 = np.meshgrid(xs[:-1], ys[:-1])
        x1, y1 = np.meshgrid(xs[1:], ys[1:])
        boxes = shapely.box(x0 - _MARGIN, y0 - _MARGIN, x1 + _MARGIN, y1 + _MARGIN)
        cells = np.full(boxes.shape, _CELL_MIXED, dtype=np.int8)
        with self._geos:
            cells[shapely.contains_properly(self.geometry, boxes)] = _CELL_INSIDE
            cells[shapely.disjoint(self.geometry, boxes)] = _CELL_OUTSIDE
        return cells

    def contains(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Return whether each point lies inside the area."""
        return np.asarray(self.classify(lat, lon) == POINT_OK, dtype=bool)


@dataclass(frozen=True)
class MapView:
    """Where a web map opens: its centre and Web Mercator zoom level."""

    latitude: float
    longitude: float
    zoom: float


def fit_view(
    bounds: tuple[float, float, float, float], *, width: int = 900, height: int = 600
) -> MapView:
    """Return the view that shows ``bounds`` (min lon, min lat, max lon, max lat) whole.

    ``width`` and ``height`` are the map's size in pixels; at zoom z the world is 256 * 2**z
    pixels wide (Web Mercator), so the zoom is whichever of the two spans fits, less a margin.
    """
    west, south, east, north = bounds
    if not (west <= east and south <= north and south > -90 and north < 90):
        raise ValueError(f"not a WGS84 bounding box: {bounds}")

    def mercator_y(lat: float) -> float:  # in degrees of longitude at the equator
        return float(np.degrees(np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))))

    zooms = []
    for span, pixels in ((east - west, width), (mercator_y(north) - mercator_y(south), height)):
        if span > 0:
            zooms.append(float(np.log2(pixels * 360 / (256 * span))))
    zoom = min(zooms) - 0.25 if zooms else _MAX_ZOOM  # a margin round the edge
    centre_y = (mercator_y(north) + mercator_y(south)) / 2
    centre_lat = float(np.degrees(2 * np.arctan(np.exp(np.radians(centre_y))) - np.pi / 2))
    return MapView(centre_lat, (west + east) / 2, round(min(max(zoom, 1.0), _MAX_ZOOM), 2))


_MAX_ZOOM = 16.0  # a street; a smaller area (or a point) opens here
