"""Ingest one report file into a store: read, validate, seal, deduplicate, load — atomically.

Every row ends as accepted, rejected (with line, column, value and reason), duplicate, or (for
police.uk force files) outside the study area. The file lands whole or not at all.
"""

from __future__ import annotations

import contextlib
import csv
import os
import queue
import threading
from collections import Counter, deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from geo.errors import SchemaError
from ingest.csvfile import Progress, open_table
from ingest.files import atomic_text
from ingest.identity import Identities
from ingest.kinds import KEPT_COLUMNS, KINDS, POLICEUK, REJECT_COLUMNS, Kind
from ingest.seal import SealContext, Sealed, seal
from ingest.stores import BatchInfo, Store, to_arrow

REASON_WRONG_FIELDS = "wrong number of fields"
_SEAL_THREADS = 2  # batches sealed at once

_T = TypeVar("_T")


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
        }


def ingest_file(
    store: Store,
    kind_name: str,
    file: IO[bytes] | str,
    *,
    ctx: SealContext,
    source: str | None = None,
    synthetic: bool = False,
    progress: Progress | None = None,
) -> IngestSummary:
    """Ingest one CSV file of ``kind_name`` into ``store`` in a single transaction.

    Raises :class:`SchemaError` (store untouched) when the file cannot be read as that kind.
    Rejected rows do not stop the file: they are returned in ``summary.rejects``.
    """
    kind = KINDS.get(kind_name)
    if kind is None:
        raise SchemaError(f"unknown report kind {kind_name!r}; use one of: {', '.join(KINDS)}")
    if isinstance(file, str):
        try:
            with open(file, "rb") as stream:
                return ingest_file(
                    store,
                    kind_name,
                    stream,
                    ctx=ctx,
                    source=source or file,
                    synthetic=synthetic,
                    progress=progress,
                )
        except OSError as exc:
            raise SchemaError(f"cannot open the file: {exc.strerror}", source=file) from None
    table = open_table(file, source=source)
    _check_columns(kind, table.columns, table.source)
    summary = IngestSummary(source=os.path.basename(table.source), kind=kind.name)
    summary.dropped_columns = [
        orig
        for orig, col in zip(table.original_columns, table.columns, strict=True)
        if col not in _kept(kind) and col not in REJECT_COLUMNS
    ]
    reasons: Counter[str] = Counter()
    reject_parts: list[pd.DataFrame] = []
    info = BatchInfo(kind.layer, summary.source, lambda: table.sha256, synthetic)
    with store.writing(info, key_fingerprint=ctx.pseudonymiser.fingerprint) as writer:
        # Four stages: parsing, sealing (two batches at once) and identifying on threads of their
        # own (parsing, hashing the file, binning and the store's insert release the GIL); this
        # thread loads. Closing the later stage first stops its worker before the earlier one's.
        frames = _read_ahead(table.batches(progress))
        sealed = _read_ahead(_sealed_parts(frames, kind, ctx))
        identified = _read_ahead(_identified_parts(sealed, ctx))
        with contextlib.closing(frames), contextlib.closing(sealed), contextlib.closing(identified):
            for part in identified:
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
    rejects = pd.concat(reject_parts) if reject_parts else _empty_rejects(table.columns)
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
    return summary


@dataclass
class _Part:
    """One batch of the file, sealed; then identified and ready to load."""

    rows: int
    sealed: Sealed
    rejects: pd.DataFrame | None  # the rejected rows, as the user will see them
    records: pa.Table | None = None  # the sealed records, one per identity
    sealed_rows: int = 0  # records before dropping repeats within the batch


def _sealed_parts(frames: Iterator[pd.DataFrame], kind: Kind, ctx: SealContext) -> Generator[_Part]:
    """Validate and seal the file batch by batch, in file order, two batches at a time.

    Much of sealing (binning, Arrow kernels, numpy) runs without the GIL, so while one batch
    holds it for pandas work the other gets on.
    """
    with ThreadPoolExecutor(_SEAL_THREADS, thread_name_prefix="streetsafe-seal") as pool:
        sealing: deque[Future[_Part]] = deque()
        for frame in frames:
            sealing.append(pool.submit(_sealed_part, frame, kind, ctx))
            if len(sealing) == _SEAL_THREADS:
                yield sealing.popleft().result()
        while sealing:
            yield sealing.popleft().result()


def _sealed_part(frame: pd.DataFrame, kind: Kind, ctx: SealContext) -> _Part:
    sealed = seal(frame, kind, ctx)
    rejects = _reject_rows(frame, sealed.problems) if len(sealed.problems) else None
    return _Part(len(frame), sealed, rejects)


def _identified_parts(parts: Iterator[_Part], ctx: SealContext) -> Generator[_Part]:
    """Give each part's records their identities (in file order) and convert them for loading."""
    identities = Identities(ctx.pseudonymiser)
    for part in parts:
        if len(part.sealed.records):
            identified = identities.assign(part.sealed.records)
            unique = identified
            if not identified["key_hi"].is_unique:  # else no repeats: spare the pair check
                repeated = identified.duplicated(["key_hi", "key_lo"]).to_numpy()
                unique = identified[~repeated]
            part.records = to_arrow(unique)
            part.sealed_rows = len(identified)
        yield part


def _read_ahead(parts: Generator[_T]) -> Generator[_T]:
    """Yield the items of ``parts`` in order while a worker thread produces the next one.

    Parsing, sealing and the store's insert each release the GIL for much of their work, so the
    next batch is prepared while this one is loaded (on the caller's thread and connection,
    inside its transaction). An exception in the worker is raised here; closing this generator
    stops the worker (once it has finished the item in hand) and closes ``parts``.
    """
    # (part, None) for each part, (None, error) if the worker failed, (None, None) at the end.
    ready: queue.Queue[tuple[_T | None, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(part: _T | None, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                ready.put((part, error), timeout=0.1)
                return True
            except queue.Full:
                continue  # the caller is still loading the previous part
        return False

    def work() -> None:
        with contextlib.closing(parts):
            try:
                for part in parts:
                    if not hand_over(part):
                        return
            except BaseException as exc:  # whatever it is, the caller re-raises it
                hand_over(None, exc)
                return
            hand_over(None)

    worker = threading.Thread(target=work, name="streetsafe-seal", daemon=True)
    worker.start()
    try:
        while True:
            part, error = ready.get()
            if error is not None:
                raise error
            if part is None:
                return
            yield part
    finally:
        stop.set()
        worker.join()


def _kept(kind: Kind) -> set[str]:
    return set(KEPT_COLUMNS[kind.name])


def _check_columns(kind: Kind, columns: list[str], source: str) -> None:
    present = set(columns)
    missing = [c for c in kind.required if c not in present]
    if kind.layer != POLICEUK and not ({"latitude", "longitude"} <= present or "place" in present):
        missing.append("latitude and longitude (or place)")
    if missing:
        raise SchemaError(
            f"this is not a {kind.title.lower()} file: missing column(s) {', '.join(missing)}; "
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

    The original columns come first, then ``reject_line``, ``reject_columns``, ``reject_reasons``;
    the readers ignore those three when the fixed file is ingested again.
    """
    original = [c for c in rejects.columns if c not in REJECT_COLUMNS]
    ordered = rejects.loc[:, [*original, *REJECT_COLUMNS]]
    with atomic_text(path) as fh:
        ordered.to_csv(fh, index=False, quoting=csv.QUOTE_MINIMAL)
