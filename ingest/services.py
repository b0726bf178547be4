"""Read a deployment's services file: the public services an outreach team may take a woman to
at night, each with its kind, place and weekly opening hours.

The file is a CSV (``data/templates/services.csv``) with the columns ``name``, ``kind``,
``address``, ``latitude``, ``longitude``, one column of opening hours per weekday (``mon`` to
``sun``, as geo/opening.py reads them), ``phone`` and ``notes``; ``address``, ``phone`` and
``notes`` may be left out. A bad row is rejected with its line and every reason, and the rest
are read: the caller decides what to do with them (streetsafe/services.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple

import pandas as pd

from geo import area as ar
from geo.area import StudyArea
from geo.errors import ConfigError, SchemaError
from geo.nights import WEEKDAYS
from geo.opening import day_text, parse_day
from ingest.csvfile import CsvTable, open_table
from ingest.kinds import REJECT_COLUMNS, normalise_name
from ingest.pipeline import write_rejects
from ingest.pseudonyms import fold_name
from store import SERVICE_COLUMNS

# The kinds of service, by code, with the label shown for each. A file may give either.
SERVICE_KINDS: dict[str, str] = {
    "drop_in": "Drop-in",
    "night_shelter": "Night shelter",
    "sarc": "SARC (sexual assault referral centre)",
    "a_and_e": "A&E",
    "needle_exchange": "Needle exchange",
    "refuge_office": "Refuge office",
    "police_station": "Police station",
    "pharmacy": "Pharmacy",
    "other": "Other",
}
# Other spellings people write, folded as normalise_name folds them.
_KIND_ALIASES = {
    "dropin": "drop_in",
    "sexual_assault_referral_centre": "sarc",
    "accident_and_emergency": "a_and_e",
    "emergency_department": "a_and_e",
    "police": "police_station",
    "chemist": "pharmacy",
}
_KIND_SPELLINGS = {
    **_KIND_ALIASES,
    **{normalise_name(label): code for code, label in SERVICE_KINDS.items()},
    **{normalise_name(label.split(" (")[0]): code for code, label in SERVICE_KINDS.items()},
    **{code: code for code in SERVICE_KINDS},
}

# The columns of a services file, in the template's order; those a file may leave out.
FILE_COLUMNS = ("name", "kind", "address", "latitude", "longitude", *WEEKDAYS, "phone", "notes")
OPTIONAL_COLUMNS = ("address", "phone", "notes")
# The templates' example rows have names starting so (any case): a file sent with one left in
# would otherwise put an invented service on the map.
EXAMPLE_PREFIX = "EXAMPLE-"


class Rejected(NamedTuple):
    """A row of the file that was not read, and why."""

    line: int  # in the file, the header being line 1
    row: dict[str, str]  # the row as written, by the file's column names
    reason: str  # e.g. "line 4: latitude 'abc' is not a number"
    columns: tuple[str, ...] = ()  # the columns at fault


@dataclass(frozen=True)
class ServicesFile:
    """What a services file held: the services it gives (:data:`store.SERVICE_COLUMNS`, the
    hours as normalised text) and the rows rejected."""

    source: str
    rows: int  # data rows read (blank lines aside)
    services: pd.DataFrame
    rejects: list[Rejected] = field(default_factory=list)
    file_columns: tuple[str, ...] = FILE_COLUMNS  # as the file names them, in its order

    def rejects_frame(self) -> pd.DataFrame:
        """Return the rejected rows as the rejects file has them: the file's columns, then
        ``reject_line``, ``reject_columns`` and ``reject_reasons``."""
        original = [c for c in self.file_columns if c not in REJECT_COLUMNS]
        rows = [
            {
                **{c: r.row.get(c, "") for c in original},
                "reject_line": r.line,
                "reject_columns": ";".join(r.columns),
                "reject_reasons": r.reason,
            }
            for r in self.rejects
        ]
        return pd.DataFrame(rows, columns=[*original, *REJECT_COLUMNS])


def service_kind(text: str) -> str | None:
    """Return the kind code ``text`` names (a code or a label, any case), or None."""
    return _KIND_SPELLINGS.get(normalise_name(text.replace("&", " and ")))


def read_services(
    file: IO[bytes] | str | Path, *, area: StudyArea | None = None, source: str | None = None
) -> ServicesFile:
    """Read a services file (a path, or a binary file-like object such as an upload).

    Each row is checked: a name (not a template's ``EXAMPLE-`` row, not a name an earlier row
    has, regardless of case and spacing), a known kind, a latitude and longitude (inside
    ``area``, when given) and each weekday's opening hours. Raises :class:`SchemaError` when the
    file cannot be read as a table or lacks columns; a header alone is a file of no services.
    """
    if isinstance(file, str | Path):
        try:
            with open(file, "rb") as stream:
                return _read(open_table(stream, source=source or str(file)), area)
        except OSError as exc:
            raise SchemaError(
                f"cannot open the file: {exc.strerror}", source=source or str(file)
            ) from None
    return _read(open_table(file, source=source), area)


def write_service_rejects(services: ServicesFile, path: Path) -> None:
    """Write the rejected rows as a CSV to fix and load again (as ingest's rejects files are:
    the reject columns are ignored when the file is read again)."""
    write_rejects(services.rejects_frame(), path)


def _read(table: CsvTable, area: StudyArea | None) -> ServicesFile:
    required = [c for c in FILE_COLUMNS if c not in OPTIONAL_COLUMNS]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise SchemaError(
            f"this is not a services file: missing column(s) {', '.join(missing)}; expected "
            f"columns: {', '.join(FILE_COLUMNS)} (see data/templates/services.csv)",
            source=table.source,
        )
    frames = list(table.batches())
    frame = pd.concat(frames) if frames else pd.DataFrame(columns=table.columns, dtype="str")
    names = dict(zip(table.columns, table.original_columns, strict=True))
    lines = table.lines_of_rows(frame.index.to_numpy(dtype="int64"))
    accepted: list[dict[str, object]] = []
    rejects: list[Rejected] = []
    seen: dict[str, int] = {}  # folded name -> line of the accepted service
    for line, values in zip(lines.tolist(), frame.to_dict("records"), strict=True):
        cells = {str(column): str(value) for column, value in values.items()}
        service, problems = _check(cells, seen, area)
        if problems:
            reason = f"line {line}: " + "; ".join(message for _, message in problems)
            original = {names[c]: v for c, v in cells.items() if c not in REJECT_COLUMNS}
            columns = tuple(dict.fromkeys(c for c, _ in problems))
            rejects.append(Rejected(line, original, reason, columns))
        else:
            seen[fold_name(str(service["name"]))] = line
            accepted.append(service)
    for line, fields, text in table.bad_rows():
        reason = f"line {line}: wrong number of fields: {fields} instead of {len(table.columns)}"
        rejects.append(Rejected(line, {}, f"{reason}: {text}"))
    rejects.sort(key=lambda r: r.line)
    services = pd.DataFrame(accepted, columns=list(SERVICE_COLUMNS))
    types = {c: "float64" if c in ("lat", "lon") else "str" for c in SERVICE_COLUMNS}
    return ServicesFile(
        source=table.source,
        rows=len(frame) + table.invalid_rows,
        services=services.astype(types),
        rejects=rejects,
        file_columns=tuple(
            name
            for name, column in zip(table.original_columns, table.columns, strict=True)
            if column not in REJECT_COLUMNS  # (a rejects file's, however it is spelt)
        ),
    )


def _check(
    cells: Mapping[str, str], seen: Mapping[str, int], area: StudyArea | None
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """Return one row as a service, and its problems as (column, message): none if good."""
    problems: list[tuple[str, str]] = []
    name = " ".join(cells["name"].split())
    if name.upper().startswith(EXAMPLE_PREFIX):
        # nothing else about an example row is worth saying
        message = f"{name!r} is an example row from the template: replace it with a service"
        return {}, [("name", message)]
    if not name:
        problems.append(("name", "no name given"))
    elif fold_name(name) in seen:
        line = seen[fold_name(name)]
        problems.append(("name", f"a service named {name!r} is already on line {line}"))
    kind_text = cells["kind"].strip()
    kind = service_kind(kind_text)
    if kind is None:
        labels = ", ".join(SERVICE_KINDS.values())
        said = f"kind {kind_text!r} is not" if kind_text else "no kind given; use"
        problems.append(("kind", f"{said} one of: {labels}"))
    lat, lon = _number(cells, "latitude", problems), _number(cells, "longitude", problems)
    if lat is not None and lon is not None:
        where = _where(lat, lon, area)
        if where:
            point = f"({cells['latitude'].strip()}, {cells['longitude'].strip()})"
            problems.append(("latitude", f"{point} {where}"))
    hours = {}
    for day in WEEKDAYS:
        try:
            hours[day] = day_text(parse_day(cells[day]))
        except ConfigError as exc:
            problems.append((day, f"{day!r} hours {exc}"))
    service: dict[str, object] = {
        "name": name,
        "kind": kind,
        "address": " ".join(cells.get("address", "").split()),
        "lat": lat,
        "lon": lon,
        **hours,
        "phone": cells.get("phone", "").strip(),
        "notes": cells.get("notes", "").strip(),
    }
    return service, problems


def _number(cells: Mapping[str, str], column: str, problems: list[tuple[str, str]]) -> float | None:
    text = cells[column].strip()
    if not text:
        problems.append((column, f"no {column} given"))
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        problems.append((column, f"{column} {text!r} is not a number"))
        return None
    return value


def _where(lat: float, lon: float, area: StudyArea | None) -> str | None:
    """Return what is wrong with the point, or None."""
    if not (abs(lat) <= 90 and abs(lon) <= 180):
        return "is not a place on Earth: latitude must be within ±90 and longitude within ±180"
    if area is None:
        return None
    code = int(area.classify([lat], [lon])[0])
    if code == ar.POINT_SWAPPED:
        return (
            f"lies outside the study area ({area.name}), but inside it once latitude and "
            "longitude are exchanged: are they swapped?"
        )
    if code != ar.POINT_OK:
        return f"lies outside the study area ({area.name})"
    return None
