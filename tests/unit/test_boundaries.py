"""Local areas from any council's boundary file: ONS-style or plain code/name properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo.errors import ConfigError
from streetsafe.boundaries import areas_geojson, load_areas
from streetsafe.settings import Settings

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-1.9, 50.72], [-1.85, 50.72], [-1.85, 50.75], [-1.9, 50.75], [-1.9, 50.72]]],
}


def _write(tmp_path: Path, properties: dict[str, object], name: str = "areas.geojson") -> Path:
    path = tmp_path / name
    feature = {"type": "Feature", "properties": properties, "geometry": SQUARE}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_the_shipped_ons_ward_file_is_read_by_its_own_property_names() -> None:
    areas = load_areas(Settings.from_env({}).wards)
    assert len(areas.codes) == 16
    assert areas.name_of("E05002455") == "Bargate"
    doc = areas_geojson(Settings.from_env({}).wards)
    first = doc["features"][0]["properties"]
    assert (first["code"], first["name"]) == ("E05002455", "Bargate")


@pytest.mark.parametrize(
    "properties",
    [
        {"WD23CD": "E05012345", "WD23NM": "Westbourne", "WD23NMW": ""},
        {"LSOA21CD": "E05012345", "LSOA21NM": "Westbourne"},
        {"Code": "E05012345", "Name": "Westbourne", "area_ha": 300},
    ],
    ids=["ons-2023-wards", "ons-lsoa", "plain"],
)
def test_another_councils_areas_are_read(tmp_path: Path, properties: dict[str, object]) -> None:
    path = _write(tmp_path, properties)
    areas = load_areas(path)
    assert areas.codes == ("E05012345",)
    assert areas.names == ("Westbourne",)
    assert areas_geojson(path)["features"][0]["properties"]["name"] == "Westbourne"


def test_wards_are_chosen_over_the_district_they_lie_in_whatever_the_case(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"lad23cd": "E06000058", "lad23nm": "BCP", "wd23cd": "E05012345", "wd23nm": "Westbourne"},
    )
    assert load_areas(path).names == ("Westbourne",)


def test_a_file_of_several_geographies_or_repeated_codes_is_refused(tmp_path: Path) -> None:
    several = _write(
        tmp_path, {"LSOA21CD": "E01", "LSOA21NM": "a", "MSOA21CD": "E02", "MSOA21NM": "b"}
    )
    with pytest.raises(ConfigError, match=r"several geographies \(LSOA21, MSOA21\)"):
        load_areas(several)
    feature = {"type": "Feature", "properties": {"code": "X", "name": "n"}, "geometry": SQUARE}
    path = tmp_path / "twice.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature, feature]}))
    with pytest.raises(ConfigError, match="'X' is the code of 2 of them"):
        load_areas(path)


def test_areas_without_a_code_and_name_are_refused_naming_what_was_found(tmp_path: Path) -> None:
    path = _write(tmp_path, {"id": 7, "label": "Westbourne"})
    with pytest.raises(ConfigError, match=r"code and a name.*its properties are: id, label"):
        load_areas(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the areas file"),
        ("{not json", "not valid GeoJSON"),
        ('{"type": "FeatureCollection", "features": []}', "holds no features"),
        ('{"type": "Feature"}', "holds no features"),
    ],
    ids=["missing", "not-json", "empty", "not-a-collection"],
)
def test_an_unreadable_areas_file_gets_one_clear_message(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "wards.geojson"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_areas(path)
