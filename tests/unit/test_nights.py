"""The night-time model: the night a record belongs to, hour ranges that wrap, DST nights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.errors import FilterError
from geo.nights import localize, night_fields, parse_hour_range, parse_weekdays


def _fields(*utc: str) -> pd.DataFrame:
    return night_fields(pd.Series(pd.to_datetime(list(utc), utc=True)))


def test_small_hours_belong_to_the_previous_evening() -> None:
    f = _fields("2025-03-15 02:30Z", "2025-03-14 23:00Z", "2025-03-15 12:00Z")  # Sat 02:30 GMT
    assert [str(pd.Timestamp(d).date()) for d in f["night"]] == [
        "2025-03-14",
        "2025-03-14",
        "2025-03-15",
    ]
    assert f["weekday"].tolist() == [4, 4, 5]  # Friday night, Friday night, Saturday
    assert f["local_minute"].tolist() == [150, 1380, 720]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("22-04", 1320, 240),
        ("22:30-04:15", 1350, 255),
        ("18-06", 1080, 360),
        ("00-24", 0, 1440),
        ("9-17", 540, 1020),
    ],
)
def test_hour_ranges_parse(text: str, start: int, end: int) -> None:
    r = parse_hour_range(text)
    assert (r.start, r.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("22", "not of the form HH-HH"),
        ("25-04", "out of range"),
        ("22-04-06", "not of the form"),
        ("10-10", "use 00-24 for the whole day"),
        ("ab-cd", "not of the form"),
        ("22:60-04", "out of range"),
    ],
)
def test_malformed_hour_ranges_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_hour_range(text)


def test_wrapping_range_covers_midnight() -> None:
    r = parse_hour_range("22-04")
    minutes = np.array([1319, 1320, 1439, 0, 239, 240])
    assert r.contains(minutes).tolist() == [False, True, True, True, True, False]


@given(st.integers(0, 23), st.integers(0, 23), st.lists(st.integers(0, 1439), max_size=200))
def test_complementary_ranges_cover_each_minute_exactly_once(
    a: int, b: int, minutes: list[int]
) -> None:
    if a == b:
        return
    first, second = parse_hour_range(f"{a}-{b}"), parse_hour_range(f"{b}-{a}")
    m = np.array(minutes, dtype=np.int64)
    assert (first.contains(m) ^ second.contains(m)).all()


def test_weekdays_parse_by_name_or_number() -> None:
    assert parse_weekdays("fri,sat") == (4, 5)
    assert parse_weekdays("Friday, 6") == (4, 6)
    with pytest.raises(FilterError, match="'fry'"):
        parse_weekdays("fry")


@pytest.mark.parametrize(
    ("night", "hours", "hour_one"),
    [("2025-10-25", 25, 8), ("2025-03-29", 23, 0), ("2025-06-14", 24, 4)],
    ids=["autumn-25h", "spring-23h", "summer-24h"],
)
def test_dst_nights_have_their_true_length_and_hour_counts(
    night: str, hours: int, hour_one: int
) -> None:
    # One record every 15 minutes of real time from 12:00 to 12:00 local, given as UTC instants.
    start = pd.Timestamp(f"{night} 12:00", tz="Europe/London")
    end = pd.Timestamp(f"{(start + pd.Timedelta(days=1)).date()} 12:00", tz="Europe/London")
    instants = pd.Series(
        pd.date_range(start, end, freq="15min", inclusive="left").tz_convert("UTC")
    )
    f = night_fields(instants)
    assert len(instants) == hours * 4
    assert f["night"].nunique() == 1
    assert str(pd.Timestamp(f["night"].iloc[0]).date()) == night
    assert int((f["local_minute"] // 60 == 1).sum()) == hour_one


def test_fold_and_gap_are_detected() -> None:
    local = localize(
        pd.Series(pd.to_datetime(["2025-10-26 01:30", "2025-03-30 01:30", "2025-03-30 02:30"]))
    )
    assert local.in_fold.tolist() == [True, False, False]
    assert local.in_gap.tolist() == [False, True, False]
    assert str(local.utc.iloc[0]) == "2025-10-26 00:30:00+00:00"  # the first 01:30, BST


def _placed_one_by_one(naive: pd.Series) -> tuple[list[object], list[bool], list[bool]]:
    """The reference: each wall-clock time placed on its own, as the rule above states it."""
    utc: list[object] = []
    fold: list[bool] = []
    gap: list[bool] = []
    for value in naive:
        if pd.isna(value):
            utc.append(pd.NaT)
            fold.append(False)
            gap.append(False)
            continue
        strict = pd.DatetimeIndex([value]).tz_localize(
            "Europe/London", ambiguous="NaT", nonexistent="NaT"
        )[0]
        first = pd.DatetimeIndex([value]).tz_localize(
            "Europe/London", ambiguous=np.array([True]), nonexistent="NaT"
        )[0]
        missing, placed = bool(pd.isna(first)), bool(pd.isna(strict))
        utc.append(pd.NaT if missing else first.tz_convert("UTC"))
        fold.append(placed and not missing)
        gap.append(missing)
    return utc, fold, gap


# clock changes: modern autumn and spring ones, British Standard Time (1968-71), and local mean
# time ending at 00:01:15 on 1 December 1847 (a change 75 seconds long, inside an hour)
_CHANGES = [
    pd.Timestamp(t)
    for t in (
        "2025-10-26 01:00",
        "2025-03-30 01:00",
        "1999-10-31 01:00",
        "1968-02-18 02:00",
        "1971-10-31 02:00",
        "1847-12-01 00:00",
    )
]


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(
                min_value=pd.Timestamp("1840-01-01"), max_value=pd.Timestamp("2090-01-01")
            ),
            st.builds(
                lambda at, seconds: at + pd.Timedelta(seconds=seconds),
                st.sampled_from(_CHANGES),
                st.integers(-3 * 3600, 3 * 3600),
            ),
        ),
        max_size=40,
    )
)
def test_localize_places_every_time_as_if_placed_alone(times: list[Any]) -> None:
    naive = pd.Series(pd.to_datetime(times), dtype="datetime64[ns]")
    local = localize(naive)
    utc, fold, gap = _placed_one_by_one(naive)
    assert local.utc.tolist() == utc
    assert local.in_fold.tolist() == fold
    assert local.in_gap.tolist() == gap
