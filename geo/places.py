"""Names for hexagons from a place index of public street names: "near Derby Road".

A hexagon on the map means more to a night-van driver as "near Derby Road, St Mary's Street"
than as ``89195da49b7ffff``. A name is safe only if it says nothing a shown hexagon does not,
and this module is built so:

- **The index is public, and apart from the records.** It holds the streets police.uk publishes
  with its street-level crime files (each row's snap point is one of police.uk's anonymous map
  points, already public, chosen for many crimes at once) and the deployment's gazetteer (its
  own configuration). Points are kept as their H3 cell at resolution 12 (:data:`PLACE_RES`),
  never as coordinates; ``n`` (police.uk's rows snapped there) ranks streets. No report, contact
  or incident adds, moves or ranks a name: the index is filled from the police.uk file as it is
  read, never from the records table.
- **A name is a function of the index and the hexagon alone.** A hexagon is named by the streets
  whose index cells lie inside it (H3 containment), else by the nearest street to its centre. No
  record is read: where inside the hexagon a record lies, how many there are, or whether there
  are any at all cannot change the name, so naming a hexagon the gate shows tells nothing finer
  than that hexagon, whose place and streets are public anyway. (A hexagon the gate holds back
  is not shown, so not named either.) A property test holds this: records added anywhere change
  no name.

Everything here is pure: the store hands the index over as a frame (``Store.places()``).
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from geo.errors import FilterError
from geo.hexes import cell_centres, cell_resolutions, parent_cells

GAZETTEER = "gazetteer"  # the source of a gazetteer's place (police.uk's streets: "policeuk")
PLACE_RES = 12  # about 300 m² a cell: police.uk's snap points, not the ground they stand for
COARSEST_NAMED = 6  # about 36 km² a hexagon: coarser ones span a district, not a few streets
NEAR_M = 300.0  # a hexagon with no street inside is named by the nearest within this distance
STREETS_PER_NAME = 2
_EARTH_M = 6_371_000.0

# police.uk names the anonymous points that are not on a street by the kind of place. Every town
# has many of each, so they name nowhere in particular (and a label at the mean of all of a
# town's supermarkets would sit on none of them).
GENERIC_PLACES = frozenset(
    {
        "Airport/Airfield",
        "Bus/Coach Station",
        "Conference/Exhibition Centre",
        "Further/Higher Educational Building",
        "Hospital",
        "Nightclub",
        "Park/Open Space",
        "Parking Area",
        "Pedestrian Subway",
        "Petrol Station",
        "Police Station",
        "Prison",
        "Shopping Area",
        "Sports/Recreation Area",
        "Supermarket",
        "Theatre/Concert Hall",
    }
)
_ON_OR_NEAR = re.compile(r"^\s*on or near\s+", re.IGNORECASE)
_CAPITAL_S = re.compile(r"'S\b")  # police.uk's title case: "Lord'S Hill"


def street_names(locations: pd.Series) -> pd.Series:
    """Return the street each police.uk ``Location`` names ("On or near Derby Road" -> "Derby
    Road"), or "" where it names none: blank, "No Location", or a kind of place
    (:data:`GENERIC_PLACES`)."""
    text = locations.fillna("").astype(str).str.replace(_ON_OR_NEAR, "", regex=True).str.strip()
    text = text.str.replace(_CAPITAL_S, "'s", regex=True)
    unnamed = text.isin(GENERIC_PLACES) | (text.str.casefold() == "no location")
    return text.where(~unnamed, "")


class PlaceIndex:
    """Names H3 cells of resolution 6 to 12 from a place index (see the module's docstring).

    ``places``: ``cell`` (H3, resolution :data:`PLACE_RES`), ``street`` and ``n`` (the rank of
    that street there: police.uk rows snapped to it; 0 for a gazetteer place), as
    ``Store.places()`` returns them.
    """

    def __init__(self, places: pd.DataFrame) -> None:
        frame = places.loc[places["street"].astype(str) != "", ["cell", "street", "n"]]
        frame = frame.astype({"cell": "int64", "street": object, "n": "int64"})
        wrong = frame["cell"][cell_resolutions(frame["cell"].to_numpy()) != PLACE_RES]
        if len(wrong):
            raise FilterError(
                f"the place index holds cells at resolution {PLACE_RES} only, not cell "
                f"{int(wrong.iloc[0])}"
            )
        frame = frame.groupby(["cell", "street"], as_index=False).agg(n=("n", "max"))
        self._frame = frame.sort_values(["n", "street"], ascending=[False, True], kind="stable")
        lat, lon = cell_centres(self._frame["cell"].to_numpy())
        self._frame = self._frame.assign(lat=lat, lon=lon).reset_index(drop=True)
        # the nearest-street fallback: one point per index cell, named by its best street
        points = self._frame.drop_duplicates("cell")  # (sorted by rank: the best comes first)
        self._lat0 = float(np.mean(lat)) if len(lat) else 0.0
        self._near_streets = points["street"].to_numpy(dtype=object)
        xy = self._metres(points["lat"].to_numpy(), points["lon"].to_numpy())
        self._tree = cKDTree(xy) if len(points) else None
        self._inside: dict[int, pd.Series] = {}

    def __len__(self) -> int:
        """Return how many (cell, street) entries the index holds."""
        return len(self._frame)

    def names(self, cells: npt.ArrayLike, *, prefix: str = "near ") -> list[str]:
        """Return each cell's name: ``prefix`` and the up to two best-ranked streets inside it
        ("near Derby Road, St Mary's Street"), else the nearest street within :data:`NEAR_M`
        of its centre ("near Derby Road"), else "" (also for cells coarser than resolution 6
        or finer than 12).

        Vectorised: a town's thousands of hexagons are named in milliseconds. Each name
        depends on its cell alone, never on the other cells asked with it.
        """
        arr = np.asarray(cells, dtype=np.int64).reshape(-1)
        out = np.full(arr.size, "", dtype=object)
        res = cell_resolutions(arr)
        nameable = (res >= COARSEST_NAMED) & (res <= PLACE_RES)
        for r in np.unique(res[nameable]).tolist():
            at = np.flatnonzero(res == r)
            found = self._streets_inside(r).reindex(arr[at]).to_numpy(dtype=object)
            has = pd.notna(found)
            out[at[has]] = found[has]
        missing = np.flatnonzero(nameable & (out == ""))
        if missing.size and self._tree is not None:
            lat, lon = cell_centres(arr[missing])
            distance, nearest = self._tree.query(
                self._metres(lat, lon), distance_upper_bound=NEAR_M
            )
            close = np.isfinite(distance)
            out[missing[close]] = self._near_streets[nearest[close]]
        named = out != ""
        out[named] = prefix + out[named]
        return [str(name) for name in out]

    def name(self, cell: int) -> str:
        """Return one cell's name (see :meth:`names`)."""
        return self.names([cell])[0]

    def labels(self, top: int) -> pd.DataFrame:
        """Return the ``top`` main streets (most police.uk rows) with one place to write each
        name on a map: ``street``, ``n``, ``lon``, ``lat`` (the mean of its cells' centres)."""
        if isinstance(top, bool) or not isinstance(top, int) or top < 0:
            raise FilterError(f"top must be a whole number of streets, 0 or more, got {top!r}")
        grouped = self._frame.groupby("street", as_index=False).agg(
            n=("n", "sum"), lon=("lon", "mean"), lat=("lat", "mean")
        )
        grouped = grouped.sort_values(["n", "street"], ascending=[False, True], kind="stable")
        return grouped.head(top).loc[:, ["street", "n", "lon", "lat"]].reset_index(drop=True)

    def _streets_inside(self, res: int) -> pd.Series:
        """Return parent cell at ``res`` -> its best two streets, "A, B" (computed once)."""
        if res not in self._inside:
            frame = self._frame.assign(parent=parent_cells(self._frame["cell"].to_numpy(), res))
            ranked = frame.groupby(["parent", "street"], as_index=False).agg(n=("n", "sum"))
            ranked = ranked.sort_values(
                ["parent", "n", "street"], ascending=[True, False, True], kind="stable"
            )
            best = ranked.groupby("parent", sort=False).head(STREETS_PER_NAME)
            self._inside[res] = best.groupby("parent", sort=False)["street"].agg(", ".join)
        return self._inside[res]

    def _metres(
        self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Return points as metres east and north on a plane fitted to the index's latitude:
        within a town, distances are off by well under a metre per 300 m."""
        scale = np.radians(1.0) * _EARTH_M
        x = np.asarray(lon, dtype=np.float64) * scale * np.cos(np.radians(self._lat0))
        y = np.asarray(lat, dtype=np.float64) * scale
        return np.column_stack([x, y])
