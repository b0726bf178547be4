"""Tonight's route for an outreach lead: the forecast's stops, the services open, the plan.

The candidate stops are the hexagons of the outreach role's **gated forecast**
(:func:`streetsafe.forecast.forecast_view`) for the night and the bands the shift covers: only
hexagons the role's own map shows for such nights, at its resolution (never finer), each
valued by the chance of a contact plus the chance of an incident in that band. A hexagon
forecast in two bands is two stops (a repeat visit), each in its band's hours within the shift.
Nothing else of the records goes in, so a route says no more than the forecast the lead may
already read: it is a plan drawn over that map, not a new view of the records.

The services (:mod:`streetsafe.services`) are public places: the layer shows those open in the
shift, a base may be one, and a team may be asked to call at one while it is open.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geo.errors import FilterError
from geo.forecast import NIGHT_BANDS as FORECAST_BANDS
from geo.hexes import cell_centres, cell_to_str
from geo.layers import INCIDENT, OUTREACH
from geo.nights import NIGHT_BANDS
from geo.opening import hours_text, open_within, parse_shift
from geo.privacy import RolePolicy
from geo.routing import Base, Plan, Problem, Stop, StraightLine, plan
from ingest.pseudonyms import fold_name
from streetsafe.forecast import ForecastView, check_forecast_role, forecast_view

if TYPE_CHECKING:
    from geo.area import StudyArea
    from geo.places import PlaceIndex
    from ingest.gazetteer import Gazetteer
    from store import Store
    from streetsafe.settings import Settings

MODES = ("foot", "van")
DAY = 24 * 60
NOON = 12 * 60  # a shift starting before noon starts in the night's small hours
NIGHT_START, NIGHT_END = 18 * 60, 30 * 60  # the night's bands, 18:00 to 06:00 the next morning
_COORDS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class RouteRequest:
    """What an outreach lead asks for: the night, the shift, the teams and how they travel."""

    night: date
    shift: str = "20:00-02:00"
    teams: int = 1
    base: str | None = None  # a service, a gazetteer place or "LAT,LON"; None: the first drop-in
    mode: str = "foot"
    dwell: int = 15
    gap: int = 60
    via: tuple[str, ...] = ()  # services a team must call at while they are open


@dataclass
class NightRoute:
    """A planned night: the problem, the plan, the services open and what to tell the lead."""

    request: RouteRequest
    problem: Problem
    plan: Plan
    baseline_value: float  # the greedy baseline's value, for the comparison shown
    res: int
    forecast: ForecastView
    services: pd.DataFrame  # the services open during the shift, with ``open_text``
    start: int  # the shift's start and end, minutes from 00:00 on the night's evening date
    end: int
    notes: list[str] = field(default_factory=list)
    missed_calls: list[str] = field(default_factory=list)  # required calls no team could make

    def clock(self, minute: int) -> str:
        """The wall-clock time ``minute`` minutes into the shift."""
        return self.problem.clock(minute)


def shift_minutes(text: str) -> tuple[int, int]:
    """The shift as minutes from 00:00 on the night's evening date: ``20:00-02:00`` is
    (1200, 1560); a shift starting before noon is in the night's small hours (+24 h)."""
    start, end = parse_shift(text)
    start, end = night_window(start, end % DAY)
    if end > DAY + NOON:
        raise FilterError(
            f"shift {text} runs past noon: a night runs from 12:00 to 11:59 the next morning "
            "(a shift starting before noon is in its small hours); plan a shift within one night"
        )
    return start, end


def night_window(start: int, end: int) -> tuple[int, int]:
    """Minutes of the day ``start``-``end`` (wrapping midnight) as minutes from 00:00 on the
    night's evening date: a start before noon is in the night's small hours."""
    if end <= start:
        end += DAY
    if start < NOON:
        start, end = start + DAY, end + DAY
    return start, end


def clock_span(start: int, end: int) -> str:
    """``start``-``end`` (minutes from the night's 00:00) as "20:00-02:00"."""
    return f"{start // 60 % 24:02d}:{start % 60:02d}-{end // 60 % 24:02d}:{end % 60:02d}"


def tonight(now: datetime | None = None) -> date:
    """The night under way or to come: before noon, last night (named for its evening)."""
    now = now or datetime.now()
    return now.date() - timedelta(days=1) if now.hour < NOON // 60 else now.date()


