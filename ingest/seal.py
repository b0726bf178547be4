"""Validate a batch of report rows and seal the good ones for the store.

Sealing is where privacy starts: a point becomes an H3 cell at the storage resolution, a person
reference becomes a keyed pseudonym, and everything else (names, free text, raw coordinates)
is left behind. A kind's checks are one table of rules (:class:`Check`), each vectorised over
the batch; a row that fails any of them is rejected with each reason, its column and its value,
in the table's order.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo import area as ar
from geo.hexes import cells_from_points
from geo.layers import DEFAULT_SHARING, OUTREACH_ONLY, PARTNERS, POLICEUK, PUBLIC
from geo.nights import MINUTES_PER_DAY, localize, night_fields
from geo.places import PLACE_RES, street_names
from ingest.agencies import Agencies
from ingest.gazetteer import Gazetteer
from ingest.kinds import SEVERITIES, Kind, category_codes_for, normalise_name
from ingest.pseudonyms import Pseudonymiser, normalise_reference

# The columns of a sealed record, in store order (see store/_schema.py).
SEALED_COLUMNS = (
    "key_hi",
    "key_lo",
    "layer",
    "category",
    "agency",
    "sharing",
    "severity",
    "person",
    "occurred_utc",
    "night",
    "local_minute",
    "weekday",
    "month",
    "time_flag",
    "cell",
    "record_key",
)

TIME_FLAG_FOLD = "dst_fold"

_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
_UK_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}\b")
# How nearly every row is written; such rows skip the general (slow) parsers. ASCII digits only:
# anything else (other digits, offsets, seconds, exponents) takes the general path.
_PLAIN_TIME = "DDDD-DD-DD DD:DD"  # D: a digit 0-9
_PLAIN_YEARS = (1800, 2200)  # well inside what the general parser accepts
_PLAIN_DEGREES = r"^-?[0-9]{1,3}\.[0-9]{1,14}$"  # RE2; at most 17 digits, rounded alike


@dataclass(frozen=True)
class SealContext:
    """Everything sealing needs besides the rows."""

    study_area: ar.StudyArea
    gazetteer: Gazetteer
    pseudonymiser: Pseudonymiser
    storage_res: int
    agencies: Agencies
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # a field longer than this (UTF-8 bytes) rejects its row (STREETSAFE_MAX_FIELD_BYTES)
    max_field_bytes: int = 1 << 20
    # the agency of whoever uploads (a signed-in user's): a row naming none is stamped with it,
    # and a row naming one outside its service (agencies sharing its reference scheme) is
    # rejected: its duplicates would be looked for among that agency's records, telling the
    # uploader which of them exist. None: the operator's files, any agency.
    agency: str | None = None


@dataclass
class Sealed:
    """The outcome of sealing one batch."""

    records: pd.DataFrame  # SEALED_COLUMNS (dates as datetime64), plus ``_has_id``, ``_record_id``
    problems: pd.DataFrame  # row, column, value, reason, message (one row per problem)
    outside_area: int = 0
    in_fold: int = 0
    defaulted_sharing: int = 0
    # police.uk: the public streets of the good rows, for the place index (geo/places.py):
    # cell at PLACE_RES, street, n (rows snapped there). None for the other kinds.
    places: pd.DataFrame | None = None


Mask = npt.NDArray[np.bool_]

# What a check reads (_Rows or a kind's richer namespace). Contravariant: a rule written for any
# rows (the place checks) is a rule for native and police.uk rows alike.
_R_contra = TypeVar("_R_contra", bound="_Rows", contravariant=True)
_T = TypeVar("_T", bound="_Rows")  # the rows a table is run over


@dataclass(frozen=True)
class Check(Generic[_R_contra]):
    """One rule: every row ``test`` picks is rejected with ``reason`` on ``column``.

    Parameters
    ----------
    column
        The column the problem is reported on, or a function of the rows giving it.
    reason
        The reason as the summary and the rejects file give it (the README lists them).
    message
        What to tell the user: one text, or a function of the rows and the rows picked giving
        one text, or one per picked row by its label (the "did you mean ...?" hints).
    test
        Which rows break the rule, from the parsed rows.
    values
        A function giving the value shown for each row (default: the column's text). Built only
        when the test picks a row: some (e.g. "lat, lon" pairs) cost more than the test.
    when
        Which kinds the rule applies to (default: every kind whose table lists it).
    """

    column: str | Callable[[_R_contra], str]
    reason: str
    message: str | Callable[[_R_contra, Mask], str | pd.Series]
    test: Callable[[_R_contra], Mask]
    values: Callable[[_R_contra], pd.Series] | None = None
    when: Callable[[Kind], bool] | None = None

    def find(self, rows: _R_contra) -> pd.DataFrame | None:
        """Return a problem for each row the test picks, or None if it picks none.

        Nearly every check picks none: nothing else is computed then.
        """
        mask = np.asarray(self.test(rows), dtype=bool)
        if not mask.any():
            return None
        column = self.column if isinstance(self.column, str) else self.column(rows)
        values = rows.text[column] if self.values is None else self.values(rows)
        message = self.message if isinstance(self.message, str) else self.message(rows, mask)
        return pd.DataFrame(
            {
                "row": rows.text.index[mask].to_numpy(dtype=np.int64),
                "column": column,
                "value": values[mask].to_numpy(dtype=object),
                "reason": self.reason,
                "message": message
                if isinstance(message, str)
                else message.reindex(rows.text.index, fill_value="")[mask].to_numpy(),
            }
        )


class _Text:
    """A batch's columns as text without surrounding whitespace."""

    def __init__(self, batch: pd.DataFrame) -> None:
        self.index = batch.index
        self._columns = {c: _stripped(batch[c].astype(str)) for c in batch.columns}
        self._empty: dict[str, Mask] = {}

    def __getitem__(self, column: str) -> pd.Series:
        return self._columns[column]

    def get(self, column: str) -> pd.Series:
        """Return the column, or empty text if the kind has no such column."""
        return self._columns.get(column, pd.Series("", index=self.index))

    def empty(self, column: str) -> Mask:
        """Return which rows leave ``column`` empty (found once: parsers and checks both ask)."""
        if column not in self._empty:
            self._empty[column] = (self._columns[column] == "").to_numpy()
        return self._empty[column]


@dataclass(frozen=True)
class _Times:
    """Each row's time as parsed: what the time checks and the records read."""

    utc: pd.Series  # UTC instants to the minute; NaT if missing, unparseable or in the gap
    in_gap: Mask  # a local time the clocks skipped in spring
    in_fold: Mask  # a local time the clocks repeated in autumn, taken as the first


@dataclass(frozen=True)
class _Where:
    """Where each row is, from its coordinates or its gazetteer place."""

    lat: npt.NDArray[np.float64]  # NaN where not located
    lon: npt.NDArray[np.float64]
    has_lat: Mask  # a latitude was given
    has_lon: Mask
    named: Mask  # a place was given
    skip: Mask  # not located at all (police.uk's rows without coordinates)
    unknown_place: Mask  # the place given is not in the gazetteer
    area: npt.NDArray[np.int8]  # geo.area's POINT_* code; POINT_OK where not located


@dataclass(frozen=True)
class _Rows:
    """What every check reads: the batch's text, its kind and context, where its rows are."""

    text: _Text
    kind: Kind
    ctx: SealContext
    where: _Where


@dataclass(frozen=True)
class _NativeRows(_Rows):
    """A batch of native reports, parsed."""

    time: _Times
    category: pd.Series  # the kind's category code; missing if unknown
    agency: pd.Series  # the agency's configured name; missing if none or unknown
    sharing: pd.Series  # normalised; the default if none was given
    defaulted_sharing: pd.Series  # no sharing level was given
    severity: pd.Series  # 1-3 (Int16); missing if unknown or the kind has none


@dataclass(frozen=True)
class _PoliceRows(_Rows):
    """A batch of police.uk rows, parsed."""

    month: pd.Series  # the month's first day; NaT if not YYYY-MM


def _lat_lon(rows: _Rows) -> pd.Series:
    """Return "lat, lon" of each row as given: the value a bad point is shown with."""
    return rows.text["latitude"] + ", " + rows.text["longitude"]


def _coordinates_given(rows: _Rows) -> Mask:
    where = rows.where
    return where.has_lat & where.has_lon & ~where.skip


def _place_hints(rows: _Rows, unknown: Mask) -> pd.Series:
    """Return "unknown place ...; did you mean ...?" for each ``unknown`` row."""
    gazetteer = rows.ctx.gazetteer
    return map_distinct(
        rows.text["place"][unknown], lambda v: _hint("place", v, gazetteer.suggest(v))
    )


def _category_hints(rows: _NativeRows, unknown: Mask) -> pd.Series:
    """Return "unknown category ...; did you mean ...?" for each ``unknown`` row."""
    return map_distinct(rows.text["category"][unknown], lambda v: _suggest_category(v, rows.kind))


def _agency_hints(rows: _NativeRows, unknown: Mask) -> pd.Series:
    """Return "unknown agency ...; did you mean ...?" for each ``unknown`` row."""
    agencies = rows.ctx.agencies
    return map_distinct(
        rows.text["agency"][unknown],
        lambda v: (
            _hint("agency", v, agencies.suggest(v))
            + " (the deployment's agencies are set in STREETSAFE_AGENCIES)"
        ),
    )


def _names_nobody(refs: pd.Series) -> Mask:
    """Return which references hold no letter or digit (blank, or only punctuation)."""
    return map_distinct(refs, lambda v: normalise_reference(v) == "").to_numpy(dtype=bool)


def _this_month(now: datetime) -> pd.Timestamp:
    return pd.Timestamp(now.replace(tzinfo=None)).to_period("M").start_time


# Where a row is: the same rules for every kind (police.uk rows give no place, so the place rules
# pick none of them).
_PLACE_CHECKS: tuple[Check[_Rows], ...] = (
    Check(
        # latitude, unless every row gives one
        column=lambda r: "latitude" if not r.where.has_lat.all() else "longitude",
        reason="incomplete coordinates",
        message="give both latitude and longitude, or neither and a place",
        test=lambda r: (r.where.has_lat ^ r.where.has_lon) & ~r.where.skip,
        values=lambda r: r.text["latitude"].where(r.where.has_lat, r.text["longitude"]),
    ),
    Check(
        column="latitude",
        reason="coordinates not numeric",
        message="latitude and longitude must be decimal degrees, e.g. 50.9097 -1.4044",
        test=lambda r: _coordinates_given(r) & (np.isnan(r.where.lat) | np.isnan(r.where.lon)),
        values=lambda r: r.text["latitude"] + " " + r.text["longitude"],
    ),
    Check(
        column="place",
        reason="unknown place",
        message=_place_hints,
        test=lambda r: r.where.unknown_place,
    ),
    Check(
        column="latitude",
        reason="missing location",
        message="no location: give latitude and longitude, or a place from the gazetteer",
        test=lambda r: ~r.where.has_lat & ~r.where.has_lon & ~r.where.named & ~r.where.skip,
    ),
    Check(
        column="latitude",
        reason="coordinates out of range",
        message="latitude must be within ±90 and longitude within ±180",
        test=lambda r: r.where.area == ar.POINT_INVALID,
        values=_lat_lon,
    ),
    Check(
        column="latitude",
        reason="latitude/longitude swapped",
        message="latitude and longitude look swapped: the point is inside the study area "
        "once they are exchanged",
        test=lambda r: r.where.area == ar.POINT_SWAPPED,
        values=_lat_lon,
    ),
)

# The templates' example rows have record ids starting so (any case): a file sent with one
# left in would otherwise put an invented report on the live map.
EXAMPLE_PREFIX = "EXAMPLE-"


def _examples(rows: _Rows) -> Mask:
    """Return which rows are a template's example rows (their record id says so)."""
    ids = pa.array(rows.text["record_id"].array, type=pa.large_string())
    found = pc.starts_with(ids, EXAMPLE_PREFIX, ignore_case=True).fill_null(False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


# Every rule a native report (incident, outreach contact, ASB report) must pass, in the order
# a rejected row lists its reasons.
_NATIVE_CHECKS: tuple[Check[_NativeRows], ...] = (
    Check(
        column="record_id",
        reason="example row",
        message="an example row from the template: replace it with your own record",
        test=_examples,
    ),
    Check(
        column="occurred_at",
        reason="missing time",
        message="no time given (YYYY-MM-DD HH:MM)",
        test=lambda r: r.text.empty("occurred_at"),
    ),
    Check(
        column="occurred_at",
        reason="unparseable time",
        message="not a date and time: write YYYY-MM-DD HH:MM (or DD/MM/YYYY HH:MM)",
        test=lambda r: ~r.text.empty("occurred_at") & r.time.utc.isna().to_numpy() & ~r.time.in_gap,
    ),
    Check(
        column="occurred_at",
        reason="time in DST gap",
        message="this local time never happened: the clocks went forward at 01:00",
        test=lambda r: r.time.in_gap,
    ),
    Check(
        column="occurred_at",
        reason="future time",
        message="the time is in the future",
        test=lambda r: (r.time.utc > pd.Timestamp(r.ctx.now)).to_numpy(),
    ),
    *_PLACE_CHECKS,
    Check(
        column="latitude",
        reason="outside study area",
        message=lambda r, _: f"the point is outside the study area ({r.ctx.study_area.name})",
        test=lambda r: r.where.area == ar.POINT_OUTSIDE,
        values=_lat_lon,
    ),
    Check(
        column="category",
        reason="missing category",
        message=lambda r, _: f"no category given; use one of: {', '.join(r.kind.categories)}",
        test=lambda r: r.text.empty("category"),
    ),
    Check(
        column="category",
        reason="unknown category",
        message=_category_hints,
        test=lambda r: r.category.isna().to_numpy() & ~r.text.empty("category"),
    ),
    Check(
        column="agency",
        reason="missing agency",
        message="no reporting agency given",
        test=lambda r: r.text.empty("agency") & (r.ctx.agency is None),
    ),
    Check(
        column="agency",
        reason="another agency",
        message=lambda r, _: (
            f"names another agency; the files you upload are {r.ctx.agency}'s (leave the "
            "column empty, or ask the operator to load another agency's file)"
        ),
        test=lambda r: (
            r.agency.notna().to_numpy()
            & ~r.agency.isin(r.ctx.agencies.family(r.ctx.agency)).to_numpy()
            if r.ctx.agency is not None
            else np.zeros(len(r.agency), dtype=bool)
        ),
    ),
    Check(
        column="agency",
        reason="unknown agency",
        message=_agency_hints,
        test=lambda r: r.agency.isna().to_numpy() & ~r.text.empty("agency"),
    ),
    Check(
        column="person_ref",
        reason="missing person reference",
        message="an outreach contact needs the person's reference (code or initials)",
        test=lambda r: _names_nobody(r.text["person_ref"]),
        when=lambda kind: kind.person_required,
    ),
    Check(
        column="sharing",
        reason="unknown sharing level",
        message=f"sharing must be {OUTREACH_ONLY} or {PARTNERS}",
        test=lambda r: ~r.sharing.isin([OUTREACH_ONLY, PARTNERS]).to_numpy(),
    ),
    Check(
        column="severity",
        reason="unknown severity",
        message="severity must be low, medium or high (or 1, 2, 3)",
        test=lambda r: r.severity.isna().to_numpy(),
        when=lambda kind: kind.has_severity,
    ),
)

# Every rule a police.uk row must pass, in the order a rejected row lists its reasons. A row
# outside the study area is no error: a force's file covers far more than one town.
_POLICEUK_CHECKS: tuple[Check[_PoliceRows], ...] = (
    Check(
        column="month",
        reason="unparseable month",
        message="month must be YYYY-MM",
        test=lambda r: r.month.isna().to_numpy(),
    ),
    Check(
        column="month",
        reason="future time",
        message="month is in the future",
        test=lambda r: (r.month > _this_month(r.ctx.now)).to_numpy(),
    ),
    Check(
        column="crime_type",
        reason="missing category",
        message="no crime type given",
        test=lambda r: r.text.empty("crime_type"),
    ),
    Check(
        column="longitude",
        reason="no location",
        message="police.uk gives no location for this row",
        test=lambda r: r.where.skip,
        values=lambda r: r.text["location"],
    ),
    *_PLACE_CHECKS,
)


def checks_for(kind: Kind) -> tuple[Check[Any], ...]:
    """Return the rules a row of ``kind`` must pass, in the order rejects list their reasons."""
    if kind.layer == POLICEUK:
        return _applying(_POLICEUK_CHECKS, kind)
    return _applying(_NATIVE_CHECKS, kind)


def _applying(table: tuple[Check[_T], ...], kind: Kind) -> tuple[Check[_T], ...]:
    return tuple(check for check in table if check.when is None or check.when(kind))


def _problems(table: tuple[Check[_T], ...], rows: _T) -> pd.DataFrame:
    """Return what the checks find, check by check (a rejected row's reasons in table order)."""
    found = [p for check in _applying(table, rows.kind) if (p := check.find(rows)) is not None]
    if found:
        return pd.concat(found, ignore_index=True)
    return pd.DataFrame(
        {
            "row": pd.Series(dtype=np.int64),
            "column": pd.Series(dtype=object),
            "value": pd.Series(dtype=object),
            "reason": pd.Series(dtype=object),
            "message": pd.Series(dtype=object),
        }
    )


def seal(batch: pd.DataFrame, kind: Kind, ctx: SealContext) -> Sealed:
    """Validate ``batch`` (strings, normalised column names) and seal its good rows.

    A row with a NUL byte or a field over ``ctx.max_field_bytes`` in any column is rejected
    before any other check reads it (nothing parses a 40 MB "time").
    """
    hostile = hostile_cells(batch, ctx.max_field_bytes)
    if hostile is not None:
        batch = batch[~batch.index.isin(hostile["row"])]
    batch = batch.reindex(columns=list(kind.columns), fill_value="")
    if kind.layer == POLICEUK:
        sealed = _seal_policeuk(batch, kind, ctx)
    else:
        sealed = _seal_native(batch, kind, ctx)
    if hostile is not None:
        sealed.problems = pd.concat([hostile, sealed.problems], ignore_index=True)
    return sealed


def hostile_cells(batch: pd.DataFrame, max_bytes: int) -> pd.DataFrame | None:
    """Return a problem for each field of ``batch`` holding a NUL byte or longer than
    ``max_bytes`` (UTF-8), or None if there is none (nearly always: found column by column,
    in Arrow)."""
    found = []
    for column in batch.columns:
        values = pa.array(batch[column], type=pa.large_string(), from_pandas=True)
        if not _may_be_hostile(values, max_bytes):
            continue
        nul = np.asarray(pc.fill_null(pc.match_substring(values, "\x00"), False), dtype=bool)
        size = np.asarray(pc.fill_null(pc.binary_length(values), 0), dtype=np.int64)
        long = size > max_bytes
        for mask, reason, message in (
            (nul, NUL_BYTE, f"{column} holds a NUL byte: remove it (a text file never needs one)"),
            (
                long & ~nul,
                FIELD_TOO_LONG,
                f"{column} is longer than {max_bytes:,} bytes (STREETSAFE_MAX_FIELD_BYTES)",
            ),
        ):
            if mask.any():
                shown = [_shown(v, n) for v, n in zip(batch[column][mask], size[mask], strict=True)]
                found.append(
                    pd.DataFrame(
                        {
                            "row": batch.index[mask].to_numpy(dtype=np.int64),
                            "column": column,
                            "value": shown,
                            "reason": reason,
                            "message": message,
                        }
                    )
                )
    return pd.concat(found, ignore_index=True) if found else None


def _may_be_hostile(values: pa.Array | pa.ChunkedArray, max_bytes: int) -> bool:
    """Whether a column could hold a NUL byte or a field over ``max_bytes``: a search of its
    bytes for NUL (memchr) and its longest field, a tenth of the per-field test's time. Every
    batch of every file passes here."""
    longest = pc.max(pc.binary_length(values)).as_py()
    if longest is not None and longest > max_bytes:
        return True
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    return any(
        (data := chunk.buffers()[2]) is not None and data.to_pybytes().find(b"\x00") >= 0
        for chunk in chunks
    )


NUL_BYTE = "NUL byte"
FIELD_TOO_LONG = "field too long"
_SHOWN_CHARS = 60


def _shown(value: object, size: int) -> str:
    """A hostile field as a message shows it: NUL as ␀, cut short with its size."""
    text = str(value).replace("\x00", "\u2400")
    if len(text) <= _SHOWN_CHARS:
        return text
    return f"{text[:_SHOWN_CHARS]}… ({size:,} bytes)"


def _seal_native(batch: pd.DataFrame, kind: Kind, ctx: SealContext) -> Sealed:
    rows = _native_rows(_Text(batch), kind, ctx)
    problems = _problems(_NATIVE_CHECKS, rows)
    text, idx = rows.text, rows.text.index
    good = ~idx.isin(problems["row"].unique())
    utc, where = rows.time.utc[good], rows.where
    nights = night_fields(utc)
    records = pd.DataFrame(
        {
            "layer": _text(pa.nulls(int(good.sum()), pa.string()).fill_null(kind.layer)),
            "category": rows.category[good],
            "agency": rows.agency[good],
            "sharing": rows.sharing[good],
            "severity": rows.severity[good],
            "person": ctx.pseudonymiser.people(text["person_ref"][good]),
            "occurred_utc": utc.dt.tz_convert("UTC").dt.tz_localize(None),
            **{c: nights[c] for c in nights.columns},
            "time_flag": _time_flags(rows.time.in_fold[good]),
            "cell": cells_from_points(where.lat[good], where.lon[good], ctx.storage_res),
        },
        index=idx[good],
    )
    record_id = text["record_id"][good]
    records["_has_id"] = (record_id != "").to_numpy()
    records["_record_id"] = record_id.array  # kept as Arrow strings: identity hashes them
    return Sealed(
        records=records,
        problems=problems,
        outside_area=0,
        in_fold=int(rows.time.in_fold[good].sum()),
        defaulted_sharing=int((rows.defaulted_sharing & good).sum()),
    )


def _native_rows(text: _Text, kind: Kind, ctx: SealContext) -> _NativeRows:
    """Parse what the native checks and records read."""
    time = _parse_times(text["occurred_at"], missing=text.empty("occurred_at"))
    where = _where(text, ctx)
    codes = category_codes_for(kind)
    category = map_distinct_text(text["category"], lambda v: codes.get(normalise_name(v)))
    sharing = map_distinct_text(text["sharing"], normalise_name)
    defaulted = sharing == ""
    severity = pd.Series(pd.NA, index=text.index, dtype="Int16")
    if kind.has_severity:
        levels = {**SEVERITIES, **{str(v): v for v in SEVERITIES.values()}}
        severity = map_distinct(text["severity"].str.lower(), levels.get).astype("Int16")
    return _NativeRows(
        text=text,
        kind=kind,
        ctx=ctx,
        where=where,
        time=time,
        category=category,
        agency=_agency(text, ctx),
        sharing=sharing.where(~defaulted, DEFAULT_SHARING),
        defaulted_sharing=defaulted,
        severity=severity,
    )


def _agency(text: _Text, ctx: SealContext) -> pd.Series:
    """Return each row's agency (its configured name; missing if none or unknown): an
    uploader's own where the row names none."""
    named = map_distinct_text(text["agency"], ctx.agencies.canonical)
    if ctx.agency is None:
        return named
    return named.where(~text.empty("agency"), ctx.agency)


def _seal_policeuk(batch: pd.DataFrame, kind: Kind, ctx: SealContext) -> Sealed:
    text = _Text(batch)
    idx = text.index
    month = pd.to_datetime(text["month"], format="%Y-%m", errors="coerce")
    unlocated = text.empty("longitude") | text.empty("latitude")
    rows = _PoliceRows(
        text=text, kind=kind, ctx=ctx, where=_where(text, ctx, skip=unlocated), month=month
    )
    problems = _problems(_POLICEUK_CHECKS, rows)
    rejected = idx.isin(problems["row"].unique())
    outside = rows.where.area == ar.POINT_OUTSIDE  # counted, not rejected
    good = ~rejected & ~outside
    agency = text["reported_by"].where(text["reported_by"] != "", "police.uk")
    records = pd.DataFrame(
        {
            "layer": POLICEUK,
            "category": text["crime_type"][good],
            "agency": agency[good],
            "sharing": PUBLIC,
            "severity": pd.Series(pd.NA, index=idx[good], dtype="Int16"),
            "person": pd.Series(pd.NA, index=idx[good], dtype="Int64"),
            "occurred_utc": pd.Series(pd.NaT, index=idx[good], dtype="datetime64[us]"),
            "night": None,
            "local_minute": pd.Series(pd.NA, index=idx[good], dtype="Int16"),
            "weekday": pd.Series(pd.NA, index=idx[good], dtype="Int8"),
            "month": rows.month[good].dt.date,
            "time_flag": None,
            "cell": cells_from_points(rows.where.lat[good], rows.where.lon[good], ctx.storage_res),
        },
        index=idx[good],
    )
    records["_has_id"] = (text["crime_id"][good] != "").to_numpy()
    records["_record_id"] = text["crime_id"][good].to_numpy()
    return Sealed(
        records=records,
        problems=problems,
        outside_area=int((outside & ~rejected).sum()),
        places=_street_places(text["location"][good], rows.where.lat[good], rows.where.lon[good]),
    )


def _street_places(
    location: pd.Series, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
) -> pd.DataFrame:
    """Return the streets police.uk names at these (public, snapped) points: cell at
    :data:`PLACE_RES`, street, n. Rows naming no street are left out."""
    streets = street_names(location).to_numpy(dtype=object)
    named = streets != ""
    frame = pd.DataFrame(
        {"cell": cells_from_points(lat[named], lon[named], PLACE_RES), "street": streets[named]}
    )
    return frame.groupby(["cell", "street"], as_index=False).size().rename(columns={"size": "n"})


def _stripped(text: pd.Series) -> pd.Series:
    """Return the strings without surrounding whitespace.

    Stripping copies every string, and most columns have nothing to strip: only a value whose
    first or last byte is a space, a control character or part of a non-ASCII character (some
    are Unicode spaces) can, so a column with no such value is returned as it is.
    """
    strings = pa.array(text.array, type=pa.large_string())
    if strings.null_count == 0 and len(strings):
        offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)
        offsets = offsets[strings.offset : strings.offset + len(strings) + 1]
        lengths = np.diff(offsets)
        data = strings.buffers()[2]
        if not lengths.any() or data is None:
            return text  # every value is empty
        chars = np.frombuffer(data, dtype=np.uint8)
        filled = lengths > 0
        ends = np.concatenate([chars[offsets[:-1][filled]], chars[offsets[1:][filled] - 1]])
        if not ((ends <= ord(" ")) | (ends >= 0x7F)).any():
            return text
    return text.str.strip()


def _time_flags(in_fold: npt.NDArray[np.bool_]) -> pd.api.extensions.ExtensionArray:
    return _text(pc.if_else(pa.array(in_fold), TIME_FLAG_FOLD, pa.scalar(None, pa.string())))


# pandas' own text dtype (Arrow strings; NaN when missing)
_TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


def _text(strings: pa.Array) -> pd.api.extensions.ExtensionArray:
    """Return a pandas text column over ``strings``, built without a Python object per row."""
    text: pd.api.extensions.ExtensionArray = pd.array(strings, dtype=_TEXT_DTYPE)
    return text


def _parse_times(text: pd.Series, *, missing: Mask) -> _Times:
    """Parse ``occurred_at`` into UTC instants, to the minute; find DST gaps and folds."""
    idx = text.index
    plain, naive = _parse_plain_times(text)
    offset = np.zeros(len(idx), dtype=bool)
    utc = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns, UTC]")
    other = ~plain & ~missing
    if other.any():
        pos = np.flatnonzero(other)
        other_offset, other_utc, other_naive = _parse_other_times(text[other])
        offset[pos] = other_offset
        utc[offset] = other_utc[other_offset].array
        naive[pos] = other_naive.to_numpy()
    local = localize(pd.Series(_floor_minute(naive), index=idx))
    utc = utc.dt.floor("min").where(offset, local.utc) if offset.any() else local.utc
    return _Times(utc=utc, in_gap=local.in_gap, in_fold=local.in_fold & ~offset)


