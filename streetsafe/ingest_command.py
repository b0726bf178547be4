"""The work of ``streetsafe ingest``: files into a store, and what happened said on two consoles.

The command line runs it on the store it opens; a running dashboard that holds the embedded
store runs the same request for it (:mod:`streetsafe.handoff`), printing to consoles that carry
the text back. Either way the person at the terminal reads the same summary, gets the same
rejects file and the same exit status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from geo.errors import FilterError, StreetsafeError
from ingest.pipeline import OPERATOR, IngestJob, IngestSummary, Uploader, ingest_files
from store import Store
from streetsafe import audit
from streetsafe.command_output import print_error
from streetsafe.messages import user_message

FAILED = 1  # exit status: a file (or the services list) was not stored, or the store failed
USAGE = 2  # exit status: the request itself is wrong
REPORT_NOT_WRITTEN = 3  # exit status: the data was stored, a report file could not be written
SERVICES = "services"


@dataclass(frozen=True)
class IngestRequest:
    """What ``streetsafe ingest`` was asked: the kind, the files (absolute paths), where rejects
    go, whose files they are, and whether the summary is JSON."""

    kind: str
    paths: tuple[Path, ...]
    rejects: Path | None = None
    as_json: bool = False
    from_agency: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the request as JSON-ready values (for another process)."""
        return {
            "kind": self.kind,
            "paths": [str(p) for p in self.paths],
            "rejects": None if self.rejects is None else str(self.rejects),
            "json": self.as_json,
            "from": self.from_agency,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestRequest:
        """Return the request :meth:`as_dict` wrote; :class:`FilterError` if it is not one."""
        try:
            rejects = data["rejects"]
            agency = data["from"]
            request = cls(
                kind=str(data["kind"]),
                paths=tuple(Path(str(p)) for p in data["paths"]),
                rejects=None if rejects is None else Path(str(rejects)),
                as_json=bool(data["json"]),
                from_agency=None if agency is None else str(agency),
            )
        except (KeyError, TypeError) as exc:
            raise FilterError(f"not an ingest request: {exc}") from None
        if not all(p.is_absolute() for p in request.paths):
            raise FilterError("not an ingest request: its paths must be absolute")
        return request


class Bars(Protocol):
    """Progress of each file, shown while it ingests (the command line's progress bars)."""

    def of(self, n: int) -> Callable[[int, int], None] | None:
        """Return the progress callback (bytes done, bytes in all) of the ``n``-th file."""

    def done(self, n: int) -> None:
        """Say the ``n``-th file has finished (its summary is printed next)."""


StoreOpener = Callable[[], AbstractContextManager[Store]]


@dataclass(frozen=True)
class Consoles:
    """Where the summary (``out``) and the errors and notes (``err``) are printed."""

    out: Console
    err: Console

    def error(self, message: str) -> None:
        """Print one error line (the message printed as written, never as markup)."""
        print_error(self.err, message)


def run_ingest(
    request: IngestRequest,
    *,
    settings: Any,
    open_store: StoreOpener,
    consoles: Consoles,
    bars: Bars,
) -> int:
    """Ingest the request's files into the store ``open_store`` lends, each whole or not at all,
    with ``settings`` (the deployment's key, agencies and study area); return the exit status.

    Never raises streetsafe's own errors: each is a message on ``consoles.err``.
    """
    try:
        if request.kind == SERVICES:
            return _ingest_services(request, settings, open_store, consoles)
        return _ingest_reports(request, settings, open_store, consoles, bars)
    except StreetsafeError as exc:
        consoles.error(user_message(exc))
        return USAGE if isinstance(exc, _UsageError) else FAILED


class _UsageError(FilterError):
    """The request names something that is not there (an agency): exit status 2."""


def _ingest_reports(
    request: IngestRequest,
    settings: Any,
    open_store: StoreOpener,
    consoles: Consoles,
    bars: Bars,
) -> int:
    from streetsafe.deployment import seal_context

    ctx = seal_context(settings)
    agency = request.from_agency
    uploader = OPERATOR if agency is None else _partner(ctx, agency)
    several = len(request.paths) > 1
    run = _Run(request, consoles)
    with open_store() as st:
        jobs = [
            IngestJob(request.kind, str(path), progress=bars.of(n), uploader=uploader)
            for n, path in enumerate(request.paths)
        ]
        # The next file is read and sealed while this one is reported and the last loads.
        with closing(ingest_files(st, jobs, ctx=ctx)) as results:
            for n, (path, result) in enumerate(zip(request.paths, results, strict=True)):
                bars.done(n)
                if isinstance(result, StreetsafeError):
                    run.failed_file(path, result)
                    continue
                audit.record(
                    st,
                    audit.UPLOAD_COMPLETE,
                    audit.OPERATOR,
                    kind=request.kind,
                    partner=uploader.name if agency else "",
                    rows=result.rows,
                    accepted=result.accepted,
                    rejected=result.rejected,
                    already_stored=result.duplicates,
                )
                run.stored(path, result, rejects_path(request.rejects, path, several=several))
    if request.as_json:
        consoles.out.print_json(json.dumps(json_summary(run.summaries, run.errors, several)))
    if run.failed:
        return FAILED
    return REPORT_NOT_WRITTEN if run.unwritten else 0


class _Run:
    """The outcome of each file of a run, as it comes: printed, and kept for the totals."""

    def __init__(self, request: IngestRequest, consoles: Consoles) -> None:
        self._request = request
        self._consoles = consoles
        self.summaries: list[IngestSummary] = []
        self.errors: list[dict[str, str]] = []  # for --json: what failed, file by file
        self.failed = self.unwritten = False

    def failed_file(self, path: Path, error: StreetsafeError) -> None:
        self._consoles.error(user_message(error))
        self.errors.append({"file": str(path), "error": user_message(error)})
        self.failed = True

    def stored(self, path: Path, result: IngestSummary, target: Path | None) -> None:
        from ingest.pipeline import write_rejects

        self.summaries.append(result)
        if (
            target is not None
            and (result.rejected or target.exists())
            and not written(write_rejects, result.rejects, target, result.accepted, self._consoles)
        ):
            self.unwritten, target = True, None
            self.errors.append({"file": str(path), "error": _UNWRITTEN})
        if not self._request.as_json:
            print_summary(self._consoles.out, result, target)


def written(
    write: Callable[[Any, Path], None], what: Any, target: Path, stored: int, consoles: Consoles
) -> bool:
    """Write a report file (rejects) after the data was stored; on failure say both, plainly."""
    try:
        write(what, target)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        consoles.err.print(
            f"error: stored {stored:,} records; could not write the rejects file {target}: "
            f"{reason[:1].lower()}{reason[1:]} (ingest the file again with another --rejects "
            "path to get them: its stored rows are recognised and added again as nothing)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        return False
    return True


def _ingest_services(
    request: IngestRequest, settings: Any, open_store: StoreOpener, consoles: Consoles
) -> int:
    """Load the services file: its good rows become the store's services."""
    from ingest.services import write_service_rejects
    from streetsafe.deployment import load_study_area
    from streetsafe.services import load_services

    if len(request.paths) != 1:
        raise _UsageError("the services file is the whole list: give one file")
    path = request.paths[0]
    area = load_study_area(settings.study_area)
    with open_store() as st:
        summary = load_services(st, path, area)
        audit.record(
            st,
            audit.UPLOAD_COMPLETE,
            audit.OPERATOR,
            kind=SERVICES,
            rows=summary.rows,
            accepted=summary.accepted if summary.replaced else 0,
            rejected=summary.rejected,
        )
    target = rejects_path(request.rejects, path, several=False)
    unwritten = False
    if (
        summary.file is not None
        and target is not None
        and (summary.rejected or target.exists())
        and not written(write_service_rejects, summary.file, target, summary.accepted, consoles)
    ):
        unwritten, target = True, None
    if request.as_json:
        body = {
            "files": 1,
            "rows": summary.rows,
            "accepted": summary.accepted,
            "rejected": summary.rejected,
            "replaced": summary.replaced,
        }
        consoles.out.print_json(json.dumps(body))
    else:
        _print_services(consoles.out, summary, request.rejects)
    if not summary.replaced:
        return FAILED
    return REPORT_NOT_WRITTEN if unwritten else 0


def _print_services(out: Console, summary: Any, rejects: Path | None) -> None:
    verb = "now the services list" if summary.replaced else "NOT loaded: no row could be read"
    out.print(
        f"{summary.source}: {summary.rows} rows, {summary.accepted} services, "
        f"{summary.rejected} rejected; {verb}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for rejected in summary.rejects[:5]:
        out.print(f"  {rejected.reason}", highlight=False, markup=False, soft_wrap=True)
    if summary.rejected > 5:
        out.print(f"  … and {summary.rejected - 5} more", markup=False)
    if summary.rejected and rejects is None:
        out.print("use --rejects PATH to save the rejected rows to fix and load again")


def _partner(ctx: Any, agency: str) -> Uploader:
    """The uploader of a file a partner agency supplied (not trusted)."""
    name = ctx.agencies.canonical(agency)
    if name is None:
        close = ctx.agencies.suggest(agency)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise _UsageError(f"--from: {agency!r} is not an agency in the agencies file{hint}")
    return Uploader(name, trusted=False, agency=name)


def rejects_path(rejects: Path | None, path: Path, *, several: bool) -> Path | None:
    """Where the rejected rows of ``path`` go: ``rejects``, or with several files a file each
    in the folder ``rejects``."""
    if rejects is None:
        return None
    return rejects / f"{path.stem}.rejects.csv" if several else rejects


def json_summary(
    summaries: list[IngestSummary], errors: list[dict[str, str]], several: bool
) -> dict[str, Any]:
    """The ingest's summary for scripts: one file's, or (several files, or one that failed)
    totals and each file's; ``errors`` names every file that failed (nothing of it stored)
    and every report file not written."""
    if not several and len(summaries) == 1:
        return {**summaries[0].as_json(), **({"errors": errors} if errors else {})}
    total: dict[str, Any] = {
        k: sum(s.as_json()[k] for s in summaries)
        for k in (
            "rows",
            "accepted",
            "rejected",
            "duplicates",
            "outside_area",
            "dst_fold_flagged",
            "sharing_defaulted",
        )
    }
    reasons: dict[str, int] = {}
    for s in summaries:
        for reason, n in s.rejected_by_reason.items():
            reasons[reason] = reasons.get(reason, 0) + n
    total["rejected_by_reason"] = reasons
    total["dropped_columns"] = sorted({c for s in summaries for c in s.dropped_columns})
    # the totals are of the files stored: a file that failed stored nothing, its rows included
    total["files_stored"] = len(summaries)
    total["files_failed"] = len({e["file"] for e in errors if e["error"] != _UNWRITTEN})
    total["files"] = [s.as_json() for s in summaries]
    total["errors"] = errors
    return total


_UNWRITTEN = "rejects file not written"


def print_summary(out: Console, summary: IngestSummary, rejects_path: Path | None) -> None:
    """Print one file's summary as a table, its notes, and where its rejected rows went."""
    # a file's name, columns and values are the user's words: printed as written, not as markup
    title = f"{escape(summary.source)} ({summary.kind})"
    table = Table(title=title, show_header=False, box=None)
    table.add_row("rows read", f"{summary.rows:,}")
    table.add_row("[green]accepted[/]", f"{summary.accepted:,}")
    table.add_row("duplicates (already stored)", f"{summary.duplicates:,}")
    if summary.kind == "policeuk":
        table.add_row("outside the study area", f"{summary.outside_area:,}")
    table.add_row("[red]rejected[/]" if summary.rejected else "rejected", f"{summary.rejected:,}")
    for reason, n in summary.rejected_by_reason.items():
        table.add_row(f"  {escape(reason)}", f"{n:,}")
    if summary.dst_fold_flagged:
        table.add_row(
            "times in the autumn DST fold (taken as BST, flagged)", f"{summary.dst_fold_flagged:,}"
        )
    if summary.sharing_defaulted:
        table.add_row(
            "no sharing level given (kept outreach_only)", f"{summary.sharing_defaulted:,}"
        )
    if summary.dropped_columns:
        table.add_row("columns dropped (not stored)", escape(", ".join(summary.dropped_columns)))
    out.print(table)
    for note in summary.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
    if summary.rejected:
        _print_rejects(out, summary, rejects_path)


def _print_rejects(out: Console, summary: IngestSummary, rejects_path: Path | None) -> None:
    """Where the rejected rows went, or the first few of them and how to keep them all."""
    if rejects_path is not None:
        out.print(
            f"rejected rows written to {rejects_path}: fix them and ingest that file",
            markup=False,
        )
        return
    preview = summary.rejects.head(5)
    for _, row in preview.iterrows():
        out.print(
            f"  line {row['reject_line']}: {row['reject_reasons']}", highlight=False, markup=False
        )
    if summary.rejected > len(preview):
        out.print(f"  … and {summary.rejected - len(preview):,} more")
    out.print("use --rejects PATH to save the rejected rows to fix and ingest again")
