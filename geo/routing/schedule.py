"""Times for a route's order, the check that a plan keeps every rule, and why stops are left."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from geo.errors import FilterError
from geo.routing.problem import LeftOut, Matrix, Plan, Problem, TeamRoute, Visit

_ROUNDS = 200


def schedule(
    problem: Problem, orders: Sequence[Sequence[int]], m: Matrix | None = None
) -> tuple[TeamRoute, ...]:
    """Return the teams' routes visiting stops in ``orders`` (per team, stop indices), each
    visit as early as its window, the travel before it and the revisit gap allow.

    Raise :class:`FilterError` if the order breaks a window or the shift.
    """
    m = m or Matrix(problem)
    arrive = _earliest(problem, orders, m)
    return tuple(
        _team_route(problem, m, team, order, arrive) for team, order in enumerate(orders, 1)
    )


def _earliest(problem: Problem, orders: Sequence[Sequence[int]], m: Matrix) -> dict[int, int]:
    """Each visit's earliest arrival: after the travel from the one before, at its window's
    opening, and ``dwell + gap`` after an earlier visit to its place (pushed on until all
    hold: every push only delays, so this ends at the least times that keep every rule)."""
    before: dict[int, list[int]] = defaultdict(list)
    for a, b in problem.same_place:
        before[b].append(a)
    arrive: dict[int, int] = {}
    for _ in range(_ROUNDS):
        changed = False
        for order in orders:
            t, prev = 0, 0
            for i in order:
                a = max(t + m.to_stop(prev, i), problem.stops[i].opens)
                a = max(
                    [a]
                    + [arrive[p] + problem.dwell + problem.gap for p in before[i] if p in arrive]
                )
                if arrive.get(i) != a:
                    arrive[i], changed = a, True
                t, prev = a + problem.dwell, i + 1
        if not changed:
            break
    return arrive


def _team_route(
    problem: Problem, m: Matrix, team: int, order: Sequence[int], arrive: dict[int, int]
) -> TeamRoute:
    visits, prev, metres = [], 0, 0.0
    for i in order:
        s = problem.stops[i]
        leave = arrive[i] + problem.dwell
        if leave > s.closes:
            raise FilterError(f"team {team} would reach {s.key} too late for its window")
        leg = float(m.metres[prev, i + 1])
        visits.append(Visit(s, arrive[i], leave, leg))
        metres += leg
        prev = i + 1
    if not visits:
        return TeamRoute(team, 0, (), 0, 0.0)
    depart = max(0, visits[0].arrive - m.to_stop(0, order[0]))  # leave no earlier than needed
    back = visits[-1].leave + int(m.minutes[prev, 0])
    if back > problem.shift:
        raise FilterError(f"team {team} would be back after the shift ends")
    return TeamRoute(team, depart, tuple(visits), back, metres + float(m.metres[prev, 0]))


def violations(problem: Problem, plan: Plan) -> list[str]:
    """Every way ``plan`` breaks ``problem``'s rules, as sentences (none for a sound plan).

    Checks, from the plan's own times and the problem's travel times: windows, dwell, travel
    between stops, the shift, the revisit gap, and no stop visited twice.
    """
    m = Matrix(problem)
    found: list[str] = []
    seen: dict[str, Visit] = {}
    if len(plan.routes) > problem.teams:
        found.append(f"{len(plan.routes)} routes for {problem.teams} teams")
    index = {s.key: i for i, s in enumerate(problem.stops)}
    for route in plan.routes:
        found += _route_violations(problem, m, route, seen, index)
    for a, b in problem.same_place:
        ka, kb = problem.stops[a].key, problem.stops[b].key
        if ka in seen and kb in seen and seen[kb].arrive < seen[ka].leave + problem.gap:
            found.append(f"{kb} comes back to {problem.stops[b].place} within the gap")
    return found


def _route_violations(
    problem: Problem, m: Matrix, route: TeamRoute, seen: dict[str, Visit], index: dict[str, int]
) -> list[str]:
    found, team = [], route.team
    if route.depart < 0:
        found.append(f"team {team} leaves before the shift starts")
    t, prev = route.depart, 0
    for v in route.visits:
        i = index.get(v.stop.key)
        if i is None:
            found.append(f"team {team} visits {v.stop.key}, not a candidate")
            continue
        s = problem.stops[i]
        if s.key in seen:
            found.append(f"{s.key} is visited twice")
        seen[s.key] = v
        if v.arrive < t + m.to_stop(prev, i):
            found.append(f"team {team} cannot reach {s.key} by {v.arrive}")
        if v.arrive < s.opens or v.leave > s.closes:
            found.append(f"team {team} visits {s.key} outside its window")
        if v.leave - v.arrive < problem.dwell:
            found.append(f"team {team} stays at {s.key} less than the dwell")
        t, prev = v.leave, i + 1
    if route.visits and route.back < t + int(m.minutes[prev, 0]):
        found.append(f"team {team} cannot be back at the base by {route.back}")
    if route.back > problem.shift:
        found.append(f"team {team} is back after the shift ends")
    return found


def worth(routes: Sequence[TeamRoute]) -> tuple[int, float]:
    """How good routes are: the required calls made first, then the value covered."""
    required = sum(v.stop.required for r in routes for v in r.visits)
    return required, round(sum(r.value for r in routes), 9)


def make_plan(
    problem: Problem,
    m: Matrix,
    routes: tuple[TeamRoute, ...],
    *,
    method: str,
    seconds: float,
    notes: Sequence[str] = (),
    baseline: float = 0.0,
) -> Plan:
    """A plan of ``routes``, with every stop left out and why (most valuable first)."""
    visited = {v.stop.key: (r.team, v) for r in routes for v in r.visits}
    partners: dict[int, list[int]] = defaultdict(list)
    for a, b in problem.same_place:
        partners[a].append(b)
        partners[b].append(a)
    left = []
    for i, s in enumerate(problem.stops):
        if s.key in visited:
            continue
        near = [
            visited[problem.stops[j].key] for j in partners[i] if problem.stops[j].key in visited
        ]
        if not m.reachable(i):
            reason = "out of reach: no team could get there in its window and be back in time"
        elif s.required:
            reason = "no room: the call does not fit with the other required calls"
        elif near:
            team, v = near[0]
            reason = (
                f"team {team} is there at {problem.clock(v.arrive)}; a revisit waits "
                f"{problem.gap} minutes"
            )
        else:
            reason = "no time left: the teams' hours went to stops worth more per minute"
        left.append(LeftOut(s, reason))
    left.sort(key=lambda x: (-x.stop.value, x.stop.key))
    return Plan(
        routes=routes,
        left_out=tuple(left),
        method=method,
        travel=problem.travel.label,
        seconds=seconds,
        notes=tuple(notes),
        baseline=baseline,
    )
