"""Synthetic demo data: a seeded, made-up Southampton dataset in the exact CSV template formats.

:func:`generate_demo` returns the three native report files (incidents, outreach contacts and
community ASB reports) as UTF-8 CSV bytes with the headers of ``data/templates/<kind>.csv``, so
they go through the normal readers like any upload. Nothing in them is real: the person
references (``W-001`` ...) are invented codes, never names, and every record is drawn from the
model below. The same seed and arguments always give byte-identical files.

The model
---------
Time. Records belong to *nights* (a night runs from 12:00 to 11:59 the next day, as in
:mod:`geo.nights`) between ``end - months`` and ``end``; nothing lies after 06:00 on ``end``.
Wall-clock times are Europe/London; a time drawn in the spring gap (01:00-01:59 on the last
Sunday of March) is moved an hour on, as the clocks are.

- Outreach contacts: only on Tuesday, Thursday, Friday and Saturday nights, 20:00-01:00, busiest
  around 22:00; every contact has a person reference.
- Incidents: every night, peaking 22:00-04:00 and on Friday and Saturday nights, a little more
  in summer; most (not all) have a person reference; severity depends on the category.
- Community ASB: needles and condoms are found in the morning (07:00-10:00), soliciting,
  kerb-crawling and noise are reported at night, street drinking in the afternoon and evening.

Place. Five hotspots around St Mary's, Derby Road and Northam, each a Gaussian of 150-250 m,
plus a thin uniform background over the city. Every point lies inside the Southampton boundary
(points drawn outside, e.g. in the Itchen, are drawn again) and is written with 5 decimals.
Some rows name the nearest gazetteer place instead of giving coordinates.

Drift. The hotspots' weights change over the period (``t`` = 0 at the start, 1 at the end):

- **A, Derby Road** fades: weight 1.0 -> 0.2 (think of a sustained enforcement operation).
- **C, Northam** grows from almost nothing: 0.08 -> 0.9 (where the activity moves to).
- **D, Bevois Valley** surges in the middle of the period and subsides again (a temporary
  displacement: +0.5 at ``t`` = 0.5, a Gaussian bump of width 0.15).
- **B, St Mary's** and **E, Chapel / Marsh Lane** stay steady.

People. ``women`` pseudonymous women, each seen more or less often (gamma-distributed weights);
about 40% are around for the whole period, the others arrive and/or leave part-way. Who is seen
is independent of where.
"""

from __future__ import annotations

import csv
import datetime
import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.area import StudyArea
from geo.errors import ConfigError
from geo.layers import OUTREACH_ONLY, PARTNERS
from geo.nights import TIMEZONE
from ingest.gazetteer import Gazetteer
from ingest.kinds import ASB_REPORTS, INCIDENTS, OUTREACH_CONTACTS
from streetsafe.resources import data_file

SYNTHETIC_NOTICE = (
    "Synthetic demonstration data: every record, place, time and person reference was made up "
    "by a random model (streetsafe's streetsafe.demo). Nothing describes a real person or event."
)

BOUNDARY_FILE = data_file("boundaries", "southampton_lad20_E06000045.geojsonl")
GAZETTEER_FILE = data_file("gazetteer.csv")


def _template_header(kind: str) -> tuple[str, ...]:
    """Return the column names of data/templates/<kind>.csv: the one statement of the format."""
    with data_file("templates", f"{kind}.csv").open(encoding="utf-8", newline="") as fh:
        return tuple(next(csv.reader(fh)))


# Column order of the files the demo writes: exactly the templates'.
HEADERS: dict[str, tuple[str, ...]] = {
    kind: _template_header(kind) for kind in ("incidents", "outreach", "asb")
}

_MINUTES_PER_DAY = 24 * 60
_NOON = 12 * 60
_LAST_MINUTE_OF_NIGHT = 18 * 60  # 06:00 the next morning, counted from noon
_METRES_PER_DEGREE = 111_320.0
_PLACE_RADIUS_M = 350.0  # a row names a gazetteer place only when one is this close
_MAX_REDRAWS = 500


