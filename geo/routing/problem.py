"""The route planner's problem and its answer: stops, base, teams, shift; visits and plans.

Times are whole minutes from the shift's start. A stop's window is the span a whole visit must
lie in: it may begin at ``opens`` and must end (arrival plus dwell) by ``closes``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from geo.errors import FilterError
from geo.routing.travel import TravelTimes

MAX_SHIFT = 24 * 60
MAX_DWELL = 180
MAX_TEAMS = 10


@dataclass(frozen=True)
class Stop:
    """A candidate stop: a place, its value, and the window a visit must lie in.

    Stops sharing a ``place`` are visits to one place in different windows (a repeat visit).
    A ``required`` stop is a call a team must make (a service); it has no forecast value.
    """

    key: str
    place: str
    lat: float
    lon: float
    value: float
    opens: int
    closes: int
    label: str = ""  # what a person calls the place ("near Derby Road")
    detail: str = ""  # what the value is made of, for the run sheet
    required: bool = False


@dataclass(frozen=True)
class Base:
    """Where every team starts and ends: a service, a named place or coordinates."""

    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Problem:
    """One night's routing problem; checked when made, with a message per mistake."""

    stops: tuple[Stop, ...]
    base: Base
    shift: int  # minutes from the shift's start to its end
    travel: TravelTimes
    teams: int = 1
    dwell: int = 15
    gap: int = 0  # least minutes from leaving a place to arriving there again (0: none)
    start_minute: int = 0  # the shift's start as minutes after midnight, for clock times

    def __post_init__(self) -> None:
        if not (1 <= self.teams <= MAX_TEAMS):
            raise FilterError(f"a route is planned for 1 to {MAX_TEAMS} teams, not {self.teams}")
        if not (0 < self.shift <= MAX_SHIFT):
            raise FilterError(
                f"a shift lasts more than 0 and at most 24 hours, not {self.shift} min"
            )
        if not (1 <= self.dwell <= MAX_DWELL):
            raise FilterError(
                f"the time at each stop is 1 to {MAX_DWELL} minutes, not {self.dwell}"
            )
        if not (0 <= self.gap <= MAX_SHIFT):
            raise FilterError(
                f"the gap before a revisit is 0 to {MAX_SHIFT} minutes, not {self.gap}"
            )
        if len({s.key for s in self.stops}) != len(self.stops):
            raise FilterError("two candidate stops share a key")
        for s in self.stops:
            self._check_stop(s)

    def _check_stop(self, s: Stop) -> None:
        if not (0 <= s.opens < s.closes <= self.shift):
            raise FilterError(
                f"stop {s.key}: its window {s.opens}-{s.closes} min is not inside the shift "
                f"(0-{self.shift} min)"
            )
        if not (math.isfinite(s.value) and (s.value > 0 or (s.required and s.value == 0))):
            raise FilterError(f"stop {s.key}: its value is above 0, not {s.value}")
        if not (abs(s.lat) <= 90 and abs(s.lon) <= 180):
            raise FilterError(f"stop {s.key}: ({s.lat}, {s.lon}) is not a place on Earth")

    def clock(self, minute: int) -> str:
        """The wall-clock time ``minute`` minutes into the shift, as HH:MM."""
        m = (self.start_minute + minute) % (24 * 60)
        return f"{m // 60:02d}:{m % 60:02d}"

    @cached_property
    def same_place(self) -> tuple[tuple[int, int], ...]:
        """Pairs (i, j) of stops at one place, i's window first: when both are visited, j
        begins at least ``dwell + gap`` after i begins (stop indices; none when no gap).
        Worked out once: the baseline, the solver, the schedule and the check all ask."""
        if self.gap <= 0:
            return ()
        by_place: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(self.stops):
            by_place[s.place].append(i)
        pairs: list[tuple[int, int]] = []
        for members in by_place.values():
            members.sort(key=lambda i: (self.stops[i].opens, self.stops[i].key))
            pairs += [(a, b) for n, a in enumerate(members) for b in members[n + 1 :]]
        return tuple(pairs)


class Matrix:
    """Whole-minute and metre matrices over the base (index 0) and the stops (1..n)."""

    def __init__(self, problem: Problem) -> None:
        lat = np.array([problem.base.lat, *(s.lat for s in problem.stops)], dtype=np.float64)
        lon = np.array([problem.base.lon, *(s.lon for s in problem.stops)], dtype=np.float64)
        minutes, metres = problem.travel.between(lat, lon)
        n = len(problem.stops) + 1
        if minutes.shape != (n, n) or metres.shape != (n, n):
            raise FilterError(f"travel times for {n} places came back as {minutes.shape}")
        if (minutes < 0).any():
            raise FilterError("travel times are never negative")
        self.minutes = minutes.astype(np.int64)
        self.metres = metres.astype(np.float64)
        self.problem = problem

    def to_stop(self, frm: int, i: int) -> int:
        """Minutes from place ``frm`` (0: the base, else stop ``frm - 1``) to stop ``i``."""
        return int(self.minutes[frm, i + 1])

    def reachable(self, i: int) -> bool:
        """Whether stop ``i`` fits a route from the base to it alone and back."""
        p, s = self.problem, self.problem.stops[i]
        arrive = max(s.opens, self.to_stop(0, i))
        leave = arrive + p.dwell
        return leave <= s.closes and leave + int(self.minutes[i + 1, 0]) <= p.shift


@dataclass(frozen=True)
class Visit:
    """A stop on a team's route: arrival and leaving in minutes from the shift's start."""

    stop: Stop
    arrive: int
    leave: int
    travel_m: float  # metres from the previous stop (or the base)


@dataclass(frozen=True)
class TeamRoute:
    """One team's night: leave the base, the visits in order, and back."""

    team: int  # 1, 2, ...
    depart: int
    visits: tuple[Visit, ...]
    back: int
    metres: float

    @property
    def value(self) -> float:
        """The value the team's visits cover."""
        return float(sum(v.stop.value for v in self.visits))


@dataclass(frozen=True)
class LeftOut:
    """A candidate stop no team makes, and why."""

    stop: Stop
    reason: str


@dataclass(frozen=True)
class Plan:
    """Routes for every team, the stops left out, and how the plan was made."""

    routes: tuple[TeamRoute, ...]
    left_out: tuple[LeftOut, ...]
    method: str  # "planner" or "greedy"
    travel: str  # the travel times' label
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())
    baseline: float = 0.0  # the value the greedy baseline covers on the same problem

    @property
    def value(self) -> float:
        """The value all teams' visits cover."""
        return float(sum(r.value for r in self.routes))

    @property
    def visits(self) -> int:
        """How many visits all teams make."""
        return sum(len(r.visits) for r in self.routes)
