"""``streetsafe area --from-wards FILE... --out area.geojson``: a study area from ward files, and
every way it can fail as one line and an exit status, never a traceback or a half-written file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import shape
from typer.testing import CliRunner, Result

from streetsafe.cli import app
from streetsafe.deployment import load_study_area
from tests.conftest import ROOT

BOUNDARIES = ROOT / "data" / "boundaries"
SOUTHAMPTON_WARDS = BOUNDARIES / "southampton_wards_WD13_E06000045.geojson"
BCP = (
    BOUNDARIES / "bournemouth_wards_WD13_E06000028.geojson",
    BOUNDARIES / "poole_wards_WD13_E06000029.geojson",
    BOUNDARIES / "christchurch_wards_WD13_E07000048.geojson",
)

runner = CliRunner()


def run(*args: str | Path) -> Result:
    return runner.invoke(app, ["area", *map(str, args)])


def one_error_line(result: Result, status: int) -> str:
    """Return the one line of stderr, having checked the exit status and that nothing else came."""
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_area_of_three_ward_files_is_written_and_loads_as_the_study_area(
    tmp_path: Path,
) -> None:
    out = tmp_path / "area.geojson"
    result = run(
        "--from-wards", *BCP, "--name", "Bournemouth, Christchurch and Poole", "--out", out
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "45 wards from 3 files" in result.stderr
    doc = json.loads(out.read_text())
    assert doc["features"][0]["properties"]["built_from"] == [p.name for p in BCP]
    study_area = load_study_area(out)
    assert study_area.name == "Bournemouth, Christchurch and Poole"
    boscombe = shape(json.loads(BCP[0].read_text())["features"][0]["geometry"])
    centre = boscombe.representative_point()
    assert study_area.contains([centre.y], [centre.x]).all()
    assert [p.name for p in tmp_path.iterdir()] == ["area.geojson"]  # no temporary file left


def test_without_out_the_area_goes_to_standard_output() -> None:
    result = run("--from-wards", SOUTHAMPTON_WARDS)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    properties = doc["features"][0]["properties"]
    assert properties["name"] == "southampton_wards_WD13_E06000045"
    assert properties["wards"] == 16
    assert "standard output" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the areas file {path}: No such file or directory"),
        ("Month,Longitude\n2024-01,-1.4\n", "the areas file {path} is not valid GeoJSON"),
        ('{"type": "FeatureCollection", "features": []}', "the areas file {path} holds no"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"properties": {"code": "E1", "name": "Middle"}, '
            '"geometry": {"type": "Point", "coordinates": [-1.4, 50.9]}}]}',
            "the areas file {path} must hold polygons",
        ),
        (
            '{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": '
            '"urn:ogc:def:crs:EPSG::27700"}}, "features": [{"type": "Feature", '
            '"properties": {"code": "E1", "name": "Middle"}, "geometry": {"type": "Polygon", '
            '"coordinates": [[[442000, 112000], [443000, 112000], [443000, 113000], '
            "[442000, 112000]]]}}]}",
            "the areas file {path} is in urn:ogc:def:crs:EPSG::27700, not longitude and latitude",
        ),
    ],
    ids=["missing", "not-geojson", "no-features", "points", "british-national-grid"],
)
def test_a_bad_ward_file_is_one_line_naming_it_and_nothing_is_written(
    tmp_path: Path, content: str | None, message: str
) -> None:
    bad = tmp_path / "wards.geojson"
    if content is not None:
        bad.write_text(content)
    out = tmp_path / "area.geojson"
    out.write_text("the last area")
    line = one_error_line(run("--from-wards", SOUTHAMPTON_WARDS, bad, "--out", out), 1)
    assert line.startswith("error: ")
    assert message.format(path=bad) in line
    assert out.read_text() == "the last area"  # left as it was


def test_a_code_in_two_files_is_one_line_naming_both(tmp_path: Path) -> None:
    doc = json.loads(SOUTHAMPTON_WARDS.read_text())
    doc["features"][0]["properties"]["WD13NM"] = "Elsewhere"
    other = tmp_path / "other.geojson"
    other.write_text(json.dumps(doc))
    line = one_error_line(run("--from-wards", SOUTHAMPTON_WARDS, other), 1)
    assert f"'E05002455' is in both {SOUTHAMPTON_WARDS} and {other}" in line


def test_an_out_that_cannot_be_written_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "area.geojson"
    folder.mkdir()  # a folder where the file should go
    line = one_error_line(run("--from-wards", SOUTHAMPTON_WARDS, "--out", folder), 1)
    assert line == f"error: could not write {folder}: Is a directory"
    assert [p.name for p in tmp_path.iterdir()] == ["area.geojson"]
    assert not any(folder.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((SOUTHAMPTON_WARDS,), "say what the files are: streetsafe area --from-wards FILE..."),
        (("--from-wards",), "Missing argument"),
    ],
    ids=["no-from-wards", "no-files"],
)
def test_a_usage_error_exits_2(args: tuple[str | Path, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
