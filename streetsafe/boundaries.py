"""Read a deployment's local areas (wards) into :class:`geo.wards.Areas`, as GeoJSON, and as the
study area they make.

Any GeoJSON FeatureCollection in WGS84 will do, as long as each feature names its area with a
code and a name property. ONS boundary files call them after the geography and its year
(``WD13CD``/``WD13NM`` for 2013 wards, ``WD23CD``/``WD23NM``, ``LSOA11CD``/``LSOA11NM``): these
are found on their own; other files name them ``code`` and ``name``.

A town's wards may come as several files (one per former district): they are read as one set.
Each code names one area: the same code in two files is an error, unless it is the same area
both times (the same name and, within 1 %, the same outline, as when a file is given twice or
two extracts overlap), which is then read once, from the first file.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from geo.errors import ConfigError
from geo.outline import outline
from geo.wards import Areas

# ONS: the geography and its year, then CD (code) or NM (name): WD23CD, LSOA21NM, lad20cd.
_ONS_PROPERTY = re.compile(r"^([a-z]{2,5}\d{2})(cd|nm)$", re.IGNORECASE)
# GeoJSON's own longitude/latitude (RFC 7946 has no "crs" member; older files name it).
_WGS84 = re.compile(r"(?:^|:)(?:crs84|epsg:(?:[\d.]*:)?4326)$", re.IGNORECASE)
_SAME_OUTLINE = 0.01  # an area in two files is the same one if its outlines differ by less
_POLYGONS = ("Polygon", "MultiPolygon")

AreaFiles = Path | tuple[Path, ...]  # one file, or several read as one set


@dataclass(frozen=True)
class _Area:
    """One area as its file gives it."""

    source: Path
    code: str
    name: str
    geometry: BaseGeometry
    feature: dict[str, Any]


@lru_cache(maxsize=4)
def load_areas(paths: AreaFiles) -> Areas:
    """Read the named areas of a GeoJSON FeatureCollection, or of several as one set."""
    areas = _areas(_files(paths))
    return Areas(
        codes=tuple(a.code for a in areas),
        names=tuple(a.name for a in areas),
        geometries=tuple(a.geometry for a in areas),
    )


def areas_geojson(paths: AreaFiles) -> dict[str, Any]:
    """Return the areas as GeoJSON with ``code`` and ``name`` properties; a fresh copy each call."""
    features = []
    for area in _areas(_files(paths)):
        feature = copy.deepcopy(area.feature)
        feature["properties"] = {**feature["properties"], "code": area.code, "name": area.name}
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def study_area_geojson(paths: AreaFiles, *, name: str | None = None) -> dict[str, Any]:
    """Return the study area the areas in ``paths`` make together, as a GeoJSON FeatureCollection.

    One feature: the areas' union, gaps and small holes between them closed
    (:func:`geo.outline.outline`), in WGS84 longitude/latitude with exterior rings
    anticlockwise (RFC 7946). Its properties say what it was made from: ``name`` (given, or the
    files' names), ``built_from`` (the files' names), ``wards`` (how many areas).
    """
    files = _files(paths)
    areas = _areas(files)
    shape_ = outline(a.geometry for a in areas)
    polygons = [orient(p, 1.0) for p in shapely.get_parts(shape_)]
    oriented = polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
    properties = {
        "name": name or " + ".join(p.stem for p in files),
        "built_from": [p.name for p in files],
        "wards": len(areas),
        "built_by": "streetsafe area --from-wards",
    }
    feature = {"type": "Feature", "properties": properties, "geometry": mapping(oriented)}
    return {"type": "FeatureCollection", "features": [feature]}


def _files(paths: AreaFiles) -> tuple[Path, ...]:
    files = (paths,) if isinstance(paths, Path) else tuple(dict.fromkeys(paths))  # once each
    if not files:
        raise ConfigError("no areas file given")
    return files


@lru_cache(maxsize=4)
def _areas(files: tuple[Path, ...]) -> tuple[_Area, ...]:
    """Return the areas of ``files`` as one set: each code once (the pages ask on every run)."""
    kept: dict[str, _Area] = {}
    for path in files:
        for area in _file_areas(path):
            first = kept.setdefault(area.code, area)
            if first is not area:
                _check_same_area(first, area)
    return tuple(kept.values())


def _file_areas(path: Path) -> list[_Area]:
    """Return the areas of one file, each with its own code, all polygons in WGS84."""
    features = _geojson(path)["features"]
    code, name = _code_and_name(path, features)
    try:
        areas = [
            _Area(
                path,
                str(f["properties"][code]),
                str(f["properties"][name]),
                shape(f["geometry"]),
                f,
            )
            for f in features
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"cannot read the areas in {path}: bad feature ({exc})") from None
    repeated = [c for c, count in Counter(a.code for a in areas).items() if count > 1]
    if repeated:
        count = sum(a.code == repeated[0] for a in areas)
        raise ConfigError(
            f"the areas in {path} must each have their own code, but {repeated[0]!r} is the "
            f"{code} of {count} of them"
        )
    _check_polygons(path, areas)
    return areas


def _check_polygons(path: Path, areas: list[_Area]) -> None:
    """Refuse areas that are not polygons, or not in longitude and latitude."""
    for area in areas:
        geometry = area.geometry
        if geometry.geom_type not in _POLYGONS or geometry.is_empty:
            what = "empty" if geometry.is_empty else f"a {geometry.geom_type}"
            raise ConfigError(
                f"the areas file {path} must hold polygons (a boundaries file, not centroids), "
                f"but the area {area.code} ({area.name}) is {what}"
            )
    bounds = shapely.total_bounds([a.geometry for a in areas])
    if not (np.all(np.abs(bounds[[0, 2]]) <= 180) and np.all(np.abs(bounds[[1, 3]]) <= 90)):
        x, y = shapely.get_coordinates(areas[0].geometry)[0]
        raise ConfigError(
            f"the areas file {path} is not in longitude and latitude (WGS84): its first point is "
            f"({x:.0f}, {y:.0f}), e.g. British National Grid metres. Convert it first, e.g. "
            f"ogr2ogr -t_srs EPSG:4326 wgs84.geojson {path.name}"
        )


def _check_same_area(first: _Area, again: _Area) -> None:
    """Accept an area given twice only if it is the same area both times."""
    where = f"{first.source} and {again.source}"
    if " ".join(first.name.casefold().split()) != " ".join(again.name.casefold().split()):
        raise ConfigError(
            f"the area code {first.code!r} is in both {where}, as {first.name!r} and "
            f"{again.name!r}: each area must have its own code (are the files of different "
            "years?)"
        )
    union = shapely.union(first.geometry, again.geometry).area
    apart = shapely.symmetric_difference(first.geometry, again.geometry).area / (union or 1.0)
    if apart >= _SAME_OUTLINE:
        raise ConfigError(
            f"the area {first.code} ({first.name}) is in both {where}, with outlines "
            f"{apart:.0%} apart: are the files of different years? Give each area once"
        )


@lru_cache(maxsize=8)
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
    crs = doc.get("crs")
    crs_name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    if isinstance(crs_name, str) and not _WGS84.search(crs_name.strip()):
        raise ConfigError(
            f"the areas file {path} is in {crs_name}, not longitude and latitude (WGS84): "
            f"convert it first, e.g. ogr2ogr -t_srs EPSG:4326 wgs84.geojson {path.name}"
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
