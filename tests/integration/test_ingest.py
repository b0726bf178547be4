"""Ingest as a user meets it: good rows kept, bad rows rejected with a reason, nothing lost."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from geo.errors import SchemaError, StoreError, StreetsafeError
from ingest.agencies import Agencies
from ingest.csvfile import open_table
from ingest.pipeline import IngestJob, IngestSummary, ingest_file, ingest_files, write_rejects
from ingest.seal import SealContext
from store import Store, open_store
from streetsafe.resources import data_file
from tests.conftest import (
    POLICEUK_HAMPSHIRE,
    POLICEUK_HAMPSHIRE_ROWS,
    POLICEUK_HAMPSHIRE_SOUTHAMPTON,
)

HEADER = (
    "record_id,occurred_at,latitude,longitude,place,category,severity,agency,person_ref,sharing"
)


def _csv(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *rows]) + "\n").encode())


def _ingest(store: Store, ctx: SealContext, kind: str, data: io.BytesIO) -> IngestSummary:
    return ingest_file(store, kind, data, ctx=ctx, source=f"{kind}.csv")


def _reasons(summary: IngestSummary) -> dict[int, str]:
    return dict(zip(summary.rejects["reject_line"], summary.rejects["reject_reasons"], strict=True))


def test_police_uk_force_file_keeps_southampton_and_counts_the_rest_outside(
    store: Store, ctx: SealContext
) -> None:
    first = ingest_file(store, "policeuk", str(POLICEUK_HAMPSHIRE), ctx=ctx)
    assert abs(first.accepted - POLICEUK_HAMPSHIRE_SOUTHAMPTON) <= 3
    assert first.rejected == 0
    assert first.accepted + first.outside_area == POLICEUK_HAMPSHIRE_ROWS
    assert "Location" not in first.dropped_columns  # its street goes to the place index
    assert "LSOA name" in first.dropped_columns
    again = ingest_file(store, "policeuk", str(POLICEUK_HAMPSHIRE), ctx=ctx)
    assert again.accepted == 0
    assert again.duplicates == first.accepted
    assert store.record_count() == first.accepted


def test_identical_police_uk_rows_each_count_once(store: Store, ctx: SealContext) -> None:
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context"
    )
    row = (
        ",2022-02,Hampshire Constabulary,Hampshire Constabulary,-1.404,50.909,"
        "On or near Supermarket,E01017139,Southampton 029C,Anti-social behaviour,,"
    )
    data = ("\r\n".join([header, row, row, row]) + "\r\n").encode()
    first = _ingest(store, ctx, "policeuk", io.BytesIO(data))
    assert first.accepted == 3  # three reports at one snapped point are three reports
    again = _ingest(store, ctx, "policeuk", io.BytesIO(data))
    assert (again.accepted, again.duplicates) == (0, 3)


def test_police_uk_rows_without_location_are_rejected_with_reason(
    store: Store, ctx: SealContext
) -> None:
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context"
    )
    rows = [
        "abc,2022-02,Hampshire Constabulary,Hampshire Constabulary,,,No Location,,,Burglary,,",
        "def,2022-02,Hampshire Constabulary,Hampshire Constabulary,-1.404,50.909,On or near X,"
        "E01017139,Southampton 029C,Burglary,Under investigation,",
    ]
    summary = _ingest(store, ctx, "policeuk", _csv(*rows, header=header))
    assert summary.accepted == 1
    assert summary.rejected_by_reason == {"no location": 1}


FAULTS = [
    # line 2: good, by coordinates
    "A1,2025-03-14 23:40,50.9112,-1.3931,,violence,high,Outreach team,AB-17,partners",
    # line 3: good, by named place, differently spelt category and severity as a number
    "A2,15/03/2025 01:15,,,derby road / northumberland road,Vehicle of concern,2,Outreach,,",
    # line 4: outside the study area (Winchester)
    "A3,2025-03-14 23:40,51.0632,-1.3080,,violence,high,Outreach team,AB-17,partners",
    # line 5: latitude and longitude swapped
    "A4,2025-03-14 23:40,-1.3931,50.9112,,violence,high,Outreach team,AB-17,partners",
    # line 6: unparseable time
    "A5,last friday,50.9112,-1.3931,,violence,high,Outreach team,AB-17,partners",
    # line 7: future time
    "A6,2031-01-01 22:00,50.9112,-1.3931,,violence,high,Outreach team,AB-17,partners",
    # line 8: unknown category with a near miss
    "A7,2025-03-14 23:40,50.9112,-1.3931,,robery,high,Outreach team,AB-17,partners",
    # line 9: spring DST gap (clocks went forward at 01:00 on 30 March 2025)
    "A8,2025-03-30 01:30,50.9112,-1.3931,,threats,low,Outreach team,AB-17,partners",
    # line 10: autumn DST fold: accepted and flagged
    "A9,2025-10-26 01:30,50.9112,-1.3931,,threats,low,Outreach team,AB-17,partners",
    # line 11: explicit offset: taken exactly
    "A10,2025-06-01T00:30:00+01:00,50.9112,-1.3931,,threats,low,Police NPT,,partners",
    # line 12: unknown place
    "A11,2025-03-14 23:40,,,Derby Rd,violence,high,Outreach team,AB-17,partners",
]


def test_faulty_rows_are_rejected_each_with_its_reason_and_good_rows_kept(
    store: Store, ctx: SealContext
) -> None:
    summary = _ingest(store, ctx, "incidents", _csv(*FAULTS))
    assert summary.rows == 11
    assert summary.accepted == 4  # lines 2, 3, 10, 11
    assert summary.rejected == 7
    assert summary.rejected_by_reason == {
        "outside study area": 1,
        "latitude/longitude swapped": 1,
        "unparseable time": 1,
        "future time": 1,
        "unknown category": 1,
        "time in DST gap": 1,
        "unknown place": 1,
    }
    reasons = _reasons(summary)
    assert set(reasons) == {4, 5, 6, 7, 8, 9, 12}
    assert "outside the study area" in reasons[4]
    assert "swapped" in reasons[5]
    assert "robbery" in reasons[8]  # the suggestion
    assert "never happened" in reasons[9]
    assert "Derby Road" in reasons[12]  # did you mean …
    assert summary.dst_fold_flagged == 1
    assert summary.sharing_defaulted == 1
    stored = store.query(
        "SELECT category, sharing, time_flag, occurred_utc FROM records ORDER BY occurred_utc"
    )
    assert sorted(stored["category"]) == ["threats", "threats", "vehicle_of_concern", "violence"]
    fold = stored[stored["time_flag"] == "dst_fold"]
    assert fold["occurred_utc"].iloc[0] == pd.Timestamp("2025-10-26 00:30")  # 01:30 BST
    offset = stored[stored["occurred_utc"] == pd.Timestamp("2025-05-31 23:30")]
    assert len(offset) == 1  # +01:00 taken exactly
    assert set(stored["sharing"]) == {"partners", "outreach_only"}


def test_outreach_contact_without_person_reference_is_rejected(
    store: Store, ctx: SealContext
) -> None:
    header = "occurred_at,latitude,longitude,category,agency,person_ref,sharing"
    summary = _ingest(
        store,
        ctx,
        "outreach",
        _csv(
            "2025-03-14 21:10,50.9112,-1.3931,welfare_check,Night van,,outreach_only",
            "2025-03-14 21:20,50.9112,-1.3931,naloxone,Night van,EF-22,outreach_only",
            header=header,
        ),
    )
    assert summary.accepted == 1
    assert summary.rejected_by_reason == {"missing person reference": 1}


def test_rejects_file_can_be_fixed_and_ingested_again(
    store: Store, ctx: SealContext, tmp_path: Path
) -> None:
    summary = _ingest(store, ctx, "incidents", _csv(*FAULTS))
    path = tmp_path / "rejects.csv"
    write_rejects(summary.rejects, path)
    rejects = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(rejects.columns[:10]) == HEADER.split(",")
    assert list(rejects.columns[10:]) == ["reject_line", "reject_columns", "reject_reasons"]
    # The user fixes the swapped row and the category, and ingests the file again.
    fixed = rejects.copy()
    swapped = fixed["record_id"] == "A4"
    fixed.loc[swapped, ["latitude", "longitude"]] = ["50.9112", "-1.3931"]
    fixed.loc[fixed["record_id"] == "A7", "category"] = "robbery"
    again = _ingest(store, ctx, "incidents", io.BytesIO(fixed.to_csv(index=False).encode()))
    assert again.accepted == 2
    assert again.rejected == 5
    assert again.dropped_columns == []  # the reject columns are recognised, not "unknown"


def test_a_rejects_file_reads_back_with_the_rows_it_was_written_with(
    store: Store, ctx: SealContext, tmp_path: Path
) -> None:
    """Found by the fuzzer: a field holding a bare carriage return was written unquoted, and
    the rejects file read again had a row more than it was written with."""
    rows = _violence("CR", 2)
    rows[0] = rows[0].replace("violence", '"cr\ronly"')
    rows[1] = rows[1].replace("violence", '"lf\nonly"')
    summary = _ingest(store, ctx, "incidents", _csv(*rows))
    path = tmp_path / "rejects.csv"
    write_rejects(summary.rejects, path)
    again = _ingest(store, ctx, "incidents", io.BytesIO(path.read_bytes()))
    assert (summary.rejected, again.rows, again.rejected) == (2, 2, 2)
    assert list(again.rejects["category"]) == ["cr\ronly", "lf\nonly"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"\x00\x01\x02\x03binary\x00", "binary"),
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, "gzip"),
        (HEADER.encode() + b"\n" + bytes(range(32)) * 100, "control characters"),
        (HEADER.replace("category", "cat\x00egory").encode() + b"\n", "header line"),
        (
            b"when,where\n2025-01-01 22:00,Derby Road\n",
            r"missing column\(s\) occurred_at, category",
        ),
    ],
    ids=[
        "empty",
        "blank-lines",
        "binary",
        "xlsx",
        "pdf",
        "gzip",
        "controls",
        "nul-header",
        "missing-columns",
    ],
)
def test_unreadable_file_gets_one_message_and_leaves_store_untouched(
    store: Store, ctx: SealContext, content: bytes, message: str
) -> None:
    _ingest(store, ctx, "asb", io.BytesIO(data_file("templates", "asb.csv").read_bytes()))
    before = store.query(
        "SELECT (SELECT count(*) FROM records) r, (SELECT count(*) FROM batches) b"
    )
    with pytest.raises(SchemaError, match=message):
        _ingest(store, ctx, "asb", io.BytesIO(content))
    after = store.query("SELECT (SELECT count(*) FROM records) r, (SELECT count(*) FROM batches) b")
    assert before.equals(after)


# The pipeline's stages (ingest/pipeline.py); a dashboard's listener for handed files
# (streetsafe-handoff, started by the suite's dashboard tests) lives as long as its server.
PIPELINE_THREADS = ("streetsafe-read", "streetsafe-seal", "streetsafe-identify")


def _pipeline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(PIPELINE_THREADS)]


def _violence(prefix: str, n: int) -> list[str]:
    """``n`` good incident rows, one a minute from 23:00."""
    return [
        f"{prefix}-{i},2025-03-14 23:{i:02d},50.9071,-1.4040,,violence,high,Outreach team,"
        f"P-{i},partners"
        for i in range(n)
    ]


def test_a_nul_byte_or_a_huge_field_rejects_its_row_and_the_rest_goes_in(
    store: Store, ctx: SealContext
) -> None:
    rows = _violence("H", 8)
    rows[2] = rows[2].replace("violence", "viol\x00ence")
    rows[5] = rows[5].replace("P-5", "P-" + "x" * (3 << 20))  # 3 MB, in a block of its own
    rows[6] = rows[6].replace("23:06", "23:06\x00" + "y" * (2 << 20))  # both: said once
    summary = _ingest(store, ctx, "incidents", _csv(*rows))
    assert (summary.rows, summary.accepted, summary.rejected) == (8, 5, 3)
    assert summary.rejected_by_reason == {"NUL byte": 2, "field too long": 1}
    reasons = _reasons(summary)
    assert reasons[4] == "category holds a NUL byte: remove it (a text file never needs one)"
    assert reasons[7] == "person_ref is longer than 1,048,576 bytes (STREETSAFE_MAX_FIELD_BYTES)"
    assert "NUL byte" in reasons[8]
    assert store.record_count() == 5
    tighter = replace(ctx, max_field_bytes=4)  # the limit is the deployment's
    again = _ingest(store, tighter, "incidents", _csv(*rows[:2]))
    assert again.rejected_by_reason == {"field too long": 2}  # "2025-03-14 23:00" is 16 bytes


def test_a_line_longer_than_a_block_is_read_in_a_larger_block(
    store: Store, ctx: SealContext
) -> None:
    from ingest.csvfile import BLOCK_SIZE

    rows = _violence("L", 3)
    rows[1] = rows[1].replace("P-1", "P-" + "z" * (BLOCK_SIZE + 10))
    summary = _ingest(store, ctx, "incidents", _csv(*rows))
    assert (summary.accepted, summary.rejected_by_reason) == (2, {"field too long": 1})


@pytest.mark.parametrize(
    ("encoding", "newline", "sep"),
    [
        ("utf-8", "\n", ","),
        ("utf-8-sig", "\r\n", ","),
        ("cp1252", "\r\n", ","),
        ("cp1252", "\r\n", ";"),
        ("utf-16", "\r\n", "\t"),
    ],
    ids=["utf8", "excel-utf8-bom", "excel-cp1252", "excel-semicolon", "excel-unicode-text"],
)
def test_files_saved_from_excel_are_read(
    store: Store, ctx: SealContext, encoding: str, newline: str, sep: str
) -> None:
    rows = [
        ["record_id", "occurred_at", "place", "category", "agency", "sharing", "notes"],
        [
            "X1",
            "14/03/2025 22:10",
            "St Mary's Street",
            "Soliciting",
            "Résident",
            "partners",
            "café",
        ],
        ["X2", "2025-03-14 22:40", "Six Dials", "noise", "Resident", "partners", "£5 — loud"],
    ]
    text = newline.join(sep.join(r) for r in rows) + newline
    ctx = replace(ctx, agencies=Agencies({"résident": "Résident", "resident": "Resident"}))
    summary = _ingest(store, ctx, "asb", io.BytesIO(text.encode(encoding)))
    assert (summary.accepted, summary.rejected) == (2, 0)
    assert summary.dropped_columns == ["notes"]
    agencies = set(store.query("SELECT agency FROM records")["agency"])
    assert agencies == {"Résident", "Resident"}
    # the audit trail names the very bytes that were ingested, however they were encoded
    audit = store.query("SELECT file_sha256, accepted FROM batches")
    assert audit.values.tolist() == [[hashlib.sha256(text.encode(encoding)).hexdigest(), 2]]


def test_rows_with_wrong_number_of_fields_are_rejected_at_their_line(
    store: Store, ctx: SealContext
) -> None:
    header = "occurred_at,place,category,agency"
    data = _csv(
        "2025-03-14 22:10,Six Dials,noise,Resident",
        "2025-03-14 22:20,Six Dials,noise",
        "",
        "2025-03-14 22:30,Six Dials,noise,Resident,extra",
        "2025-03-14 22:40,Six Dials,robery,Resident",
        header=header,
    )
    summary = _ingest(store, ctx, "asb", data)
    assert summary.accepted == 1
    assert summary.rejected_by_reason == {"wrong number of fields": 2, "unknown category": 1}
    assert sorted(summary.rejects["reject_line"]) == [3, 5, 6]


def test_identical_reports_in_one_file_both_count_and_reingest_adds_nothing(
    store: Store, ctx: SealContext
) -> None:
    header = "occurred_at,place,category,agency"
    row = "2025-03-14 22:10,Six Dials,discarded_needles,Resident"
    assert _ingest(store, ctx, "asb", _csv(row, row, header=header)).accepted == 2
    again = _ingest(store, ctx, "asb", _csv(row, row, row, header=header))
    assert (again.accepted, again.duplicates) == (1, 2)


def test_same_record_id_again_is_a_duplicate(store: Store, ctx: SealContext) -> None:
    row = "A1,2025-03-14 23:40,50.9112,-1.3931,,violence,high,Outreach team,AB-17,partners"
    edited = "A1,2025-03-14 23:45,50.9112,-1.3931,,violence,high,Outreach Team,AB-17,partners"
    assert _ingest(store, ctx, "incidents", _csv(row)).accepted == 1
    again = _ingest(store, ctx, "incidents", _csv(edited))
    assert (again.accepted, again.duplicates) == (0, 1)


EXAMPLE_MESSAGE = "an example row from the template: replace it with your own record"


def test_a_template_sent_unchanged_stores_nothing(store: Store, ctx: SealContext) -> None:
    for kind in ("incidents", "outreach", "asb"):
        template = data_file("templates", f"{kind}.csv").read_bytes()
        examples = len(template.decode().splitlines()) - 1
        summary = _ingest(store, ctx, kind, io.BytesIO(template))
        assert (summary.accepted, summary.rejected) == (0, examples), kind
        assert summary.rejected_by_reason == {"example row": examples}
        assert set(summary.rejects["reject_reasons"]) == {EXAMPLE_MESSAGE}
        assert set(summary.rejects["reject_columns"]) == {"record_id"}
    assert store.record_count() == 0


def test_the_templates_rows_go_in_once_given_ids_of_ones_own(
    store: Store, ctx: SealContext
) -> None:
    """The examples are valid reports in every other way: a template shows what goes in."""
    for kind in ("incidents", "outreach", "asb"):
        template = data_file("templates", f"{kind}.csv").read_text()
        own = template.replace("EXAMPLE-", "NV-")
        summary = _ingest(store, ctx, kind, io.BytesIO(own.encode()))
        assert (summary.accepted, summary.rejected) == (3, 0), kind


def test_an_example_row_left_in_a_file_is_rejected_and_the_rest_goes_in(
    store: Store, ctx: SealContext
) -> None:
    header, example = data_file("templates", "incidents.csv").read_text().splitlines()[:2]
    mine = example.replace("EXAMPLE-INC-1", "NV-2025-0412")  # the same report, an id of my own
    shouted = example.replace("EXAMPLE-INC-1", "example-inc-7").replace("23:40", "23:45")
    summary = _ingest(store, ctx, "incidents", _csv(example, mine, shouted, header=header))
    assert (summary.accepted, summary.rejected) == (1, 2)
    assert _reasons(summary) == {2: EXAMPLE_MESSAGE, 4: EXAMPLE_MESSAGE}
    assert store.record_count() == 1


def test_a_file_read_in_many_small_batches_lands_as_if_read_whole(
    tmp_path: Path, ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch boundaries change nothing: line numbers, identical rows, order of sealing."""
    rows = []
    for i in range(600):
        category = "soliciting" if i % 37 else "parking"  # every 37th row: unknown category
        record_id = f"A{i}" if i % 3 else ""  # a third without id: identified by content
        minute = (i // 7) % 60  # content repeats: identical id-less rows across batches
        rows.append(
            f"{record_id},2025-03-14 22:{minute:02d},50.9112,-1.3931,,{category},,Resident,,"
        )
    data = ("\n".join([HEADER, *rows]) + "\n").encode()

    def ingest(block_size: int, name: str) -> tuple[IngestSummary, pd.DataFrame]:
        monkeypatch.setattr("ingest.csvfile.BLOCK_SIZE", block_size)
        with open_store(str(tmp_path / name), storage_res=10) as st:
            summary = ingest_file(st, "asb", io.BytesIO(data), ctx=ctx, source="asb.csv")
            stored = st.query("SELECT * EXCLUDE (batch_id) FROM records ORDER BY key_hi, key_lo")
        return summary, stored

    whole, whole_rows = ingest(16 << 20, "whole.duckdb")
    small, small_rows = ingest(2048, "small.duckdb")  # ~40 batches
    assert whole.accepted > 0
    assert whole.duplicates == 0
    assert (small.accepted, small.duplicates, small.rejected) == (
        whole.accepted,
        whole.duplicates,
        whole.rejected,
    )
    assert _reasons(small) == _reasons(whole)
    assert sorted(_reasons(whole)) == [i + 2 for i in range(0, 600, 37)]
    pd.testing.assert_frame_equal(small_rows, whole_rows)


def test_the_file_digest_is_the_same_asked_before_or_after_reading() -> None:
    data = (HEADER + "\nA1,2025-03-14 22:10,50.9112,-1.3931,,noise,,Resident,,\n").encode()
    want = hashlib.sha256(data).hexdigest()
    before = open_table(io.BytesIO(data), source="a.csv")
    assert before.sha256 == want  # read for it
    after = open_table(io.BytesIO(data), source="a.csv")
    assert sum(len(frame) for frame in after.batches()) == 1
    assert after.sha256 == want  # hashed as it streamed


def _stored_files(store: Store) -> list[str]:
    """The files the store took, in order, as it knows them: by their SHA-256 alone."""
    frame = store.query("SELECT source, file_sha256 FROM batches ORDER BY id")
    assert set(frame["source"]) <= {""}  # never a file's name
    return list(frame["file_sha256"])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _asb_rows(n: int, *, first: int = 0) -> bytes:
    """An ASB file of ``n`` rows: some rejected, some without id, identical id-less rows."""
    rows = []
    for i in range(first, first + n):
        category = "soliciting" if i % 37 else "parking"  # every 37th row: unknown category
        record_id = f"A{i}" if i % 3 else ""
        rows.append(
            f"{record_id},2025-03-14 22:{(i // 7) % 60:02d},50.9112,-1.3931,,{category},,"
            "Resident report,,"
        )
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _several() -> list[tuple[str, bytes]]:
    incidents = "\n".join(
        [HEADER]
        + [
            f"I{i},2025-03-{1 + i % 28:02d} 23:{i % 60:02d},50.9112,-1.3931,,violence,high,"
            f"Outreach team,P{i % 11},partners"
            for i in range(300)
        ]
    )
    return [
        ("asb", _asb_rows(500)),
        ("incidents", (incidents + "\n").encode()),
        ("asb", _asb_rows(500)),  # the first file again: nothing new
        ("asb", _asb_rows(400, first=300)),  # overlapping the first
    ]


def _stored(st: Store) -> pd.DataFrame:
    return st.query("SELECT * FROM records ORDER BY key_hi, key_lo")


def test_several_files_in_one_run_land_as_if_ingested_one_by_one(
    tmp_path: Path, ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next file is read while the last one loads: each still lands whole, in order."""
    monkeypatch.setattr("ingest.csvfile.BLOCK_SIZE", 2048)  # many batches per file
    files = _several()
    with open_store(str(tmp_path / "one.duckdb"), storage_res=10) as st:
        one_by_one = [
            ingest_file(st, kind, io.BytesIO(data), ctx=ctx, source=f"{n}.csv")
            for n, (kind, data) in enumerate(files)
        ]
        want, want_batches = _stored(st), st.query("SELECT id, source, accepted FROM batches")
    jobs = [IngestJob(kind, io.BytesIO(data), f"{n}.csv") for n, (kind, data) in enumerate(files)]
    with open_store(str(tmp_path / "run.duckdb"), storage_res=10) as st:
        together = list(ingest_files(st, jobs, ctx=ctx))
        got, got_batches = _stored(st), st.query("SELECT id, source, accepted FROM batches")
    assert [s.as_json() for s in together] == [s.as_json() for s in one_by_one]  # type: ignore[union-attr]
    assert together[2].accepted == 0  # type: ignore[union-attr]
    assert together[2].duplicates == one_by_one[0].accepted > 0  # type: ignore[union-attr]
    for run, alone in zip(together, one_by_one, strict=True):
        assert isinstance(run, IngestSummary)
        pd.testing.assert_frame_equal(run.rejects, alone.rejects)
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(got_batches, want_batches)


def test_a_bad_file_among_several_is_reported_and_the_others_land(
    tmp_path: Path, ctx: SealContext
) -> None:
    good = _asb_rows(50)
    jobs = [
        IngestJob("asb", io.BytesIO(good), "first.csv"),
        IngestJob("asb", io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00binary"), "picture.csv"),
        IngestJob("asb", str(tmp_path / "no-such-file.csv")),
        IngestJob("incidents", io.BytesIO(b"when,what\n1,2\n"), "columns.csv"),
        IngestJob("nonsense", io.BytesIO(good), "what.csv"),
        IngestJob("asb", io.BytesIO(_asb_rows(50, first=1000)), "last.csv"),
    ]
    with open_store(str(tmp_path / "s.duckdb"), storage_res=10) as st:
        results = list(ingest_files(st, jobs, ctx=ctx))
        sources = _stored_files(st)
        stored = st.record_count()
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["IngestSummary", *["SchemaError"] * 4, "IngestSummary"]
    messages = [str(r) for r in results[1:5]]
    assert "picture.csv" in messages[0]
    assert "no-such-file.csv" in messages[1]
    assert "missing column(s) occurred_at" in messages[2]
    assert "unknown report kind 'nonsense'" in messages[3]
    assert sources == [_sha256(good), _sha256(_asb_rows(50, first=1000))]
    assert stored == sum(r.accepted for r in results if isinstance(r, IngestSummary)) > 0


def test_a_store_failure_mid_file_rolls_back_that_file_and_the_next_lands(
    tmp_path: Path, ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store._duckdb import _DuckDBWriter

    monkeypatch.setattr("ingest.csvfile.BLOCK_SIZE", 2048)
    files = [_asb_rows(300), _asb_rows(300, first=5000), _asb_rows(300, first=9000)]
    add = _DuckDBWriter.add
    calls = 0

    def failing_add(self: _DuckDBWriter, records: pa.Table) -> int:
        nonlocal calls
        calls += 1
        if calls == 16:  # well into the second file: some of its batches are already added
            raise StoreError("the disk is full")
        return add(self, records)

    with open_store(str(tmp_path / "want.duckdb"), storage_res=10) as st:
        for n in (0, 2):
            ingest_file(st, "asb", io.BytesIO(files[n]), ctx=ctx, source=f"{n}.csv")
        want = st.query("SELECT * EXCLUDE (batch_id) FROM records ORDER BY key_hi, key_lo")
    monkeypatch.setattr(_DuckDBWriter, "add", failing_add)
    jobs = [IngestJob("asb", io.BytesIO(data), f"{n}.csv") for n, data in enumerate(files)]
    with open_store(str(tmp_path / "s.duckdb"), storage_res=10) as st:
        results = list(ingest_files(st, jobs, ctx=ctx))
        got = st.query("SELECT * EXCLUDE (batch_id) FROM records ORDER BY key_hi, key_lo")
        sources = _stored_files(st)
    assert calls > 16
    assert isinstance(results[1], StoreError)
    assert sources == [_sha256(files[0]), _sha256(files[2])]
    pd.testing.assert_frame_equal(got, want)


def test_a_bug_while_sealing_is_raised_and_its_file_left_out(
    tmp_path: Path, ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error is not dressed up as a bad file: it stops the run, threads and all."""
    import ingest.pipeline
    from ingest.seal import seal

    monkeypatch.setattr("ingest.csvfile.BLOCK_SIZE", 2048)
    sealed = 0

    def buggy_seal(*args: object, **kwargs: object) -> object:
        nonlocal sealed
        sealed += 1
        if sealed == 14:
            raise ZeroDivisionError("a bug")
        return seal(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest.pipeline, "seal", buggy_seal)
    jobs = [
        IngestJob("asb", io.BytesIO(_asb_rows(300, first=n * 1000)), f"{n}.csv") for n in range(3)
    ]
    with open_store(str(tmp_path / "s.duckdb"), storage_res=10) as st:
        results: list[IngestSummary | StreetsafeError] = []
        with pytest.raises(ZeroDivisionError, match="a bug"):
            results.extend(ingest_files(st, jobs, ctx=ctx))
        sources = _stored_files(st)
        assert st.record_count() == sum(r.accepted for r in results if isinstance(r, IngestSummary))
    assert sources == [_sha256(_asb_rows(300))]
    assert len(results) == 1
    assert not _pipeline_threads()


class _Held(io.BytesIO):
    """A file whose first read waits until it is let go (a slow disk, a pipe still filling)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.go = threading.Event()
        self.waited_out = False

    def _wait(self) -> None:
        if not self.go.wait(timeout=10):
            self.waited_out = True
            self.go.set()  # once is enough to tell

    def read(self, size: int | None = -1, /) -> bytes:
        self._wait()
        return super().read(size)

    def readinto(self, buffer: Any, /) -> int:
        self._wait()
        return super().readinto(buffer)


def test_a_file_is_stored_and_reported_without_waiting_for_the_next_to_be_read(
    store: Store, ctx: SealContext
) -> None:
    held = _Held(_asb_rows(50, first=500))
    jobs = [IngestJob("asb", io.BytesIO(_asb_rows(50)), "first.csv"), IngestJob("asb", held, "2")]
    with contextlib.closing(ingest_files(store, jobs, ctx=ctx)) as results:
        first = next(results)
        assert not held.waited_out, "the first file waited for the second to be read"
        assert isinstance(first, IngestSummary)
        assert store.record_count() == first.accepted > 0
        held.go.set()
        second = next(results)
    assert isinstance(second, IngestSummary)
    assert second.accepted > 0


def test_a_run_stopped_early_closes_its_files_and_threads(
    tmp_path: Path, ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.csvfile.BLOCK_SIZE", 2048)
    paths = []
    for n in range(3):
        paths.append(tmp_path / f"{n}.csv")
        paths[-1].write_bytes(_asb_rows(300, first=n * 1000))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # an unclosed file fails the test
        with open_store(str(tmp_path / "s.duckdb"), storage_res=10) as st:
            run = ingest_files(st, [IngestJob("asb", str(p)) for p in paths], ctx=ctx)
            assert isinstance(next(run), IngestSummary)
            run.close()  # the reader has opened the next file by now
            gc.collect()
            sources = _stored_files(st)
    assert sources == [_sha256(paths[0].read_bytes())]
    assert not _pipeline_threads()
