"""The study area: which raw points a deployment accepts, and why a point is refused."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

# Reasons a point is refused, in the order they are tested.
POINT_OK = 0
POINT_INVALID = 1  # not a WGS84 coordinate at all
POINT_SWAPPED = 2  # outside, but inside once latitude and longitude are exchanged
POINT_OUTSIDE = 3


@dataclass(frozen=True)
class StudyArea:
    """A deployment's boundary in WGS84 (lon, lat), e.g. one local authority district."""

    name: str
    geometry: BaseGeometry

    def __post_init__(self) -> None:
        shapely.prepare(self.geometry)

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
        inside = shapely.contains_xy(self.geometry, lon_a[idx], lat_a[idx])
        codes[idx[inside]] = POINT_OK
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
            swapped_inside = shapely.contains_xy(self.geometry, lat_a[sidx], lon_a[sidx])
            codes[sidx[swapped_inside]] = POINT_SWAPPED
        return codes

    def contains(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Return whether each point lies inside the area."""
        return np.asarray(self.classify(lat, lon) == POINT_OK, dtype=bool)
