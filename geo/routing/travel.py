"""Travel between places for the route planner: whole minutes and metres, all to all.

:class:`StraightLine` estimates them from the straight-line distance times a detour factor at a
set speed, and says so in its label wherever the times are shown. A road-network matrix
(pgRouting on the PostGIS engine, for a deployment that loads a road network) is another
:class:`TravelTimes`: nothing else in the planner changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from geo.errors import FilterError

_EARTH_M = 6_371_000.0


class TravelTimes(Protocol):
    """Travel between places: whole minutes and metres, every place to every other."""

    @property
    def label(self) -> str:
        """How the times are made, as a user should read them ("estimate: ...")."""
        ...

    def between(
        self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Return (minutes, metres): square matrices, place ``i`` to place ``j``."""
        ...


@dataclass(frozen=True)
class StraightLine:
    """Travel estimated from the straight line: metres x ``detour`` at ``kmh``.

    Streets are not straight: a detour factor of about 1.3 is typical of a town's grid. Times
    are rounded up to whole minutes, so a stop next door still costs a minute.
    """

    kmh: float
    detour: float = 1.3
    mode: str = "foot"

    def __post_init__(self) -> None:
        if not (0 < self.kmh <= 120):
            raise FilterError(
                f"a {self.mode} speed is above 0 and at most 120 km/h, not {self.kmh}"
            )
        if not (1.0 <= self.detour <= 3.0):
            raise FilterError(f"the detour factor is 1 to 3, not {self.detour}")

    @property
    def label(self) -> str:
        return (
            f"estimate: the straight line x {self.detour:g} (detour) by {self.mode} at "
            f"{self.kmh:g} km/h, not a road network"
        )

    def between(
        self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        metres = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :]) * self.detour
        minutes = np.ceil(metres / (self.kmh * 1000.0 / 60.0) - 1e-9).astype(np.int64)
        return np.maximum(minutes, 0), metres


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle metres between points (arrays broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * _EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=np.float64)