@dataclass(frozen=True)
class DemoFiles:
    """The generated CSV files (UTF-8, LF line endings) and how many rows each holds."""

    incidents: bytes
    outreach: bytes
    asb: bytes
    counts: dict[str, int] = field(hash=False)

    def by_kind(self) -> dict[str, bytes]:
        """Return the files keyed by kind name (``incidents``, ``outreach``, ``asb``)."""
        return {"incidents": self.incidents, "outreach": self.outreach, "asb": self.asb}


@dataclass(frozen=True)
class Hotspot:
    """A Gaussian cluster of activity whose weight changes over the period."""

    label: str
    lat: float
    lon: float
    sigma_m: float
    weight_start: float
    weight_end: float
    bump: float = 0.0  # extra weight at mid-period, a Gaussian in t of width 0.15

    def weight(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Return the weight at each period fraction ``t`` (0 = start, 1 = end)."""
        base = self.weight_start + (self.weight_end - self.weight_start) * t
        return base + self.bump * np.exp(-(((t - 0.5) / 0.15) ** 2))


HOTSPOTS: tuple[Hotspot, ...] = (
    Hotspot("A Derby Road", 50.9112, -1.3932, 180.0, 1.0, 0.2),
    Hotspot("B St Mary's", 50.9052, -1.3962, 180.0, 0.8, 0.8),
    Hotspot("C Northam", 50.9110, -1.3850, 160.0, 0.08, 0.9),
    Hotspot("D Bevois Valley", 50.9168, -1.3938, 250.0, 0.25, 0.25, bump=0.5),
    Hotspot("E Chapel / Marsh Lane", 50.9018, -1.3958, 200.0, 0.3, 0.3),
)


def _hours(weights: Mapping[int, float]) -> tuple[float, ...]:
    """Turn ``{wall-clock hour: weight}`` into 24 weights indexed by hours since noon."""
    out = [0.0] * 24
    for hour, w in weights.items():
        out[(hour - 12) % 24] = w
    return tuple(out)


_NIGHT_OUT = _hours({20: 0.8, 21: 1.0, 22: 1.25, 23: 1.15, 0: 0.7})
_INCIDENT_HOURS = _hours(
    {
        12: 0.3,
        13: 0.3,
        14: 0.3,
        15: 0.3,
        16: 0.3,
        17: 0.3,
        18: 0.5,
        19: 0.8,
        20: 1.2,
        21: 1.8,
        22: 3.0,
        23: 3.5,
        0: 3.8,
        1: 3.5,
        2: 3.0,
        3: 2.2,
        4: 1.2,
        5: 0.6,
        6: 0.3,
        7: 0.2,
        8: 0.2,
        9: 0.2,
        10: 0.2,
        11: 0.2,
    }
)
_MORNING_FINDS = _hours({7: 1.5, 8: 2.0, 9: 1.6, 10: 0.25, 11: 0.15, 13: 0.1, 14: 0.1, 15: 0.1})
_SOLICITING = _hours({19: 0.3, 20: 0.5, 21: 1.0, 22: 1.5, 23: 1.8, 0: 1.6, 1: 1.2, 2: 0.8, 3: 0.4})
_KERB = _hours({20: 0.4, 21: 0.8, 22: 1.4, 23: 1.8, 0: 1.6, 1: 1.1, 2: 0.7, 3: 0.3})
_NOISE = _hours({21: 0.5, 22: 1.2, 23: 1.8, 0: 2.0, 1: 1.6, 2: 1.0, 3: 0.5})
_DRINKING = _hours(
    {
        12: 0.6,
        13: 0.8,
        14: 1.0,
        15: 1.2,
        16: 1.3,
        17: 1.3,
        18: 1.2,
        19: 1.0,
        20: 0.8,
        21: 0.6,
        22: 0.3,
    }
)


@dataclass(frozen=True)
class _Model:
    """How one kind's rows are drawn."""

    kind: str
    prefix: str
    rows: int  # over 18 months at scale 1
    weekday: tuple[float, ...]  # weight of a night by its weekday, Monday first
    summer: float  # amplitude of the summer peak
    categories: tuple[tuple[str, float], ...]
    hours: Mapping[str, tuple[float, ...]]  # per category, hours since noon
    agencies: tuple[tuple[str, float], ...]
    place_share: float  # wanted share of rows that name a place
    background: float  # share of points spread over the whole city


_OUTREACH = _Model(
    kind="outreach",
    prefix="OUT",
    rows=7_000,
    weekday=(0.0, 1.0, 0.0, 1.0, 1.3, 1.3, 0.0),
    summer=0.0,
    categories=(
        ("welfare_check", 0.40),
        ("harm_reduction", 0.30),
        ("naloxone", 0.05),
        ("referral", 0.12),
        ("safe_place", 0.13),
    ),
    hours={"*": _NIGHT_OUT},
    agencies=(("Night van", 0.65), ("Foot team", 0.35)),
    place_share=0.10,
    background=0.04,
)
_INCIDENTS = _Model(
    kind="incidents",
    prefix="INC",
    rows=2_500,
    weekday=(0.7, 0.8, 0.8, 1.0, 1.8, 2.0, 0.9),
    summer=0.12,
    categories=(
        ("violence", 0.22),
        ("sexual_assault", 0.10),
        ("robbery", 0.12),
        ("drugging", 0.06),
        ("threats", 0.22),
        ("vehicle_of_concern", 0.15),
        ("kerb_crawling", 0.13),
    ),
    hours={"*": _INCIDENT_HOURS},
    agencies=(("Outreach team", 0.55), ("Police NPT", 0.20), ("Ugly Mugs report", 0.25)),
    place_share=0.05,
    background=0.08,
)
_ASB = _Model(
    kind="asb",
    prefix="ASB",
    rows=4_000,
    weekday=(0.9, 0.9, 0.9, 1.0, 1.3, 1.4, 1.1),
    summer=0.2,
    categories=(
        ("soliciting", 0.22),
        ("kerb_crawling", 0.15),
        ("discarded_needles", 0.15),
        ("discarded_condoms", 0.13),
        ("noise", 0.17),
        ("street_drinking", 0.18),
    ),
    hours={
        "soliciting": _SOLICITING,
        "kerb_crawling": _KERB,
        "discarded_needles": _MORNING_FINDS,
        "discarded_condoms": _MORNING_FINDS,
        "noise": _NOISE,
        "street_drinking": _DRINKING,
    },
    agencies=(("Community safety", 0.5), ("Resident report", 0.5)),
    place_share=0.03,
    background=0.15,
)

# Incidents: (low, medium, high) by category, and how often a person is named.
_SEVERITY = {
    "violence": (0.20, 0.45, 0.35),
    "sexual_assault": (0.05, 0.30, 0.65),
    "robbery": (0.10, 0.45, 0.45),
    "drugging": (0.10, 0.40, 0.50),
    "threats": (0.35, 0.50, 0.15),
    "vehicle_of_concern": (0.45, 0.45, 0.10),
    "kerb_crawling": (0.70, 0.25, 0.05),
}
_INCIDENT_PERSON = {
    "violence": 0.9,
    "sexual_assault": 0.92,
    "robbery": 0.9,
    "drugging": 0.9,
    "threats": 0.85,
    "vehicle_of_concern": 0.55,
    "kerb_crawling": 0.45,
}
# Chance that a record is shared with partners (else outreach only), by agency.
_PARTNERS_BY_AGENCY = {
    "Outreach team": 0.5,
    "Police NPT": 0.95,
    "Ugly Mugs report": 0.35,
    "Night van": 0.15,
    "Foot team": 0.15,
    "Community safety": 0.93,
    "Resident report": 0.93,
}

MODELS = {m.kind: m for m in (_INCIDENTS, _OUTREACH, _ASB)}


def _check_models() -> None:
    for kind in (INCIDENTS, OUTREACH_CONTACTS, ASB_REPORTS):
        model = MODELS[kind.name]
        unknown = {c for c, _ in model.categories} - set(kind.categories)
        if unknown or set(HEADERS[kind.name]) - set(kind.columns):
            raise AssertionError(f"demo model of {kind.name} does not match ingest.kinds")


_check_models()


@dataclass(frozen=True)
class _Calendar:
    """The period: nights as days since 1970, and its limits in wall-clock minutes."""

    first_night: int
    nights: int
    start: int  # noon of the first night
    cap: int  # 06:00 on the end date: nothing later
    gaps: npt.NDArray[np.int64]  # 01:00 of each last Sunday of March in the period


@dataclass(frozen=True)
class _Rows:
    """One kind's drawn rows (parallel arrays)."""

    wall: npt.NDArray[np.int64]  # wall-clock minutes since 1970-01-01 00:00
    category: npt.NDArray[np.intp]
    t: npt.NDArray[np.float64]  # fraction of the period
    lat: npt.NDArray[np.int64]  # degrees * 1e5
    lon: npt.NDArray[np.int64]
    place: npt.NDArray[np.intp]  # index into the gazetteer, -1 for coordinates


def generate_demo(
    *,
    seed: int = 2026,
    end: datetime.date,
    months: int = 18,
    women: int = 50,
    scale: float = 1.0,
    boundary: Path | None = None,
    gazetteer: Path | None = None,
) -> DemoFiles:
    """Generate the synthetic Southampton dataset (see the module docstring for the model).

    ``end`` is the last date of the period: the last night is the one before it, and nothing
    lies after 06:00 on ``end`` (refused while that time is still to come, so no record is ever
    in the future; the output never depends on the clock). At ``scale`` 1.0 and 18 months there
    are about 7,000 outreach contacts, 2,500 incidents and 4,000 ASB reports; volumes grow in
    proportion to ``scale`` and ``months``.
    """
    if isinstance(end, datetime.datetime):
        end = end.date()
    last = datetime.datetime.combine(end, datetime.time(6), tzinfo=ZoneInfo(TIMEZONE))
    if last > datetime.datetime.now(datetime.UTC):
        raise ConfigError(
            f"the demo period must not end in the future: 06:00 on {end.isoformat()} "
            "has not come yet"
        )
    if months < 1:
        raise ConfigError(f"months must be at least 1, got {months}")
    if women < 1:
        raise ConfigError(f"women must be at least 1, got {women}")
    if not (scale > 0 and math.isfinite(scale)):
        raise ConfigError(f"scale must be a positive number, got {scale}")
    area = _load_area(boundary or BOUNDARY_FILE)
    places = _load_places(gazetteer or GAZETTEER_FILE)
    cal = _calendar(end, months)
    streams = np.random.default_rng(seed).spawn(4)  # one stream each: people and 3 kinds
    cohort = _cohort(streams[0], women)

    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for model, rng in zip((_INCIDENTS, _OUTREACH, _ASB), streams[1:], strict=True):
        n = round(model.rows * scale * months / 18)
        rows = _draw_rows(rng, model, n, cal=cal, area=area, places=places)
        columns = _columns(rng, model, rows, cohort, places)
        files[model.kind] = _csv(HEADERS[model.kind], columns, n)
        counts[model.kind] = n
    return DemoFiles(
        incidents=files["incidents"], outreach=files["outreach"], asb=files["asb"], counts=counts
    )


# --- inputs -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _load_area(path: Path) -> StudyArea:
    """Read a boundary: GeoJSON lines (one Feature per line) or one GeoJSON document."""
    text = path.read_text(encoding="utf-8")
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    geoms: list[BaseGeometry] = []
    for doc in docs:
        features = doc["features"] if doc.get("type") == "FeatureCollection" else [doc]
        geoms.extend(shape(f["geometry"] if f.get("type") == "Feature" else f) for f in features)
    return StudyArea(path.stem, shapely.union_all(geoms))


@dataclass(frozen=True)
class _Places:
    names: tuple[str, ...]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]


