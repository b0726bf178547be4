"""Fuzzing the readers of report files for minutes: random bytes, encodings and CSV structures.

    python -m bench.fuzz_bench [--minutes 3] [--readers incidents,outreach,asb,policeuk,services]
                               [--engine embedded|postgis] [--seed N]

Hypothesis drives each reader (the four report kinds through ``ingest_file``, several files at
once through ``ingest_files``, and the services file through ``load_services``) with random
bytes, random text in utf-8, utf-8-sig, utf-16, latin-1 and cp1252, and CSV files of the
kind's columns whose cells are good values, hostile ones (quotes, embedded CR/LF, delimiters,
formulas, NUL, byte-order marks, cells of up to 41 MB) or random text, with extra or missing
columns and fields, empty lines and three line endings. The property, checked on every input:

- nothing is raised but streetsafe's own errors (``geo.errors.StreetsafeError``), each with a
  message;
- a file refused leaves the store exactly as it was (records, files, data version, places, the
  services list);
- every row is accounted for: accepted + rejected + duplicates + outside area = rows, the store
  grows by the accepted records in one new file, and a well-formed file of the kind's columns
  (every field quoted as CSV requires, in an encoding the readers take) is never refused whole
  and has as many rows as were written (blank lines aside);
- the rejects file can be written, and read again it gives back every rejected row with the
  values first sent, none accepted (a services file's rejects: every row).

The same strategies and checks run for seconds in tests/integration/test_fuzz_readers.py. Here
they run in rounds of 100 inputs, each reader for its share of the time; a failure is shrunk to its
smallest input, saved under ``bench/results/fuzz/`` (the file's bytes, and a ``.txt`` with the
property broken and the traceback), and the search goes on with that failure's kind set aside,
so that one bug does not hide the next. Prints, per reader, the inputs tried (shrinking
included), how each ended, inputs/s and the failures; writes ``bench/results/fuzz.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from bench import RESULTS, ROOT
from geo.errors import StreetsafeError
from geo.layers import CATEGORIES
from geo.nights import WEEKDAYS
from ingest.kinds import KINDS, REJECT_COLUMNS, normalise_name
from ingest.pipeline import (
    IngestJob,
    IngestSummary,
    ingest_file,
    ingest_files,
    rejects_csv,
    write_rejects,
)
from ingest.seal import SealContext
from ingest.services import (
    FILE_COLUMNS,
    OPTIONAL_COLUMNS,
    SERVICE_KINDS,
    ServicesFile,
    read_services,
    write_service_rejects,
)
from store import Store, open_store
from streetsafe.deployment import seal_context
from streetsafe.services import load_services
from streetsafe.settings import Settings

SERVICES = "services"
READERS = (*KINDS, SERVICES)  # incidents, outreach, asb, policeuk, services
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252")
# Encodings the readers promise to read (ingest/csvfile.py): a well-formed file in one of these
# is never refused whole. latin-1 is read as cp1252, which lacks five of its control codes.
READABLE = frozenset({"utf-8", "utf-8-sig", "utf-16", "cp1252"})
FUZZ_KEY = "f0" * 32  # a fixed pseudonym key, not a secret: fuzzing seals invented rows
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # "now" for future-time checks
SOURCE = "fuzz.csv"
# Cells longer than the sniffed head (64 KiB), than the field limit (1 MB), and in the
# benchmark than Arrow's parse block (16 MiB) and than the 40 MB field a user once sent.
LONG_CELLS = (70_000, 1_100_000)
HUGE_CELLS = (*LONG_CELLS, 17_000_000, 41_000_000)
FUZZ_RESULTS = RESULTS / "fuzz"


def fuzz_context() -> SealContext:
    """The sealing context of a default deployment (Southampton, res 10), fixed key and now."""
    return replace(seal_context(Settings.from_env({}, pseudonym_key=FUZZ_KEY)), now=NOW)


@dataclass(frozen=True)
class FuzzFile:
    """One input for a reader, and what a correct reader must make of it."""

    reader: str  # a report kind, or "services"
    data: bytes
    origin: str  # "bytes", "text" or "csv"
    encoding: str = ""
    # For a well-formed CSV of the reader's columns in a readable encoding: the least and the
    # most rows a reader may count (blank rows aside; rows of empty or blank fields but of the
    # wrong width may count or not). None: no promise but the property's others.
    rows: tuple[int, int] | None = None

    def __repr__(self) -> str:  # hypothesis prints it: the whole file unless it is huge
        data = self.data if len(self.data) <= 4000 else self.data[:4000] + b"..."
        return (
            f"FuzzFile(reader={self.reader!r}, origin={self.origin!r}, "
            f"encoding={self.encoding!r}, rows={self.rows!r}, size={len(self.data)}, "
            f"data={data!r})"
        )


class PropertyError(AssertionError):
    """A reader broke the property; ``signature`` names the kind of failure, not the input."""

    def __init__(self, message: str, *, signature: str) -> None:
        super().__init__(message)
        self.signature = signature


# --- strategies ---------------------------------------------------------------------------

POLICEUK_HEADER = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)
HOSTILE = (
    '=HYPERLINK("http://example.com/x")',
    "@SUM(1+1)",
    "+1+1",
    "-2+3",
    "=cmd|' /C calc'!A0",
    "\t=1",
    "\r=1",
    "'=1",
    "'",
    '"',
    '""',
    'a "quoted" word',
    "a,b",
    "a;b",
    "a\tb",
    "two\nlines",
    "cr\ronly",
    "crlf\r\nend",
    "\n",
    "\ufeff",
    "\ufeffoccurred_at",
    " ",
    "\u2028",
    "\x85",
    "\x1a",
    "No Location",
    "[bold red]x[/]",
    "Ünïcödé ✓ 𝄞",
    "NULL",
    "nan",
    "None",
    "-0",
    "1e400",
)
_GOOD_TIMES = (
    "2025-03-14 23:40",
    "15/03/2025 01:15",
    "2025-06-01T00:30+01:00",
    "2025-03-30 01:30",  # in the spring gap
    "2025-10-26 01:30",  # in the autumn fold
    "2031-01-01 22:00",  # future
    "2025-03-14",
    "last friday",
)
_AGENCIES = (
    "Outreach team",
    "Night van",
    "police npt",
    "Outreach",
    "Community safety",
    "Resident report",
    "Nobody we know",
)
_PLACES = ("Derby Road / Northumberland Road", "St Mary's Street", "derby rd", "Six Dials")
_WEEK = ("20:00-02:00", "closed", "09:00-13:00, 14:00-18:00", "00:00-24:00", "25:00-02:00")


def _number(low: float, high: float, bad: Sequence[str]) -> st.SearchStrategy[str]:
    return st.floats(low, high).map(lambda x: f"{x:.4f}") | st.sampled_from(bad)


def _month_times() -> st.SearchStrategy[str]:
    """Distinct times, so that good rows are not all one record."""
    return st.builds(
        "2025-{:02d}-{:02d} {:02d}:{:02d}".format,
        st.integers(1, 12),
        st.integers(1, 28),
        st.integers(0, 23),
        st.integers(0, 59),
    )


def _category_names(layer: str) -> tuple[str, ...]:
    codes = CATEGORIES[layer]
    return (*codes, *codes.values(), "robery", "")


def _good_cells(reader: str) -> dict[str, st.SearchStrategy[str]]:
    """For each column of the reader (normalised), values a user might well have written."""
    lat = _number(50.88, 50.95, ("", "abc", "91", "-1.3931", "50,9112", "inf"))
    lon = _number(-1.45, -1.35, ("", "-1,3931", "50.9112", "181", "-"))
    if reader == SERVICES:
        hours = st.sampled_from(_WEEK)
        names = st.sampled_from(("Drop-in", "drop-in", "EXAMPLE-Drop-in", "A&E", ""))
        kinds = (*SERVICE_KINDS, *SERVICE_KINDS.values(), "chemist", "spa")
        return {
            "name": names | st.text(max_size=12),
            "kind": st.sampled_from(kinds),
            "address": st.sampled_from(("1 Derby Road", "")),
            "latitude": lat,
            "longitude": lon,
            **dict.fromkeys(WEEKDAYS, hours),
            "phone": st.sampled_from(("01632 960100", "=1+1", "")),
            "notes": st.sampled_from(("women only", "")),
        }
    if reader == "policeuk":
        return {
            "crime_id": st.sampled_from(("", "a1b2c3", "a1b2c4")),
            "month": st.sampled_from(("2022-02", "2022-03", "2022-13", "Feb 2022", "")),
            "longitude": lon | st.sampled_from(("-1.2000", "")),
            "latitude": lat | st.sampled_from(("51.0600", "")),
            "location": st.sampled_from(("On or near Derby Road", "No Location", "")),
            "crime_type": st.sampled_from(_category_names("policeuk")),
        }
    kind = KINDS[reader]
    return {
        "record_id": st.sampled_from(("", "R1", "R2", "EXAMPLE-1", " r1 ")),
        "occurred_at": _month_times() | st.sampled_from(_GOOD_TIMES),
        "latitude": lat,
        "longitude": lon,
        "place": st.sampled_from(("", *_PLACES)),
        "category": st.sampled_from(_category_names(kind.layer)),
        "severity": st.sampled_from(("low", "medium", "high", "3", "HIGH", "4", "")),
        "agency": st.sampled_from((*_AGENCIES, "")),
        "person_ref": st.sampled_from(("AB-17", "ef 22", "--", "")),
        "sharing": st.sampled_from(("partners", "outreach_only", "Partners", "public", "")),
    }


def _columns(reader: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the reader's columns as a file names them: (required, optional)."""
    if reader == SERVICES:
        required = tuple(c for c in FILE_COLUMNS if c not in OPTIONAL_COLUMNS)
        return required, OPTIONAL_COLUMNS
    kind = KINDS[reader]
    if reader == "policeuk":
        labels = {normalise_name(label): label for label in POLICEUK_HEADER}
        optional = tuple(labels[c] for c in kind.columns if c not in kind.required)
        return tuple(labels[c] for c in kind.required), optional
    return kind.required, tuple(c for c in kind.optional if c not in kind.required)


