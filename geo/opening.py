"""Weekly opening hours of the services an outreach team may take a woman to, and which are
open during a night's shift.

A service's hours are written one cell per weekday: ``20:00-02:00`` (a range that ends before it
starts crosses midnight: open that evening until 02:00 the next morning), several ranges
``09:00-12:00, 20:00-02:00``, ``24h`` (or ``00:00-24:00``), ``closed`` or nothing. A night is
named for its evening (geo/nights.py): the minutes of night ``d`` run from 00:00 on ``d``
(minute 0) to 24:00 on the next day (minute 2880), so that a shift such as 20:00-04:00 is the
one window [1200, 1680) whatever midnight it crosses. Minutes are wall-clock (Europe/London), as
the hours on a door and a team's shift are: on the nights the clocks change, 01:00-02:00 comes
twice or not at all, for the service as for the team.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from geo.errors import ConfigError, FilterError
from geo.nights import MINUTES_PER_DAY, WEEKDAYS

NIGHT_MINUTES = 2 * MINUTES_PER_DAY  # a night's evening date and the morning after
CLOSED = "closed"
WHOLE_DAY = "24h"

Range = tuple[int, int]  # [start, end) in minutes from a day's 00:00; end > 1440 past midnight
DayHours = tuple[Range, ...]

_EXPECTED = "write HH:MM-HH:MM, several separated by commas, 24h or closed"
_CLOCK = r"(\d{1,2})(?::(\d{2}))?"
# hyphen, or the en and em dashes that word processors and web pages put in its place
_RANGE = re.compile(rf"^\s*{_CLOCK}\s*[-\u2013\u2014]\s*{_CLOCK}\s*$")
_WHOLE_DAY_WORDS = {"24h", "24hr", "24hrs", "24hours", "open24h", "open24hours"}


@dataclass(frozen=True)
class WeeklyHours:
    """When a service is open, weekday by weekday (Monday = 0, as ``date.weekday()``).

    Each day holds its ranges ``(start, end)`` in minutes from that day's 00:00, sorted and not
    overlapping: ``0 <= start < 1440`` and ``start < end < start + 1440``, or ``(0, 1440)``
    for the whole day (what the cells can say). A range that crosses midnight ends after 1440
    (Friday ``20:00-02:00`` is ``(1200, 1560)``); its tail is the next morning's.
    """

    days: tuple[DayHours, DayHours, DayHours, DayHours, DayHours, DayHours, DayHours]

    def __post_init__(self) -> None:
        if len(self.days) != len(WEEKDAYS):
            raise ConfigError(f"weekly hours need 7 days (Monday first), not {len(self.days)}")
        for name, ranges in zip(WEEKDAYS, self.days, strict=True):
            previous_end = -1
            for start, end in ranges:
                if not (
                    0 <= start < MINUTES_PER_DAY and start < end < start + MINUTES_PER_DAY
                ) and (start, end) != (0, MINUTES_PER_DAY):
                    raise ConfigError(
                        f"{name}: ({start}, {end}) is not an opening range in minutes "
                        "(start 0-1439, end after it and less than a day later; or 0-1440)"
                    )
                if start < previous_end:
                    raise ConfigError(f"{name}: opening ranges out of order or overlapping")
                previous_end = end

    @classmethod
    def parse(cls, cells: Sequence[str]) -> WeeklyHours:
        """Parse the seven weekday cells, Monday first (see :func:`parse_day`).

        Raises :class:`ConfigError` naming the weekday and the text of the first bad cell.
        """
        if len(cells) != len(WEEKDAYS):
            raise ConfigError(f"weekly hours need 7 days (Monday first), not {len(cells)}")
        days = []
        for name, cell in zip(WEEKDAYS, cells, strict=True):
            try:
                days.append(parse_day(cell))
            except ConfigError as exc:
                raise ConfigError(f"{name}: {exc}") from None
        return cls(tuple(days))  # type: ignore[arg-type]  # seven, checked above

    def texts(self) -> tuple[str, ...]:
        """Return the seven days as normalised text, Monday first (see :func:`day_text`)."""
        return tuple(day_text(ranges) for ranges in self.days)


def parse_day(text: str) -> DayHours:
    """Parse one weekday cell into its sorted ranges.

    ``20:00-02:00`` crosses midnight, ``09:00-12:00, 20:00-02:00`` is two ranges, ``24h`` or
    ``00:00-24:00`` the whole day, ``closed`` or an empty cell none. ``24:00`` may end a range,
    never start one. A range that starts where it ends is refused: it is unclear whether it
    means never or always. Overlapping ranges are refused too (write them as one).
    """
    folded = text.strip().lower()
    if folded in ("", CLOSED):
        return ()
    if folded.replace(" ", "") in _WHOLE_DAY_WORDS:
        return ((0, MINUTES_PER_DAY),)
    ranges = sorted(_range(part, text) for part in folded.split(","))
    for (s1, e1), (s2, e2) in itertools.pairwise(ranges):
        if s2 < e1:
            raise ConfigError(
                f"{text!r} is not an opening time: {_range_text(s1, e1)} and "
                f"{_range_text(s2, e2)} overlap; write them as one range"
            )
    return tuple(ranges)


def _range(part: str, text: str) -> Range:
    """Parse one ``HH:MM-HH:MM`` of the cell ``text`` into minutes of its day."""
    match = _RANGE.match(part)
    if not match:
        raise ConfigError(f"{text!r} is not an opening time: {_EXPECTED}")
    start, end = _minutes(match[1], match[2], text), _minutes(match[3], match[4], text)
    if start == MINUTES_PER_DAY:
        raise ConfigError(f"{text!r} is not an opening time: a range cannot start at 24:00")
    if start == end % MINUTES_PER_DAY and (start, end) != (0, MINUTES_PER_DAY):
        raise ConfigError(
            f"{text!r} is not an opening time: {part.strip()} starts where it ends "
            "(write 24h for the whole day, closed for none)"
        )
    return (start, end if end > start else end + MINUTES_PER_DAY)


def _minutes(hh: str, mm: str | None, text: str) -> int:
    """Return the minute of the day of a time written in ``text`` (hours, minutes if any)."""
    hours, minutes = int(hh), int(mm or 0)
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ConfigError(
            f"{text!r} is not an opening time: {hours:02d}:{minutes:02d} is not a time of day "
            "(00:00 to 24:00)"
        )
    return hours * 60 + minutes


def day_text(ranges: DayHours) -> str:
    """Return a day's ranges as the text :func:`parse_day` reads back to the same ranges:
    ``closed``, ``24h`` or ``HH:MM-HH:MM`` ranges separated by ``, ``."""
    if not ranges:
        return CLOSED
    if ranges == ((0, MINUTES_PER_DAY),):
        return WHOLE_DAY
    return ", ".join(_range_text(start, end) for start, end in ranges)


def _range_text(start: int, end: int) -> str:
    # an end at midnight is written 24:00 (00:00 reads back the same; 24:00 is clearer)
    return f"{_clock(start)}-{'24:00' if end == MINUTES_PER_DAY else _clock(end)}"


def _clock(minute: int) -> str:
    minute %= MINUTES_PER_DAY
    return f"{minute // 60:02d}:{minute % 60:02d}"


def open_intervals(hours: WeeklyHours, night: date) -> list[Range]:
    """Return when the service is open during ``night``: sorted, disjoint ``[start, end)``
    ranges in minutes from 00:00 on ``night``, within [0, 2880) (that day and the next).

    They take in the morning tail of the day before's overnight ranges (Thursday's
    ``20:00-02:00`` opens Friday 00:00-02:00), the day's own ranges (an overnight one past
    1440) and the next day's ranges (from 1440). Touching ranges are joined.
    """
    day = night.weekday()
    before, after = hours.days[(day - 1) % 7], hours.days[(day + 1) % 7]
    pieces = [(0, end - MINUTES_PER_DAY) for _, end in before if end > MINUTES_PER_DAY]
    pieces += hours.days[day]
    pieces += [(start + MINUTES_PER_DAY, end + MINUTES_PER_DAY) for start, end in after]
    merged: list[Range] = []
    for start, end in sorted(pieces):
        cut = min(end, NIGHT_MINUTES)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], cut))
        else:
            merged.append((start, cut))
    return merged


def open_during(hours: WeeklyHours, night: date, start_min: int, end_min: int) -> bool:
    """Return whether the service is open at any time of the window [``start_min``,
    ``end_min``) of ``night`` (minutes from 00:00 on ``night``; see :func:`parse_shift`)."""
    return bool(open_within(hours, night, start_min, end_min))


def hours_text(hours: WeeklyHours, night: date, start_min: int, end_min: int) -> str:
    """Return what a tooltip or a run sheet says of the service during the window:
    ``open all night``, ``closed``, or when it is open within it, e.g. ``open until 02:00``,
    ``open from 22:00``, ``open 21:00-23:00, from 01:00``."""
    within = open_within(hours, night, start_min, end_min)
    if not within:
        return CLOSED
    if within == [(start_min, end_min)]:
        return "open all night"
    parts = []
    for start, end in within:
        if start == start_min:
            parts.append(f"until {_clock(end)}")
        elif end == end_min:
            parts.append(f"from {_clock(start)}")
        else:
            parts.append(f"{_clock(start)}-{_clock(end)}")
    return "open " + ", ".join(parts)


def open_within(hours: WeeklyHours, night: date, start_min: int, end_min: int) -> list[Range]:
    """Return the open ranges of ``night`` cut to the window (nothing where they miss it)."""
    if not (0 <= start_min < end_min <= NIGHT_MINUTES):
        raise FilterError(
            f"the window {start_min}-{end_min} is not within the night: it must start at or "
            f"after minute 0, end after it and by minute {NIGHT_MINUTES} (24:00 the next day)"
        )
    cut = [(max(s, start_min), min(e, end_min)) for s, e in open_intervals(hours, night)]
    return [(s, e) for s, e in cut if s < e]


def parse_shift(text: str) -> Range:
    """Parse a shift ``HH:MM-HH:MM`` into a window of minutes from 00:00 on its night's date.

    The end is after the start: a shift that ends before it starts crosses midnight (20:00-02:00
    is ``(1200, 1560)``). A shift starting in the small hours is taken on the night's own date,
    as written: 02:00-06:00 is ``(120, 360)``, the morning *before* the evening the night is
    named for; add 1440 to both ends for the morning after. Raises :class:`FilterError` for
    malformed text, a time that is not one of the day, or a shift that starts where it ends
    (times of day from 00:00 to 24:00 make no shift longer than 24 hours).
    """
    match = _RANGE.match(text)
    if not match:
        raise FilterError(f"shift {text!r} is not of the form HH:MM-HH:MM (e.g. 20:00-02:00)")
    try:
        start, end = _minutes(match[1], match[2], text), _minutes(match[3], match[4], text)
    except ConfigError:
        raise FilterError(
            f"shift {text!r} has a time that is not a time of day (00:00 to 24:00)"
        ) from None
    if start == MINUTES_PER_DAY:
        raise FilterError(f"shift {text!r} starts at 24:00: write 00:00")
    if start == end % MINUTES_PER_DAY and (start, end) != (0, MINUTES_PER_DAY):
        raise FilterError(
            f"shift {text!r} starts where it ends; a shift of a whole day is 00:00-24:00"
        )
    # times of day from 00:00 to 24:00, the start before 24:00: at most 24 hours long
    return (start, end if end > start else end + MINUTES_PER_DAY)