@functools.lru_cache(maxsize=4)
def _load_places(path: Path) -> _Places:
    gaz = Gazetteer.load(path)
    entries = sorted(gaz.places.values())
    return _Places(
        names=tuple(e[0] for e in entries),
        lat=np.array([e[1] for e in entries], dtype=np.float64),
        lon=np.array([e[2] for e in entries], dtype=np.float64),
    )


def _calendar(end: datetime.date, months: int) -> _Calendar:
    month0 = end.year * 12 + end.month - 1 - months
    year, month = divmod(month0, 12)
    month += 1
    next_month = datetime.date(year + month // 12, month % 12 + 1, 1)
    day = min(end.day, (next_month - datetime.timedelta(days=1)).day)
    start = datetime.date(year, month, day)
    epoch = datetime.date(1970, 1, 1)
    first = (start - epoch).days
    last = (end - epoch).days  # the morning after the last night
    gaps = []
    for y in range(start.year, end.year + 1):
        sunday = datetime.date(y, 3, 31)
        sunday -= datetime.timedelta(days=(sunday.weekday() - 6) % 7)
        gaps.append((sunday - epoch).days * _MINUTES_PER_DAY + 60)
    return _Calendar(
        first_night=first,
        nights=last - first,
        start=first * _MINUTES_PER_DAY + _NOON,
        cap=last * _MINUTES_PER_DAY + 6 * 60,
        gaps=np.array(gaps, dtype=np.int64),
    )


@dataclass(frozen=True)
class _Cohort:
    refs: tuple[str, ...]
    cdf: npt.NDArray[np.float64]  # cumulative weights of being seen
    active_from: npt.NDArray[np.float64]  # period fractions
    active_to: npt.NDArray[np.float64]
    stayers: npt.NDArray[np.intp]  # women around for the whole period


def _cohort(rng: np.random.Generator, women: int) -> _Cohort:
    width = max(3, len(str(women)))
    weight = rng.gamma(0.9, 1.0, women) + 0.05
    stays = rng.random(women) < 0.4
    stays[0] = True
    arrive = np.where(rng.random(women) < 0.5, 0.0, rng.uniform(0.0, 0.7, women))
    leave = np.minimum(1.0, arrive + rng.uniform(0.25, 1.0, women))
    arrive[stays], leave[stays] = 0.0, 1.0
    cdf = np.cumsum(weight)
    return _Cohort(
        refs=tuple(f"W-{i + 1:0{width}d}" for i in range(women)),
        cdf=cdf / cdf[-1],
        active_from=arrive,
        active_to=leave,
        stayers=np.flatnonzero(stays),
    )


# --- drawing rows -----------------------------------------------------------------------------


def _choose(
    rng: np.random.Generator, weights: Sequence[float] | npt.NDArray[np.float64], n: int
) -> npt.NDArray[np.intp]:
    """Draw ``n`` indices with the given (unnormalised) weights."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    idx = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    return np.asarray(np.minimum(idx, len(cdf) - 1), dtype=np.intp)


def _night_weights(
    rng: np.random.Generator, model: _Model, cal: _Calendar
) -> npt.NDArray[np.float64]:
    days = cal.first_night + np.arange(cal.nights)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    doy = days % 365.2425  # roughly the day of the year
    season = 1.0 + model.summer * np.cos(2 * np.pi * (doy - 196) / 365.2425)
    noise = rng.gamma(8.0, 1 / 8, cal.nights)
    return np.asarray(np.asarray(model.weekday)[weekday] * season * noise, dtype=np.float64)


def _draw_times(
    rng: np.random.Generator,
    model: _Model,
    category: npt.NDArray[np.intp],
    night_w: npt.NDArray[np.float64],
    cal: _Calendar,
) -> npt.NDArray[np.int64]:
    n = category.size
    codes = [c for c, _ in model.categories]
    wall = np.empty(n, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(_MAX_REDRAWS):
        if todo.size == 0:
            break
        night = _choose(rng, night_w, todo.size)
        u = rng.random(todo.size)
        minute = rng.integers(0, 60, todo.size)
        offset = np.empty(todo.size, dtype=np.int64)
        for k, code in enumerate(codes):
            sel = category[todo] == k
            cdf = np.cumsum(model.hours.get(code, model.hours.get("*", ())))
            hour = np.minimum(np.searchsorted(cdf, u[sel] * cdf[-1], side="right"), 23)
            offset[sel] = hour * 60 + minute[sel]
        wall[todo] = (cal.first_night + night) * _MINUTES_PER_DAY + _NOON + offset
        todo = todo[wall[todo] > cal.cap]
    if todo.size:
        raise RuntimeError("could not draw times inside the demo period")
    # The spring gap never happened: move those minutes on by the hour the clocks jumped.
    wall[np.isin(wall - wall % 60, cal.gaps)] += 60
    return wall


def _draw_points(
    rng: np.random.Generator, model: _Model, t: npt.NDArray[np.float64], area: StudyArea
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    n = t.size
    weights = np.stack([h.weight(t) for h in HOTSPOTS], axis=1)
    weights *= (1.0 - model.background) / weights.sum(axis=1, keepdims=True)
    cdf = np.cumsum(np.concatenate([weights, np.full((n, 1), model.background)], axis=1), axis=1)
    component = (cdf < rng.random(n)[:, None] * cdf[:, -1:]).sum(axis=1)
    centre_lat = np.array([h.lat for h in HOTSPOTS] + [0.0])
    centre_lon = np.array([h.lon for h in HOTSPOTS] + [0.0])
    sigma = np.array([h.sigma_m for h in HOTSPOTS] + [0.0])
    minx, miny, maxx, maxy = area.geometry.bounds
    lat_i = np.empty(n, dtype=np.int64)
    lon_i = np.empty(n, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(_MAX_REDRAWS):
        if todo.size == 0:
            break
        comp = component[todo]
        dy, dx = rng.normal(0.0, 1.0, (2, todo.size)) * sigma[comp]
        lat = centre_lat[comp] + dy / _METRES_PER_DEGREE
        lon = centre_lon[comp] + dx / (_METRES_PER_DEGREE * np.cos(np.radians(centre_lat[comp])))
        bg = comp == len(HOTSPOTS)
        lat[bg] = rng.uniform(miny, maxy, int(bg.sum()))
        lon[bg] = rng.uniform(minx, maxx, int(bg.sum()))
        lat_i[todo] = np.rint(lat * 1e5).astype(np.int64)
        lon_i[todo] = np.rint(lon * 1e5).astype(np.int64)
        # Test the coordinates as they will be read back from the file.
        inside = area.contains(lat_i[todo] / 1e5, lon_i[todo] / 1e5)
        todo = todo[~inside]
    if todo.size:
        raise RuntimeError("could not draw demo points inside the boundary")
    return lat_i, lon_i


def _draw_places(
    rng: np.random.Generator,
    model: _Model,
    lat_i: npt.NDArray[np.int64],
    lon_i: npt.NDArray[np.int64],
    places: _Places,
) -> npt.NDArray[np.intp]:
    """Pick the rows that name their nearest gazetteer place instead of coordinates."""
    n = lat_i.size
    u = rng.random(n)
    if n == 0 or not places.names:
        return np.full(n, -1, dtype=np.intp)
    lat, lon = lat_i / 1e5, lon_i / 1e5
    best = np.full(n, np.inf)
    nearest = np.zeros(n, dtype=np.intp)
    kx = _METRES_PER_DEGREE * math.cos(math.radians(50.91))
    for k in range(len(places.names)):
        d = np.hypot((lat - places.lat[k]) * _METRES_PER_DEGREE, (lon - places.lon[k]) * kx)
        closer = d < best
        best[closer], nearest[closer] = d[closer], k
    near = best < _PLACE_RADIUS_M
    share = min(1.0, model.place_share * n / max(1, int(near.sum())))
    return np.where(near & (u < share), nearest, -1).astype(np.intp)


def _draw_rows(
    rng: np.random.Generator,
    model: _Model,
    n: int,
    *,
    cal: _Calendar,
    area: StudyArea,
    places: _Places,
) -> _Rows:
    night_w = _night_weights(rng, model, cal)
    category = _choose(rng, [p for _, p in model.categories], n)
    wall = _draw_times(rng, model, category, night_w, cal)
    order = np.argsort(wall, kind="stable")
    wall, category = wall[order], category[order]
    t = (wall - cal.start) / max(1, cal.cap - cal.start)
    lat_i, lon_i = _draw_points(rng, model, t, area)
    place = _draw_places(rng, model, lat_i, lon_i, places)
    return _Rows(wall=wall, category=category, t=t, lat=lat_i, lon=lon_i, place=place)


def _people(
    rng: np.random.Generator, cohort: _Cohort, t: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """Draw who each row is about, among the women around at the time."""
    who = np.empty(t.size, dtype=np.intp)
    todo = np.arange(t.size)
    for _ in range(50):
        if todo.size == 0:
            break
        pick = np.searchsorted(cohort.cdf, rng.random(todo.size), side="right")
        who[todo] = np.minimum(pick, cohort.cdf.size - 1)
        tt = t[todo]
        around = (cohort.active_from[who[todo]] <= tt) & (tt <= cohort.active_to[who[todo]])
        todo = todo[~around]
    if todo.size:
        who[todo] = cohort.stayers[rng.integers(0, cohort.stayers.size, todo.size)]
    return who


# --- columns ----------------------------------------------------------------------------------


def _columns(
    rng: np.random.Generator, model: _Model, rows: _Rows, cohort: _Cohort, places: _Places
) -> dict[str, pa.Array]:
    n = rows.wall.size
    codes = [c for c, _ in model.categories]
    agency_names = [a for a, _ in model.agencies]
    agency = _choose(rng, [p for _, p in model.agencies], n)
    partners_p = np.array([_PARTNERS_BY_AGENCY[a] for a in agency_names])[agency]
    partners = rng.random(n) < partners_p
    is_place = rows.place >= 0
    cols: dict[str, pa.Array] = {
        "record_id": _record_ids(model.prefix, n),
        "occurred_at": _times(rows.wall),
        "latitude": _degrees(rows.lat, is_place),
        "longitude": _degrees(rows.lon, is_place),
        "place": _take([""] + [_csv_field(p) for p in places.names], rows.place + 1),
        "category": _take(codes, rows.category),
        "agency": _take(agency_names, agency),
        "sharing": _take([OUTREACH_ONLY, PARTNERS], partners.astype(np.intp)),
    }
    if model.kind == "asb":
        return cols
    who = _people(rng, cohort, rows.t) + 1
    if model.kind == "incidents":
        named = rng.random(n) < np.array([_INCIDENT_PERSON[c] for c in codes])[rows.category]
        who = np.where(named, who, 0)
        sev_cdf = np.cumsum([_SEVERITY[c] for c in codes], axis=1)[rows.category]
        severity = (sev_cdf < rng.random(n)[:, None] * sev_cdf[:, -1:]).sum(axis=1)
        cols["severity"] = _take(["low", "medium", "high"], severity)
    cols["person_ref"] = _take(["", *cohort.refs], who)
    return cols


def _take(vocab: Sequence[str], idx: npt.NDArray[np.intp] | npt.NDArray[np.int64]) -> pa.Array:
    return pc.take(pa.array(list(vocab), type=pa.string()), pa.array(idx, type=pa.int64()))


def _record_ids(prefix: str, n: int) -> pa.Array:
    width = max(6, len(str(n)))
    numbers = pa.array(np.arange(1, n + 1, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(f"DEMO-{prefix}-", pc.utf8_lpad(numbers, width, "0"), "")


def _times(wall: npt.NDArray[np.int64]) -> pa.Array:
    """Format wall-clock minutes as ``YYYY-MM-DD HH:MM`` (by lookup: few distinct values)."""
    if wall.size == 0:
        return pa.array([], type=pa.string())
    day = wall // _MINUTES_PER_DAY
    first = int(day.min())
    epoch = datetime.date(1970, 1, 1)
    dates = [
        (epoch + datetime.timedelta(days=d)).isoformat() for d in range(first, int(day.max()) + 1)
    ]
    clock = [f"{m // 60:02d}:{m % 60:02d}" for m in range(_MINUTES_PER_DAY)]
    return pc.binary_join_element_wise(
        _take(dates, day - first), _take(clock, wall % _MINUTES_PER_DAY), " "
    )


def _degrees(value: npt.NDArray[np.int64], empty: npt.NDArray[np.bool_]) -> pa.Array:
    """Format degrees * 1e5 with 5 decimals (by lookup), empty where ``empty``."""
    if value.size == 0 or empty.all():
        return pa.array([""] * value.size, type=pa.string())
    given = value[~empty]
    lo, hi = int(given.min()), int(given.max())
    vocab = ["", *(f"{v / 1e5:.5f}" for v in range(lo, hi + 1))]
    return _take(vocab, np.where(empty, 0, value - lo + 1))


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv(header: Sequence[str], columns: Mapping[str, pa.Array], n: int) -> bytes:
    head = (",".join(header) + "\n").encode("utf-8")
    if n == 0:
        return head
    lines = pc.binary_join_element_wise(*(columns[c] for c in header), ",")
    joined = pa.LargeListArray.from_arrays(
        pa.array([0, n], type=pa.int64()), lines.cast(pa.large_string())
    )
    body: str = pc.binary_join(joined, pa.scalar("\n", type=pa.large_string()))[0].as_py()
    return head + body.encode("utf-8") + b"\n"
