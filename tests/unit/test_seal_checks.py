"""The seal's check tables: what a rejected row is told, and in which order.

A rejected row's reasons are joined in the rejects file in the order the checks found them, which
is the order of its kind's table (:func:`ingest.seal.checks_for`). These tests seal small batches
read the way ingest reads them and look at the problems a user would see.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from ingest.csvfile import open_table
from ingest.kinds import KINDS
from ingest.seal import SealContext, Sealed, checks_for, seal
from tests.conftest import ROOT

README = ROOT / "README.md"

NATIVE_HEADER = (
    "record_id,occurred_at,latitude,longitude,place,category,severity,agency,person_ref,sharing"
)
GOOD = {
    "record_id": "R-1",
    "occurred_at": "2026-05-01 22:10",
    "latitude": "50.9112",
    "longitude": "-1.3931",
    "place": "",  # and a category of the kind: see _seal
    "severity": "high",
    "agency": "Outreach team",
    "person_ref": "AB-17",
    "sharing": "partners",
}
CATEGORY = {"incidents": "violence", "outreach": "welfare_check", "asb": "noise"}
# Everything wrong that can be wrong at once in one row (a place, so no coordinate faults).
EVERY_FAULT = {
    **GOOD,
    "occurred_at": "2027-01-01 10:00",
    "latitude": "",
    "longitude": "",
    "place": "Derby Rd",
    "category": "violnce",
    "severity": "extreme",
    "agency": "",
    "person_ref": "",
    "sharing": "everyone",
}


def _seal(
    kind: str, rows: list[dict[str, str]], ctx: SealContext, header: str = NATIVE_HEADER
) -> Sealed:
    """Seal ``rows`` as ingest would: CSV bytes, read by the CSV reader, one batch.

    A native row without a category gets a valid one of ``kind``.
    """
    if kind in CATEGORY:
        rows = [{"category": CATEGORY[kind], **row} for row in rows]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header.split(","), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    table = open_table(io.BytesIO(out.getvalue().encode()), source=f"{kind}.csv")
    (batch,) = list(table.batches())
    return seal(batch, KINDS[kind], ctx)


def _reasons(sealed: Sealed, row: int = 0) -> list[str]:
    problems = sealed.problems
    return list(problems.loc[problems["row"] == row, "reason"])


def _documented_reasons() -> set[str]:
    """Return the reasons named in the README's table under "What happens to each row"."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| reason | when |") :].split("\n\n", 1)[0]
    return {
        name
        for line in table.splitlines()[2:]
        for name in re.findall(r"`([^`]+)`", line.split("|")[1])
    }


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        pytest.param(kind, check.reason, id=f"{kind}-{check.reason}")
        for kind in KINDS
        for check in checks_for(KINDS[kind])
    ],
)
def test_every_reason_a_check_gives_is_documented(kind: str, reason: str) -> None:
    assert reason in _documented_reasons()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "incidents",
            [
                "future time",
                "unknown place",
                "unknown category",
                "missing agency",
                "unknown sharing level",
                "unknown severity",
            ],
        ),
        (
            "outreach",
            [
                "future time",
                "unknown place",
                "unknown category",
                "missing agency",
                "missing person reference",
                "unknown sharing level",
            ],
        ),
        (
            "asb",
            [
                "future time",
                "unknown place",
                "unknown category",
                "missing agency",
                "unknown sharing level",
            ],
        ),
    ],
)
def test_a_row_with_several_faults_gets_every_reason_in_table_order(
    kind: str, expected: list[str], ctx: SealContext
) -> None:
    sealed = _seal(kind, [EVERY_FAULT, GOOD], ctx)

    assert _reasons(sealed) == expected
    table_order = [c.reason for c in checks_for(KINDS[kind]) if c.reason in expected]
    assert table_order == expected
    assert list(sealed.records.index) == [1]


def test_rules_of_some_kinds_only_apply_to_those(ctx: SealContext) -> None:
    row = {**GOOD, "person_ref": "", "severity": "extreme"}

    assert _reasons(_seal("incidents", [row], ctx)) == ["unknown severity"]
    assert _reasons(_seal("outreach", [row], ctx)) == ["missing person reference"]
    assert _reasons(_seal("asb", [row], ctx)) == []


def test_a_reference_of_punctuation_alone_names_nobody(ctx: SealContext) -> None:
    rows = [{**GOOD, "person_ref": ref} for ref in ("-", " ./ ", "W-1")]
    sealed = _seal("outreach", rows, ctx)
    assert [_reasons(sealed, row) for row in range(3)] == [
        ["missing person reference"],
        ["missing person reference"],
        [],
    ]


