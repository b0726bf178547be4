"""Weekly opening hours: the cells people write, overnight ranges on the right night, shifts."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.errors import ConfigError, FilterError
from geo.opening import (
    DayHours,
    WeeklyHours,
    day_text,
    hours_text,
    open_during,
    open_intervals,
    parse_day,
    parse_shift,
)

THURSDAY = date(2025, 3, 13)
FRIDAY = date(2025, 3, 14)
SATURDAY = date(2025, 3, 15)


def _week(**days: str) -> WeeklyHours:
    """Weekly hours from cells by weekday name (``fri="20:00-02:00"``); the rest closed."""
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return WeeklyHours.parse([days.get(name, "closed") for name in names])


@pytest.mark.parametrize(
    ("text", "ranges", "normal"),
    [
        ("20:00-02:00", ((1200, 1560),), "20:00-02:00"),
        ("09:00-12:00, 20:00-02:00", ((540, 720), (1200, 1560)), "09:00-12:00, 20:00-02:00"),
        ("20:00-02:00,09:00-12:00", ((540, 720), (1200, 1560)), "09:00-12:00, 20:00-02:00"),
        ("24h", ((0, 1440),), "24h"),
        (" 24 H ", ((0, 1440),), "24h"),
        ("00:00-24:00", ((0, 1440),), "24h"),
        ("20:00-24:00", ((1200, 1440),), "20:00-24:00"),
        ("20:00-00:00", ((1200, 1440),), "20:00-24:00"),
        ("9:30-17:00", ((570, 1020),), "09:30-17:00"),
        ("22:00\u201306:00", ((1320, 1800),), "22:00-06:00"),  # an en dash, as pasted
        ("02:00-01:00", ((120, 1500),), "02:00-01:00"),  # 23 hours, overnight
        ("closed", (), "closed"),
        ("Closed", (), "closed"),
        ("", (), "closed"),
        ("   ", (), "closed"),
    ],
)
def test_a_weekday_cell_parses_to_ranges_and_back(text: str, ranges: DayHours, normal: str) -> None:
    assert parse_day(text) == ranges
    assert day_text(parse_day(text)) == normal
    assert parse_day(normal) == ranges


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "20:00-2am",
            "'20:00-2am' is not an opening time: write HH:MM-HH:MM, several separated by "
            "commas, 24h or closed",
        ),
        ("8pm-2am", "'8pm-2am' is not an opening time: write HH:MM-HH:MM"),
        ("open", "'open' is not an opening time: write HH:MM-HH:MM"),
        ("20:00", "'20:00' is not an opening time: write"),
        ("20:00-02:00;09:00-12:00", "is not an opening time: write"),
        ("20:00-02:00,", "is not an opening time: write"),
        ("20:00-20:00", "'20:00-20:00' is not an opening time: 20:00-20:00 starts where it ends"),
        ("00:00-00:00", "starts where it ends \\(write 24h for the whole day, closed for none\\)"),
        ("25:00-02:00", "'25:00-02:00' is not an opening time: 25:00 is not a time of day"),
        ("20:60-02:00", "20:60 is not a time of day"),
        ("20:00-24:30", "24:30 is not a time of day"),
        ("24:00-02:00", "a range cannot start at 24:00"),
        (
            "09:00-12:00, 11:00-14:00",
            "09:00-12:00 and 11:00-14:00 overlap; write them as one range",
        ),
        ("24h, 20:00-02:00", "is not an opening time: write"),
        ("00:00-24:00, 20:00-02:00", "00:00-24:00 and 20:00-02:00 overlap"),
    ],
)
def test_a_bad_cell_says_what_it_is_and_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_day(text)


def test_a_bad_cell_in_a_week_names_its_weekday() -> None:
    cells = ["closed"] * 7
    cells[4] = "8pm-2am"
    with pytest.raises(ConfigError, match=r"^fri: '8pm-2am' is not an opening time"):
        WeeklyHours.parse(cells)
    with pytest.raises(ConfigError, match="7 days"):
        WeeklyHours.parse(["24h"] * 6)


def test_weekly_hours_refuse_ranges_no_cell_could_give() -> None:
    closed: DayHours = ()
    with pytest.raises(ConfigError, match="mon: \\(1440, 1500\\)"):
        WeeklyHours(((((1440, 1500),)), closed, closed, closed, closed, closed, closed))
    with pytest.raises(ConfigError, match="tue: \\(600, 2040\\)"):  # 10:00-10:00
        WeeklyHours((closed, ((600, 2040),), closed, closed, closed, closed, closed))
    with pytest.raises(ConfigError, match="overlapping"):
        WeeklyHours((((60, 200), (100, 300)), closed, closed, closed, closed, closed, closed))


def test_thursdays_overnight_hours_are_open_early_friday_morning() -> None:
    hours = _week(thu="20:00-02:00")
    # night Thursday: from 20:00 to 02:00 the next morning
    assert open_intervals(hours, THURSDAY) == [(1200, 1560)]
    assert open_during(hours, THURSDAY, 1440, 1560)
    assert hours_text(hours, THURSDAY, 1200, 1680) == "open until 02:00"
    # night Friday starts at 00:00 Friday, in Thursday night's tail
    assert open_intervals(hours, FRIDAY) == [(0, 120)]
    assert open_during(hours, FRIDAY, 0, 120)
    assert not open_during(hours, FRIDAY, 1200, 1680)  # Friday's own shift: closed
    assert hours_text(hours, FRIDAY, 1200, 1680) == "closed"


def test_friday_evening_hours_are_open_on_night_friday() -> None:
    hours = _week(fri="20:00-02:00")
    assert open_intervals(hours, FRIDAY) == [(1200, 1560)]
    assert open_intervals(hours, SATURDAY) == [(0, 120)]
    assert open_intervals(hours, THURSDAY) == [(2640, 2880)]  # Friday 20:00 onwards
    assert not open_during(hours, THURSDAY, 1200, 1680)


def test_a_closed_day_is_closed_whatever_its_neighbours_do() -> None:
    hours = _week(thu="09:00-17:00", sat="09:00-17:00")
    assert not open_during(hours, FRIDAY, 0, 1440)
    assert open_intervals(hours, FRIDAY) == [(1980, 2460)]  # Saturday's, the morning after
    assert hours_text(hours, FRIDAY, 1200, 1680) == "closed"
    assert _week().texts() == ("closed",) * 7


def test_a_service_open_all_day_every_day_is_open_all_night() -> None:
    hours = _week(**dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "24h"))
    assert open_intervals(hours, FRIDAY) == [(0, 2880)]
    assert hours_text(hours, FRIDAY, 1200, 1680) == "open all night"
    assert hours.texts() == ("24h",) * 7


def test_consecutive_days_join_into_one_opening() -> None:
    hours = _week(fri="18:00-24:00", sat="00:00-06:00, 20:00-04:00")
    assert open_intervals(hours, FRIDAY) == [(1080, 1800), (2640, 2880)]


@pytest.mark.parametrize(
    ("cell", "window", "text"),
    [
        ("20:00-02:00", (1080, 1800), "open 20:00-02:00"),
        ("20:00-02:00", (1200, 1560), "open all night"),
        ("18:00-23:00", (1200, 1680), "open until 23:00"),
        ("22:00-08:00", (1200, 1680), "open from 22:00"),
        ("21:00-23:00", (1200, 1680), "open 21:00-23:00"),
        ("18:00-21:00, 23:00-06:00", (1200, 1680), "open until 21:00, from 23:00"),
        ("09:00-17:00", (1200, 1680), "closed"),
    ],
)
def test_hours_text_says_when_within_the_window(
    cell: str, window: tuple[int, int], text: str
) -> None:
    assert hours_text(_week(fri=cell), FRIDAY, *window) == text


@pytest.mark.parametrize("window", [(-1, 100), (100, 100), (200, 100), (0, 2881)])
def test_a_window_outside_the_night_is_refused(window: tuple[int, int]) -> None:
    with pytest.raises(FilterError, match="not within the night"):
        open_during(_week(), FRIDAY, *window)


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("20:00-02:00", (1200, 1560)),
        ("18:00-23:30", (1080, 1410)),
        ("22-04", (1320, 1680)),
        ("00:00-24:00", (0, 1440)),
        ("20:00-00:00", (1200, 1440)),
        ("02:00-06:00", (120, 360)),
        ("02:00-01:00", (120, 1500)),  # 23 hours: unusual, allowed
    ],
)
def test_shifts_parse_to_a_window_that_ends_after_it_starts(
    text: str, window: tuple[int, int]
) -> None:
    assert parse_shift(text) == window


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("20:00-20:00", "shift '20:00-20:00' starts where it ends"),
        ("00:00-00:00", "starts where it ends; a shift of a whole day is 00:00-24:00"),
        ("8pm-2am", "shift '8pm-2am' is not of the form HH:MM-HH:MM"),
        ("20:00", "not of the form HH:MM-HH:MM"),
        ("20:00-26:00", "shift '20:00-26:00' has a time that is not a time of day"),
        ("24:00-06:00", "starts at 24:00"),
    ],
)
def test_a_bad_shift_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_shift(text)


def test_no_shift_is_longer_than_a_day() -> None:
    for text in ("00:00-24:00", "00:01-00:00", "23:59-23:58", "12:00-11:59"):
        start, end = parse_shift(text)
        assert 0 < end - start <= 1440


# --- properties --------------------------------------------------------------------------------

_CLOCK = st.integers(0, 1439)


@st.composite
def _day(draw: st.DrawFn) -> DayHours:
    """A weekday's cell as people write it, read: up to three ranges that do not overlap."""
    if draw(st.integers(0, 9)) == 0:
        return ((0, 1440),)  # 24h
    ranges: list[tuple[int, int]] = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(_CLOCK)
        end = draw(st.integers(start + 1, start + 1439))
        if all(end <= s or start >= e for s, e in ranges):
            ranges.append((start, end))
    return tuple(sorted(ranges))