def _floor_minute(times: npt.NDArray[np.datetime64]) -> npt.NDArray[np.datetime64]:
    """Return ``times`` (datetime64[ns]) rounded down to the minute; NaT stays NaT."""
    ns = times.astype("datetime64[ns]").view(np.int64)
    floored = np.where(np.isnat(times), ns, ns - ns % (60 * 10**9))
    return floored.view("datetime64[ns]")


def _parse_plain_times(
    text: pd.Series,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.datetime64]]:
    """Parse the times written exactly ``YYYY-MM-DD HH:MM`` (ASCII digits), a valid date and time.

    Returns which rows those are and the naive times (NaT elsewhere). Reading the digits directly
    is many times faster than pandas' general ISO 8601 parser, which gives the same instant for
    every such row; the rest (and any impossible date such as 30 February) is left to it.
    """
    naive = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    strings = pa.array(text.array, type=pa.large_string())
    plain = pc.equal(pc.binary_length(strings), len(_PLAIN_TIME)).to_numpy(zero_copy_only=False)
    if not plain.any():
        return plain, naive
    fixed = pc.cast(pc.filter(strings, plain), pa.binary(len(_PLAIN_TIME)))
    # One row per character position, contiguous: the arithmetic below runs along rows.
    chars = np.ascontiguousarray(
        np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
        .reshape(-1, len(_PLAIN_TIME))[fixed.offset : fixed.offset + len(fixed)]
        .T
    )
    layout = np.frombuffer(_PLAIN_TIME.encode("ascii"), dtype=np.uint8)
    is_digit = layout == ord("D")
    digits = chars[is_digit] - np.uint8(ord("0"))  # bytes below "0" wrap round to above 9
    valid = (digits <= 9).all(axis=0) & (chars[~is_digit] == layout[~is_digit, None]).all(axis=0)
    digits = digits.astype(np.int32)
    year = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]
    month, day = digits[4] * 10 + digits[5], digits[6] * 10 + digits[7]
    hour, minute = digits[8] * 10 + digits[9], digits[10] * 10 + digits[11]
    valid &= (year >= _PLAIN_YEARS[0]) & (year <= _PLAIN_YEARS[1])
    valid &= (month >= 1) & (month <= 12) & (hour <= 23) & (minute <= 59)
    first_day = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    days = first_day.astype("datetime64[D]").astype(np.int64)
    days_in_month = (first_day + 1).astype("datetime64[D]").astype(np.int64) - days
    valid &= (day >= 1) & (day <= days_in_month)
    minutes = (days + day - 1) * MINUTES_PER_DAY + hour * 60 + minute
    rows = np.flatnonzero(plain)
    naive[rows[valid]] = minutes[valid].astype("datetime64[m]")
    plain[rows[~valid]] = False
    return plain, naive