def candidate_stops(
    view: ForecastView, start: int, end: int, *, dwell: int, names: PlaceIndex | None = None
) -> list[Stop]:
    """The forecast's hexagons as stops, one per hexagon and band the shift covers.

    A stop's value is the chance of a contact plus the chance of an incident in its band
    (both as the gated forecast shows them); its window is its band's hours within the shift,
    in minutes from the shift's start. A band with less than ``dwell`` minutes in the shift
    gives no stop.
    """
    cells = view.cells
    if cells.empty:
        return []
    values = cells.pivot_table(
        index=["cell", "band"], columns="layer", values="chance", aggfunc="sum", fill_value=0.0
    )
    values["value"] = values.sum(axis=1)
    values = values.reset_index()
    windows = {b.name: _band_window(b.hours.start, b.hours.end, start, end) for b in NIGHT_BANDS}
    ids = values["cell"].to_numpy(dtype=np.int64)
    lat, lon = cell_centres(ids)
    labels = names.names(ids) if names is not None else [""] * len(ids)
    stops = []
    records = values.to_dict("records")
    for row, la, lo, label in zip(records, lat, lon, labels, strict=True):
        window = windows.get(str(row["band"]))
        if window is None or window[1] - window[0] < dwell or row["value"] <= 0:
            continue
        text = cell_to_str(int(row["cell"]))
        contact = float(row.get(OUTREACH, 0.0))
        harm = float(row.get(INCIDENT, 0.0))
        stops.append(
            Stop(
                key=f"{text}:{row['band']}",
                place=text,
                lat=float(la),
                lon=float(lo),
                value=round(float(row["value"]), 3),
                opens=window[0],
                closes=window[1],
                label=label or f"hexagon {text}",
                detail=f"contact {contact:.0%} · incident {harm:.0%}",
            )
        )
    stops.sort(key=lambda s: (-s.value, s.key))
    return stops


def _band_window(lo: int, hi: int, start: int, end: int) -> tuple[int, int] | None:
    """The band [lo, hi) (minutes of the day, wrapping midnight) within the shift, as minutes
    from the shift's start; None where they do not meet."""
    if hi <= lo:
        hi += DAY
    if lo < NOON:  # the small hours band belongs to the night's next morning
        lo, hi = lo + DAY, hi + DAY
    a, b = max(lo, start), min(hi, end)
    return (a - start, b - start) if b > a else None


def _band_length(band: str, start: int, end: int) -> int:
    """Minutes of ``band`` within the shift."""
    hours = next(b.hours for b in NIGHT_BANDS if b.name == band)
    window = _band_window(hours.start, hours.end, start, end)
    return 0 if window is None else window[1] - window[0]


def forecast_bands(start: int, end: int) -> tuple[str, ...]:
    """The forecast's bands the shift overlaps."""
    return tuple(
        b.name
        for b in NIGHT_BANDS
        if b.name in FORECAST_BANDS and _band_window(b.hours.start, b.hours.end, start, end)
    )


