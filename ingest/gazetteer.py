"""Named places that outreach workers write instead of coordinates ("Derby Road / ...")."""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import ConfigError
from geo.hexes import cells_from_points
from geo.places import PLACE_RES
from ingest.pseudonyms import fold_name as _fold


@dataclass(frozen=True)
class Gazetteer:
    """Place name -> (latitude, longitude), matched regardless of case and spacing."""

    places: dict[str, tuple[str, float, float]]  # folded name -> (name, lat, lon)

    @classmethod
    def load(cls, path: Path) -> Gazetteer:
        """Read a CSV with columns ``name,latitude,longitude``."""
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise ConfigError(f"cannot read the gazetteer {path}: {exc.strerror}") from None
        places = {}
        for line, row in enumerate(rows, start=2):
            try:
                name = row["name"].strip()
                places[_fold(name)] = (name, float(row["latitude"]), float(row["longitude"]))
            except (KeyError, TypeError, ValueError, AttributeError):
                raise ConfigError(
                    f"gazetteer {path}, line {line}: needs name, latitude and longitude"
                ) from None
        return cls(places)

    def lookup(self, name: str) -> tuple[float, float] | None:
        """Return (lat, lon) of a place name, or None if it is not in the gazetteer."""
        hit = self.places.get(_fold(name))
        return (hit[1], hit[2]) if hit else None

    def index_places(self) -> pd.DataFrame:
        """Return the gazetteer's places as rows of the place index (geo/places.py): ``cell``
        at :data:`PLACE_RES`, ``street`` (the name), ``n`` 0 (no police.uk row ranks them)."""
        names = np.array([name for name, _, _ in self.places.values()], dtype=object)
        lat = np.array([lat for _, lat, _ in self.places.values()], dtype=np.float64)
        lon = np.array([lon for _, _, lon in self.places.values()], dtype=np.float64)
        # a place with impossible coordinates names nothing (reports naming it are rejected)
        ok = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        return pd.DataFrame(
            {"cell": cells_from_points(lat[ok], lon[ok], PLACE_RES), "street": names[ok], "n": 0}
        ).astype({"street": object, "n": "int64"})

    def suggest(self, name: str) -> list[str]:
        """Return up to three known place names close to ``name`` (best first)."""
        words = [_ABBREVIATIONS.get(w, w) for w in _fold(name).replace(".", " ").split()]
        wanted = " ".join(words)
        containing = [folded for folded in self.places if wanted and wanted in folded]
        close = containing or difflib.get_close_matches(wanted, list(self.places), n=3, cutoff=0.6)
        return [self.places[folded][0] for folded in close[:3]]


_ABBREVIATIONS = {"rd": "road", "st": "street", "ave": "avenue", "sq": "square", "stn": "station"}
