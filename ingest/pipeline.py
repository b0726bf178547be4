"""Ingest one report file into a store: read, validate, seal, deduplicate, load — atomically.

Every row ends as accepted, rejected (with line, column, value and reason), duplicate, or (for
police.uk force files) outside the study area. The file lands whole or not at all.
"""

from __future__ import annotations

import contextlib
import csv
import os
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeGuard

import numpy as np
import pandas as pd
import pyarrow as pa

from geo.errors import SchemaError, StreetsafeError
from geo.layers import POLICEUK
from geo.places import GAZETTEER
from ingest.csvfile import CsvTable, Progress, open_table
from ingest.files import atomic_text, spreadsheet_safe
from ingest.identity import Identities
from ingest.kinds import KEPT_COLUMNS, KINDS, REJECT_COLUMNS, Kind
from ingest.ordered import map_ordered, read_ahead
from ingest.seal import SealContext, Sealed, seal
from store import BatchInfo, Store, to_arrow

REASON_WRONG_FIELDS = "wrong number of fields"
_SEAL_THREADS = 2  # batches sealed at once


@dataclass
class IngestSummary:
    """What happened to each row of one file."""

    source: str
    kind: str
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    outside_area: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)
    dst_fold_flagged: int = 0
    sharing_defaulted: int = 0
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    # the store's number of the file once committed: what undoing this upload names
    # (Store.undo_upload); None until then
    batch_id: int | None = None
    notes: list[str] = field(default_factory=list)  # hints for the person who sent the file

    def as_json(self) -> dict[str, Any]:
        """Return the summary as plain JSON-able values (without the rejected rows)."""
        return {
            "source": self.source,
            "kind": self.kind,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "outside_area": self.outside_area,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "dropped_columns": list(self.dropped_columns),
            "dst_fold_flagged": self.dst_fold_flagged,
            "sharing_defaulted": self.sharing_defaulted,
            "batch_id": self.batch_id,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Uploader:
    """Who supplies a file: the operator (the command line) or a role through the dashboard.

    ``trusted``: the operator, or a role with case knowledge. A file from anyone else is a
    partner's: its records do not count towards ``k`` in a release (a partner could otherwise
    plant people to lift a hexagon over ``k`` and so reveal who else is there), and its
    duplicates are looked for among that partner's own records only.
    """

    name: str = "operator"
    trusted: bool = True
    # the agency a signed-in person (or a partner's file, ``ingest --from``) uploads for: every
    # row is stamped with it, and a row naming an agency outside its service is rejected (see
    # SealContext.agency). None: the operator's own files, which may name any agency.
    agency: str | None = None

    @property
    def identity_space(self) -> str | None:
        """Where this uploader's duplicates are looked for (None: among every record)."""
        return None if self.trusted else self.name


OPERATOR = Uploader()


@dataclass(frozen=True)
class IngestJob:
    """One file to ingest: the kind of reports it holds, and the file (a path or a byte stream)."""

    kind: str
    file: IO[bytes] | str
    source: str | None = None  # the name shown (never stored); default: the path
    synthetic: bool = False
    progress: Progress | None = None
    uploader: Uploader = OPERATOR


def ingest_file(
    store: Store,
    kind_name: str,
    file: IO[bytes] | str,
    *,
    ctx: SealContext,
    source: str | None = None,
    synthetic: bool = False,
    progress: Progress | None = None,
    uploader: Uploader = OPERATOR,
) -> IngestSummary:
    """Ingest one CSV file of ``kind_name`` into ``store`` in a single transaction.

    Raises :class:`SchemaError` (store untouched) when the file cannot be read as that kind.
    Rejected rows do not stop the file: they are returned in ``summary.rejects``.
    """
    job = IngestJob(kind_name, file, source, synthetic, progress, uploader)
    with contextlib.closing(ingest_files(store, [job], ctx=ctx)) as results:
        result = next(results)
    if isinstance(result, StreetsafeError):
        raise result
    return result


def ingest_files(
    store: Store, jobs: Iterable[IngestJob], *, ctx: SealContext
) -> Generator[IngestSummary | StreetsafeError]:
    """Ingest files one after another, each in its own transaction; yield each file's outcome.

    The outcome is the file's summary, or the :class:`StreetsafeError` that kept it out of the
    store (unreadable, wrong columns, the store failed): that file left the store as it was, and
    the next file goes on. Any other exception is raised. While one file is loaded and committed,
    the next is already being parsed and sealed, so a run of files keeps both cores busy from
    the first file's start to the last one's end rather than filling and draining the pipeline
    at each file.
    """
    # Four stages: parsing, sealing (two batches at once) and identifying on threads of their
    # own (parsing, hashing the file, binning and the store's insert release the GIL); this
    # thread loads. Closing the later stage first stops its worker before the earlier one's.
    files = _Files()
    frames = read_ahead(_file_items(jobs, files), name="streetsafe-read")
    sealed = read_ahead(_sealed_items(frames, ctx), name="streetsafe-seal")
    identified = read_ahead(_identified_items(sealed, ctx), name="streetsafe-identify")
    try:
        with (
            contextlib.closing(frames),
            contextlib.closing(sealed),
            contextlib.closing(identified),
        ):
            finished = -1  # the last file whose outcome is known: its remaining items are skipped
            for item in identified:
                if isinstance(item, _Failed):
                    error = item.error
                    if not isinstance(error, StreetsafeError):
                        raise error  # a bug, not a bad file: stop, whichever file it came from
                    if item.n > finished:
                        finished = item.n
                        files.abandon(item.n)  # if the reader is still on it, it stops
                        yield error
                    continue
                if item.n <= finished:
                    if isinstance(item, _Closed):  # the reader is done with a file given up on
                        files.close(item.n)
                    continue
                finished = item.n
                if not isinstance(item, _Opened):
                    raise RuntimeError(f"ingest: a part of file {item.n} came before its start")
                try:
                    summary = _load(store, item, identified, ctx)
                except StreetsafeError as exc:
                    files.abandon(item.n)  # the reader stops reading it
                    yield exc
                    continue
                files.close(item.n)  # the reader is done with it: it sent the file's end
                yield summary
    finally:
        files.close_all()


class _Files:
    """The files the reader opened, until closed; and those the loader gave up on.

    The reader opens each file; the loader closes it once the reader has sent the file's end
    (until then the reader may still be reading it, and a file's rejects are read again at its
    end). Whatever stops a run, every file opened is closed once the stages have stopped.
    """

    def __init__(self) -> None:
        self._open: dict[int, Callable[[], None]] = {}
        self._abandoned: set[int] = set()
        self._lock = threading.Lock()

    def opened(self, n: int, close: Callable[[], None]) -> None:
        with self._lock:
            self._open[n] = close

    def abandon(self, n: int) -> None:
        """File ``n`` will not be stored: the reader may stop reading it."""
        with self._lock:
            self._abandoned.add(n)

    def abandoned(self, n: int) -> bool:
        with self._lock:
            return n in self._abandoned

    def close(self, n: int) -> None:
        with self._lock:
            close = self._open.pop(n, None)
        if close is not None:
            close()

    def close_all(self) -> None:
        with self._lock:
            closers, self._open = list(self._open.values()), {}
        for close in closers:
            close()


@dataclass
class _Opened:
    """A file whose header was read: its parts follow, then :class:`_Closed` or :class:`_Failed`."""

    n: int  # the file's position among the jobs
    job: IngestJob
    kind: Kind
    table: CsvTable


@dataclass
class _Frame:
    n: int
    kind: Kind
    frame: pd.DataFrame
    agency: str | None = None  # the uploader's, stamped on every row


@dataclass
class _Part:
    """One batch of a file, sealed; then identified and ready to load."""

    n: int
    rows: int
    sealed: Sealed
    rejects: pd.DataFrame | None  # the rejected rows, as the user will see them
    records: pa.Table | None = None  # the sealed records, one per identity
    sealed_rows: int = 0  # records before dropping repeats within the batch


@dataclass
class _Closed:
    """Every part of file ``n`` came before this."""

    n: int


@dataclass
class _Failed:
    """File ``n`` cannot be ingested; none of its parts may be stored."""

    n: int
    error: Exception


_Item = _Opened | _Frame | _Part | _Closed | _Failed


def _load(store: Store, opened: _Opened, items: Iterator[_Item], ctx: SealContext) -> IngestSummary:
    """Store the parts of ``opened`` that ``items`` brings, in one transaction; summarise."""
    kind, table = opened.kind, opened.table
    summary = IngestSummary(source=os.path.basename(table.source), kind=kind.name)
    summary.dropped_columns = [
        orig
        for orig, col in zip(table.original_columns, table.columns, strict=True)
        if col not in _kept(kind) and col not in REJECT_COLUMNS
    ]
    reasons: Counter[str] = Counter()
    reject_parts: list[pd.DataFrame] = []
    place_parts: list[pd.DataFrame] = []
    uploader = opened.job.uploader
    info = BatchInfo(
        kind.layer, lambda: table.sha256, opened.job.synthetic, uploader.name, uploader.trusted
    )
    with store.writing(info, key_fingerprint=ctx.pseudonymiser.fingerprint) as writer:
        for part in items:
            if isinstance(part, _Failed):
                raise part.error  # leaving the block rolls the file back
            if isinstance(part, _Closed):
                break
            if not isinstance(part, _Part) or part.n != opened.n:
                raise RuntimeError(f"ingest: {part!r} came among the parts of file {opened.n}")
            summary.rows += part.rows
            summary.outside_area += part.sealed.outside_area
            summary.dst_fold_flagged += part.sealed.in_fold
            summary.sharing_defaulted += part.sealed.defaulted_sharing
            if part.rejects is not None:
                problems = part.sealed.problems
                reasons.update(problems.groupby("row")["reason"].unique().explode())
                reject_parts.append(part.rejects)
            if part.records is not None:
                new = writer.add(part.records)
                summary.accepted += new
                summary.duplicates += part.sealed_rows - new
            if part.sealed.places is not None:
                place_parts.append(part.sealed.places)
        else:  # the stages stopped before the file's end: never commit part of a file
            raise RuntimeError(f"ingest of {table.source} ended before the end of the file")
        writer.add_places(_index_places(place_parts, ctx))
        _finish(summary, table, reasons, reject_parts)  # a failure here still rolls back
        batch_id = writer.batch_id
    summary.batch_id = batch_id  # committed
    summary.notes += _area_hint(summary, ctx.study_area.name)
    return summary


OUTSIDE_HINT_SHARE = 0.9  # when this much of a file lies outside the study area, say so
OUTSIDE_HINT_ROWS = 10


def _area_hint(summary: IngestSummary, area: str) -> list[str]:
    """A hint when almost every row lies outside the study area: most likely the deployment's
    boundary is not set (the shipped one is Southampton), not a file of strays."""
    outside = summary.outside_area + summary.rejected_by_reason.get("outside study area", 0)
    if summary.rows < OUTSIDE_HINT_ROWS or outside < OUTSIDE_HINT_SHARE * summary.rows:
        return []
    return [
        f"{outside:,} of {summary.rows:,} rows lie outside the study area in force ({area}): "
        "if this file is from the deployment's own town, set STREETSAFE_STUDY_AREA to its "
        'boundary (see the README\'s "Another town")'
    ]


def _index_places(parts: list[pd.DataFrame], ctx: SealContext) -> pd.DataFrame:
    """Return the public places a file adds to the place index: its police.uk streets, with
    ``n`` the whole file's rows snapped there (a file's batches summed), and the gazetteer's
    places (with every file: the index then names what the deployment's gazetteer names)."""
    frames = [ctx.gazetteer.index_places().assign(source=GAZETTEER)]
    if parts:
        streets = pd.concat(parts).groupby(["cell", "street"], as_index=False)["n"].sum()
        frames.append(streets.assign(source=POLICEUK))
    return pd.concat(frames, ignore_index=True)


def _finish(
    summary: IngestSummary, table: CsvTable, reasons: Counter[str], parts: list[pd.DataFrame]
) -> None:
    """Add the rows the parser refused to the rejects; give the rejects their lines and names."""
    rejects = pd.concat(parts) if parts else _empty_rejects(table.columns)
    if table.invalid_rows:
        bad = table.bad_rows()
        summary.rows += len(bad)
        reasons[REASON_WRONG_FIELDS] += len(bad)
        wrong = pd.DataFrame(
            {
                "reject_line": [line for line, _, _ in bad],
                "reject_columns": "",
                "reject_reasons": [
                    f"{REASON_WRONG_FIELDS}: {n} instead of {len(table.columns)}: {text}"
                    for _, n, text in bad
                ],
            }
        )
        rejects["reject_line"] = table.lines_of_rows(rejects.index.to_numpy(dtype=np.int64))
        rejects = pd.concat([rejects, wrong], ignore_index=True).fillna("")
    else:
        rejects["reject_line"] = table.lines_of_rows(rejects.index.to_numpy(dtype=np.int64))
    rejects = rejects.sort_values("reject_line", kind="stable").reset_index(drop=True)
    rename = {
        col: orig
        for col, orig in zip(table.columns, table.original_columns, strict=True)
        if col not in REJECT_COLUMNS
    }
    summary.rejects = rejects.rename(columns=rename)
    summary.rejected = len(rejects)
    summary.rejected_by_reason = dict(reasons.most_common())


def _file_items(jobs: Iterable[IngestJob], files: _Files) -> Generator[_Item]:
    """Open each file in turn and yield it, then its rows in batches, then its end.

    A file that cannot be opened or read yields :class:`_Failed`, and the next file goes on; so
    does one the loader gave up on (its remaining rows are not read).
    """
    for n, job in enumerate(jobs):
        try:
            opened, close = _open(n, job)
        except Exception as exc:  # the loader reports it in the file's turn
            yield _Failed(n, exc)
            continue
        files.opened(n, close)
        yield opened
        try:
            for frame in opened.table.batches(job.progress):
                if files.abandoned(n):
                    break
                yield _Frame(n, opened.kind, frame, job.uploader.agency)
        except Exception as exc:
            yield _Failed(n, exc)
            continue
        yield _Closed(n)


def _open(n: int, job: IngestJob) -> tuple[_Opened, Callable[[], None]]:
    """Open the file and read its header; return it, and how to close what was opened here."""
    kind = KINDS.get(job.kind)
    if kind is None:
        raise SchemaError(f"unknown report kind {job.kind!r}; use one of: {', '.join(KINDS)}")
    if not isinstance(job.file, str):
        table = open_table(job.file, source=job.source)
        _check_columns(kind, table.columns, table.source)
        return _Opened(n, job, kind, table), lambda: None  # the caller's stream stays open
    try:
        stream = open(job.file, "rb")  # noqa: SIM115  (closed through _Files)
    except OSError as exc:
        raise SchemaError(f"cannot open the file: {exc.strerror}", source=job.file) from None
    try:
        table = open_table(stream, source=job.source or job.file)
        _check_columns(kind, table.columns, table.source)
    except BaseException:
        stream.close()
        raise
    return _Opened(n, job, kind, table), stream.close


def _sealed_items(items: Iterator[_Item], ctx: SealContext) -> Generator[_Item]:
    """Validate and seal each file's batches, two at a time; hand everything on in order.

    Much of sealing (binning, Arrow kernels, numpy) runs without the GIL, so while one batch
    holds it for pandas work the other gets on. A file's end hands its last batches on at once:
    its commit must not wait on reading the next file. After a batch of a file fails, the rest
    of that file is dropped: the loader gets one :class:`_Failed` for it.
    """
    in_order = map_ordered(
        partial(_sealed_part, ctx=ctx),
        items,
        is_task=_is_frame,
        flush=_ends_file,
        workers=_SEAL_THREADS,
        name="streetsafe-seal",
    )
    failed = -1
    with contextlib.closing(in_order):
        for item in in_order:
            if item.n == failed:
                continue  # the rest of a file whose sealing failed
            if isinstance(item, _Failed):
                failed = item.n
            yield item


def _is_frame(item: _Item) -> TypeGuard[_Frame]:
    return isinstance(item, _Frame)


def _ends_file(item: _Item) -> bool:
    return isinstance(item, _Closed | _Failed)


def _sealed_part(item: _Frame, ctx: SealContext) -> _Part | _Failed:
    try:
        if item.agency is not None:
            ctx = replace(ctx, agency=item.agency)
        sealed = seal(item.frame, item.kind, ctx)
        rejects = _reject_rows(item.frame, sealed.problems) if len(sealed.problems) else None
    except Exception as exc:  # the loader reports it (or raises it) in the batch's turn
        return _Failed(item.n, exc)
    return _Part(item.n, len(item.frame), sealed, rejects)


def _identified_items(items: Iterator[_Item], ctx: SealContext) -> Generator[_Item]:
    """Give each part's records their identities (in file order) and convert them for loading."""
    identities = Identities(ctx.pseudonymiser)
    failed = -1
    for item in items:
        if item.n == failed:
            continue
        if isinstance(item, _Opened):
            space = item.job.uploader.identity_space  # repeats are counted within a file
            identities = Identities(ctx.pseudonymiser, space=space)
        elif isinstance(item, _Part) and len(item.sealed.records):
            try:
                _identify(item, identities)
            except Exception as exc:
                failed = item.n
                yield _Failed(item.n, exc)
                continue
        yield item


def _identify(part: _Part, identities: Identities) -> None:
    identified = identities.assign(part.sealed.records)
    unique = identified
    if not identified["key_hi"].is_unique:  # else no repeats: spare the pair check
        repeated = identified.duplicated(["key_hi", "key_lo"]).to_numpy()
        unique = identified[~repeated]
    part.records = to_arrow(unique)
    part.sealed_rows = len(identified)


def _kept(kind: Kind) -> set[str]:
    return set(KEPT_COLUMNS[kind.name])


def _check_columns(kind: Kind, columns: list[str], source: str) -> None:
    present = set(columns)
    missing = [c for c in kind.required if c not in present]
    if kind.layer != POLICEUK and not ({"latitude", "longitude"} <= present or "place" in present):
        missing.append("latitude and longitude (or place)")
    if missing:
        raise SchemaError(
            f"this is not {_a(kind.title.lower())} file: missing column(s) {', '.join(missing)}; "
            f"expected columns: {', '.join(kind.columns)} (see data/templates/)",
            source=source,
        )


def _reject_rows(frame: pd.DataFrame, problems: pd.DataFrame) -> pd.DataFrame:
    grouped = problems.groupby("row", sort=True)
    columns = grouped["column"].agg(lambda c: ";".join(dict.fromkeys(c)))
    messages = grouped["message"].agg(lambda m: "; ".join(dict.fromkeys(m)))
    # A fixed rejects file ingested again brings its old reject columns: replace them.
    rows = frame.loc[columns.index].drop(columns=list(REJECT_COLUMNS), errors="ignore")
    rows["reject_columns"] = columns
    rows["reject_reasons"] = messages
    return rows


def _empty_rejects(columns: list[str]) -> pd.DataFrame:
    kept = [c for c in columns if c not in REJECT_COLUMNS]
    return pd.DataFrame(columns=[*kept, "reject_columns", "reject_reasons"], dtype=object)


def write_rejects(rejects: pd.DataFrame, path: Path) -> None:
    """Write rejected rows as a CSV the user can fix and ingest again; atomic (no partial file).

    The text is :func:`rejects_csv`'s.
    """
    with atomic_text(path) as fh:
        fh.write(rejects_csv(rejects))


def rejects_csv(rejects: pd.DataFrame) -> str:
    """Return rejected rows as the CSV text the user fixes and ingests again (the rejects file,
    and the Data page's download of it).

    The original columns come first, then ``reject_line``, ``reject_columns``, ``reject_reasons``;
    the readers ignore those three when the fixed file is ingested again. A cell a spreadsheet
    would run as a formula is written as text (``'=...``) and read back as it was sent. Lines
    end with CRLF, as spreadsheets write them: a field holding a bare CR (or LF) is then quoted
    (the csv module quotes only its own line end's characters), so the file reads back with the
    rows it was written with.
    """
    original = [c for c in rejects.columns if c not in REJECT_COLUMNS]
    ordered = rejects.loc[:, [*original, *REJECT_COLUMNS]]
    return str(
        spreadsheet_safe(ordered).to_csv(
            index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n"
        )
    )


def _a(noun: str) -> str:
    """Return ``noun`` with its indefinite article ("an incident", "a community ASB report")."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"
