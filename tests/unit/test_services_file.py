"""The services file: the template's example rows refused, the demo's services read, and each
reason a row is rejected for, with its line."""

from __future__ import annotations

import codecs
import io
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from geo.area import StudyArea
from geo.errors import SchemaError
from geo.nights import WEEKDAYS
from ingest.services import (
    FILE_COLUMNS,
    SERVICE_KINDS,
    ServicesFile,
    read_services,
    service_kind,
    write_service_rejects,
)
from store import SERVICE_COLUMNS
from streetsafe.deployment import load_study_area
from streetsafe.resources import data_file
from streetsafe.services import open_services
from streetsafe.settings import Settings

HEADER = ",".join(FILE_COLUMNS)
WEEK = ",".join(["20:00-02:00"] * 7)
# a good row: a drop-in on Derby Road, open every night 20:00-02:00
GOOD = f"Drop-in,drop_in,Derby Road,50.9110,-1.3927,{WEEK},01632 960100,women only"


@pytest.fixture(scope="module")
def area() -> StudyArea:
    return load_study_area(Settings.from_env({}).study_area)


def _read(*rows: str, area: StudyArea | None = None, header: str = HEADER) -> ServicesFile:
    data = "\n".join([header, *rows]) + "\n"
    return read_services(io.BytesIO(data.encode()), area=area, source="services.csv")


def _reasons(*rows: str, area: StudyArea | None = None) -> list[str]:
    return [r.reason for r in _read(*rows, area=area).rejects]


def test_the_templates_example_rows_are_refused(area: StudyArea) -> None:
    read = read_services(data_file("templates", "services.csv"), area=area)
    assert read.rows == 2
    assert read.services.empty
    assert [r.line for r in read.rejects] == [2, 3]
    assert read.rejects[0].reason == (
        "line 2: 'EXAMPLE-Night drop-in' is an example row from the template: replace it with "
        "a service"
    )
    assert all(r.columns == ("name",) for r in read.rejects)


def test_the_template_shows_an_overnight_range_and_a_closed_day() -> None:
    template = pd.read_csv(data_file("templates", "services.csv"), dtype=str).fillna("")
    assert tuple(template.columns) == FILE_COLUMNS
    cells = template.loc[:, ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]].to_numpy()
    assert any("20:00-02:00" in cell for cell in cells.ravel())
    assert any(cell in ("", "closed") for cell in cells.ravel())
    assert any("," in cell for cell in cells.ravel())  # several ranges in a day


def test_the_demo_services_load_whole_inside_southampton(area: StudyArea) -> None:
    read = read_services(data_file("services_demo.csv"), area=area)
    assert read.rejects == []
    services = read.services
    assert list(services.columns) == list(SERVICE_COLUMNS)
    assert 6 <= len(services) <= 12
    assert services["name"].str.contains("(demo)", regex=False).all()
    kinds = set(services["kind"])
    assert {"drop_in", "sarc", "a_and_e", "police_station"} <= kinds
    for kind in ("sarc", "a_and_e"):
        (row,) = services[services["kind"] == kind].to_dict("records")
        assert [row[day] for day in WEEKDAYS] == ["24h"] * 7
    days = [str(cell) for cell in services.loc[:, list(WEEKDAYS)].to_numpy().ravel()]
    assert "closed" in days
    assert any(re.search(r"-0[1-8]:", day) for day in days)  # open past midnight


def test_good_rows_are_read_with_their_hours_normalised() -> None:
    row = (
        "Late pharmacy,Pharmacy,Bevois Valley Road,50.9162,-1.3937,"
        '"20:00-00:00, 9:00-12:00",24H,Closed,,00:00-24:00,22:00\u201306:00,closed,,'
    )
    read = _read(row)
    assert read.rejects == []
    service = read.services.iloc[0]
    assert service["kind"] == "pharmacy"
    assert (service["lat"], service["lon"]) == (50.9162, -1.3937)
    assert [service[d] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")] == [
        "09:00-12:00, 20:00-24:00",
        "24h",
        "closed",
        "closed",
        "24h",
        "22:00-06:00",
        "closed",
    ]
    assert (service["phone"], service["notes"]) == ("", "")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("drop_in", "drop_in"),
        ("Drop-in", "drop_in"),
        ("DROP IN", "drop_in"),
        ("A&E", "a_and_e"),
        ("a & e", "a_and_e"),
        ("a_and_e", "a_and_e"),
        ("SARC", "sarc"),
        ("Sexual assault referral centre", "sarc"),
        ("SARC (sexual assault referral centre)", "sarc"),
        ("Night Shelter", "night_shelter"),
        ("police station", "police_station"),
        ("shop", None),
        ("", None),
    ],
)
def test_a_kind_is_its_code_or_its_label_in_any_case(text: str, kind: str | None) -> None:
    assert service_kind(text) == kind


