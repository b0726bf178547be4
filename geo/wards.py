"""Wards (or any named areas): which area each H3 cell's centre falls in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from geo.hexes import cell_centres


@dataclass(frozen=True)
class Areas:
    """Named polygons in WGS84 (lon, lat), e.g. a town's electoral wards."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    geometries: tuple[BaseGeometry, ...]

    def name_of(self, code: str) -> str:
        """Return the area's name."""
        return self.names[self.codes.index(code)]

    def of_cells(self, cells: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """Return the code of the area holding each cell's centre (None outside every area)."""
        lat, lon = cell_centres(cells)
        out = np.full(lat.shape, None, dtype=object)
        tree = shapely.STRtree(list(self.geometries))
        points = shapely.points(lon, lat)
        point_idx, area_idx = tree.query(points, predicate="within")
        out[point_idx] = np.asarray(self.codes, dtype=object)[area_idx]
        return out