@pytest.mark.parametrize("kind", ["incidents", "outreach", "asb"])
def test_rejects_list_each_rows_reasons_in_its_kinds_table_order(
    kind: str, ctx: SealContext
) -> None:
    faults = [
        {"occurred_at": ""},
        {"occurred_at": "2026-03-29 01:30", "latitude": "95"},
        {"occurred_at": "yesterday", "longitude": "", "category": ""},
        {"latitude": "abc", "agency": "", "sharing": "?"},
        {"latitude": "-1.3931", "longitude": "50.9112", "person_ref": "", "severity": "0"},
        {"latitude": "51.5", "longitude": "-0.12", "category": "nope"},
        {"latitude": "", "longitude": "", "place": "", "agency": ""},
    ]
    sealed = _seal(kind, [{**GOOD, **fault} for fault in faults], ctx)
    order = {c.reason: i for i, c in enumerate(checks_for(KINDS[kind]))}

    assert set(sealed.problems["row"]) == set(range(len(faults)))
    for _row, reasons in sealed.problems.groupby("row", sort=False)["reason"]:
        positions = [order[reason] for reason in reasons]
        assert positions == sorted(positions)
        assert len(set(positions)) == len(positions)
    # and batch-wide: rule by rule, as the table runs
    positions = [order[reason] for reason in sealed.problems["reason"]]
    assert positions == sorted(positions)


def test_hints_are_given_row_by_row(ctx: SealContext) -> None:
    rows = [
        {**GOOD, "category": "violnce"},
        {**GOOD, "category": "robery"},
        GOOD,
        {**GOOD, "latitude": "", "longitude": "", "place": "Derby Rd"},
        {**GOOD, "latitude": "", "longitude": "", "place": "Nowhere Special"},
    ]
    problems = _seal("incidents", rows, ctx).problems

    assert list(problems["row"]) == [3, 4, 0, 1]  # the place checks come before the category's
    assert list(problems["value"]) == ["Derby Rd", "Nowhere Special", "violnce", "robery"]
    derby, nowhere, violnce, robery = problems["message"]
    assert "did you mean 'Derby Road / " in derby
    assert "did you mean" not in nowhere
    assert "did you mean 'violence'?" in violnce
    assert "did you mean 'robbery'?" in robery


POLICEUK_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)


POLICEUK_GOOD = {
    **dict.fromkeys(POLICEUK_HEADER.split(","), ""),
    "Month": "2026-10",
    "Longitude": "-1.3931",
    "Latitude": "50.9112",
    "Crime type": "Drugs",
}


def test_police_uk_rows_get_their_reasons_in_table_order(ctx: SealContext) -> None:
    rows = [
        {
            **POLICEUK_GOOD,
            "Month": "2026/10",
            "Longitude": "",
            "Latitude": "",
            "Location": "No Location",
            "Crime type": "",
        },
        {**POLICEUK_GOOD, "Month": "2027-01", "Latitude": "95"},
        {**POLICEUK_GOOD, "Longitude": "-0.12", "Latitude": "51.5"},  # London: outside, counted
        POLICEUK_GOOD,
    ]
    sealed = _seal("policeuk", rows, ctx, header=POLICEUK_HEADER)

    assert _reasons(sealed, 0) == ["unparseable month", "missing category", "no location"]
    assert sealed.problems.loc[sealed.problems["reason"] == "no location", "value"].tolist() == [
        "No Location"
    ]
    assert _reasons(sealed, 1) == ["future time", "coordinates out of range"]
    assert _reasons(sealed, 2) == []
    assert sealed.outside_area == 1
    assert list(sealed.records.index) == [3]


def test_a_kinds_table_names_each_reason_once() -> None:
    for kind in KINDS.values():
        reasons = [c.reason for c in checks_for(kind)]
        assert len(reasons) == len(set(reasons)), kind.name


def test_an_agency_is_stored_under_its_one_name_or_refused_with_the_closest(
    ctx: SealContext,
) -> None:
    rows = [{**GOOD, "agency": a} for a in ("police  npt", "Polce NPT", "=cmd|' /C calc'!A0")]
    sealed = _seal("incidents", rows, ctx)
    assert sealed.records["agency"].tolist() == ["Police NPT"]
    assert [_reasons(sealed, row) for row in (1, 2)] == [["unknown agency"], ["unknown agency"]]
    hint = sealed.problems.loc[sealed.problems["row"] == 1, "message"].iloc[0]
    assert "did you mean 'Police NPT'?" in hint
