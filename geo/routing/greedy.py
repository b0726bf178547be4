"""The baseline the planner is measured against: next best value per minute.

Each team in turn goes next to the stop worth most per minute spent getting there, waiting
for its window and staying, as long as it can still get back to the base by the shift's end;
required calls come before everything. It is what a lead planning by hand tends to do, and
the planner starts from its plan.
"""

from __future__ import annotations

import time
from collections import defaultdict

from geo.routing.problem import Matrix, Plan, Problem
from geo.routing.schedule import make_plan, schedule

REQUIRED_PENALTY = 10**13  # dropping a required call costs more than every value together


def greedy(problem: Problem, m: Matrix | None = None) -> Plan:
    """Return the greedy baseline's plan for ``problem`` (on its travel matrix ``m``, when the
    caller has it already)."""
    started = time.perf_counter()
    m = m or Matrix(problem)
    after: dict[int, list[int]] = defaultdict(list)  # stop -> visits to its place due later
    before: dict[int, list[int]] = defaultdict(list)
    for a, b in problem.same_place:
        after[a].append(b)
        before[b].append(a)
    taken: dict[int, int] = {}  # stop -> arrival
    orders: list[list[int]] = []
    for _ in range(problem.teams):
        t, prev, order = 0, 0, []
        while (
            step := _best_next(problem, m, t=t, prev=prev, taken=taken, before=before, after=after)
        ) is not None:
            i, arrive = step
            taken[i] = arrive
            order.append(i)
            t, prev = arrive + problem.dwell, i + 1
        orders.append(order)
    routes = schedule(problem, orders, m)
    value = float(sum(r.value for r in routes))
    elapsed = time.perf_counter() - started
    return make_plan(problem, m, routes, method="greedy", seconds=elapsed, baseline=value)


def _best_next(
    problem: Problem,
    m: Matrix,
    *,
    t: int,
    prev: int,
    taken: dict[int, int],
    before: dict[int, list[int]],
    after: dict[int, list[int]],
) -> tuple[int, int] | None:
    """The stop worth most per minute from place ``prev`` at time ``t``, and its arrival."""
    best: tuple[float, int, int] | None = None
    for i, s in enumerate(problem.stops):
        if i in taken or any(p in taken for p in after[i]):
            continue  # done, or a later visit to its place is already made
        arrive = max(
            [t + m.to_stop(prev, i), s.opens]
            + [taken[p] + problem.dwell + problem.gap for p in before[i] if p in taken]
        )
        leave = arrive + problem.dwell
        if leave > s.closes or leave + int(m.minutes[i + 1, 0]) > problem.shift:
            continue
        rate = (s.value + (REQUIRED_PENALTY if s.required else 0)) / (leave - t)
        if best is None or rate > best[0]:
            best = (rate, i, arrive)
    return None if best is None else (best[1], best[2])
