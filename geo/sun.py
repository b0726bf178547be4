"""Sunset at the study area's centre: the "hours after sunset" axis of the night.

Street work follows dusk rather than the clock: 21:00 is broad daylight in June and deep night
in December. Counting a record's hours after its night's sunset lines the seasons up.

Sunset is computed offline (no service is asked) with the sunrise equation (the low-precision
solar position also used by NOAA's tables; within a minute or two at British latitudes, far finer
than the one-hour buckets it feeds). Inside the polar day or night, where the sun does not set,
the sun is taken to set at the lowest or highest point of its path.

The same arithmetic is written twice on purpose: :func:`sunset_minutes` in numpy (the reference)
and :func:`hours_after_sunset_sql` for the store's count cube; a test holds them to each other.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

AFTER_SUNSET = "after_sunset"  # the name of the dimension in views and exports
SUNSET_ALTITUDE = -0.833  # degrees: the sun's upper edge on the horizon, refraction included
_J2000 = 2451545.0  # Julian date of 2000-01-01 12:00 UTC
_DAYS_1970_TO_2000 = 10_957
_OBLIQUITY = 23.4397  # degrees


def sunset_minutes(
    dates: npt.ArrayLike, latitude: float, longitude: float
) -> npt.NDArray[np.float64]:
    """Return sunset on each date at (``latitude``, ``longitude``), in minutes after 00:00 UTC."""
    days = np.asarray(dates, dtype="datetime64[D]").astype(np.int64) - _DAYS_1970_TO_2000
    n = days.astype(np.float64)
    mean = n - longitude / 360.0
    anomaly = _wrap(357.5291 + 0.98560028 * mean)
    m = np.radians(anomaly)
    centre = 1.9148 * np.sin(m) + 0.0200 * np.sin(2 * m) + 0.0003 * np.sin(3 * m)
    ecliptic = np.radians(_wrap(anomaly + centre + 180.0 + 102.9372))
    transit = _J2000 + mean + 0.0053 * np.sin(m) - 0.0069 * np.sin(2 * ecliptic)
    sin_dec = np.sin(ecliptic) * np.sin(np.radians(_OBLIQUITY))
    cos_dec = np.sqrt(1.0 - sin_dec**2)
    lat = np.radians(latitude)
    cos_hour = (np.sin(np.radians(SUNSET_ALTITUDE)) - np.sin(lat) * sin_dec) / (
        np.cos(lat) * cos_dec
    )
    hour_angle = np.degrees(np.arccos(np.clip(cos_hour, -1.0, 1.0)))
    sunset = transit + hour_angle / 360.0
    minutes: npt.NDArray[np.float64] = (sunset - (_J2000 - 0.5 + n)) * 1440.0
    return minutes


def hours_after_sunset(
    utc: npt.ArrayLike, nights: npt.ArrayLike, latitude: float, longitude: float
) -> npt.NDArray[np.float64]:
    """Return the whole hours from each night's sunset to each instant (negative: before it).

    ``utc`` are naive UTC instants; ``nights`` the dates of the evenings their nights started.
    """
    instants = np.asarray(utc, dtype="datetime64[s]").astype(np.int64)
    days = np.asarray(nights, dtype="datetime64[D]")
    since_midnight = (instants - days.astype("datetime64[s]").astype(np.int64)) / 60.0
    hours: npt.NDArray[np.float64] = np.floor(
        (since_midnight - sunset_minutes(days, latitude, longitude)) / 60.0
    )
    return hours


def hours_after_sunset_sql(latitude: float, longitude: float) -> str:
    """Return SQL (DuckDB and PostgreSQL alike) for :func:`hours_after_sunset` of a record.

    Reads the record's ``occurred_utc`` (TIMESTAMP, UTC) and ``night`` (DATE); NULL when they are.
    """
    lat, lon = float(latitude), float(longitude)
    n = "CAST(night - DATE '2000-01-01' AS FLOAT8)"
    mean = f"({n} - {lon!r} / 360.0)"
    anomaly = _wrap_sql(f"357.5291 + 0.98560028 * {mean}")
    m = f"radians({anomaly})"
    centre = f"(1.9148 * sin({m}) + 0.0200 * sin(2 * {m}) + 0.0003 * sin(3 * {m}))"
    ecliptic = f"radians({_wrap_sql(f'{anomaly} + {centre} + 180.0 + 102.9372')})"
    transit = f"({_J2000!r} + {mean} + 0.0053 * sin({m}) - 0.0069 * sin(2 * {ecliptic}))"
    sin_dec = f"(sin({ecliptic}) * sin(radians({_OBLIQUITY!r})))"
    cos_dec = f"sqrt(1.0 - {sin_dec} * {sin_dec})"
    cos_hour = (
        f"((sin(radians({SUNSET_ALTITUDE!r})) - sin(radians({lat!r})) * {sin_dec}) "
        f"/ (cos(radians({lat!r})) * {cos_dec}))"
    )
    hour_angle = f"degrees(acos(greatest(-1.0, least(1.0, {cos_hour}))))"
    sunset = f"(({transit} + {hour_angle} / 360.0 - ({_J2000 - 0.5!r} + {n})) * 1440.0)"
    since_midnight = (
        "(CAST(extract(epoch FROM occurred_utc) AS FLOAT8) "
        "- CAST(extract(epoch FROM night) AS FLOAT8)) / 60.0"
    )
    return f"CAST(floor(({since_midnight} - {sunset}) / 60.0) AS INTEGER)"


def _wrap(degrees: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    wrapped: npt.NDArray[np.float64] = degrees - 360.0 * np.floor(degrees / 360.0)
    return wrapped


def _wrap_sql(degrees: str) -> str:
    return f"(({degrees}) - 360.0 * floor(({degrees}) / 360.0))"