def _parse_other_times(text: pd.Series) -> tuple[npt.NDArray[np.bool_], pd.Series, pd.Series]:
    """Parse times in any other accepted form: with an offset, seconds or a UK date.

    Returns which rows carry an offset, their UTC instants, and the naive times of the others.
    """
    has_time = text.str.contains(_HAS_TIME).to_numpy()
    uk_date = text.str.contains(_UK_DATE).to_numpy()
    offset = text.str.contains(_HAS_OFFSET).to_numpy() & has_time & ~uk_date
    uk = uk_date & has_time
    iso = has_time & ~offset & ~uk
    utc = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if offset.any():
        utc[offset] = pd.to_datetime(text[offset], utc=True, format="ISO8601", errors="coerce")
    naive = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if iso.any():
        naive[iso] = pd.to_datetime(text[iso], format="ISO8601", errors="coerce")
    if uk.any():
        parsed = pd.to_datetime(text[uk], format="%d/%m/%Y %H:%M", errors="coerce")
        with_secs = pd.to_datetime(text[uk], format="%d/%m/%Y %H:%M:%S", errors="coerce")
        naive[uk] = parsed.fillna(with_secs)
    return offset, utc, naive


def _where(text: _Text, ctx: SealContext, *, skip: Mask | None = None) -> _Where:
    """Locate each row from its coordinates or its gazetteer place; classify it in the area.

    ``skip`` rows are not located (police.uk publishes some rows without coordinates).
    """
    n = len(text.index)
    skip = np.zeros(n, dtype=bool) if skip is None else skip
    has_lat, has_lon = ~text.empty("latitude"), ~text.empty("longitude")
    coords = has_lat & has_lon & ~skip
    lat, lon = _degrees(text["latitude"], coords), _degrees(text["longitude"], coords)
    place = text.get("place")
    named = (place != "").to_numpy()
    unknown = _locate_places(place, ~has_lat & ~has_lon & named & ~skip, ctx.gazetteer, lat, lon)
    located = ~np.isnan(lat) & ~np.isnan(lon)
    area = np.full(n, ar.POINT_OK, dtype=np.int8)
    area[located] = ctx.study_area.classify(lat[located], lon[located])
    return _Where(
        lat=lat,
        lon=lon,
        has_lat=has_lat,
        has_lon=has_lon,
        named=named,
        skip=skip,
        unknown_place=unknown,
        area=area,
    )


