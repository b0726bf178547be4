"""The night-time model: local wall-clock time, the night a record belongs to, hour ranges.

Local time is Europe/London. A record belongs to the *night of* the evening it started in:
a night runs from 12:00 to 11:59 the next day, so 02:30 on a Saturday belongs to Friday night.
Hour ranges are wall-clock and wrap midnight: ``22-04`` is one range of six hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import FilterError

TIMEZONE = "Europe/London"
NIGHT_STARTS_AT_HOUR = 12
MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NS_PER_MINUTE = 60 * 10**9
_NS_PER_DAY = MINUTES_PER_DAY * _NS_PER_MINUTE


@dataclass(frozen=True)
class Localized:
    """Naive local times placed on the UTC time line."""

    utc: pd.Series  # datetime64[ns, UTC]; NaT where the local time does not exist
    in_fold: npt.NDArray[np.bool_]  # happened twice (autumn): resolved to the first, BST
    in_gap: npt.NDArray[np.bool_]  # never happened (spring): clocks jumped over it


def localize(naive: pd.Series) -> Localized:
    """Place naive Europe/London wall-clock times on the UTC time line.

    Rule for the autumn fold (01:00-01:59 on the last Sunday of October happens twice):
    the *first* occurrence, British Summer Time (UTC+1), is taken and the row is flagged.
    Times in the spring gap (01:00-01:59 on the last Sunday of March) never happened and are
    reported through ``in_gap`` with ``utc`` left NaT.
    """
    wall = pd.to_datetime(naive).to_numpy("datetime64[ns]")
    known = ~np.isnat(wall)
    # A file's million times fall in a few thousand wall-clock hours, and the clocks change at
    # most once in an hour: place each hour's first and last instant, and every time in an hour
    # whose two ends agree takes the hour's offset. Only hours the clocks change inside (none in
    # Europe/London, where they change on the hour) are placed time by time.
    hours, inverse = _distinct(wall[known].astype("datetime64[h]").view(np.int64))
    starts = hours.view("datetime64[h]").astype("datetime64[ns]")
    ends = (starts.view(np.int64) + (3_600 * 10**9 - 1)).view("datetime64[ns]")
    start_offset, start_fold, start_gap = _offsets(starts)
    end_offset, end_fold, end_gap = _offsets(ends)
    uniform = (start_offset == end_offset) & (start_fold == end_fold) & (start_gap == end_gap)
    offset = np.zeros(len(wall), dtype=np.int64)
    in_fold = np.zeros(len(wall), dtype=bool)
    in_gap = np.zeros(len(wall), dtype=bool)
    offset[known], in_fold[known], in_gap[known] = (
        start_offset[inverse],
        start_fold[inverse],
        start_gap[inverse],
    )
    odd = np.zeros(len(wall), dtype=bool)
    odd[known] = ~uniform[inverse]
    if odd.any():
        offset[odd], in_fold[odd], in_gap[odd] = _offsets(wall[odd])
    utc = np.where(known & ~in_gap, wall.view(np.int64) - offset, np.iinfo(np.int64).min)
    return Localized(
        utc=pd.Series(utc.view("datetime64[ns]"), index=naive.index).dt.tz_localize("UTC"),
        in_fold=in_fold,
        in_gap=in_gap,
    )


def _distinct(values: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """Return the sorted distinct values and each value's position among them (np.unique).

    Hours of a file span a few years: marking them in a table over that span finds them
    without sorting a million values. A wider span (a stray date centuries off) sorts.
    """
    if values.size == 0 or int(values.max()) - int(values.min()) > 4 * values.size + 100_000:
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse
    low = int(values.min())
    present = np.zeros(int(values.max()) - low + 1, dtype=bool)
    present[values - low] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, rank[values - low]


def _offsets(
    wall: npt.NDArray[np.datetime64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Return each wall-clock time's UTC offset (ns; the first one in a fold), fold and gap."""
    times = pd.DatetimeIndex(wall)
    strict = times.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="NaT")
    first = times.tz_localize(
        TIMEZONE, ambiguous=np.ones(len(times), dtype=bool), nonexistent="NaT"
    )
    in_gap = np.asarray(first.isna())
    in_fold = np.asarray(strict.isna()) & ~in_gap
    utc = first.tz_convert("UTC").tz_localize(None).asi8
    offset = np.where(in_gap, 0, times.asi8 - utc)
    return offset, in_fold, in_gap