def test_every_kind_reads_back_from_its_label() -> None:
    assert {service_kind(label) for label in SERVICE_KINDS.values()} == set(SERVICE_KINDS)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            f"X,drop_in,,abc,-1.39,{WEEK},,",
            "line 2: latitude 'abc' is not a number",
        ),
        (f"X,drop_in,,nan,-1.39,{WEEK},,", "line 2: latitude 'nan' is not a number"),
        (f"X,drop_in,,50.91,,{WEEK},,", "line 2: no longitude given"),
        (
            "X,drop_in,,50.91,-1.39,closed,closed,closed,closed,8pm-2am,closed,closed,,",
            "line 2: 'fri' hours '8pm-2am' is not an opening time: write HH:MM-HH:MM, several "
            "separated by commas, 24h or closed",
        ),
        (
            "X,drop_in,,50.91,-1.39,closed,closed,20:00-20:00,closed,closed,closed,closed,,",
            "line 2: 'wed' hours '20:00-20:00' is not an opening time: 20:00-20:00 starts where "
            "it ends",
        ),
        (
            f"X,shop,,50.91,-1.39,{WEEK},,",
            "line 2: kind 'shop' is not one of: Drop-in, Night shelter, SARC (sexual assault "
            "referral centre), A&E, Needle exchange, Refuge office, Police station, Pharmacy, "
            "Other",
        ),
        (f"X,,,50.91,-1.39,{WEEK},,", "line 2: no kind given; use one of: Drop-in, "),
        (f",drop_in,,50.91,-1.39,{WEEK},,", "line 2: no name given"),
        (
            f"X,drop_in,,50.1,-1.3,{WEEK},,",
            "line 2: (50.1, -1.3) lies outside the study area (Southampton)",
        ),
        (
            f"X,drop_in,,-1.3927,50.9110,{WEEK},,",
            "line 2: (-1.3927, 50.9110) lies outside the study area (Southampton), but inside it "
            "once latitude and longitude are exchanged: are they swapped?",
        ),
        (
            f"X,drop_in,,95,-1.39,{WEEK},,",
            "line 2: (95, -1.39) is not a place on Earth: latitude must be within ±90",
        ),
        (
            f"example-drop-in,drop_in,,50.91,-1.39,{WEEK},,",
            "line 2: 'example-drop-in' is an example row from the template",
        ),
        ("X,drop_in,,50.91", "line 2: wrong number of fields: 4 instead of 14: X,drop_in,,50.91"),
    ],
)
def test_each_bad_row_is_rejected_with_its_line_and_reason(
    row: str, reason: str, area: StudyArea
) -> None:
    read = _read(GOOD.replace("Drop-in", "Other drop-in"), row, area=area)
    assert len(read.services) == 1
    (rejected,) = read.rejects
    assert rejected.line == 3
    assert rejected.reason.startswith(reason.replace("line 2", "line 3"))


def test_a_name_already_given_is_rejected_naming_the_first_line() -> None:
    other = GOOD.replace("Derby Road", "Northam Road")
    read = _read(GOOD, "", other.replace("Drop-in", "  drop-IN "))
    assert [r.reason for r in read.rejects] == [
        "line 4: a service named 'drop-IN' is already on line 2"
    ]
    # a name rejected before is free: the later row is the service
    read = _read(GOOD.replace("50.9110", "abc"), other)
    assert list(read.services["address"]) == ["Northam Road"]


def test_a_row_with_several_problems_lists_them_all() -> None:
    (reason,) = _reasons(f"X,shop,,abc,-1.39,{WEEK.replace('20:00-02:00', '8pm', 1)},,")
    assert reason.startswith("line 2: kind 'shop' is not one of: ")
    assert "; latitude 'abc' is not a number; 'mon' hours '8pm' is not an opening time" in reason


