"""Validate a batch of report rows and seal the good ones for the store.

Sealing is where privacy starts: a point becomes an H3 cell at the storage resolution, a person
reference becomes a keyed pseudonym, and everything else (names, free text, raw coordinates)
is left behind. Every check is vectorised over the batch; a row that fails any check is
rejected with each reason, its column and its value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo import area as ar
from geo.hexes import cells_from_points
from geo.nights import MINUTES_PER_DAY, localize, night_fields
from ingest.gazetteer import Gazetteer
from ingest.kinds import (
    DEFAULT_SHARING,
    OUTREACH_ONLY,
    PARTNERS,
    POLICEUK,
    PUBLIC,
    SEVERITIES,
    Kind,
    category_codes_for,
    normalise_name,
)
from ingest.pseudonyms import Pseudonymiser

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
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Sealed:
    """The outcome of sealing one batch."""

    records: pd.DataFrame  # SEALED_COLUMNS (dates as datetime64), plus ``_has_id``, ``_record_id``
    problems: pd.DataFrame  # row, column, value, reason, message (one row per problem)
    outside_area: int = 0
    in_fold: int = 0
    defaulted_sharing: int = 0


class _Problems:
    """Collects problems found by vectorised checks."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(
        self,
        mask: npt.NDArray[np.bool_] | pd.Series,
        *,
        index: pd.Index,
        column: str,
        values: pd.Series | Callable[[], pd.Series],
        reason: str,
        message: str | pd.Series,
    ) -> None:
        """Record a problem for each row in ``mask``.

        ``values`` may be a function that builds them: some (e.g. "lat, lon" pairs) cost more to
        build than the check itself, and most checks find nothing.
        """
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if callable(values):
            values = values()
        rows = index[mask]
        msg = message[mask].to_numpy() if isinstance(message, pd.Series) else message
        self._parts.append(
            pd.DataFrame(
                {
                    "row": rows.to_numpy(dtype=np.int64),
                    "column": column,
                    "value": values[mask].to_numpy(dtype=object),
                    "reason": reason,
                    "message": msg,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame(
                {
                    "row": pd.Series(dtype=np.int64),
                    "column": pd.Series(dtype=object),
                    "value": pd.Series(dtype=object),
                    "reason": pd.Series(dtype=object),
                    "message": pd.Series(dtype=object),
                }
            )
        return pd.concat(self._parts, ignore_index=True)


def seal(batch: pd.DataFrame, kind: Kind, ctx: SealContext) -> Sealed:
    """Validate ``batch`` (strings, normalised column names) and seal its good rows."""
    batch = batch.reindex(columns=list(kind.columns), fill_value="")
    if kind.layer == POLICEUK:
        return _seal_policeuk(batch, kind, ctx)
    return _seal_native(batch, kind, ctx)


def _seal_native(batch: pd.DataFrame, kind: Kind, ctx: SealContext) -> Sealed:
    idx = batch.index
    probs = _Problems()
    col = {c: _stripped(batch[c].astype(str)) for c in batch.columns}

    # --- time ---
    utc, fold = _parse_times(col["occurred_at"], idx, probs, now=ctx.now)

    # --- place ---
    lat, lon, outside = _locate(col, idx, probs, ctx, outside_is_error=True)

    # --- category ---
    codes = category_codes_for(kind)
    category = map_distinct_text(col["category"], lambda v: codes.get(normalise_name(v)))
    missing = col["category"] == ""
    probs.add(
        missing.to_numpy(),
        index=idx,
        column="category",
        values=col["category"],
        reason="missing category",
        message=f"no category given; use one of: {', '.join(kind.categories)}",
    )
    unknown = category.isna().to_numpy() & ~missing.to_numpy()
    if unknown.any():
        hint = map_distinct(col["category"][unknown], lambda v: _suggest_category(v, kind))
        probs.add(
            unknown,
            index=idx,
            column="category",
            values=col["category"],
            reason="unknown category",
            message=hint.reindex(idx, fill_value=""),
        )

    # --- agency, person, sharing, severity ---
    probs.add(
        (col["agency"] == "").to_numpy(),
        index=idx,
        column="agency",
        values=col["agency"],
        reason="missing agency",
        message="no reporting agency given",
    )
    if kind.person_required:
        probs.add(
            (col["person_ref"] == "").to_numpy(),
            index=idx,
            column="person_ref",
            values=col["person_ref"],
            reason="missing person reference",
            message="an outreach contact needs the person's reference (code or initials)",
        )
    sharing_in = map_distinct_text(col["sharing"], normalise_name)
    defaulted = sharing_in == ""
    sharing = sharing_in.where(~defaulted, DEFAULT_SHARING)
    bad_sharing = ~sharing.isin([OUTREACH_ONLY, PARTNERS])
    probs.add(
        bad_sharing.to_numpy(),
        index=idx,
        column="sharing",
        values=col["sharing"],
        reason="unknown sharing level",
        message=f"sharing must be {OUTREACH_ONLY} or {PARTNERS}",
    )
    severity = pd.Series(pd.NA, index=idx, dtype="Int16")
    if kind.has_severity:
        sev_in = col["severity"].str.lower()
        levels = {**SEVERITIES, **{str(v): v for v in SEVERITIES.values()}}
        severity = map_distinct(sev_in, levels.get)
        probs.add(
            severity.isna().to_numpy(),
            index=idx,
            column="severity",
            values=col["severity"],
            reason="unknown severity",
            message="severity must be low, medium or high (or 1, 2, 3)",
        )
        severity = severity.astype("Int16")

    problems = probs.frame()
    good = ~idx.isin(problems["row"].unique()) & ~outside
    person = ctx.pseudonymiser.people(col["person_ref"][good])
    nights = night_fields(utc[good])
    records = pd.DataFrame(
        {
            "layer": _text(pa.nulls(int(good.sum()), pa.string()).fill_null(kind.layer)),
            "category": category[good],
            "agency": col["agency"][good],
            "sharing": sharing[good],
            "severity": severity[good],
            "person": person,
            "occurred_utc": utc[good].dt.tz_convert("UTC").dt.tz_localize(None),
            **{c: nights[c] for c in nights.columns},
            "time_flag": _time_flags(fold[good]),
            "cell": cells_from_points(lat[good], lon[good], ctx.storage_res),
        },
        index=idx[good],
    )
    record_id = col["record_id"][good]
    records["_has_id"] = (record_id != "").to_numpy()
    records["_record_id"] = record_id.array  # kept as Arrow strings: identity hashes them
    return Sealed(
        records=records,
        problems=problems,
        outside_area=0,
        in_fold=int(fold[good].sum()),
        defaulted_sharing=int((defaulted & good).sum()),
    )


def _seal_policeuk(batch: pd.DataFrame, kind: Kind, ctx: SealContext) -> Sealed:
    idx = batch.index
    probs = _Problems()
    col = {c: _stripped(batch[c].astype(str)) for c in batch.columns}

    month = pd.to_datetime(col["month"], format="%Y-%m", errors="coerce")
    probs.add(
        month.isna().to_numpy(),
        index=idx,
        column="month",
        values=col["month"],
        reason="unparseable month",
        message="month must be YYYY-MM",
    )
    this_month = pd.Timestamp(ctx.now.replace(tzinfo=None)).to_period("M").start_time
    probs.add(
        (month > this_month).to_numpy(),
        index=idx,
        column="month",
        values=col["month"],
        reason="future time",
        message="month is in the future",
    )
    probs.add(
        (col["crime_type"] == "").to_numpy(),
        index=idx,
        column="crime_type",
        values=col["crime_type"],
        reason="missing category",
        message="no crime type given",
    )
    no_location = ((col["longitude"] == "") | (col["latitude"] == "")).to_numpy()
    probs.add(
        no_location,
        index=idx,
        column="longitude",
        values=col["location"],
        reason="no location",
        message="police.uk gives no location for this row",
    )
    lat, lon, outside = _locate(col, idx, probs, ctx, outside_is_error=False, skip=no_location)

    problems = probs.frame()
    good = ~idx.isin(problems["row"].unique()) & ~outside
    agency = col["reported_by"].where(col["reported_by"] != "", "police.uk")
    records = pd.DataFrame(
        {
            "layer": POLICEUK,
            "category": col["crime_type"][good],
            "agency": agency[good],
            "sharing": PUBLIC,
            "severity": pd.Series(pd.NA, index=idx[good], dtype="Int16"),
            "person": pd.Series(pd.NA, index=idx[good], dtype="Int64"),
            "occurred_utc": pd.Series(pd.NaT, index=idx[good], dtype="datetime64[us]"),
            "night": None,
            "local_minute": pd.Series(pd.NA, index=idx[good], dtype="Int16"),
            "weekday": pd.Series(pd.NA, index=idx[good], dtype="Int8"),
            "month": month[good].dt.date,
            "time_flag": None,
            "cell": cells_from_points(lat[good], lon[good], ctx.storage_res),
        },
        index=idx[good],
    )
    records["_has_id"] = (col["crime_id"][good] != "").to_numpy()
    records["_record_id"] = col["crime_id"][good].to_numpy()
    return Sealed(
        records=records,
        problems=problems,
        outside_area=int((outside & ~idx.isin(problems["row"].unique())).sum()),
    )


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


def _parse_times(
    text: pd.Series, idx: pd.Index, probs: _Problems, *, now: datetime
) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """Parse ``occurred_at`` into UTC instants, to the minute; flag DST folds."""
    empty = (text == "").to_numpy()
    probs.add(
        empty,
        index=idx,
        column="occurred_at",
        values=text,
        reason="missing time",
        message="no time given (YYYY-MM-DD HH:MM)",
    )
    plain, naive = _parse_plain_times(text)
    offset = np.zeros(len(idx), dtype=bool)
    utc = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns, UTC]")
    other = ~plain & ~empty
    if other.any():
        pos = np.flatnonzero(other)
        other_offset, other_utc, other_naive = _parse_other_times(text[other])
        offset[pos] = other_offset
        utc[offset] = other_utc[other_offset].array
        naive[pos] = other_naive.to_numpy()
    local = localize(pd.Series(_floor_minute(naive), index=idx))
    utc = utc.dt.floor("min").where(offset, local.utc) if offset.any() else local.utc
    unparsed = ~empty & utc.isna().to_numpy() & ~local.in_gap
    probs.add(
        unparsed,
        index=idx,
        column="occurred_at",
        values=text,
        reason="unparseable time",
        message="not a date and time: write YYYY-MM-DD HH:MM (or DD/MM/YYYY HH:MM)",
    )
    probs.add(
        local.in_gap,
        index=idx,
        column="occurred_at",
        values=text,
        reason="time in DST gap",
        message="this local time never happened: the clocks went forward at 01:00",
    )
    future = (utc > pd.Timestamp(now)).to_numpy()
    probs.add(
        future,
        index=idx,
        column="occurred_at",
        values=text,
        reason="future time",
        message="the time is in the future",
    )
    return utc, local.in_fold & ~offset


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


def _locate(
    col: dict[str, pd.Series],
    idx: pd.Index,
    probs: _Problems,
    ctx: SealContext,
    *,
    outside_is_error: bool,
    skip: npt.NDArray[np.bool_] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Return (lat, lon, outside) of each row from coordinates or a gazetteer place."""
    lat_t, lon_t = col["latitude"], col["longitude"]
    place = col.get("place", pd.Series("", index=idx))
    skip = np.zeros(len(idx), dtype=bool) if skip is None else skip
    has_lat, has_lon = (lat_t != "").to_numpy(), (lon_t != "").to_numpy()
    partial = (has_lat ^ has_lon) & ~skip
    probs.add(
        partial,
        index=idx,
        column="latitude" if not has_lat.all() else "longitude",
        values=lambda: lat_t.where(has_lat, lon_t),
        reason="incomplete coordinates",
        message="give both latitude and longitude, or neither and a place",
    )
    coords = has_lat & has_lon & ~skip
    lat, lon = _degrees(lat_t, coords), _degrees(lon_t, coords)
    not_number = coords & (np.isnan(lat) | np.isnan(lon))
    probs.add(
        not_number,
        index=idx,
        column="latitude",
        values=lambda: lat_t + " " + lon_t,
        reason="coordinates not numeric",
        message="latitude and longitude must be decimal degrees, e.g. 50.9097 -1.4044",
    )
    by_place = ~has_lat & ~has_lon & (place != "").to_numpy() & ~skip
    if by_place.any():
        # each distinct place looked up once, its point then given to every row naming it
        pos = np.flatnonzero(by_place)
        codes, names = pd.factorize(place[by_place])
        points = [ctx.gazetteer.lookup(name) for name in names]
        known = np.array([point is not None for point in points])[codes]
        for out, axis in ((lat, 0), (lon, 1)):
            degrees = np.array([np.nan if p is None else p[axis] for p in points])
            out[pos[known]] = degrees[codes[known]]
        unknown = np.zeros(len(idx), dtype=bool)
        unknown[pos[~known]] = True
        if unknown.any():
            hint = map_distinct(
                place[unknown], lambda v: _hint("place", v, ctx.gazetteer.suggest(v))
            )
            probs.add(
                unknown,
                index=idx,
                column="place",
                values=place,
                reason="unknown place",
                message=hint.reindex(idx, fill_value=""),
            )
    nowhere = ~has_lat & ~has_lon & (place == "").to_numpy() & ~skip
    probs.add(
        nowhere,
        index=idx,
        column="latitude",
        values=lat_t,
        reason="missing location",
        message="no location: give latitude and longitude, or a place from the gazetteer",
    )

    located = ~np.isnan(lat) & ~np.isnan(lon)
    codes = np.full(len(idx), ar.POINT_OK, dtype=np.int8)
    codes[located] = ctx.study_area.classify(lat[located], lon[located])

    def pair() -> pd.Series:
        return lat_t + ", " + lon_t

    probs.add(
        codes == ar.POINT_INVALID,
        index=idx,
        column="latitude",
        values=pair,
        reason="coordinates out of range",
        message="latitude must be within ±90 and longitude within ±180",
    )
    probs.add(
        codes == ar.POINT_SWAPPED,
        index=idx,
        column="latitude",
        values=pair,
        reason="latitude/longitude swapped",
        message="latitude and longitude look swapped: the point is inside the study area "
        "once they are exchanged",
    )
    outside = codes == ar.POINT_OUTSIDE
    if outside_is_error:
        probs.add(
            outside,
            index=idx,
            column="latitude",
            values=pair,
            reason="outside study area",
            message=f"the point is outside the study area ({ctx.study_area.name})",
        )
        outside = np.zeros(len(idx), dtype=bool)
    return lat, lon, outside


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
