"""The deployment's agencies: only they may be named as a report's source, under one name each."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.errors import ConfigError
from ingest.agencies import Agencies
from streetsafe.resources import data_file


def test_the_shipped_agencies_take_their_other_spellings_to_one_name() -> None:
    agencies = Agencies.load(data_file("agencies.csv"))
    assert agencies.canonical("police npt") == "Police NPT"
    assert agencies.canonical("  Police   neighbourhood team ") == "Police NPT"
    assert agencies.canonical("NPT") == "Police NPT"
    assert agencies.canonical("Resident") == "Resident report"
    assert "Night van" in agencies.all


@pytest.mark.parametrize(
    "text",
    [
        "Jane Smith 07700 900123",  # free text once held a name and a phone number here
        "=cmd|' /C calc'!A0",  # a spreadsheet formula
        "Polce NPT",
    ],
)
def test_anything_else_names_no_agency(text: str) -> None:
    assert Agencies.load(data_file("agencies.csv")).canonical(text) is None


def test_a_misspelt_agency_gets_the_closest_names() -> None:
    agencies = Agencies.load(data_file("agencies.csv"))
    assert agencies.suggest("Polce NPT")[0] == "Police NPT"
    assert agencies.suggest("nite van")[0] == "Night van"


def test_agencies_name_the_reference_scheme_they_share(tmp_path: Path) -> None:
    path = tmp_path / "agencies.csv"
    path.write_text("name,also,references\nNight van,,outreach\nFoot team,,outreach\nPolice,,\n")
    assert Agencies.load(path).reference_schemes() == (
        ("Foot team", "outreach"),
        ("Night van", "outreach"),
    )
    shipped = dict(Agencies.load(data_file("agencies.csv")).reference_schemes())
    assert "Police NPT" not in shipped  # the police number women their own way


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,also\nNight van,\nnight  VAN,\n", "line 3: 'night  VAN' already names 'Night van'"),
        ("name,also\nNight van,Van\nDay van,van\n", "line 3: 'van' already names 'Night van'"),
        ("name,also\n,Van\n", "line 2: needs a name"),
        ("name,also\n", "names no agency"),
    ],
)
def test_a_bad_agencies_file_says_what_and_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "agencies.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        Agencies.load(path)