def night_fields(utc: pd.Series) -> pd.DataFrame:
    """Return the night-time columns of each instant.

    Columns: ``night`` (date of the evening the night started), ``local_minute`` (wall-clock
    minute of the day, 0-1439), ``weekday`` (of the night, 0 = Monday) and ``month`` (first day
    of the night's month). The two dates are ``datetime64`` values at midnight (the store's DATE
    columns); every column is missing where the instant is.
    """
    local = pd.to_datetime(utc, utc=True).dt.tz_convert(TIMEZONE)
    known = local.notna().to_numpy()
    # Plain integer arithmetic on wall-clock nanoseconds: pandas' date accessors build Python
    # objects row by row, many times slower. Floor division rounds down, as the calendar does.
    wall = np.where(known, local.dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64), 0)
    minute_of_day = (wall // _NS_PER_MINUTE) % MINUTES_PER_DAY
    night_day = (wall - NIGHT_STARTS_AT_HOUR * 60 * _NS_PER_MINUTE) // _NS_PER_DAY
    night = night_day.astype("datetime64[D]")
    month = night.astype("datetime64[M]").astype("datetime64[D]")
    night[~known] = month[~known] = np.datetime64("NaT")
    return pd.DataFrame(
        {
            "night": night,
            "local_minute": pd.arrays.IntegerArray(minute_of_day.astype(np.int16), ~known),
            # 1970-01-01, day 0, was a Thursday (3).
            "weekday": pd.arrays.IntegerArray(((night_day + 3) % 7).astype(np.int8), ~known),
            "month": month,
        },
        index=utc.index,
    )


_RANGE = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?\s*$")


@dataclass(frozen=True)
class HourRange:
    """A wall-clock range ``[start, end)`` in minutes of the day; wraps midnight if end <= start."""

    start: int
    end: int

    @property
    def whole_day(self) -> bool:
        """Whether the range covers all 24 hours."""
        return self.start == 0 and self.end == MINUTES_PER_DAY

    def contains(self, minute: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Return whether each minute of the day lies in the range."""
        m = np.asarray(minute)
        if self.whole_day:
            return np.ones(m.shape, dtype=bool)
        if self.start < self.end:
            return (m >= self.start) & (m < self.end)
        return (m >= self.start) | (m < self.end)

    def sql(self, column: str) -> str:
        """Return a SQL predicate on a minute-of-day column (DuckDB and PostgreSQL alike)."""
        if self.whole_day:
            return "TRUE"
        op = "AND" if self.start < self.end else "OR"
        return f"({column} >= {self.start} {op} {column} < {self.end})"

    def __str__(self) -> str:
        def fmt(m: int) -> str:
            return f"{m // 60:02d}:{m % 60:02d}"

        return f"{fmt(self.start)}-{fmt(self.end)}"


def parse_hour_range(text: str) -> HourRange:
    """Parse ``HH-HH`` or ``HH:MM-HH:MM`` into a range that may wrap midnight.

    ``18-06`` is the whole night, ``00-24`` the whole day. A range with equal ends is refused:
    it is unclear whether it means nothing or everything.
    """
    match = _RANGE.match(text)
    if not match:
        raise FilterError(
            f"hour range {text!r} is not of the form HH-HH or HH:MM-HH:MM (e.g. 22-04)"
        )
    sh, sm, eh, em = (int(g) if g else 0 for g in match.groups())
    if sh > 23 or sm > 59 or eh > 24 or em > 59 or (eh == 24 and em):
        raise FilterError(f"hour range {text!r} has an hour or minute out of range")
    start, end = sh * 60 + sm, eh * 60 + em
    if start == end % MINUTES_PER_DAY and not (start == 0 and end == MINUTES_PER_DAY):
        raise FilterError(f"hour range {text!r} starts where it ends; use 00-24 for the whole day")
    return HourRange(start, end)


def parse_weekdays(text: str) -> tuple[int, ...]:
    """Parse ``fri,sat`` (names or 0-6, Monday = 0) into sorted weekday numbers."""
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        if part[:3] in WEEKDAYS:
            days.add(WEEKDAYS.index(part[:3]))
        elif part.isdigit() and int(part) < 7:
            days.add(int(part))
        else:
            raise FilterError(
                f"weekday {part!r} is not one of {', '.join(WEEKDAYS)} (or 0-6, Monday = 0)"
            )
    if not days:
        raise FilterError("no weekday given")
    return tuple(sorted(days))


@dataclass(frozen=True)
class NightBand:
    """One of the fixed bands of the day a partner release publishes."""

    name: str
    label: str
    hours: HourRange


# The bands partner releases publish, in night order; a record with no known time of night
# (police.uk publishes the month only) is in UNKNOWN_TIME.
NIGHT_BANDS = (
    NightBand("evening", "Evening 18:00-22:00", HourRange(18 * 60, 22 * 60)),
    NightBand("late", "Late 22:00-02:00", HourRange(22 * 60, 2 * 60)),
    NightBand("small_hours", "Small hours 02:00-06:00", HourRange(2 * 60, 6 * 60)),
    NightBand("day", "Day 06:00-18:00", HourRange(6 * 60, 18 * 60)),
)
UNKNOWN_TIME = "unknown"

# The groups of nights partner releases publish (a night is named for its evening).
WEEKDAY_GROUPS: dict[str, tuple[str, tuple[int, ...]]] = {
    "weeknights": ("Sunday to Thursday nights", (6, 0, 1, 2, 3)),
    "weekend": ("Friday and Saturday nights", (4, 5)),
}


def band_sql(column: str = "local_minute") -> str:
    """Return a SQL expression naming each record's night band (DuckDB and PostgreSQL alike)."""
    cases = " ".join(f"WHEN {band.hours.sql(column)} THEN '{band.name}'" for band in NIGHT_BANDS)
    return f"(CASE WHEN {column} IS NULL THEN '{UNKNOWN_TIME}' {cases} END)"


def weekday_group_sql(column: str = "weekday") -> str:
    """Return a SQL expression naming each record's group of nights."""
    cases = " ".join(
        f"WHEN {column} IN ({', '.join(map(str, days))}) THEN '{name}'"
        for name, (_, days) in WEEKDAY_GROUPS.items()
    )
    return f"(CASE WHEN {column} IS NULL THEN '{UNKNOWN_TIME}' {cases} END)"
