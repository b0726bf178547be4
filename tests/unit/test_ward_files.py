"""Wards in several files (STREETSAFE_WARDS=a.geojson:b.geojson) read as one set, and the study
area they make; files in another coordinate system, or not of polygons, refused by name."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import shape

from geo.errors import ConfigError
from streetsafe.boundaries import areas_geojson, load_areas, study_area_geojson
from streetsafe.deployment import load_study_area
from streetsafe.settings import Settings, documented_settings
from tests.conftest import ROOT

BOUNDARIES = ROOT / "data" / "boundaries"
SOUTHAMPTON_WARDS = BOUNDARIES / "southampton_wards_WD13_E06000045.geojson"
SOUTHAMPTON_DISTRICT = BOUNDARIES / "southampton_lad20_E06000045.geojsonl"
# Bournemouth, Poole and Christchurch before 2019: three districts, their wards in three files.
BCP = (
    BOUNDARIES / "bournemouth_wards_WD13_E06000028.geojson",
    BOUNDARIES / "poole_wards_WD13_E06000029.geojson",
    BOUNDARIES / "christchurch_wards_WD13_E07000048.geojson",
)
GEOD = Geod(ellps="WGS84")


def geodesic_m2(geometry: Any) -> float:
    return abs(GEOD.geometry_area_perimeter(geometry)[0])


def features(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return list(doc["features"])


def write(path: Path, feats: list[dict[str, Any]], **members: Any) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", **members, "features": feats}))
    return path


def split_southampton(folder: Path, first: set[int]) -> tuple[Path, Path]:
    """Write Southampton's wards as two files: those numbered in ``first``, and the rest."""
    feats = features(SOUTHAMPTON_WARDS)
    a = write(folder / "a.geojson", [f for i, f in enumerate(feats) if i in first])
    b = write(folder / "b.geojson", [f for i, f in enumerate(feats) if i not in first])
    return a, b


def test_several_ward_files_in_the_setting_load_as_one_set(tmp_path: Path) -> None:
    a, b = split_southampton(tmp_path, set(range(6)))
    wards = Settings.from_env({"STREETSAFE_WARDS": f"{a}{os.pathsep}{b}"}).wards
    assert wards == (a, b)
    areas = load_areas(wards)
    assert len(areas.codes) == 6 + 10
    assert set(areas.codes) == set(load_areas(SOUTHAMPTON_WARDS).codes)
    doc = areas_geojson(wards)
    assert [f["properties"]["code"] for f in doc["features"]] == list(areas.codes)


def test_the_real_bournemouth_poole_and_christchurch_files_make_one_set() -> None:
    areas = load_areas(BCP)
    assert len(areas.codes) == 18 + 16 + 11
    assert areas.name_of("E05002113") == "Boscombe East"  # Bournemouth
    assert "Alderney" in areas.names  # Poole
    assert "Burton and Winkton" in areas.names  # Christchurch


def test_the_setting_takes_one_file_or_several_and_its_docs_say_how() -> None:
    assert Settings.from_env({}).wards == (SOUTHAMPTON_WARDS,)
    assert Settings.from_env({}, wards=str(BCP[0])).wards == (BCP[0],)
    assert Settings.from_env({"STREETSAFE_WARDS": f"{BCP[0]}{os.pathsep}"}).wards == (BCP[0],)
    with pytest.raises(ConfigError, match="STREETSAFE_WARDS must name at least one file"):
        Settings.from_env({"STREETSAFE_WARDS": os.pathsep})
    (doc,) = [doc for env, _, doc in documented_settings() if env == "STREETSAFE_WARDS"]
    assert f"separated by {os.pathsep!r}" in doc


def test_a_code_in_two_files_is_refused_naming_both(tmp_path: Path) -> None:
    feats = features(SOUTHAMPTON_WARDS)
    renamed = {**feats[0], "properties": {**feats[0]["properties"], "WD13NM": "Elsewhere"}}
    a = write(tmp_path / "a.geojson", feats[:2])
    b = write(tmp_path / "b.geojson", [renamed, *feats[2:4]])
    with pytest.raises(ConfigError) as caught:
        load_areas((a, b))
    message = str(caught.value)
    assert "'E05002455'" in message
    assert str(a) in message
    assert str(b) in message
    assert "'Bargate' and 'Elsewhere'" in message


def test_the_same_ward_in_two_files_is_read_once(tmp_path: Path) -> None:
    """The same code, name and outline: a file given twice, or overlapping extracts."""
    feats = features(SOUTHAMPTON_WARDS)
    a = write(tmp_path / "a.geojson", feats[:3])
    b = write(tmp_path / "b.geojson", feats[2:5])  # the third ward in both
    assert len(load_areas((a, b)).codes) == 5
    assert len(areas_geojson((a, b))["features"]) == 5
    assert len(load_areas((a, a)).codes) == 3