def find_base(
    text: str | None,
    services: pd.DataFrame,
    gazetteer: Gazetteer,
    area: StudyArea | None = None,
) -> Base:
    """The base ``text`` names: a service, a gazetteer place or coordinates ``LAT,LON``
    (inside the study area); None: the first drop-in service, else the first service."""
    if text is None or not text.strip():
        if services.empty:
            raise FilterError(
                "name a base (--base): a service, a gazetteer place or LAT,LON; no services "
                "file is loaded to choose one from (streetsafe ingest services FILE)"
            )
        drop_in = services[services["kind"] == "drop_in"]
        row = (drop_in if len(drop_in) else services).iloc[0]
        return Base(str(row["name"]), float(row["lat"]), float(row["lon"]))
    match = _COORDS.match(text)
    if match:
        lat, lon = float(match.group(1)), float(match.group(2))
        if not (abs(lat) <= 90 and abs(lon) <= 180):
            raise FilterError(f"base {text!r}: ({lat}, {lon}) is not a place on Earth")
        if area is not None and not bool(area.contains(np.array([lat]), np.array([lon]))[0]):
            raise FilterError(f"base {text!r} lies outside the study area ({area.name})")
        return Base(f"{lat:.5f}, {lon:.5f}", lat, lon)
    wanted = fold_name(text)
    for service in services.to_dict("records"):
        if fold_name(str(service["name"])) == wanted:
            return Base(str(service["name"]), float(service["lat"]), float(service["lon"]))
    place = gazetteer.places.get(wanted)
    if place is not None:
        return Base(place[0], place[1], place[2])
    known = [str(n) for n in services["name"]] + [p[0] for p in gazetteer.places.values()]
    close = difflib.get_close_matches(text, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise FilterError(
        f"unknown base {text!r}: name a service, a gazetteer place or give LAT,LON{hint}"
    )


def service_stops(
    names: tuple[str, ...],
    services: pd.DataFrame,
    night: date,
    start: int,
    end: int,
    *,
    dwell: int = 15,
) -> list[Stop]:
    """Calls the teams must make: each named service (once, however often named), within its
    opening hours in the shift."""
    stops = []
    for name in dict.fromkeys(fold_name(n) for n in names):
        hits = services[services["name"].map(fold_name) == name]
        if hits.empty:
            close = difflib.get_close_matches(name, [str(n) for n in services["name"]], n=3)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise FilterError(f"{name!r} is not a service in the services file{hint}")
        row = hits.iloc[0]
        spans = [(a - start, b - start) for a, b in open_within(row["weekly"], night, start, end)]
        if not spans:
            raise FilterError(f"{row['name']} is not open during the shift")
        a, b = max(spans, key=lambda s: s[1] - s[0])
        if b - a < dwell:
            raise FilterError(
                f"{row['name']} is open for only {b - a} minutes during the shift, less than "
                f"the {dwell} minutes at a stop"
            )
        stops.append(
            Stop(
                key=f"service:{row['name']}",
                place=f"service:{row['name']}",
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                value=0.0,
                opens=a,
                closes=b,
                label=str(row["name"]),
                required=True,
                detail=hours_text(row["weekly"], night, NIGHT_START, NIGHT_END),
            )
        )
    return stops


def night_route(
    store: Store,
    policy: RolePolicy,
    area: StudyArea,
    settings: Settings,
    request: RouteRequest,
    *,
    gazetteer: Gazetteer,
    names: PlaceIndex | None = None,
    seconds: float | None = None,
) -> NightRoute:
    """Plan ``request``'s night for ``policy``'s role (an outreach role: case knowledge)."""
    from streetsafe.services import open_services, services_frame

    check_forecast_role(policy)
    if request.mode not in MODES:
        raise FilterError(f"travel mode is foot or van, not {request.mode!r}")
    start, end = shift_minutes(request.shift)
    kmh = settings.foot_kmh if request.mode == "foot" else settings.van_kmh
    travel = StraightLine(kmh, settings.detour, request.mode)
    # teams, dwell and gap checked before the forecast is read, with the planner's own words
    Problem((), Base("", 0.0, 0.0), end - start, travel, request.teams, request.dwell, request.gap)
    bands = forecast_bands(start, end)
    if not bands:
        raise FilterError(
            f"the shift {request.shift} is outside the forecast's night (18:00 to 06:00): "
            "there is nothing to plan a route to"
        )
    longest = max(_band_length(band, start, end) for band in bands)
    if longest < request.dwell:
        raise FilterError(
            f"the shift's longest part in one band of the night is {longest} minutes, less than "
            f"the {request.dwell} minutes at a stop: no stop fits"
        )
    services = services_frame(store)
    base = find_base(request.base, services, gazetteer, area)
    required = service_stops(request.via, services, request.night, start, end, dwell=request.dwell)
    view = forecast_view(store, policy, area, night=request.night, bands=bands)
    stops = candidate_stops(view, start, end, dwell=request.dwell, names=names)
    if not stops and not required:
        raise FilterError(
            f"no hexagon on the outreach map is forecast for the night of "
            f"{request.night:%a %d %b %Y} between {request.shift.replace('-', ' and ')}: no "
            "stops to plan (a forecast shows only hexagons the map shows on such nights)"
        )
    notes = []
    limit = settings.route_max_stops
    if len(stops) > limit:
        notes.append(
            f"{len(stops) - limit} of the {len(stops)} candidate stops, those worth least, are "
            f"left out before planning (at most {limit}: STREETSAFE_ROUTE_MAX_STOPS)"
        )
        stops = stops[:limit]
    problem = Problem(
        stops=tuple(required + stops),
        base=base,
        shift=end - start,
        travel=travel,
        teams=request.teams,
        dwell=request.dwell,
        gap=request.gap,
        start_minute=start % DAY,
    )
    result = plan(problem, seconds=settings.route_seconds if seconds is None else seconds)
    missed = [
        f"the call at {x.stop.label} is NOT on any route: {x.reason}"
        for x in result.left_out
        if x.stop.required
    ]
    notes = missed + notes + list(result.notes)
    notes.append(
        f"stops are hexagons of the outreach map at resolution {policy.finest_res}, shown "
        "only where the map shows them on such nights; a stop's value is its chance of a "
        "contact plus its chance of an incident in its band"
    )
    notes.append(f"travel times are an {result.travel}")
    return NightRoute(
        request=request,
        problem=problem,
        plan=result,
        baseline_value=result.baseline,
        res=policy.finest_res,
        forecast=view,
        services=_with_night_hours(
            open_services(services, request.night, start, end), request.night
        ),
        start=start,
        end=end,
        notes=notes,
        missed_calls=missed,
    )


def _with_night_hours(services: pd.DataFrame, night: date) -> pd.DataFrame:
    """The services open in the shift, each saying its hours over the whole night (18:00 to
    06:00): "open 20:00-04:00" tells a team more than "open all shift"."""
    if services.empty:
        return services
    texts = [hours_text(weekly, night, NIGHT_START, NIGHT_END) for weekly in services["weekly"]]
    return services.assign(open_text=texts)


def describe_request(request: RouteRequest) -> str:
    """One line saying what was asked: night, shift, teams, travel, base."""
    teams = f"{request.teams} team" + ("s" if request.teams != 1 else "")
    parts = [
        f"night of {request.night:%a %d %b %Y}",
        f"shift {request.shift}",
        teams,
        f"by {request.mode}",
        f"{request.dwell} min a stop",
        f"revisit after {request.gap} min" if request.gap else "revisits any time",
    ]
    return " · ".join(parts)