_WEEKS = st.builds(lambda days: WeeklyHours(tuple(days)), st.lists(_day(), min_size=7, max_size=7))
_NIGHTS = st.dates(date(2024, 1, 1), date(2026, 12, 31))


def _cut(intervals: list[tuple[int, int]], low: int, high: int) -> list[tuple[int, int]]:
    return [(max(s, low), min(e, high)) for s, e in intervals if s < high and e > low]


@given(hours=_WEEKS, night=_NIGHTS)
def test_consecutive_nights_agree_on_the_day_they_share(hours: WeeklyHours, night: date) -> None:
    """The morning after night ``d`` is the first half of night ``d + 1``."""
    later = _cut(open_intervals(hours, night), 1440, 2880)
    shared = [(s - 1440, e - 1440) for s, e in later]
    assert shared == _cut(open_intervals(hours, night + timedelta(days=1)), 0, 1440)


@given(hours=_WEEKS, night=_NIGHTS)
def test_intervals_are_sorted_disjoint_and_within_the_night(
    hours: WeeklyHours, night: date
) -> None:
    intervals = open_intervals(hours, night)
    for start, end in intervals:
        assert 0 <= start < end <= 2880
    for (_, end), (start, _) in itertools.pairwise(intervals):
        assert end < start  # touching ranges are joined


@given(hours=_WEEKS, night=_NIGHTS)
def test_the_nights_own_ranges_are_open_on_it(hours: WeeklyHours, night: date) -> None:
    intervals = open_intervals(hours, night)
    for start, end in hours.days[night.weekday()]:
        minute = (start + end) // 2
        assert any(s <= minute < e for s, e in intervals)
        assert open_during(hours, night, start, end)


@given(hours=_WEEKS)
def test_the_text_of_each_day_reads_back_to_the_same_hours(hours: WeeklyHours) -> None:
    assert WeeklyHours.parse(hours.texts()) == hours


@given(hours=_WEEKS, night=_NIGHTS, a=st.integers(0, 2880), b=st.integers(0, 2880))
def test_hours_text_says_closed_exactly_when_not_open(
    hours: WeeklyHours, night: date, a: int, b: int
) -> None:
    if a == b:
        return
    start, end = min(a, b), max(a, b)
    assert (hours_text(hours, night, start, end) == "closed") != open_during(
        hours, night, start, end
    )