def test_the_same_code_and_name_with_another_outline_is_refused(tmp_path: Path) -> None:
    feats = features(SOUTHAMPTON_WARDS)
    moved = {**feats[0], "geometry": feats[1]["geometry"]}  # another year's boundary, say
    a = write(tmp_path / "a.geojson", feats[:1])
    b = write(tmp_path / "b.geojson", [moved])
    with pytest.raises(
        ConfigError, match=r"E05002455 \(Bargate\) is in both .* outlines \d+% apart"
    ):
        load_areas((a, b))


def test_a_file_in_another_coordinate_system_is_refused_with_what_to_do(tmp_path: Path) -> None:
    feats = features(SOUTHAMPTON_WARDS)
    named = write(
        tmp_path / "bng.geojson",
        feats,
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
    )
    with pytest.raises(
        ConfigError, match=r"bng.geojson is in urn:ogc:def:crs:EPSG::27700.*ogr2ogr"
    ):
        load_areas(named)
    metres = {
        **feats[0],
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[442000, 112000], [443000, 112000], [443000, 113000], [442000, 112000]]
            ],
        },
    }
    unnamed = write(tmp_path / "metres.geojson", [metres])
    with pytest.raises(ConfigError, match=r"metres.geojson is not in longitude and latitude"):
        load_areas(unnamed)


@pytest.mark.parametrize(
    "crs", ["urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"]
)
def test_files_that_name_wgs84_are_read(tmp_path: Path, crs: str) -> None:
    path = write(
        tmp_path / "w.geojson",
        features(SOUTHAMPTON_WARDS),
        crs={"type": "name", "properties": {"name": crs}},
    )
    assert len(load_areas(path).codes) == 16


def test_a_file_of_points_is_refused(tmp_path: Path) -> None:
    centroid = {"type": "Point", "coordinates": [-1.4, 50.9]}
    feats = [{**f, "geometry": centroid} for f in features(SOUTHAMPTON_WARDS)]
    with pytest.raises(
        ConfigError, match=r"must hold polygons .* E05002455 \(Bargate\) is a Point"
    ):
        load_areas(write(tmp_path / "centroids.geojson", feats))


def test_a_study_area_from_two_ward_files_is_their_union(tmp_path: Path) -> None:
    a, b = split_southampton(tmp_path, set(range(0, 16, 2)))
    doc = study_area_geojson((a, b), name="Southampton")
    (feature,) = doc["features"]
    assert feature["properties"] == {
        "name": "Southampton",
        "built_from": ["a.geojson", "b.geojson"],
        "wards": 16,
        "built_by": "streetsafe area --from-wards",
    }
    area = shape(feature["geometry"])
    assert area.geom_type == "Polygon"
    assert not area.interiors  # no holes between neighbouring wards
    summed = sum(geodesic_m2(shape(f["geometry"])) for f in features(SOUTHAMPTON_WARDS))
    assert geodesic_m2(area) == pytest.approx(summed, rel=1e-3)
    assert shapely.is_ccw(area.exterior)  # RFC 7946's right-hand rule


def test_the_wards_study_area_covers_the_shipped_district_outline(tmp_path: Path) -> None:
    doc = study_area_geojson(SOUTHAMPTON_WARDS, name="Southampton")
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps(doc))
    area = load_study_area(path)  # the product's own loader reads it
    assert area.name == "Southampton"
    district = load_study_area(SOUTHAMPTON_DISTRICT).geometry
    covered = geodesic_m2(district.intersection(area.geometry)) / geodesic_m2(district)
    assert covered >= 0.99
    centre = district.representative_point()
    assert area.contains([centre.y], [centre.x]).all()


def test_bournemouth_poole_and_christchurch_make_one_study_area(tmp_path: Path) -> None:
    doc = study_area_geojson(BCP, name="Bournemouth, Christchurch and Poole")
    path = tmp_path / "bcp.geojson"
    path.write_text(json.dumps(doc))
    area = load_study_area(path)
    wards = load_areas(BCP)
    summed = sum(geodesic_m2(g) for g in wards.geometries)
    assert geodesic_m2(area.geometry) == pytest.approx(summed, rel=1e-3)
    assert sum(len(p.interiors) for p in shapely.get_parts(area.geometry)) == 0
    points = [g.representative_point() for g in wards.geometries]
    assert area.contains([p.y for p in points], [p.x for p in points]).all()


@settings(max_examples=15, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=15), min_size=1, max_size=15))
def test_splitting_the_wards_into_two_files_gives_the_same_study_area(first: set[int]) -> None:
    whole = shape(study_area_geojson(SOUTHAMPTON_WARDS)["features"][0]["geometry"])
    with tempfile.TemporaryDirectory() as folder:
        a, b = split_southampton(Path(folder), first)
        split = shape(study_area_geojson((a, b))["features"][0]["geometry"])
    assert whole.symmetric_difference(split).area < 1e-12