def test_without_a_study_area_any_point_on_earth_is_taken() -> None:
    read = _read(GOOD.replace("50.9110,-1.3927", "51.5074,-0.1278"))
    assert len(read.services) == 1
    assert _reasons(GOOD.replace("-1.3927", "-181")) == [
        "line 2: (50.9110, -181) is not a place on Earth: latitude must be within ±90 and "
        "longitude within ±180"
    ]


def test_missing_columns_are_named() -> None:
    header = HEADER.replace(",latitude", "").replace(",sun", "")
    expected = "services.csv: this is not a services file: missing column(s) latitude, sun; "
    with pytest.raises(SchemaError, match=re.escape(f"{expected}expected columns: name, kind")):
        _read(header=header)


def test_address_phone_and_notes_may_be_left_out() -> None:
    header = "name,kind,latitude,longitude,mon,tue,wed,thu,fri,sat,sun"
    read = _read(f"Drop-in,drop_in,50.9110,-1.3927,{WEEK}", header=header)
    service = read.services.iloc[0]
    assert (service["address"], service["phone"], service["notes"]) == ("", "", "")


def test_a_header_alone_is_a_file_of_no_services() -> None:
    read = _read()
    assert read.rows == 0
    assert read.rejects == []
    assert list(read.services.columns) == list(SERVICE_COLUMNS)
    assert read.services.empty


@pytest.mark.parametrize("end", [b"", b"\n", b"\r\n"], ids=["no-line-end", "lf", "crlf"])
def test_a_header_without_rows_is_no_services_whatever_ends_it(end: bytes) -> None:
    read = read_services(io.BytesIO(HEADER.encode() + end))
    assert (read.rows, read.rejects, len(read.services)) == (0, [], 0)
    utf16 = read_services(io.BytesIO((HEADER + end.decode()).encode("utf-16")))
    assert (utf16.rows, len(utf16.services)) == (0, 0)


def test_an_empty_file_or_a_missing_one_is_a_schema_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="the file is empty"):
        read_services(io.BytesIO(b""))
    with pytest.raises(SchemaError, match="cannot open the file"):
        read_services(tmp_path / "nowhere.csv")


def test_a_byte_order_mark_and_excels_header_case_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "services.csv"
    header = HEADER.replace("name", "Name").replace("latitude", "Latitude")
    path.write_bytes(codecs.BOM_UTF8 + f"{header}\r\n{GOOD}\r\n".encode())
    read = read_services(path)
    assert list(read.services["name"]) == ["Drop-in"]
    assert read.source == str(path)


def test_the_rejects_file_can_be_mended_and_read_again(tmp_path: Path) -> None:
    bad = GOOD.replace("Drop-in,drop_in", "Shelter,shop")
    read = _read(GOOD, bad)
    out = tmp_path / "rejects.csv"
    write_service_rejects(read, out)
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(written.columns) == [
        *FILE_COLUMNS,
        "reject_line",
        "reject_columns",
        "reject_reasons",
    ]
    assert written.loc[0, "reject_line"] == "3"
    assert written.loc[0, "reject_columns"] == "kind"
    assert str(written.loc[0, "reject_reasons"]).startswith("line 3: kind 'shop' is not one of")
    mended = out.read_text(encoding="utf-8").replace(",shop,", ",night_shelter,")
    again = read_services(io.BytesIO(mended.encode()))
    assert again.rejects == []
    assert list(again.services["kind"]) == ["night_shelter"]
    assert list(again.services.columns) == list(SERVICE_COLUMNS)


def test_the_services_open_during_a_shift_come_from_a_frame_too(area: StudyArea) -> None:
    services = read_services(data_file("services_demo.csv"), area=area).services
    friday = open_services(services, date(2025, 3, 14), 20 * 60, 28 * 60)
    sunday = open_services(services, date(2025, 3, 16), 20 * 60, 28 * 60)
    assert "Night drop-in (demo)" in set(friday["name"])
    assert "Night drop-in (demo)" not in set(sunday["name"])  # closed on Sundays
    assert "Refuge office (demo)" not in set(friday["name"])  # office hours only
    texts = dict(zip(friday["name"], friday["open_text"], strict=True))
    assert texts["SARC (demo)"] == "open all night"
    assert texts["Night drop-in (demo)"] == "open all night"
    assert all(text != "closed" for text in texts.values())
    empty = open_services(services.iloc[0:0], date(2025, 3, 14), 1200, 1680)
    assert empty.empty
    assert "open_text" in empty.columns
