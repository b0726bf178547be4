"""Read the boundary files the product ships (wards) into :class:`geo.wards.Areas`."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from geo.errors import ConfigError
from geo.wards import Areas
from ingest.settings import DATA_DIR

WARDS_FILE = DATA_DIR / "boundaries" / "southampton_wards_WD13_E06000045.geojson"


@lru_cache(maxsize=4)
def load_areas(path: Path = WARDS_FILE, *, code: str = "WD13CD", name: str = "WD13NM") -> Areas:
    """Read named areas from a GeoJSON FeatureCollection."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        features: list[dict[str, Any]] = doc["features"]
        return Areas(
            codes=tuple(str(f["properties"][code]) for f in features),
            names=tuple(str(f["properties"][name]) for f in features),
            geometries=tuple(shape(f["geometry"]) for f in features),
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot read the areas in {path}: {exc}") from None


def areas_geojson(path: Path = WARDS_FILE) -> dict[str, Any]:
    """Return the boundary file as GeoJSON (for outline layers); a fresh copy each call."""
    return copy.deepcopy(_geojson(path))


@lru_cache(maxsize=4)
def _geojson(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))
