"""Read a deployment's local areas (wards) into :class:`geo.wards.Areas`, and as GeoJSON.

Any GeoJSON FeatureCollection in WGS84 will do, as long as each feature names its area with a
code and a name property. ONS boundary files call them after the geography and its year
(``WD13CD``/``WD13NM`` for 2013 wards, ``WD23CD``/``WD23NM``, ``LSOA11CD``/``LSOA11NM``): these
are found on their own; other files name them ``code`` and ``name``.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from geo.errors import ConfigError
from geo.wards import Areas

# ONS: the geography and its year, then CD (code) or NM (name): WD23CD, LSOA21NM, lad20cd.
_ONS_PROPERTY = re.compile(r"^([a-z]{2,5}\d{2})(cd|nm)$", re.IGNORECASE)


@lru_cache(maxsize=4)
def load_areas(path: Path) -> Areas:
    """Read the named areas of a GeoJSON FeatureCollection."""
    features = _geojson(path)["features"]
    code, name = _code_and_name(path, features)
    try:
        areas = Areas(
            codes=tuple(str(f["properties"][code]) for f in features),
            names=tuple(str(f["properties"][name]) for f in features),
            geometries=tuple(shape(f["geometry"]) for f in features),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"cannot read the areas in {path}: bad feature ({exc})") from None
    repeated = [c for c, count in Counter(areas.codes).items() if count > 1]
    if repeated:
        raise ConfigError(
            f"the areas in {path} must each have their own code, but {repeated[0]!r} is the "
            f"{code} of {areas.codes.count(repeated[0])} of them"
        )
    return areas


def areas_geojson(path: Path) -> dict[str, Any]:
    """Return the areas as GeoJSON with ``code`` and ``name`` properties; a fresh copy each call."""
    doc = copy.deepcopy(_geojson(path))
    code, name = _code_and_name(path, doc["features"])
    for feature in doc["features"]:
        props = feature["properties"]
        props["code"], props["name"] = str(props[code]), str(props[name])
    return doc


@lru_cache(maxsize=4)
def _geojson(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the areas file {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the areas file {path} is not valid GeoJSON: {exc}") from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or not features:
        raise ConfigError(
            f"the areas file {path} holds no features (a FeatureCollection is needed)"
        )
    return dict(doc)


def _code_and_name(path: Path, features: list[dict[str, Any]]) -> tuple[str, str]:
    """Return the property names holding each area's code and name.

    An ONS code and name of the same geography and year (``WD23CD`` with ``WD23NM``), in any
    case; wards first when a file names several geographies (a ward's district too); else
    ``code`` and ``name``.
    """
    props = features[0].get("properties") or {}
    found: dict[str, dict[str, str]] = {}  # geography -> {"cd": key, "nm": key}
    for key in props:
        if match := _ONS_PROPERTY.match(key):
            found.setdefault(match[1].upper(), {})[match[2].lower()] = key
    pairs = {geo: keys for geo, keys in found.items() if {"cd", "nm"} <= set(keys)}
    wards = {geo: keys for geo, keys in pairs.items() if geo.startswith("WD")}
    chosen = wards if len(wards) == 1 else pairs
    if len(chosen) == 1:
        (keys,) = chosen.values()
        return keys["cd"], keys["nm"]
    if len(chosen) > 1:
        raise ConfigError(
            f"the areas file {path} names several geographies ({', '.join(sorted(chosen))}): "
            "keep the code and name properties of one"
        )
    lower = {k.lower(): k for k in props}
    if "code" in lower and "name" in lower:
        return lower["code"], lower["name"]
    raise ConfigError(
        f"the areas file {path} must give each area a code and a name: ONS-style properties "
        f"(e.g. WD23CD and WD23NM) or 'code' and 'name'; its properties are: "
        f"{', '.join(props) or 'none'}"
    )
