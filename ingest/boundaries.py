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
from functools import lru_cache
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from geo.errors import ConfigError
from geo.wards import Areas

_ONS_CODE = re.compile(r"^[A-Z]{2,5}\d{2}CD$")
_ONS_NAME = re.compile(r"^[A-Z]{2,5}\d{2}NM$")


@lru_cache(maxsize=4)
def load_areas(path: Path) -> Areas:
    """Read the named areas of a GeoJSON FeatureCollection."""
    features = _geojson(path)["features"]
    code, name = _code_and_name(path, features)
    try:
        return Areas(
            codes=tuple(str(f["properties"][code]) for f in features),
            names=tuple(str(f["properties"][name]) for f in features),
            geometries=tuple(shape(f["geometry"]) for f in features),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"cannot read the areas in {path}: bad feature ({exc})") from None


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
    """Return the property names holding each area's code and name."""
    props = features[0].get("properties") or {}
    code = next((k for k in props if _ONS_CODE.match(k)), None)
    name = next((k for k in props if _ONS_NAME.match(k)), None)
    if code is None or name is None:
        lower = {k.lower(): k for k in props}
        code, name = lower.get("code"), lower.get("name")
    if code is None or name is None:
        found = ", ".join(props) or "none"
        raise ConfigError(
            f"the areas file {path} must give each area a code and a name: ONS-style properties "
            f"(e.g. WD23CD and WD23NM) or 'code' and 'name'; its properties are: {found}"
        )
    return code, name