def _spelt(name: str) -> st.SearchStrategy[str]:
    """A column name as different programs and people write it: all read as one."""
    return st.sampled_from(
        (name, name.upper(), name.replace("_", " ").title(), f" {name} ", name.replace("_", "-"))
    )


def header_valid(reader: str, names: Sequence[str]) -> bool:
    """Whether a reader must take a file with this header: its columns, none twice."""
    columns = [normalise_name(n) for n in names]
    named = [c for c in columns if c]
    if len(set(named)) != len(named):
        return False
    required, _ = _columns(reader)
    if not {normalise_name(c) for c in required} <= set(columns):
        return False
    if reader in (SERVICES, "policeuk"):
        return True
    return {"latitude", "longitude"} <= set(columns) or "place" in columns


@st.composite
def headers(draw: st.DrawFn, reader: str) -> list[str]:
    """The reader's required columns (now and then one left out), some optional ones, some
    other columns (free text, the reject columns of a rejects file, an unnamed one), shuffled,
    each spelt one of several ways; now and then a column twice."""
    required, optional = _columns(reader)
    chosen = list(required)
    if draw(st.integers(0, 9)) == 9:
        chosen.remove(draw(st.sampled_from(required)))
    chosen += [c for c in optional if draw(st.integers(0, 3)) < 3]
    extras = ("Free text", "reject_line", "reject_columns", "reject_reasons", "", "notes", "Name")
    taken = {normalise_name(c) for c in chosen}
    chosen += draw(
        st.lists(
            st.sampled_from([e for e in extras if normalise_name(e) not in taken]),
            max_size=2,
            unique_by=normalise_name,
        )
    )
    if draw(st.integers(0, 19)) == 19:
        chosen.append(draw(st.sampled_from(chosen)))
    chosen = draw(st.permutations(chosen))
    return [draw(_spelt(c)) for c in chosen]


_ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=16)


def _cell(good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly good values (and shrinking goes to them), else hostile ones or any text."""

    def of(n: int) -> st.SearchStrategy[str]:
        if n < 7:
            return good
        return st.sampled_from(HOSTILE) if n < 9 else _ANY_TEXT

    return st.integers(0, 9).flatmap(of)


@st.composite
def _row(draw: st.DrawFn, strategies: Sequence[st.SearchStrategy[str]]) -> list[str]:
    """One row's fields; now and then a field short or one too many, or every field empty."""
    shape = draw(st.integers(0, 19))  # shrinks to 0: a row of the right width
    if shape == 19:
        return [""] * len(strategies)
    row = [draw(s) for s in strategies]
    if shape == 18:
        return row[:-1]
    if shape == 17:
        return [*row, draw(_cell(st.just("extra")))]
    return row


def _field(text: str, delimiter: str, *, quote_all: bool) -> str:
    """``text`` as a CSV field: quoted whenever it holds a delimiter, a quote, CR or LF (the
    csv module's writer quotes CR only when CR is its line end, so it cannot be used)."""
    if quote_all or any(c in text for c in (delimiter, '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


@dataclass(frozen=True)
class _Layout:
    delimiter: str
    newline: str
    quote_all: bool
    final_newline: bool
    raw: bool  # fields joined as they are, never quoted: not well-formed

    def line(self, fields: Sequence[str]) -> str:
        if self.raw:
            return self.delimiter.join(fields)
        if len(fields) == 1 and not fields[0]:
            return '""'  # one empty field, not an empty line
        return self.delimiter.join(
            _field(f, self.delimiter, quote_all=self.quote_all) for f in fields
        )


_layouts = st.builds(
    _Layout,
    delimiter=st.sampled_from((",", ";", "\t")),
    newline=st.sampled_from(("\n", "\r\n", "\r")),
    quote_all=st.booleans(),
    final_newline=st.integers(0, 4).map(lambda n: n < 4),
    raw=st.integers(0, 9).map(lambda n: n == 9),
)


def row_bounds(rows: Sequence[Sequence[str]], width: int) -> tuple[int, int]:
    """Return the least and the most rows a reader may count among ``rows`` (empty lines are
    ``[]``): rows with something in them count; rows of the right width with every field empty
    do not; rows of blanks, or of the wrong width with every field empty, may go either way."""
    least = sum(1 for r in rows if any(f.strip() for f in r))
    blank = sum(1 for r in rows if r and not any(f.strip() for f in r))
    empty_full = sum(1 for r in rows if len(r) == width and not any(r))
    return least, least + blank - empty_full


@st.composite
def csv_files(
    draw: st.DrawFn, reader: str, *, max_rows: int = 12, long_cells: Sequence[int] = LONG_CELLS
) -> FuzzFile:
    """A CSV file of the reader's kind: a header of its columns, rows of good, hostile and
    random cells, in a random delimiter, line end, quoting and encoding; now and then an empty
    line, a NUL byte or a very long cell."""
    names = draw(headers(reader))
    good = _good_cells(reader)
    strategies = [_cell(good.get(normalise_name(n), st.text(max_size=8))) for n in names]
    rows = draw(st.lists(_row(strategies), max_size=max_rows))
    mutation = draw(st.integers(0, 19)) if rows else 0
    if mutation >= 18:  # a NUL byte in a field, or a field longer than the limits
        text = "a\x00b" if mutation == 18 else "x" * draw(st.sampled_from(long_cells))
        rows[0] = [text, *rows[0][1:]]
    for at in draw(st.lists(st.integers(0, len(rows)), max_size=2)):  # empty lines
        rows.insert(at, [])
    layout = draw(_layouts)
    text = layout.newline.join(layout.line(r) for r in [names, *rows])
    text += layout.newline if layout.final_newline else ""
    encoding = draw(st.sampled_from(ENCODINGS))
    promise = not layout.raw and encoding in READABLE and header_valid(reader, names)
    return FuzzFile(
        reader,
        text.encode(encoding, errors="replace"),
        "csv",
        encoding,
        row_bounds(rows, len(names)) if promise else None,
    )


def _header_line(reader: str) -> str:
    required, optional = _columns(reader)
    return ",".join((*required, *optional))


def random_bytes(reader: str) -> st.SearchStrategy[FuzzFile]:
    """Any bytes, alone or after the reader's header line."""
    prefix = st.sampled_from((b"", (_header_line(reader) + "\n").encode()))
    return st.builds(
        lambda head, body: FuzzFile(reader, head + body, "bytes"), prefix, st.binary(max_size=2000)
    )


_CSVISH = (",", ";", "\t", '"', "\r", "\n", "\r\n", "\x00", "\ufeff", "=", " ", "\u2028")


def random_text(reader: str) -> st.SearchStrategy[FuzzFile]:
    """Any text (rich in CSV's own characters), alone or after the reader's header, in one of
    the encodings; characters it cannot encode become ``?``."""

    def encoded(head: str, body: list[str], encoding: str) -> FuzzFile:
        text = head + "".join(body)
        return FuzzFile(reader, text.encode(encoding, errors="replace"), "text", encoding)

    token = st.sampled_from(_CSVISH) | st.characters(exclude_categories=["Cs"])
    return st.builds(
        encoded,
        st.sampled_from(("", _header_line(reader) + "\n")),
        st.lists(token, max_size=400),
        st.sampled_from(ENCODINGS),
    )


def fuzz_files(
    reader: str, *, max_rows: int = 12, long_cells: Sequence[int] = LONG_CELLS
) -> st.SearchStrategy[FuzzFile]:
    """Random bytes, random text or a random CSV file of the kind, for ``reader``."""
    return st.one_of(
        csv_files(reader, max_rows=max_rows, long_cells=long_cells),
        random_text(reader),
        random_bytes(reader),
    )


# --- the property ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """What the store holds, as its public methods tell."""

    records: int
    batches: dict[int, int]
    version: tuple[int, int, int]
    places: int


def store_state(store: Store) -> _State:
    """Return the store's record count, files, data version and place index size."""
    return _State(store.record_count(), store.batches(), store.data_version(), len(store.places()))


def _where(exc: BaseException) -> str:
    """The innermost frame of a traceback, as ``file:function``: the same bug, the same place."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.name}"


def _shape(message: str) -> str:
    """A message with the file's name, quoted values and numbers taken out."""
    message = message.removeprefix(f"{SOURCE}: ")
    message = re.sub(r"'[^']*'|\"[^\"]*\"", "…", message)
    return re.sub(r"\d+", "N", message)[:80]


def _fail(what: str, detail: str = "", *, signature: str | None = None) -> PropertyError:
    return PropertyError(f"{what}{': ' if detail else ''}{detail}", signature=signature or what)


def _unexpected(exc: Exception, during: str) -> PropertyError:
    name = type(exc).__name__
    failure = _fail(
        f"{during} raised {name}, not a StreetsafeError",
        f"{exc}",
        signature=f"{during}: {name} at {_where(exc)}",
    )
    failure.__cause__ = exc
    return failure


def _refused(exc: StreetsafeError, f: FuzzFile, during: str) -> str:
    """Check a refusal: it says why, and a file the reader must take is not refused. Return
    the outcome: "refused: " and the message's shape."""
    if not str(exc).strip():
        raise _fail(f"{during}: {type(exc).__name__} with an empty message")
    if f.rows is not None:
        failure = _fail(
            f"{during}: a well-formed {f.reader} file ({f.encoding}) refused whole",
            f"{type(exc).__name__}: {exc}",
            signature=f"{during} refused whole: {type(exc).__name__}: {_shape(str(exc))}",
        )
        failure.__cause__ = exc
        raise failure
    return f"refused: {_shape(str(exc))}"


def _accounted(summary: IngestSummary, f: FuzzFile | None) -> None:
    """Check that every row of the file ended one way, and as many as were written."""
    ended = summary.accepted + summary.rejected + summary.duplicates + summary.outside_area
    if ended != summary.rows:
        raise _fail(
            "rows not accounted for",
            f"accepted {summary.accepted} + rejected {summary.rejected} + duplicates "
            f"{summary.duplicates} + outside {summary.outside_area} != rows {summary.rows}",
        )
    if len(summary.rejects) != summary.rejected:
        raise _fail("rejects frame", f"{len(summary.rejects)} rows, rejected {summary.rejected}")
    if f is not None and f.rows is not None and not f.rows[0] <= summary.rows <= f.rows[1]:
        raise _fail("rows miscounted", f"{summary.rows} rows counted, {f.rows} written")


def _grown(before: _State, after: _State, summaries: Sequence[IngestSummary]) -> None:
    """Check that the store grew by the accepted records, in one new file per summary."""
    accepted = sum(s.accepted for s in summaries)
    files = {s.batch_id: s.accepted for s in summaries if s.batch_id is not None}
    if after.records - before.records != accepted:
        raise _fail("store grew wrong", f"by {after.records - before.records}, accepted {accepted}")
    if len(files) != len(summaries) or after.batches != {**before.batches, **files}:
        raise _fail("files wrong", f"before {before.batches}, after {after.batches}, new {files}")


def _unchanged(before: _State, store: Store, during: str) -> None:
    after = store_state(store)
    if after != before:
        raise _fail(f"{during} failed but changed the store", f"{before} -> {after}")


def check_report_file(
    store: Store, ctx: SealContext, f: FuzzFile, *, rejects: Path, round_trip: bool = True
) -> str:
    """Ingest ``f`` and check the property; return "stored" or "refused: " and why.

    ``round_trip``: also write the file's rejects to ``rejects`` and ingest them again.
    """
    before = store_state(store)
    try:
        summary = ingest_file(store, f.reader, io.BytesIO(f.data), ctx=ctx, source=SOURCE)
    except StreetsafeError as exc:
        _unchanged(before, store, "ingest")
        return _refused(exc, f, "ingest")
    except Exception as exc:
        raise _unexpected(exc, "ingest") from exc
    _accounted(summary, f)
    _grown(before, store_state(store), [summary])
    if round_trip and summary.rejected:
        _rejects_again(store, ctx, summary, rejects)
    return "stored"


def _rejects_again(store: Store, ctx: SealContext, summary: IngestSummary, path: Path) -> None:
    """Write the rejects as ``--rejects`` does and as the Data page offers them to download;
    ingest each: every rejected row comes back with its values as sent, and none goes in."""
    writers: dict[str, Callable[[], object]] = {
        "the rejects file": lambda: write_rejects(summary.rejects, path),
        "the Data page's rejects": lambda: path.write_bytes(
            rejects_csv(summary.rejects).encode("utf-8")
        ),
    }
    for name, write in writers.items():
        try:
            write()
        except Exception as exc:
            raise _unexpected(exc, f"writing {name}") from exc
        _read_back(store, ctx, summary, path, name)


def _read_back(
    store: Store, ctx: SealContext, summary: IngestSummary, path: Path, name: str
) -> None:
    before = store_state(store)
    try:
        again = ingest_file(store, summary.kind, str(path), ctx=ctx, source="rejects.csv")
    except StreetsafeError as exc:
        raise _fail(f"{name} refused", f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise _unexpected(exc, f"ingest of {name}") from exc
    _accounted(again, None)
    _grown(before, store_state(store), [again])
    if (again.rows, again.accepted) != (summary.rejected, 0):
        raise _fail(
            f"{name} read again",
            f"{again.rows} rows ({again.accepted} accepted), {summary.rejected} rejected before",
        )
    sent, back = _own_cells(summary.rejects), _own_cells(again.rejects)
    if len(sent) != len(back):
        raise _fail(f"{name} read again", f"{len(back)} rejected, {len(sent)} before")
    for before_row, after_row in zip(sent, back, strict=True):
        if before_row != after_row:
            raise _fail(f"{name} changed a value", f"{before_row!r} -> {after_row!r}")


def _own_cells(rejects: pd.DataFrame) -> list[list[str]]:
    """The rejected rows' cells of the file's own columns (the reject columns aside)."""
    own = [i for i, c in enumerate(rejects.columns) if c not in REJECT_COLUMNS]
    cells: list[list[str]] = rejects.iloc[:, own].fillna("").astype(str).to_numpy().tolist()
    return cells


def check_run(store: Store, ctx: SealContext, files: Sequence[FuzzFile]) -> list[str]:
    """Ingest ``files`` in one run, as ``streetsafe ingest`` does; check the property for each
    file and for the run; return how each ended."""
    before = store_state(store)
    jobs = [IngestJob(f.reader, io.BytesIO(f.data), SOURCE) for f in files]
    try:
        outcomes = list(ingest_files(store, jobs, ctx=ctx))
    except Exception as exc:
        raise _unexpected(exc, "ingest_files") from exc
    if len(outcomes) != len(files):
        raise _fail("ingest_files", f"{len(outcomes)} outcomes for {len(files)} files")
    summaries, ended = [], []
    for f, outcome in zip(files, outcomes, strict=True):
        if isinstance(outcome, StreetsafeError):
            ended.append(_refused(outcome, f, "ingest_files"))
        else:
            _accounted(outcome, f)
            summaries.append(outcome)
            ended.append("stored")
    _grown(before, store_state(store), summaries)
    return ended


def check_services_file(
    store: Store, ctx: SealContext, f: FuzzFile, *, rejects: Path, round_trip: bool = True
) -> str:
    """Load ``f`` as the services file and check the property; return how it ended."""
    before, services = store_state(store), store.services()
    try:
        summary = load_services(store, io.BytesIO(f.data), ctx.study_area, source=SOURCE)
    except StreetsafeError as exc:
        _unchanged(before, store, "load_services")
        if not store.services().equals(services):
            raise _fail("load_services failed but changed the services") from exc
        return _refused(exc, f, "load_services")
    except Exception as exc:
        raise _unexpected(exc, "load_services") from exc
    if summary.accepted + summary.rejected != summary.rows:
        raise _fail("services rows not accounted for", f"{summary}")
    if f.rows is not None and not f.rows[0] <= summary.rows <= f.rows[1]:
        raise _fail("services rows miscounted", f"{summary.rows} counted, {f.rows} written")
    now = store.services()
    if summary.replaced and len(now) != summary.accepted:
        raise _fail("services stored", f"{len(now)} stored, {summary.accepted} accepted")
    if not summary.replaced and not now.equals(services):
        raise _fail("services changed", "a file none of whose rows were read changed the list")
    if round_trip and summary.rejected and summary.file is not None:
        _services_rejects_again(summary.file, rejects)
    return "stored"


def _services_rejects_again(read: ServicesFile, path: Path) -> None:
    """Write the services rejects and read them again: every rejected row comes back (some
    may be good now: a name given twice is not, alone)."""
    try:
        write_service_rejects(read, path)
        again = read_services(path, source="rejects.csv")
    except StreetsafeError as exc:
        raise _fail("the services rejects file refused", f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise _unexpected(exc, "services rejects") from exc
    if again.rows != len(read.rejects):
        raise _fail(
            "the services rejects read again",
            f"{again.rows} rows, {len(read.rejects)} rejected before",
        )


def check(
    store: Store, ctx: SealContext, f: FuzzFile, *, rejects: Path, round_trip: bool = True
) -> str:
    """Check the property for one input of any reader."""
    if f.reader == SERVICES:
        return check_services_file(store, ctx, f, rejects=rejects, round_trip=round_trip)
    return check_report_file(store, ctx, f, rejects=rejects, round_trip=round_trip)


# --- the benchmark --------------------------------------------------------------------------


Checker = Callable[[object], list[str]]  # an input -> how each of its files ended


@dataclass
class Tally:
    """What fuzzing one reader came to."""

    reader: str
    tried: int = 0
    seconds: float = 0.0
    # per file: "stored", "refused: <why>", or "known" (a failure already found, set aside)
    ended: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "reader": self.reader,
            "tried": self.tried,
            "seconds": round(self.seconds, 1),
            "per_second": round(self.tried / self.seconds, 1) if self.seconds else 0,
            "ended": dict(self.ended),
            "failures": self.failures,
        }


@dataclass
class _Round:
    """One hypothesis run: the failure it last saw (after shrinking, the smallest)."""

    known: set[str]
    last: tuple[object, PropertyError] | None = None


def _strategy(reader: str) -> st.SearchStrategy[object]:
    if reader == "run":  # several report files in one run
        kinds = st.sampled_from(tuple(KINDS))
        one = kinds.flatmap(lambda k: fuzz_files(k, max_rows=20, long_cells=HUGE_CELLS))
        return st.lists(one, min_size=1, max_size=3)
    return fuzz_files(reader, max_rows=40, long_cells=HUGE_CELLS)


def _one_round(
    reader: str, tally: Tally, checker: Checker, *, examples: int, number: int, stop: float
) -> _Round:
    """Run hypothesis for up to ``examples`` inputs; past ``stop`` (time.monotonic) inputs
    pass unchecked, which ends the round quickly, shrinking included."""
    state = _Round(known={f["signature"] for f in tally.failures})

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
    )
    @seed(number)
    @given(_strategy(reader))
    def one_input(value: object) -> None:
        if time.monotonic() > stop:
            return
        tally.tried += 1
        try:
            tally.ended.update(checker(value))
        except PropertyError as failure:
            if failure.signature in state.known:
                tally.ended["known"] += 1
                return
            state.last = (value, failure)
            raise

    try:
        one_input()
    except Exception as exc:  # the failure, shrunk (or cut short by the time: "flaky")
        if state.last is None:
            raise _unexpected(exc, "hypothesis") from exc
    return state


def _save(reader: str, value: object, failure: PropertyError, n: int) -> dict[str, str]:
    """Write the smallest failing input under bench/results/fuzz/; return what was found."""
    FUZZ_RESULTS.mkdir(parents=True, exist_ok=True)
    files = value if isinstance(value, list) else [value]
    stem = f"{reader}-{n}"
    for i, f in enumerate(files):
        if isinstance(f, FuzzFile):
            (FUZZ_RESULTS / f"{stem}.{i}.{f.reader}.csv").write_bytes(f.data)
    cause = failure.__cause__
    trace = "".join(traceback.format_exception(cause)) if cause else ""
    text = f"{failure.signature}\n\n{failure}\n\n{value!r}\n\n{trace}"
    (FUZZ_RESULTS / f"{stem}.txt").write_text(text, encoding="utf-8")
    return {
        "signature": failure.signature,
        "message": str(failure)[:500],
        "input": repr(value)[:2000],
        "saved": str((FUZZ_RESULTS / f"{stem}.txt").relative_to(ROOT)),
    }


def fuzz_reader(reader: str, checker: Checker, *, seconds: float, seed: int) -> Tally:
    """Fuzz one reader (or "run": several files at once) for ``seconds``, shrinking included."""
    tally = Tally(reader)
    start = time.monotonic()
    stop = start + seconds
    rounds = 0
    while time.monotonic() < stop:
        rounds += 1
        state = _one_round(reader, tally, checker, examples=100, number=seed + rounds, stop=stop)
        if state.last is not None:
            value, failure = state.last
            tally.failures.append(_save(reader, value, failure, len(tally.failures) + 1))
            print(f"  {reader}: FAILED {failure.signature}", flush=True)
    tally.seconds = time.monotonic() - start
    return tally


@contextmanager
def _store(engine: str) -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as tmp:
        if engine == "embedded":
            with open_store(str(Path(tmp) / "fuzz.duckdb"), storage_res=10) as store:
                yield store
            return
        from tests.pg_cluster import pg_cluster

        with (
            pg_cluster() as cluster,
            cluster.fresh_database() as url,
            open_store(url, storage_res=10) as store,
        ):
            yield store


def _checker(store: Store, ctx: SealContext, rejects: Path) -> Checker:
    def one(value: object) -> list[str]:
        if isinstance(value, FuzzFile):
            return [check(store, ctx, value, rejects=rejects)]
        if isinstance(value, list):
            return check_run(store, ctx, value)
        raise TypeError(f"not an input: {value!r}")

    return one


def run(readers: Sequence[str], *, minutes: float, engine: str, seed: int) -> list[Tally]:
    """Fuzz each reader for an equal share of ``minutes``; print and save the figures."""
    ctx = fuzz_context()
    share = minutes * 60 / len(readers)
    tallies = []
    with _store(engine) as store, tempfile.TemporaryDirectory() as tmp:
        for reader in readers:
            print(f"… {reader} for {share:.0f} s", flush=True)
            checker = _checker(store, ctx, Path(tmp) / "rejects.csv")
            tallies.append(fuzz_reader(reader, checker, seconds=share, seed=seed))
    _print(tallies)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "fuzz.json"
    summary = {"engine": engine, "minutes": minutes, "seed": seed}
    out.write_text(json.dumps({**summary, "readers": [t.as_json() for t in tallies]}, indent=2))
    print(f"written {out.relative_to(ROOT)}")
    return tallies


def _print(tallies: Sequence[Tally]) -> None:
    print(
        f"{'reader':10} {'inputs':>8} {'per s':>7} {'files stored':>13} {'refused':>8} "
        f"{'set aside':>10} {'failures':>9}"
    )
    refusals: Counter[str] = Counter()
    for t in tallies:
        rate = t.tried / t.seconds if t.seconds else 0.0
        refused = Counter({k: n for k, n in t.ended.items() if k.startswith("refused")})
        refusals += refused
        print(
            f"{t.reader:10} {t.tried:>8,} {rate:>7.1f} {t.ended['stored']:>13,} "
            f"{refused.total():>8,} {t.ended['known']:>10,} {len(t.failures):>9}"
        )
    print("most frequent refusals:")
    for reason, n in refusals.most_common(8):
        print(f"  {n:>6,}  {reason}")
    for t in tallies:
        for failure in t.failures:
            print(f"FAILURE {t.reader}: {failure['signature']}\n  {failure['message'][:300]}")
            print(f"  saved: {failure['saved']}")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--readers", default=",".join((*READERS, "run")))
    parser.add_argument("--engine", choices=("embedded", "postgis"), default="embedded")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    readers = args.readers.split(",")
    unknown = [r for r in readers if r not in (*READERS, "run")]
    if unknown:
        parser.error(f"unknown reader(s) {', '.join(unknown)}; use {', '.join(READERS)} or run")
    run(readers, minutes=args.minutes, engine=args.engine, seed=args.seed)


if __name__ == "__main__":
    main()