def _locate_places(
    place: pd.Series,
    by_place: Mask,
    gazetteer: Gazetteer,
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
) -> Mask:
    """Set ``lat`` and ``lon`` of the ``by_place`` rows naming a known place; return the rest.

    Each distinct place is looked up once, its point then given to every row naming it.
    """
    unknown = np.zeros(len(place), dtype=bool)
    if not by_place.any():
        return unknown
    pos = np.flatnonzero(by_place)
    codes, names = pd.factorize(place[by_place])
    points = [gazetteer.lookup(name) for name in names]
    known = np.array([point is not None for point in points])[codes]
    for out, axis in ((lat, 0), (lon, 1)):
        degrees = np.array([np.nan if p is None else p[axis] for p in points])
        out[pos[known]] = degrees[codes[known]]
    unknown[pos[~known]] = True
    return unknown


def _degrees(text: pd.Series, coords: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Return the number in each ``coords`` row (decimal comma allowed); NaN elsewhere.

    When every coordinate is a plain decimal such as ``-1.40440`` (as good as always), Arrow
    converts them, many times faster than pandas and to the same (correctly rounded) values.
    Otherwise pandas parses the whole column, as it always did: for some forms its result
    depends on the other values (``-0`` is ``-0.0`` beside decimals, else ``0.0``).
    """
    strings = pa.array(text.array, type=pa.large_string())
    plain = pc.match_substring_regex(strings, _PLAIN_DEGREES).to_numpy(zero_copy_only=False)
    if (coords & ~plain).any():
        return pd.to_numeric(
            text.str.replace(",", ".", regex=False).where(coords, ""), errors="coerce"
        ).to_numpy(dtype=np.float64, copy=True)
    out = np.full(len(text), np.nan)
    if coords.any():
        out[coords] = pc.cast(pc.filter(strings, coords), pa.float64()).to_numpy()
    return out


def map_distinct(values: pd.Series, fn: Callable[[str], Any]) -> pd.Series:
    """Apply ``fn`` once per distinct value (report columns repeat a handful of values)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    mapped = np.empty(len(uniques), dtype=object)
    for i, value in enumerate(uniques):
        mapped[i] = fn(value)  # element-wise: results may be tuples
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def map_distinct_text(values: pd.Series, fn: Callable[[str], str | None]) -> pd.Series:
    """Like :func:`map_distinct` for a function giving text: a string column (None: missing).

    Strings are built for the distinct values alone; a column of Python strings would be
    converted again, row by row, for the store.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    mapped = pd.array([fn(value) for value in uniques], dtype="str")
    return pd.Series(mapped.take(codes), index=values.index)


def _suggest_category(value: str, kind: Kind) -> str:
    codes = category_codes_for(kind)
    close = difflib.get_close_matches(normalise_name(value), list(codes), n=1, cutoff=0.5)
    suggestions = [codes[c] for c in close]
    return _hint("category", value, suggestions, options=", ".join(kind.categories))


def _hint(what: str, value: str, suggestions: list[str], options: str | None = None) -> str:
    text = f"unknown {what} {value!r}"
    if suggestions:
        text += "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
    if options:
        text += f" (valid: {options})"
    return text
