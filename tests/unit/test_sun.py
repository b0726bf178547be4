"""Hours after sunset: sunsets by the sunrise equation, checked against published tables."""

from __future__ import annotations

import numpy as np
import pytest

from geo.aggregate import CubeFilter
from geo.errors import FilterError
from geo.sun import AFTER_SUNSET, sunset_minutes

LONDON = (51.5074, -0.1278)
SOUTHAMPTON = (50.9097, -1.4044)


@pytest.mark.parametrize(
    ("day", "utc"),
    [
        ("2025-06-21", "20:21"),  # 21:21 BST: London's midsummer sunset
        ("2025-12-21", "15:53"),  # 15:53 GMT
        ("2025-03-20", "18:12"),  # equinox, 18:12 GMT
        ("2025-09-22", "18:00"),  # 19:00 BST
    ],
)
def test_london_sunsets_match_the_published_tables(day: str, utc: str) -> None:
    hours, minutes = (int(x) for x in utc.split(":"))
    got = sunset_minutes(np.array([day]), *LONDON)[0]
    assert abs(got - (hours * 60 + minutes)) <= 3


def test_southampton_sets_a_few_minutes_after_london() -> None:
    days = np.arange("2025-01-01", "2026-01-01", dtype="datetime64[D]")
    later = sunset_minutes(days, *SOUTHAMPTON) - sunset_minutes(days, *LONDON)
    assert (later > 0).all()  # 1.3° further west, and further south in summer only a little
    assert later.max() < 12


def test_hours_after_sunset_need_the_place() -> None:
    from store._queries import contributions

    with pytest.raises(FilterError, match=r"'after_sunset' \(with the place sunset is reckoned"):
        contributions(CubeFilter(), res=None, storage_res=10, by=(AFTER_SUNSET,))
