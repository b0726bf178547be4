"""Validate a batch of report rows and seal the good ones for the store.

Sealing is where privacy starts: a point becomes an H3 cell at the storage resolution, a person
reference becomes a keyed pseudonym, and everything else (names, free text, raw coordinates)
is left behind. Every check is vectorised over the batch; a row that fails any check is
rejected with each reason, its column and its value.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo import area as ar
from geo.hexes import cells_from_points
from geo.nights import localize, night_fields
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

# The columns of a sealed record, in store order (see ingest/stores/_schema.py).
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

    records: pd.DataFrame  # SEALED_COLUMNS, plus ``_identity`` and ``_has_id`` for dedup
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
        values: pd.Series,
        reason: str,
        message: str | pd.Series,
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
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
    col = {c: batch[c].astype(str).str.strip() for c in batch.columns}

    # --- time ---
    utc, fold = _parse_times(col["occurred_at"], idx, probs, now=ctx.now)

    # --- place ---
    lat, lon, outside = _locate(col, idx, probs, ctx, outside_is_error=True)

    # --- category ---
    codes = category_codes_for(kind)
    folded = col["category"].map(normalise_name)
    category = folded.map(codes)
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
        hint = col["category"][unknown].map(lambda v: _suggest_category(v, kind))
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
    sharing_in = col["sharing"].map(normalise_name)
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
        severity = sev_in.map({**SEVERITIES, **{str(v): v for v in SEVERITIES.values()}})
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
            "layer": kind.layer,
            "category": category[good].astype(str),
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
    identity_has_id = col["record_id"][good] != ""
    records["_has_id"] = identity_has_id.to_numpy()
    records["_record_id"] = col["record_id"][good].to_numpy()
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
    col = {c: batch[c].astype(str).str.strip() for c in batch.columns}

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


def _time_flags(in_fold: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
    flags = np.full(in_fold.shape, None, dtype=object)
    flags[in_fold] = TIME_FLAG_FOLD
    return flags


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
    utc = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns, UTC]")
    has_time = text.str.contains(_HAS_TIME).to_numpy()
    offset = (
        text.str.contains(_HAS_OFFSET).to_numpy()
        & has_time
        & ~text.str.contains(_UK_DATE).to_numpy()
    )
    uk = text.str.contains(_UK_DATE).to_numpy() & has_time
    iso = has_time & ~offset & ~uk
    if offset.any():
        utc[offset] = pd.to_datetime(text[offset], utc=True, format="ISO8601", errors="coerce")
    naive = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    if iso.any():
        naive[iso] = pd.to_datetime(text[iso], format="ISO8601", errors="coerce")
    if uk.any():
        parsed = pd.to_datetime(text[uk], format="%d/%m/%Y %H:%M", errors="coerce")
        with_secs = pd.to_datetime(text[uk], format="%d/%m/%Y %H:%M:%S", errors="coerce")
        naive[uk] = parsed.fillna(with_secs)
    local = localize(naive.dt.floor("min"))
    utc = utc.dt.floor("min").where(offset, local.utc)
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
        values=lat_t.where(has_lat, lon_t),
        reason="incomplete coordinates",
        message="give both latitude and longitude, or neither and a place",
    )
    coords = has_lat & has_lon & ~skip
    lat = pd.to_numeric(
        lat_t.str.replace(",", ".", regex=False).where(coords, ""), errors="coerce"
    ).to_numpy(dtype=np.float64, copy=True)
    lon = pd.to_numeric(
        lon_t.str.replace(",", ".", regex=False).where(coords, ""), errors="coerce"
    ).to_numpy(dtype=np.float64, copy=True)
    not_number = coords & (np.isnan(lat) | np.isnan(lon))
    probs.add(
        not_number,
        index=idx,
        column="latitude",
        values=lat_t + " " + lon_t,
        reason="coordinates not numeric",
        message="latitude and longitude must be decimal degrees, e.g. 50.9097 -1.4044",
    )
    by_place = ~has_lat & ~has_lon & (place != "").to_numpy() & ~skip
    if by_place.any():
        found = place[by_place].map(ctx.gazetteer.lookup)
        known = found.notna().to_numpy()
        pos = np.flatnonzero(by_place)
        hits = pos[known]
        lat[hits] = [p[0] for p in found[known]]
        lon[hits] = [p[1] for p in found[known]]
        unknown = np.zeros(len(idx), dtype=bool)
        unknown[pos[~known]] = True
        hint = place.where(unknown, "").map(
            lambda v: _hint("place", v, ctx.gazetteer.suggest(v) if v else [])
        )
        probs.add(
            unknown, index=idx, column="place", values=place, reason="unknown place", message=hint
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
    pair = lat_t + ", " + lon_t
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
